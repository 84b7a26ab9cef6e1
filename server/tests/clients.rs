//! Real registry clients against a live Berth: `skopeo login` and `podman login` with a local
//! user and with a robot account, and a clear refusal of wrong credentials.

mod common;

use std::process::Command;

use common::{password_of, LiveServer, TestApp};
use domain::policy::authz::{Action, Resource, RobotGrant};
use domain::service::projects::NewProject;
use domain::service::robots::NewRobot;

struct Outcome {
    ok: bool,
    output: String,
}

/// Runs a client in a blocking thread so the in-process server keeps serving.
async fn run(program: &'static str, args: Vec<String>) -> Outcome {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(program)
            .args(&args)
            .env("HOME", std::env::temp_dir())
            .output()
            .unwrap_or_else(|e| {
                panic!("{program} must be installed (scripts/test.sh installs it): {e}")
            });
        Outcome {
            ok: out.status.success(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    })
    .await
    .unwrap()
}

async fn login(
    client: &'static str,
    host: &str,
    user: &str,
    password: &str,
    authfile: &std::path::Path,
) -> Outcome {
    let mut args: Vec<String> = Vec::new();
    if client == "podman" {
        args.extend([
            "--storage-driver=vfs".into(),
            "--root".into(),
            authfile.with_extension("storage").display().to_string(),
        ]);
    }
    args.extend([
        "login".into(),
        "--tls-verify=false".into(),
        "--authfile".into(),
        authfile.display().to_string(),
        "-u".into(),
        user.into(),
        "-p".into(),
        password.into(),
        host.into(),
    ]);
    run(client, args).await
}

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::new().await;
    let admin = app.admin().await;
    app.user("dev").await;
    let s = &app.state.services;
    s.create_project(
        &admin,
        NewProject {
            name: "team".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let robot = s
        .create_robot(
            &admin,
            NewRobot {
                name: "ci".into(),
                description: String::new(),
                project: Some("team".into()),
                duration_days: -1,
                permissions: vec![RobotGrant {
                    namespace: "team".into(),
                    resource: Resource::Repository,
                    action: Action::Pull,
                }],
                disabled: false,
            },
        )
        .await
        .unwrap();
    (app, robot.name, robot.secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_and_podman_log_in_with_users_and_robots() {
    let (app, robot, secret) = setup().await;
    let server = LiveServer::start(&app.state);
    let dir = tempfile::tempdir().unwrap();
    for client in ["skopeo", "podman"] {
        let authfile = dir.path().join(format!("{client}-auth.json"));
        let out = login(
            client,
            &server.host(),
            "dev",
            &password_of("dev"),
            &authfile,
        )
        .await;
        assert!(
            out.ok && out.output.contains("Login Succeeded"),
            "{client} as a user: {}",
            out.output
        );
        let stored = std::fs::read_to_string(&authfile).unwrap();
        assert!(
            stored.contains(&server.host()),
            "{client} saved the credentials"
        );

        let out = login(client, &server.host(), &robot, &secret, &authfile).await;
        assert!(
            out.ok && out.output.contains("Login Succeeded"),
            "{client} as a robot: {}",
            out.output
        );

        let out = login(client, &server.host(), "dev", "not-the-password", &authfile).await;
        assert!(!out.ok, "{client} with a wrong password must fail");
        // skopeo and podman phrase it as "invalid username/password" from the 401 of the token service.
        assert!(
            out.output.contains("invalid username"),
            "{client} error should say why: {}",
            out.output
        );
    }
}
