//! The sign-in throttle, kept in the database: two `Services` on one database (two replicas)
//! see the same failures.

use std::time::Duration;

use domain::service::limiter::LoginLimiter;

#[tokio::test]
async fn blocks_an_account_after_its_limit_and_an_address_after_its_own_on_every_replica() {
    let db = super::database().await;
    let a = LoginLimiter::new(Duration::from_secs(60), 3, 5);
    let b = LoginLimiter::new(Duration::from_secs(60), 3, 5);
    for i in 0..3 {
        assert_eq!(
            a.standing(&db, "alice", "10.0.0.1").await.unwrap().wait,
            None
        );
        // Failures alternate between the two replicas.
        let limiter = if i % 2 == 0 { &a } else { &b };
        limiter
            .record_failure(&db, "alice", "10.0.0.1")
            .await
            .unwrap();
    }
    let standing = b.standing(&db, "alice", "10.0.0.2").await.unwrap();
    let wait = standing
        .wait
        .expect("alice is throttled on the other replica too");
    assert!(wait > 0 && wait <= 61, "{wait}");
    assert_eq!(standing.account_failures, 3);
    assert_eq!(
        a.standing(&db, "bob", "10.0.0.2").await.unwrap().wait,
        None,
        "other accounts from other addresses are fine"
    );
    a.record_failure(&db, "bob", "10.0.0.1").await.unwrap();
    b.record_failure(&db, "carol", "10.0.0.1").await.unwrap();
    assert!(
        a.standing(&db, "dave", "10.0.0.1")
            .await
            .unwrap()
            .wait
            .is_some(),
        "the address is blocked after 5 failures"
    );
    b.record_success(&db, "alice").await.unwrap();
    let standing = a.standing(&db, "alice", "10.0.0.3").await.unwrap();
    assert_eq!(standing.wait, None);
    assert_eq!(standing.account_failures, 0);
}

#[tokio::test]
async fn failures_expire_after_the_window() {
    let db = super::database().await;
    let l = LoginLimiter::new(Duration::from_millis(300), 1, 10);
    l.record_failure(&db, "a", "ip").await.unwrap();
    assert!(l.standing(&db, "a", "ip").await.unwrap().wait.is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(l.standing(&db, "a", "ip").await.unwrap().wait, None);
}
