//! Service-level tests: the domain's rules exercised through its services on a real database
//! (SQLite in memory, migrated with the real migrations) without any HTTP in between. The
//! HTTP-level tests in `server/tests` remain the contract; these pin the rules where they live.

mod authz;
mod consumers;
mod emission;
mod registry;
mod throttle;

use std::sync::atomic::{AtomicUsize, Ordering};

use domain::service::users::NewUser;
use domain::service::{Actor, Principal, ServiceSettings, Services, UserPrincipal};
use migrations::MigratorTrait;
use sea_orm::DatabaseConnection;

/// A fresh in-memory database with every migration applied. Shared-cache mode keeps one
/// database across the pool's connections.
pub async fn database() -> DatabaseConnection {
    static N: AtomicUsize = AtomicUsize::new(0);
    let url = format!(
        "sqlite:file:berth-services-{}-{}?mode=memory&cache=shared",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let db = domain::db::connect(&url, Default::default())
        .await
        .expect("in-memory database opens");
    migrations::Migrator::up(&db, None)
        .await
        .expect("migrations apply");
    db
}

/// Services on a fresh database with nothing in it (no event written yet).
pub async fn bare_services() -> Services {
    Services::new(database().await, ServiceSettings::default())
}

/// Services on a fresh database whose first user (id 1) is the system administrator `admin`.
pub async fn services() -> Services {
    let s = Services::new(database().await, ServiceSettings::default());
    let view = s
        .create_user(
            &Actor::system(),
            NewUser {
                username: "admin".into(),
                email: None,
                display_name: None,
                password: "Admin-Passw0rd-Long".into(),
                is_admin: true,
            },
        )
        .await
        .expect("admin created");
    assert_eq!(view.id, 1);
    s
}

/// The system administrator `services` created.
pub fn admin() -> Actor {
    Actor::new(
        Principal::User(UserPrincipal {
            id: 1,
            username: "admin".into(),
            is_admin: true,
        }),
        "10.0.0.1",
    )
}

/// Creates a local user and returns them as an acting principal.
pub async fn user(s: &Services, name: &str) -> Actor {
    let view = s
        .create_user(
            &Actor::system(),
            NewUser {
                username: name.into(),
                email: Some(format!("{name}@example.test")),
                display_name: None,
                password: "Passw0rd-Long-Enough".into(),
                is_admin: false,
            },
        )
        .await
        .expect("user created");
    Actor::new(
        Principal::User(UserPrincipal {
            id: view.id,
            username: name.into(),
            is_admin: false,
        }),
        "10.0.0.2",
    )
}

/// A robot permission to pull from `project`.
pub fn pull(project: &str) -> domain::policy::authz::RobotGrant {
    domain::policy::authz::RobotGrant {
        namespace: project.into(),
        resource: domain::policy::authz::Resource::Repository,
        action: domain::policy::authz::Action::Pull,
    }
}
