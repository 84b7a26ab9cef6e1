//! Durable consumers of the domain events. Each consumer has a name, a stored cursor (the last
//! event it finished) and a lease: with several replicas exactly one works a consumer at a time.
//!
//! The lease is taken and renewed by one conditional `UPDATE` (compare-and-set on the owner and
//! the expiry), atomic on SQLite and on PostgreSQL, where the row lock of the `UPDATE` orders
//! competing replicas. A batch's effects and the cursor's advance commit in **one transaction**,
//! and the advance is conditional on still holding the lease: a consumer killed mid-batch, or
//! one whose lease expired while it worked, commits nothing, and the next holder redoes the
//! batch from the same cursor. Database effects are therefore applied exactly once per event;
//! effects outside the database (a webhook delivery) are at least once and carry the event id.

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, QueryFilter, Set,
};

use crate::entities::{event, event_consumer};
use crate::service::DomainResult;

/// What a consumer does with a batch, inside the transaction that advances its cursor.
pub trait Handler: Send + Sync {
    /// Handles `events` (oldest first). An error rolls the whole batch back; it is retried.
    fn handle<'a>(
        &'a self,
        txn: &'a DatabaseTransaction,
        events: &'a [event::Model],
    ) -> impl Future<Output = DomainResult<()>> + Send + 'a;
}

/// One consumer as one replica runs it.
pub struct Consumer {
    db: DatabaseConnection,
    pub name: String,
    /// This replica (a random id per process).
    pub owner: String,
    pub lease: Duration,
    pub batch: u64,
    /// Whether the consumer's row is known to exist.
    ensured: std::sync::atomic::AtomicBool,
}

/// What one turn did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Turn {
    /// Whether this replica holds the lease.
    pub leased: bool,
    /// Events handled and committed.
    pub handled: usize,
    /// The cursor afterwards.
    pub cursor: i64,
}

impl Consumer {
    pub fn new(db: DatabaseConnection, name: &str, owner: &str) -> Self {
        Self {
            db,
            name: name.into(),
            owner: owner.into(),
            lease: Duration::from_secs(30),
            batch: 100,
            ensured: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Creates the consumer's row (cursor 0) unless it exists.
    async fn ensure(&self) -> Result<(), DbErr> {
        if event_consumer::Entity::find_by_id(&self.name)
            .one(&self.db)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let inserted = event_consumer::ActiveModel {
            name: Set(self.name.clone()),
            cursor: Set(0),
            owner: Set(None),
            lease_until: Set(None),
            updated_at: Set(Utc::now()),
        }
        .insert(&self.db)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            // Another replica created it in between.
            Err(_)
                if event_consumer::Entity::find_by_id(&self.name)
                    .one(&self.db)
                    .await?
                    .is_some() =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn lease_until(&self) -> chrono::DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(30))
    }

    /// Takes or renews the lease; `true` when this replica holds it.
    pub async fn acquire(&self) -> Result<bool, DbErr> {
        self.ensure().await?;
        self.acquire_on(&self.db).await
    }

    /// [`Consumer::acquire`] on `conn` (the turn's transaction, whose row lock then keeps other
    /// replicas out until it ends).
    async fn acquire_on(&self, conn: &impl ConnectionTrait) -> Result<bool, DbErr> {
        let now = Utc::now();
        let taken = event_consumer::Entity::update_many()
            .col_expr(
                event_consumer::Column::Owner,
                sea_orm::sea_query::Expr::value(self.owner.clone()),
            )
            .col_expr(
                event_consumer::Column::LeaseUntil,
                sea_orm::sea_query::Expr::value(self.lease_until()),
            )
            .filter(event_consumer::Column::Name.eq(&self.name))
            .filter(
                Condition::any()
                    .add(event_consumer::Column::Owner.is_null())
                    .add(event_consumer::Column::Owner.eq(&self.owner))
                    .add(event_consumer::Column::LeaseUntil.is_null())
                    .add(event_consumer::Column::LeaseUntil.lt(now)),
            )
            .exec(conn)
            .await?;
        Ok(taken.rows_affected == 1)
    }

    /// Gives the lease up (on shutdown) so another replica need not wait for it to expire.
    pub async fn release(&self) -> Result<(), DbErr> {
        event_consumer::Entity::update_many()
            .col_expr(
                event_consumer::Column::Owner,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .filter(event_consumer::Column::Name.eq(&self.name))
            .filter(event_consumer::Column::Owner.eq(&self.owner))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// The consumer's cursor.
    pub async fn cursor(&self) -> Result<i64, DbErr> {
        Ok(event_consumer::Entity::find_by_id(&self.name)
            .one(&self.db)
            .await?
            .map(|c| c.cursor)
            .unwrap_or(0))
    }

    /// One turn. With nothing new after the cursor it only reads (two rows). Otherwise one
    /// write transaction takes or renews the lease, reads the next batch after the cursor,
    /// lets `handler` handle it, and advances the cursor — only while still the owner with the
    /// cursor it read.
    pub async fn turn(&self, handler: &impl Handler) -> DomainResult<Turn> {
        if !self.ensured.load(std::sync::atomic::Ordering::Relaxed) {
            self.ensure().await?;
            self.ensured
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let row = event_consumer::Entity::find_by_id(&self.name)
            .one(&self.db)
            .await?;
        let cursor = row.as_ref().map(|r| r.cursor).unwrap_or(0);
        let holds = row.as_ref().is_some_and(|r| {
            r.owner.as_deref() == Some(self.owner.as_str())
                && r.lease_until.is_some_and(|t| t > Utc::now())
        });
        if super::head(&self.db).await? <= cursor {
            return Ok(Turn {
                leased: holds,
                handled: 0,
                cursor,
            });
        }
        let txn = crate::db::begin_write(&self.db).await?;
        if !self.acquire_on(&*txn).await? {
            txn.rollback().await?;
            return Ok(Turn {
                leased: false,
                handled: 0,
                cursor,
            });
        }
        let cursor = event_consumer::Entity::find_by_id(&self.name)
            .one(&*txn)
            .await?
            .map(|r| r.cursor)
            .unwrap_or(0);
        let batch = super::after(&*txn, cursor, self.batch).await?;
        let Some(last) = batch.last().map(|e| e.id) else {
            txn.commit().await?;
            return Ok(Turn {
                leased: true,
                handled: 0,
                cursor,
            });
        };
        handler.handle(&txn, &batch).await?;
        let advanced = event_consumer::Entity::update_many()
            .col_expr(
                event_consumer::Column::Cursor,
                sea_orm::sea_query::Expr::value(last),
            )
            .col_expr(
                event_consumer::Column::LeaseUntil,
                sea_orm::sea_query::Expr::value(self.lease_until()),
            )
            .col_expr(
                event_consumer::Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(event_consumer::Column::Name.eq(&self.name))
            .filter(event_consumer::Column::Owner.eq(&self.owner))
            .filter(event_consumer::Column::Cursor.eq(cursor))
            .exec(&*txn)
            .await?;
        if advanced.rows_affected != 1 {
            // The lease passed to another replica meanwhile: that one redoes the batch.
            txn.rollback().await?;
            return Ok(Turn {
                leased: false,
                handled: 0,
                cursor,
            });
        }
        txn.commit().await?;
        Ok(Turn {
            leased: true,
            handled: batch.len(),
            cursor: last,
        })
    }

    /// Runs turns forever: straight on while there is a backlog, else after `idle` or when a
    /// write commits in this process. `on_turn` sees each turn (for metrics).
    pub async fn run(
        self,
        handler: impl Handler,
        idle: Duration,
        on_turn: impl Fn(&Turn) + Send + Sync,
    ) {
        loop {
            let wake = crate::db::commits().notified();
            match self.turn(&handler).await {
                Ok(turn) => {
                    on_turn(&turn);
                    if turn.handled as u64 == self.batch {
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(consumer = self.name, error = %e, "event consumer turn failed; retrying");
                    tokio::time::sleep(idle).await;
                    continue;
                }
            }
            let _ = tokio::time::timeout(idle, wake).await;
        }
    }
}
