//! Authorization per role on service methods: the services consult `policy::authz` for every
//! operation, whoever calls them (registry, REST, console, jobs).

use std::collections::BTreeMap;

use domain::policy::selector::Selector;
use domain::service::immutability::RuleInput;
use domain::service::members::MemberRef;
use domain::service::projects::{NewProject, ProjectUpdate};
use domain::service::robots::NewRobot;
use domain::service::{Actor, DomainError, Services};
use domain::types::Role;

use super::{admin, pull, services, user};

/// A private project `p` with one member per role; returns (role, actor) pairs and a non-member.
async fn project_with_every_role(s: &Services) -> (Vec<(Role, Actor)>, Actor) {
    s.create_project(
        &admin(),
        NewProject {
            name: "p".into(),
            public: false,
            metadata: BTreeMap::new(),
            storage_limit: None,
        },
    )
    .await
    .unwrap();
    let mut members = Vec::new();
    for role in Role::ALL {
        let name = format!("{role:?}").to_lowercase();
        let actor = user(s, &name).await;
        s.add_member(&admin(), "p", MemberRef::User(name), role)
            .await
            .unwrap();
        members.push((role, actor));
    }
    (members, user(s, "outsider").await)
}

fn refused(r: &Result<impl std::fmt::Debug, DomainError>) -> bool {
    matches!(
        r,
        Err(DomainError::Forbidden(_)) | Err(DomainError::NotFound(_))
    )
}

#[tokio::test]
async fn project_settings_members_robots_and_rules_follow_harbors_role_matrix() {
    let s = services().await;
    let (members, outsider) = project_with_every_role(&s).await;
    for (role, actor) in &members {
        let admin_only = *role == Role::ProjectAdmin;
        let update = s
            .update_project(
                actor,
                "p",
                ProjectUpdate {
                    public: None,
                    metadata: BTreeMap::from([("auto_scan".into(), "true".into())]),
                    storage_limit: None,
                },
            )
            .await;
        assert_eq!(
            update.is_ok(),
            admin_only,
            "{role:?} updates the project: {update:?}"
        );
        if !admin_only {
            assert!(refused(&update), "{role:?}: {update:?}");
        }

        let listed = s.list_members(actor, "p", None).await;
        assert_eq!(
            listed.is_ok(),
            *role != Role::LimitedGuest,
            "{role:?} lists members: {listed:?}"
        );

        let robot = s
            .create_robot(
                actor,
                NewRobot {
                    name: format!("ci-{}", format!("{role:?}").to_lowercase()),
                    description: String::new(),
                    project: Some("p".into()),
                    duration_days: -1,
                    permissions: vec![pull("p")],
                    disabled: false,
                },
            )
            .await;
        assert_eq!(
            robot.is_ok(),
            admin_only,
            "{role:?} creates a robot: {robot:?}"
        );

        let rule = s
            .create_immutable_rule(
                actor,
                "p",
                RuleInput {
                    repositories: Selector {
                        pattern: "**".into(),
                        decoration: Default::default(),
                    },
                    tags: Selector {
                        pattern: format!("v-{}", format!("{role:?}").to_lowercase()),
                        decoration: Default::default(),
                    },
                    disabled: false,
                },
            )
            .await;
        assert_eq!(
            rule.is_ok(),
            matches!(role, Role::ProjectAdmin | Role::Maintainer),
            "{role:?} creates an immutability rule: {rule:?}"
        );
    }
    // Someone outside a private project learns nothing of it.
    let r = s.list_members(&outsider, "p", None).await;
    assert!(refused(&r), "{r:?}");
    let r = s.delete_project(&outsider, "p").await;
    assert!(refused(&r), "{r:?}");
    // Only its administrators delete it.
    let (_, maintainer) = &members[1];
    assert!(refused(&s.delete_project(maintainer, "p").await));
    let (_, project_admin) = &members[0];
    s.delete_project(project_admin, "p").await.unwrap();
}
