//! The embedded default under a CI burst: sixteen clients at once over a real socket, mixing
//! REST writes (users, robots, members, project metadata), console writes (sign-in, project
//! creation), token requests and image pushes. Not one answer may be a 5xx, and every write
//! that was acknowledged must be there afterwards — on SQLite and on PostgreSQL alike.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{sha, LiveServer, TestApp, ADMIN_PASSWORD};
use serde_json::{json, Value};

const CLIENTS: usize = 16;
const OPERATIONS: usize = 15;
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// What one client wrote and had acknowledged, to be found afterwards.
#[derive(Default)]
struct Acknowledged {
    users: Vec<String>,
    robots: Vec<String>,
    members: Vec<String>,
    console_projects: Vec<String>,
    tags: Vec<(String, String)>,
    /// The client's project and the `auto_scan` value it last set there.
    metadata: Option<(String, bool)>,
    requests: usize,
    /// Answers that were not 2xx (each one fails the test), with what was asked.
    refused: Vec<String>,
}

struct Client {
    http: reqwest::Client,
    base: String,
    id: usize,
    done: Acknowledged,
}

impl Client {
    async fn call(
        &mut self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Option<reqwest::Response> {
        self.done.requests += 1;
        match request.send().await {
            Ok(res) if res.status().is_success() => Some(res),
            Ok(res) => {
                let status = res.status();
                let body = res.text().await.unwrap_or_default();
                self.done.refused.push(format!("{what}: {status} {body}"));
                None
            }
            Err(e) => {
                self.done.refused.push(format!("{what}: {e}"));
                None
            }
        }
    }

    fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
    }

    async fn create_user(&mut self, name: &str) -> bool {
        let body = json!({"username": name, "email": format!("{name}@example.com"),
            "realname": name, "password": "Load-Test-Passw0rd"});
        let req = self
            .admin(reqwest::Method::POST, "/api/v2.0/users")
            .json(&body);
        self.call("create user", req).await.is_some()
    }

    async fn step(&mut self, k: usize) {
        let (i, tag) = (self.id, format!("t{k}"));
        match (i + k) % 6 {
            0 => {
                let name = format!("user-{i}-{k}");
                if self.create_user(&name).await {
                    self.done.users.push(name);
                }
            }
            1 => {
                let name = format!("bot-{i}-{k}");
                let body = json!({"name": name, "duration": 30, "level": "project",
                    "permissions": [{"kind": "project", "namespace": "lib",
                        "access": [{"resource": "repository", "action": "pull"}]}]});
                let req = self
                    .admin(reqwest::Method::POST, "/api/v2.0/robots")
                    .json(&body);
                if self.call("create robot", req).await.is_some() {
                    self.done.robots.push(format!("robot$lib+{name}"));
                }
            }
            2 => {
                let name = format!("member-{i}-{k}");
                if self.create_user(&name).await {
                    self.done.users.push(name.clone());
                    let body = json!({"role_id": 2, "member_user": {"username": name}});
                    let req = self
                        .admin(reqwest::Method::POST, "/api/v2.0/projects/lib/members")
                        .json(&body);
                    if self.call("add member", req).await.is_some() {
                        self.done.members.push(name);
                    }
                }
            }
            3 => {
                let project = format!("own-{i}");
                let on = k.is_multiple_of(2);
                let body = json!({"metadata": {"auto_scan": on.to_string()}});
                let req = self
                    .admin(
                        reqwest::Method::PUT,
                        &format!("/api/v2.0/projects/{project}"),
                    )
                    .json(&body);
                if self.call("update project metadata", req).await.is_some() {
                    self.done.metadata = Some((project, on));
                }
            }
            4 => {
                // The console: sign in (a session row, the audit record), then a server
                // function that writes.
                let console = reqwest::Client::builder()
                    .cookie_store(true)
                    .build()
                    .unwrap();
                let origin = self.base.clone();
                let login = console
                    .post(format!("{}/console/fn/login", self.base))
                    .header("origin", &origin)
                    .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)]);
                if self.call("console sign-in", login).await.is_some() {
                    let name = format!("console-{i}-{k}");
                    let create = console
                        .post(format!("{}/console/fn/create_project", self.base))
                        .header("origin", &origin)
                        .form(&[("name", name.as_str()), ("public", "false")]);
                    if self.call("console create project", create).await.is_some() {
                        self.done.console_projects.push(name);
                    }
                }
            }
            _ => {
                let repo = format!("lib/app-{i}");
                let token = self.admin(
                    reqwest::Method::GET,
                    &format!("/service/token?service=berth&scope=repository:{repo}:pull,push"),
                );
                let Some(res) = self.call("token", token).await else {
                    return;
                };
                let token: Value = res.json().await.unwrap();
                let bearer = format!("Bearer {}", token["token"].as_str().unwrap());
                let config = format!(r#"{{"architecture":"amd64","os":"linux","c":"{i}-{k}"}}"#);
                let layer = format!("layer {i} {k}").into_bytes();
                for blob in [config.as_bytes().to_vec(), layer.clone()] {
                    let d = sha(&blob);
                    let put = self
                        .http
                        .post(format!("{}/v2/{repo}/blobs/uploads/?digest={d}", self.base))
                        .header("authorization", &bearer)
                        .body(blob);
                    if self.call("blob upload", put).await.is_none() {
                        return;
                    }
                }
                let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                        "digest": sha(config.as_bytes()), "size": config.len()},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": sha(&layer), "size": layer.len()}]});
                let put = self
                    .http
                    .put(format!("{}/v2/{repo}/manifests/{tag}", self.base))
                    .header("authorization", &bearer)
                    .header("content-type", OCI_MANIFEST)
                    .body(serde_json::to_vec(&manifest).unwrap());
                if self.call("manifest put", put).await.is_some() {
                    self.done.tags.push((repo, tag));
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_mixing_every_kind_of_write_get_no_5xx_and_lose_nothing() {
    let app = Arc::new(TestApp::new().await);
    app.project("lib").await;
    for i in 0..CLIENTS {
        app.project(&format!("own-{i}")).await;
    }
    let server = LiveServer::start(&app.state);
    let base = format!("http://{}", server.host());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for id in 0..CLIENTS {
        let base = base.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = Client {
                http: reqwest::Client::new(),
                base,
                id,
                done: Acknowledged::default(),
            };
            for k in 0..OPERATIONS {
                client.step(k).await;
            }
            client.done
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("a client panicked"));
    }
    let elapsed = started.elapsed();
    let requests: usize = results.iter().map(|r| r.requests).sum();
    let refused: Vec<&String> = results.iter().flat_map(|r| &r.refused).collect();
    println!(
        "mixed writes on {}: {CLIENTS} clients, {requests} requests in {:.2} s ({:.0} requests/s), {} refused",
        common::backend_under_test(),
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        refused.len()
    );
    assert!(refused.is_empty(), "refused under load: {refused:#?}");

    // Every acknowledged write is there.
    let admin = Some(("admin", ADMIN_PASSWORD));
    let get = |path: String| {
        let app = app.clone();
        async move {
            let res = app
                .send(axum::http::Method::GET, &path, admin, None, &[])
                .await;
            assert!(
                res.status.is_success(),
                "{path}: {} {}",
                res.status,
                res.body
            );
            res
        }
    };
    let users: Vec<String> = get("/api/v2.0/users?page_size=100".into())
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect();
    let users_total: usize = get("/api/v2.0/users?page_size=1".into()).await.headers
        ["x-total-count"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let expected_users: usize = results.iter().map(|r| r.users.len()).sum();
    assert_eq!(users_total, expected_users + 1, "every user, and admin");
    let members = get("/api/v2.0/projects/lib/members?page_size=100".into())
        .await
        .body;
    let robots = get("/api/v2.0/robots?page_size=100".into()).await.body;
    let mut pushed = 0;
    for r in &results {
        for u in &r.users {
            assert!(users.contains(u), "user {u} lost");
        }
        for m in &r.members {
            assert!(members.contains(&format!("\"{m}\"")), "member {m} lost");
        }
        for b in &r.robots {
            assert!(robots.contains(&format!("\"{b}\"")), "robot {b} lost");
        }
        for p in &r.console_projects {
            get(format!("/api/v2.0/projects/{p}")).await;
        }
        if let Some((project, on)) = &r.metadata {
            let p = get(format!("/api/v2.0/projects/{project}")).await.json();
            assert_eq!(p["metadata"]["auto_scan"], on.to_string(), "{project}");
        }
        for (repo, tag) in &r.tags {
            get(format!("/v2/{repo}/manifests/{tag}")).await;
            pushed += 1;
        }
    }
    assert!(pushed > 0 && expected_users > 0, "the mix ran every kind");
    drop(server);
}
