//! Single sign-on against a real OpenID provider: the npm package `oidc-provider`, started by
//! each test from `end2end/oidc/provider.mjs` (installed by `scripts/test.sh`). The browser's
//! part (following redirects, filling the provider's login form) is done with reqwest; the
//! console side runs through Berth's real router. Faults (another signing key, an expired
//! token, a wrong audience, a wrong nonce) are injected by the provider script re-signing its
//! own ID tokens, so Berth's checks meet the answers a broken or hostile provider would give.

mod common;

use common::oidc::{app_for, location, oidc_config, repo_root, Browser, Provider, EXTERNAL};

use std::time::Duration;

use axum::http::{Method, StatusCode};
use berth_server::config::HumanDuration;
use common::TestApp;
use domain::entities::{audit_log, user, user_group, user_group_member};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

fn error_of(next: &str) -> String {
    let query = next
        .strip_prefix("/login?error=")
        .unwrap_or_else(|| panic!("expected a refusal, went to {next}"));
    urlencoding::decode(query).unwrap().into_owned()
}

async fn last_audit(app: &TestApp) -> audit_log::Model {
    audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn user_named(app: &TestApp, name: &str) -> Option<user::Model> {
    user::Entity::find()
        .filter(user::Column::Username.eq(name))
        .one(&app.state.db)
        .await
        .unwrap()
}

async fn groups_of(app: &TestApp, user_id: i64) -> Vec<String> {
    let ids: Vec<i64> = user_group_member::Entity::find()
        .filter(user_group_member::Column::UserId.eq(user_id))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.group_id)
        .collect();
    let mut names: Vec<String> = user_group::Entity::find()
        .filter(user_group::Column::Id.is_in(ids))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_onboarding_signs_in_with_groups_and_the_admin_group() {
    let provider = Provider::start("berth", "berth-secret", None);
    let app = app_for(&provider, |_| {}).await;

    let mut alice = Browser::new();
    assert_eq!(
        alice.sign_in(&app, "alice", "alice-password").await,
        "/projects"
    );
    let u = user_named(&app, "alice@example.com")
        .await
        .expect("onboarded");
    assert!(u.is_admin, "harbor-admins makes a system admin");
    assert_eq!(u.display_name, "Alice Admin");
    assert!(u.password_hash.is_none() && u.oidc_subject.as_deref() == Some("alice"));
    assert_eq!(groups_of(&app, u.id).await, ["harbor-admins", "platform"]);
    let audit = last_audit(&app).await;
    assert_eq!(
        (
            audit.operation.as_str(),
            audit.result.as_str(),
            audit.actor.as_str()
        ),
        ("login", "success", "alice@example.com")
    );
    // The session is the user's: the console sees them as a system admin.
    let me = alice.server_fn(&app, "current_user").await;
    assert!(
        me.body.contains("alice@example.com") && me.body.contains("\"is_admin\":true"),
        "{}",
        me.body
    );

    let mut bob = Browser::new();
    assert_eq!(bob.sign_in(&app, "bob", "bob-password").await, "/projects");
    let b = user_named(&app, "bob@example.com").await.unwrap();
    assert!(!b.is_admin);
    assert_eq!(groups_of(&app, b.id).await, ["developers"]);

    // Local users cannot be created under oidc_auth; the local admin still signs in.
    let admin = app.admin().await;
    let refused = app
        .state
        .services
        .create_user(
            &admin,
            domain::service::users::NewUser {
                username: "local".into(),
                email: None,
                display_name: None,
                password: "Some-Passw0rd".into(),
                is_admin: false,
            },
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("oidc_auth"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn group_filter_and_leaving_the_admin_group_apply_at_the_next_sign_in() {
    let provider = Provider::start("berth", "berth-secret", None);
    let app = app_for(&provider, |o| {
        o.group_filter = Some("^harbor-".into());
    })
    .await;
    let mut alice = Browser::new();
    assert_eq!(
        alice.sign_in(&app, "alice", "alice-password").await,
        "/projects"
    );
    let u = user_named(&app, "alice@example.com").await.unwrap();
    assert_eq!(
        groups_of(&app, u.id).await,
        ["harbor-admins"],
        "platform is filtered out"
    );

    // Another configuration whose admin group alice is not in: the next sign-in revokes it.
    let app2 = {
        let mut oidc = oidc_config(&provider.issuer, "berth", "berth-secret");
        oidc.admin_group = Some("other-admins".into());
        let db = app.state.db.clone();
        let mut config = (*app.state.config).clone();
        config.oidc = Some(oidc);
        let state = berth_server::AppState::new(config, db, common::site_root()).unwrap();
        let router = berth_server::router(state.clone());
        TestApp {
            router,
            state,
            data_dir: tempfile::tempdir().unwrap(),
        }
    };
    let mut again = Browser::new();
    assert_eq!(
        again.sign_in(&app2, "alice", "alice-password").await,
        "/projects"
    );
    let u = user_named(&app2, "alice@example.com").await.unwrap();
    assert!(
        !u.is_admin,
        "left the admin group, no longer a system admin"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_have_a_clear_message_and_an_audit_row() {
    let provider = Provider::start("berth", "berth-secret", None);
    let app = app_for(&provider, |_| {}).await;

    async fn assert_refused(app: &TestApp, next: &str, words: &str) {
        let message = error_of(next);
        assert!(message.contains(words), "`{message}` should say `{words}`");
        let audit = last_audit(app).await;
        assert_eq!(
            (audit.operation.as_str(), audit.result.as_str()),
            ("login", "failure")
        );
        assert_eq!(audit.detail, message, "the audit row keeps the reason");
    }

    // Wrong state.
    let mut b = Browser::new();
    let callback = b.authenticate(&app, "bob", "bob-password").await;
    let forged = callback.replace("state=", "state=forged");
    let next = b.deliver(&app, &forged).await;
    assert_refused(&app, &next, "wrong state").await;

    // Replayed callback: the same response twice.
    let mut b = Browser::new();
    let callback = b.authenticate(&app, "bob", "bob-password").await;
    assert_eq!(b.deliver(&app, &callback).await, "/projects");
    let next = b.deliver(&app, &callback).await;
    assert_refused(&app, &next, "already used").await;

    // Replayed code inside a fresh sign-in: the provider refuses the used code.
    let mut c = Browser::new();
    let fresh = c.authenticate(&app, "bob", "bob-password").await;
    let fresh_state = url::Url::parse(&fresh)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let mut replay = url::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = replay
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                fresh_state.clone()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    replay.query_pairs_mut().clear().extend_pairs(pairs);
    let next = c.deliver(&app, replay.as_str()).await;
    assert_refused(&app, &next, "refused the authorization code: invalid_grant").await;

    // ID tokens with defects.
    for (fault, words) in [
        ("bad-nonce", "nonce does not match"),
        ("other-key", "signature does not verify"),
        ("expired", "has expired"),
        ("wrong-aud", "another client (audience)"),
    ] {
        provider.fault(fault).await;
        let mut b = Browser::new();
        let next = b.sign_in(&app, "bob", "bob-password").await;
        assert_refused(&app, &next, words).await;
        assert!(b
            .server_fn(&app, "current_user")
            .await
            .body
            .contains("null"));
    }
    provider.fault("none").await;

    // A user without the claim that names them.
    let mut carol = Browser::new();
    let next = carol.sign_in(&app, "carol", "carol-password").await;
    assert_refused(&app, &next, "did not send the `email` claim").await;
    assert!(user::Entity::find()
        .filter(user::Column::OidcSubject.eq("carol"))
        .one(&app.state.db)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_cert_refuses_a_self_signed_provider_and_false_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let provider = Provider::start("berth", "berth-secret", Some((&cert_path, &key_path)));
    assert!(provider.issuer.starts_with("https://"));

    let strict = app_for(&provider, |o| o.verify_cert = true).await;
    let mut b = Browser::new();
    let r = b.berth(&strict, "/c/oidc/login").await;
    let message = error_of(&location(&r));
    assert!(
        message.contains("cannot use the identity provider"),
        "{message}"
    );
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    let audit = last_audit(&strict).await;
    assert_eq!(
        (audit.operation.as_str(), audit.result.as_str()),
        ("login", "failure")
    );
    assert!(audit.detail.contains("certificate"), "{}", audit.detail);

    let lax = app_for(&provider, |o| o.verify_cert = false).await;
    let mut b = Browser::new();
    assert_eq!(b.sign_in(&lax, "bob", "bob-password").await, "/projects");
}

#[tokio::test(flavor = "multi_thread")]
async fn first_sign_in_asks_for_a_username_once_when_auto_onboard_is_off() {
    let provider = Provider::start("berth", "berth-secret", None);
    let app = app_for(&provider, |o| o.auto_onboard = false).await;
    let mut b = Browser::new();
    assert_eq!(
        b.sign_in(&app, "bob", "bob-password").await,
        "/oidc-onboard"
    );
    let pending = b.server_fn(&app, "oidc_pending").await;
    assert!(
        pending.body.contains("bob@example.com"),
        "prefilled: {}",
        pending.body
    );
    assert!(user_named(&app, "bob@example.com").await.is_none());

    let cookie = b.berth_cookie.clone().unwrap();
    let r = app
        .send_bytes(
            Method::POST,
            "/console/fn/oidc_onboard",
            None,
            b"username=bobby".to_vec(),
            &[
                ("cookie", &cookie),
                ("origin", EXTERNAL),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bobby = user_named(&app, "bobby").await.expect("onboarded as bobby");
    assert_eq!(bobby.email.as_deref(), Some("bob@example.com"));

    // The next sign-in goes straight in, as the chosen name.
    let mut again = Browser::new();
    assert_eq!(
        again.sign_in(&app, "bob", "bob-password").await,
        "/projects"
    );
    let me = again.server_fn(&app, "current_user").await;
    assert!(me.body.contains("bobby"), "{}", me.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_secret_signs_in_registry_clients_until_revoked() {
    let provider = Provider::start("berth", "berth-secret", None);
    let app = app_for(&provider, |o| {
        o.refresh_check_interval = HumanDuration(Duration::from_secs(0));
    })
    .await;
    let mut b = Browser::new();
    assert_eq!(b.sign_in(&app, "bob", "bob-password").await, "/projects");
    let bob = user_named(&app, "bob@example.com").await.unwrap();
    assert!(
        bob.oidc_refresh_token.is_some(),
        "the refresh token is kept"
    );
    assert!(
        !bob.oidc_refresh_token.as_deref().unwrap().contains('.'),
        "and kept encrypted, not as the provider's token"
    );

    // Generate through the console's server function.
    let cookie = b.berth_cookie.clone().unwrap();
    let r = app
        .send_bytes(
            Method::POST,
            "/console/fn/regenerate_cli_secret",
            None,
            Vec::new(),
            &[("cookie", &cookie), ("origin", EXTERNAL)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let secret = r.json()["secret"].as_str().unwrap().to_string();
    let stored = user_named(&app, "bob@example.com").await.unwrap();
    assert!(!stored.cli_secret_hash.as_deref().unwrap().contains(&secret));
    let expires = stored.cli_secret_expires_at.unwrap();
    let days = (expires - chrono::Utc::now()).num_days();
    assert!((89..=90).contains(&days), "90 days by default, got {days}");

    let token_path = "/service/token?service=berth&scope=registry:catalog:*";
    let ok = app
        .send(
            Method::GET,
            token_path,
            Some(("bob@example.com", &secret)),
            None,
            &[],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let wrong = app
        .send(
            Method::GET,
            token_path,
            Some(("bob@example.com", "not-it")),
            None,
            &[],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    // The provider ends bob's session: the next use of the secret re-checks and revokes it.
    provider.control("/__test/revoke?sub=bob").await;
    let revoked = app
        .send(
            Method::GET,
            token_path,
            Some(("bob@example.com", &secret)),
            None,
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    assert!(revoked.body.contains("revoked"), "{}", revoked.body);
    let after = user_named(&app, "bob@example.com").await.unwrap();
    assert!(after.cli_secret_hash.is_none());
    let audit = last_audit(&app).await;
    assert_eq!(
        (audit.operation.as_str(), audit.resource_type.as_str()),
        ("revoke", "cli_secret")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn disabling_a_user_revokes_their_cli_secret() {
    let provider = Provider::start("berth", "berth-secret", None);
    let app = app_for(&provider, |_| {}).await;
    let mut b = Browser::new();
    assert_eq!(b.sign_in(&app, "bob", "bob-password").await, "/projects");
    let bob = user_named(&app, "bob@example.com").await.unwrap();
    let actor = domain::service::Actor::new(
        domain::service::Principal::User(domain::service::UserPrincipal {
            id: bob.id,
            username: bob.username.clone(),
            is_admin: false,
        }),
        "127.0.0.1",
    );
    let secret = app
        .state
        .services
        .regenerate_cli_secret(&actor)
        .await
        .unwrap()
        .secret
        .unwrap();
    let admin = app.admin().await;
    app.state
        .services
        .set_disabled(&admin, bob.id, true)
        .await
        .unwrap();
    app.state
        .services
        .set_disabled(&admin, bob.id, false)
        .await
        .unwrap();
    let r = app
        .send(
            Method::GET,
            "/service/token?service=berth",
            Some(("bob@example.com", &secret)),
            None,
            &[],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "re-enabling does not revive the secret"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_oidc_block_starts_berth_unchanged() {
    // The seed's block as users paste it, with only the endpoint pointing at the test provider.
    let provider = Provider::start("harbor", "seed-oidc-secret", None);
    let seed =
        std::fs::read_to_string(repo_root().join("server/tests/fixtures/seed-harbor.yml")).unwrap();
    let seed = seed.replace("https://auth.company.com", &provider.issuer);
    let env = std::collections::BTreeMap::from([(
        "OIDC_SECRET".to_string(),
        "seed-oidc-secret".to_string(),
    )]);
    let mut config = berth_server::config::load_from_str(&seed, "seed.yml", &env)
        .expect("the seed configuration loads");
    let data_dir = tempfile::tempdir().unwrap();
    config.data_dir = data_dir.path().to_path_buf();
    config.external_url = Some(EXTERNAL.into());
    config.database.url = Some(common::test_database_url(&config).await);
    let db = domain::db::connect(&config.database_url(), Default::default())
        .await
        .unwrap();
    use migrations::MigratorTrait;
    migrations::Migrator::up(&db, None).await.unwrap();
    let state = berth_server::AppState::new(config, db, common::site_root()).unwrap();
    let app = TestApp {
        router: berth_server::router(state.clone()),
        state,
        data_dir,
    };
    let mut alice = Browser::new();
    // auto_onboard: false in the seed.
    assert_eq!(
        alice.sign_in(&app, "alice", "alice-password").await,
        "/oidc-onboard"
    );
}
