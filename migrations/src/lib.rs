//! The schema history. Files are append-only: a change is a new migration, never an edit.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_users_sessions;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261127_000001_users_sessions::Migration)]
    }
}
