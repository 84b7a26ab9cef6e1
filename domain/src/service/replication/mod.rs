//! Replication's records: remote registries, policies, executions and tasks. What moves and
//! how (the HTTP clients, the copy) lives with the server's replication workers; every
//! decision about who may do what, and what a policy means, is here.

pub mod executions;
pub mod gate;
pub mod on_event;
pub mod policies;
pub mod registries;
pub mod sources;

use sea_orm::ConnectionTrait;

use super::audit::{self, Outcome, Record};
use super::{Actor, DomainResult};

async fn record(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    operation: &str,
    resource_type: &str,
    resource: &str,
) -> DomainResult<()> {
    audit::record(
        conn,
        actor,
        Record {
            operation,
            resource_type,
            resource,
            project_id: None,
            outcome: Outcome::Success,
        },
    )
    .await
}
