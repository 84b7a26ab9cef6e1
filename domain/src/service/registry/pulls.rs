//! Pull statistics and pull audit records, written in batches off the request path so that
//! pulls do not wait for the database.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::mpsc;

use crate::entities::artifact;
use crate::service::audit::{self, Outcome, Record};
use crate::service::Actor;

struct Pull {
    artifact_id: i64,
    actor: Actor,
    project_id: i64,
    resource: String,
}

#[derive(Clone)]
pub struct PullRecorder {
    tx: mpsc::UnboundedSender<Pull>,
}

impl PullRecorder {
    pub fn start(db: DatabaseConnection) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Pull>();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            loop {
                let Some(first) = rx.recv().await else { break };
                batch.push(first);
                // Gather what arrives within a short window, up to a bound.
                let deadline = tokio::time::sleep(Duration::from_millis(200));
                tokio::pin!(deadline);
                while batch.len() < 500 {
                    tokio::select! {
                        more = rx.recv() => match more { Some(p) => batch.push(p), None => break },
                        _ = &mut deadline => break,
                    }
                }
                let result = write(&db, &batch).await;
                if let Err(e) = result {
                    tracing::warn!(error = %e, pulls = batch.len(), "cannot record pulls");
                }
                batch.clear();
            }
        });
        Self { tx }
    }

    pub fn record(&self, artifact_id: i64, actor: &Actor, project_id: i64, resource: String) {
        let _ = self.tx.send(Pull {
            artifact_id,
            actor: actor.clone(),
            project_id,
            resource,
        });
    }
}

async fn write(db: &DatabaseConnection, batch: &[Pull]) -> Result<(), sea_orm::DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    let mut counts: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    for p in batch {
        *counts.entry(p.artifact_id).or_default() += 1;
        let _ = audit::record(
            &txn,
            &p.actor,
            Record {
                operation: "pull",
                resource_type: "artifact",
                resource: &p.resource,
                project_id: Some(p.project_id),
                outcome: Outcome::Success,
            },
        )
        .await;
    }
    for (id, n) in counts {
        artifact::Entity::update_many()
            .col_expr(
                artifact::Column::PullCount,
                Expr::col(artifact::Column::PullCount).add(n),
            )
            .col_expr(artifact::Column::PullTime, Expr::value(now))
            .filter(artifact::Column::Id.eq(id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await
}
