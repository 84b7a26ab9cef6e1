//! Every write a service makes is one event of the right kind, subject and actor, in the same
//! transaction as the change, with the audit row told from it.

use std::collections::BTreeMap;

use domain::entities::{audit_log, event};
use domain::service::members::MemberRef;
use domain::service::projects::{NewProject, ProjectUpdate};
use domain::service::robots::{NewRobot, RobotUpdate};
use domain::service::{events, Services};
use domain::types::Role;
use sea_orm::EntityTrait;

use super::{admin, pull, services, user};

/// The events written since `after`, as (kind, outcome, subject, actor).
async fn since(s: &Services, after: i64) -> Vec<(String, String, String, String)> {
    events::after(&s.db, after, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.outcome, e.subject, e.actor))
        .collect()
}

fn row(kind: &str, outcome: &str, subject: &str, actor: &str) -> (String, String, String, String) {
    (kind.into(), outcome.into(), subject.into(), actor.into())
}

#[tokio::test]
async fn project_member_robot_and_sign_in_writes_are_one_event_each() {
    let s = services().await;
    let ann = user(&s, "ann").await;
    let mut head = events::head(&s.db).await.unwrap();

    let created = s
        .create_project(
            &ann,
            NewProject {
                name: "team".into(),
                public: false,
                metadata: BTreeMap::new(),
                storage_limit: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        since(&s, head).await,
        [row("project.create", "success", "team", "ann")]
    );
    let project_event = event::Entity::find_by_id(head + 1)
        .one(&s.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(project_event.project_id, Some(created.id));
    assert_eq!(project_event.actor_type, "user");
    head = events::head(&s.db).await.unwrap();

    s.update_project(
        &ann,
        "team",
        ProjectUpdate {
            public: Some(true),
            metadata: BTreeMap::new(),
            storage_limit: None,
        },
    )
    .await
    .unwrap();
    let got = since(&s, head).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].3.as_str()),
        ("project.update", "ann")
    );
    head = events::head(&s.db).await.unwrap();

    user(&s, "bob").await;
    head += 1;
    let member = s
        .add_member(&ann, "team", MemberRef::User("bob".into()), Role::Developer)
        .await
        .unwrap();
    let got = since(&s, head).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "member.create");
    assert!(got[0].2.contains("bob"), "{got:?}");
    head = events::head(&s.db).await.unwrap();
    s.remove_member(&ann, "team", member.id).await.unwrap();
    let got = since(&s, head).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "member.delete");
    head = events::head(&s.db).await.unwrap();

    let robot = s
        .create_robot(
            &ann,
            NewRobot {
                name: "ci".into(),
                description: String::new(),
                project: Some("team".into()),
                duration_days: -1,
                permissions: vec![pull("team")],
                disabled: false,
            },
        )
        .await
        .unwrap();
    let got = since(&s, head).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].2.as_str()),
        ("robot.create", robot.name.as_str())
    );
    head = events::head(&s.db).await.unwrap();
    s.update_robot(
        &ann,
        robot.id,
        RobotUpdate {
            disabled: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let got = since(&s, head).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "robot.disable");
    head = events::head(&s.db).await.unwrap();

    assert!(s
        .login_with_password("bob", "wrong password", "10.0.0.9", true)
        .await
        .is_err());
    s.login_with_password("bob", "Passw0rd-Long-Enough", "10.0.0.9", true)
        .await
        .unwrap();
    assert_eq!(
        since(&s, head).await,
        [
            row("session.login", "failure", "bob", "bob"),
            row("session.login", "success", "bob", "bob"),
        ]
    );
    head = events::head(&s.db).await.unwrap();

    s.delete_project(&admin(), "team").await.unwrap();
    let got = since(&s, head).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].3.as_str()),
        ("project.delete", "admin")
    );

    // The audit log tells the same story: one row per event, naming it.
    let audit = audit_log::Entity::find().all(&s.db).await.unwrap();
    let all = events::after(&s.db, 0, 1000).await.unwrap();
    assert_eq!(audit.len(), all.len());
    for e in &all {
        let a = audit
            .iter()
            .find(|a| a.event_id == Some(e.id))
            .unwrap_or_else(|| panic!("no audit row for event {e:?}"));
        assert_eq!(format!("{}.{}", a.resource_type, a.operation), e.kind);
        assert_eq!(
            (&a.resource, &a.actor, &a.result),
            (&e.subject, &e.actor, &e.outcome)
        );
    }
}
