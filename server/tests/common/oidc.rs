//! A real OpenID provider for tests: the npm package `oidc-provider`, started from
//! `end2end/oidc/provider.mjs` (installed by `scripts/test.sh`), and a browser (reqwest with a
//! cookie jar) that signs in through it to Berth's real router.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use axum::http::{Method, StatusCode};
use berth_server::config::{AuthMode, OidcConfig};

use super::TestApp;

pub const EXTERNAL: &str = "http://berth.test";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The provider process; killed when dropped.
pub struct Provider {
    pub issuer: String,
    child: Child,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub use super::process::free_port;

impl Provider {
    pub fn start(client_id: &str, secret: &str, tls: Option<(&Path, &Path)>) -> Self {
        Self::start_for(EXTERNAL, client_id, secret, tls)
    }

    /// A provider that sends browsers back to a Berth at `external` (its `external_url`).
    pub fn start_for(
        external: &str,
        client_id: &str,
        secret: &str,
        tls: Option<(&Path, &Path)>,
    ) -> Self {
        let root = repo_root();
        assert!(
            root.join("node_modules/oidc-provider").is_dir(),
            "these tests need the npm package oidc-provider: run `npm ci` in the repository \
             root (scripts/test.sh does)"
        );
        let port = free_port();
        let mut cmd = Command::new("node");
        cmd.arg(root.join("end2end/oidc/provider.mjs"))
            .env("OIDC_PORT", port.to_string())
            .env("OIDC_CLIENT_ID", client_id)
            .env("OIDC_CLIENT_SECRET", secret)
            .env("OIDC_REDIRECT_URIS", format!("{external}/c/oidc/callback"))
            .env("OIDC_POST_LOGOUT", format!("{external}/login"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some((cert, key)) = tls {
            cmd.env("OIDC_TLS_CERT", cert).env("OIDC_TLS_KEY", key);
        }
        let mut child = cmd.spawn().expect("node starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let issuer = line
            .trim()
            .strip_prefix("oidc-provider listening on ")
            .unwrap_or_else(|| panic!("provider did not start: {line}"))
            .to_string();
        Provider { issuer, child }
    }

    pub async fn control(&self, path: &str) {
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        let r = client
            .post(format!("{}{path}", self.issuer))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    pub async fn fault(&self, mode: &str) {
        self.control(&format!("/__test/fault?mode={mode}")).await;
    }
}

pub fn oidc_config(issuer: &str, client_id: &str, secret: &str) -> OidcConfig {
    serde_yaml::from_str::<OidcConfig>(&format!(
        "name: testidp\nendpoint: {issuer}\nclient_id: {client_id}\nclient_secret: {secret}\n\
         scope: openid,profile,email,groups\nverify_cert: true\nauto_onboard: true\n\
         user_claim: email\ngroups_claim: groups\nadmin_group: harbor-admins\n"
    ))
    .unwrap()
}

pub async fn app_for(provider: &Provider, tweak: impl FnOnce(&mut OidcConfig)) -> TestApp {
    app_at(EXTERNAL, provider, tweak).await
}

/// A Berth with single sign-on at `provider`, reachable (for real clients) at `external`.
pub async fn app_at(
    external: &str,
    provider: &Provider,
    tweak: impl FnOnce(&mut OidcConfig),
) -> TestApp {
    let mut oidc = oidc_config(&provider.issuer, "berth", "berth-secret");
    tweak(&mut oidc);
    let external = external.to_string();
    TestApp::with_config(move |c| {
        c.auth_mode = AuthMode::OidcAuth;
        c.external_url = Some(external);
        c.oidc = Some(oidc);
    })
    .await
}

pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("berth_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
}

pub fn location(r: &super::TestResponse) -> String {
    r.headers
        .get("location")
        .unwrap_or_else(|| panic!("no redirect ({}): {}", r.status, r.body))
        .to_str()
        .unwrap()
        .to_string()
}

/// A browser: Berth's session cookie, and a cookie jar for the provider.
pub struct Browser {
    pub berth_cookie: Option<String>,
    pub http: reqwest::Client,
    /// Berth's `external_url`: where the provider sends the browser back to.
    pub external: String,
}

impl Browser {
    pub fn new() -> Self {
        Self::at(EXTERNAL)
    }

    pub fn at(external: &str) -> Self {
        Browser {
            external: external.to_string(),
            berth_cookie: None,
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .danger_accept_invalid_certs(true)
                .build()
                .unwrap(),
        }
    }

    pub async fn berth(&mut self, app: &TestApp, path: &str) -> super::TestResponse {
        let cookie = self.berth_cookie.clone().unwrap_or_default();
        let r = app
            .send(Method::GET, path, None, None, &[("cookie", &cookie)])
            .await;
        if let Some(c) = session_cookie(&r.headers) {
            self.berth_cookie = Some(c);
        }
        r
    }

    /// Calls a console server function as the browser would.
    pub async fn server_fn(&self, app: &TestApp, name: &str) -> super::TestResponse {
        let cookie = self.berth_cookie.clone().unwrap_or_default();
        app.send_bytes(
            Method::POST,
            &format!("/console/fn/{name}"),
            None,
            Vec::new(),
            &[
                ("cookie", &cookie),
                ("origin", self.external.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
        )
        .await
    }

    /// Starts a sign-in at Berth, signs in at the provider, and returns the callback URL the
    /// provider sends the browser to (not yet delivered to Berth).
    pub async fn authenticate(&mut self, app: &TestApp, user: &str, password: &str) -> String {
        let start = self.berth(app, "/c/oidc/login").await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
        let mut url = location(&start);
        assert!(!url.starts_with("/login"), "sign-in did not start: {url}");
        for _ in 0..10 {
            if url.starts_with(&self.external) {
                return url;
            }
            let r = self.http.get(&url).send().await.unwrap();
            if r.status().is_redirection() {
                url = absolute(&url, r.headers()["location"].to_str().unwrap());
                continue;
            }
            // The provider's login page.
            let page = r.text().await.unwrap();
            let action = page
                .split("action=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_else(|| panic!("no login form at {url}: {page}"));
            let r = self
                .http
                .post(absolute(&url, action))
                .form(&[("login", user), ("password", password)])
                .send()
                .await
                .unwrap();
            assert!(r.status().is_redirection(), "login refused: {}", r.status());
            url = absolute(&url, r.headers()["location"].to_str().unwrap());
        }
        panic!("the provider never redirected back to Berth");
    }

    /// Delivers a callback URL to Berth; returns where Berth sends the browser next.
    pub async fn deliver(&mut self, app: &TestApp, callback: &str) -> String {
        let path = callback.strip_prefix(self.external.as_str()).unwrap();
        let r = self.berth(app, path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        location(&r)
    }

    pub async fn sign_in(&mut self, app: &TestApp, user: &str, password: &str) -> String {
        let callback = self.authenticate(app, user, password).await;
        self.deliver(app, &callback).await
    }
}

pub fn absolute(base: &str, target: &str) -> String {
    url::Url::parse(base)
        .unwrap()
        .join(target)
        .unwrap()
        .to_string()
}
