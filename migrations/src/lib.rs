//! The schema history. Files are append-only: a change is a new migration, never an edit.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_users_sessions;
mod m20261127_000002_access_control;
mod m20261127_000003_registry;
mod m20261127_000004_oidc;
mod m20261127_000005_immutable_rules;
mod m20261127_000006_retention;
mod m20261127_000007_jobs;
mod m20261127_000008_vulndb;
mod m20261127_000009_scans;
mod m20261201_000010_labels;
mod m20261201_000011_events;
mod m20261201_000012_upload_progress;
mod m20261201_000013_key_fingerprints;
mod m20261201_000014_login_failures;
mod m20261202_000015_signatures;
mod m20261202_000016_replication;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_users_sessions::Migration),
            Box::new(m20261127_000002_access_control::Migration),
            Box::new(m20261127_000003_registry::Migration),
            Box::new(m20261127_000004_oidc::Migration),
            Box::new(m20261127_000005_immutable_rules::Migration),
            Box::new(m20261127_000006_retention::Migration),
            Box::new(m20261127_000007_jobs::Migration),
            Box::new(m20261127_000008_vulndb::Migration),
            Box::new(m20261127_000009_scans::Migration),
            Box::new(m20261201_000010_labels::Migration),
            Box::new(m20261201_000011_events::Migration),
            Box::new(m20261201_000012_upload_progress::Migration),
            Box::new(m20261201_000013_key_fingerprints::Migration),
            Box::new(m20261201_000014_login_failures::Migration),
            Box::new(m20261202_000015_signatures::Migration),
            Box::new(m20261202_000016_replication::Migration),
        ]
    }
}
