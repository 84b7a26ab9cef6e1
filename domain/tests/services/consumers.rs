//! Durable consumers: the lease, the cursor, and a batch's effects committing with the cursor.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use domain::entities::{event, system_setting};
use domain::service::events::consumer::{Consumer, Handler};
use domain::service::{DomainError, DomainResult};
use sea_orm::{ActiveModelTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, Set};

use super::{bare_services, user};

/// Records each event it sees as a `seen-{id}` setting, in the batch's transaction; fails once
/// at `fail_at` (after recording the events before it).
struct Recorder {
    fail_at: Option<i64>,
    failed: AtomicBool,
}

impl Handler for Recorder {
    async fn handle(&self, txn: &DatabaseTransaction, events: &[event::Model]) -> DomainResult<()> {
        for e in events {
            if Some(e.id) == self.fail_at && !self.failed.swap(true, Ordering::SeqCst) {
                return Err(DomainError::Invalid("injected failure".into()));
            }
            system_setting::ActiveModel {
                key: Set(format!("seen-{}", e.id)),
                value: Set(e.kind.clone()),
            }
            .insert(txn)
            .await?;
        }
        Ok(())
    }
}

async fn seen(db: &sea_orm::DatabaseConnection) -> Vec<String> {
    let mut keys: Vec<String> = system_setting::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.key)
        .filter(|k| k.starts_with("seen-"))
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn event_ids_are_gapless_and_every_audit_row_names_its_event() {
    let s = bare_services().await;
    for name in ["ann", "bob", "cat"] {
        user(&s, name).await;
    }
    let events = domain::service::events::after(&s.db, 0, 100).await.unwrap();
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![1, 2, 3], "{events:?}");
    assert!(events.iter().all(|e| e.kind == "user.create"));
    let audit = domain::entities::audit_log::Entity::find()
        .all(&s.db)
        .await
        .unwrap();
    let mut linked: Vec<i64> = audit.iter().filter_map(|a| a.event_id).collect();
    linked.sort();
    assert_eq!(linked, ids, "one audit row per event, each naming it");
}

#[tokio::test]
async fn one_replica_holds_the_lease_until_it_releases_or_it_expires() {
    let s = bare_services().await;
    let a = Consumer::new(s.db.clone(), "test", "replica-a");
    let b = Consumer::new(s.db.clone(), "test", "replica-b");
    assert!(a.acquire().await.unwrap());
    assert!(
        !b.acquire().await.unwrap(),
        "b must wait while a holds the lease"
    );
    assert!(a.acquire().await.unwrap(), "a renews its own lease");
    a.release().await.unwrap();
    assert!(b.acquire().await.unwrap(), "released: b takes it");
    assert!(!a.acquire().await.unwrap());

    // An expired lease passes on.
    let mut quick = Consumer::new(s.db.clone(), "quick", "replica-a");
    quick.lease = Duration::from_millis(1);
    assert!(quick.acquire().await.unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    let other = Consumer::new(s.db.clone(), "quick", "replica-b");
    assert!(other.acquire().await.unwrap(), "an expired lease is free");
}

#[tokio::test]
async fn a_failed_batch_commits_nothing_and_the_retry_handles_each_event_once() {
    let s = bare_services().await;
    for name in ["ann", "bob", "cat", "dan"] {
        user(&s, name).await;
    }
    let consumer = Consumer::new(s.db.clone(), "recorder", "replica-a");
    let handler = Recorder {
        fail_at: Some(3),
        failed: AtomicBool::new(false),
    };
    let first = consumer.turn(&handler).await;
    assert!(first.is_err(), "the injected failure surfaces");
    assert_eq!(
        consumer.cursor().await.unwrap(),
        0,
        "the cursor did not move"
    );
    assert!(
        seen(&s.db).await.is_empty(),
        "the events handled before the failure were rolled back with it"
    );
    let second = consumer.turn(&handler).await.unwrap();
    assert_eq!(second.handled, 4);
    assert_eq!(second.cursor, 4);
    assert_eq!(seen(&s.db).await, ["seen-1", "seen-2", "seen-3", "seen-4"]);
    // Nothing new: a turn handles nothing and effects stay as they are.
    let third = consumer.turn(&handler).await.unwrap();
    assert_eq!((third.handled, third.cursor), (0, 4));
    user(&s, "eve").await;
    let fourth = consumer.turn(&handler).await.unwrap();
    assert_eq!((fourth.handled, fourth.cursor), (1, 5));
    assert_eq!(
        system_setting::Entity::find().count(&s.db).await.unwrap(),
        5,
        "each event handled exactly once"
    );
}

#[tokio::test]
async fn a_replica_that_lost_its_lease_mid_batch_cannot_advance_the_cursor() {
    let s = bare_services().await;
    user(&s, "ann").await;
    /// Records the batch, then finds the lease row showing another owner, as it would after
    /// the lease expired and replica b took it while this batch was being handled.
    struct TakenOver;
    impl Handler for TakenOver {
        async fn handle(
            &self,
            txn: &DatabaseTransaction,
            events: &[event::Model],
        ) -> DomainResult<()> {
            for e in events {
                system_setting::ActiveModel {
                    key: Set(format!("seen-{}", e.id)),
                    value: Set(e.kind.clone()),
                }
                .insert(txn)
                .await?;
            }
            domain::entities::event_consumer::ActiveModel {
                name: Set("recorder".into()),
                owner: Set(Some("replica-b".into())),
                ..Default::default()
            }
            .update(txn)
            .await?;
            Ok(())
        }
    }
    let a = Consumer::new(s.db.clone(), "recorder", "replica-a");
    let turn = a.turn(&TakenOver).await.unwrap();
    assert!(!turn.leased, "the advance is refused without the lease");
    assert_eq!(a.cursor().await.unwrap(), 0, "the cursor did not move");
    assert!(
        seen(&s.db).await.is_empty(),
        "the batch's effects were rolled back"
    );
    let done = a
        .turn(&Recorder {
            fail_at: None,
            failed: AtomicBool::new(false),
        })
        .await
        .unwrap();
    assert_eq!((done.handled, done.cursor), (1, 1));
    assert_eq!(seen(&s.db).await, ["seen-1"]);
}
