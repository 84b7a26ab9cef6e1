//! Hardening: security headers on every page type, the sign-in form without JavaScript, tokens
//! for other services, the catalog's challenge, parameter errors, Harbor's double-encoded
//! repository names, user deletion and updates, and bad input refused with the field named.

mod common;

use axum::http::{Method, StatusCode};
use common::{form, password_of, TestApp, TestResponse, ADMIN_PASSWORD};
use serde_json::{json, Value};

const ADMIN: Option<(&str, &str)> = Some(("admin", ADMIN_PASSWORD));

fn header<'a>(res: &'a TestResponse, name: &str) -> &'a str {
    res.headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

fn assert_page_headers(res: &TestResponse, what: &str) {
    assert!(
        header(res, "content-type").starts_with("text/html"),
        "{what}: not a page ({})",
        header(res, "content-type")
    );
    assert_eq!(header(res, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(res, "x-frame-options"), "DENY", "{what}");
    assert_eq!(header(res, "referrer-policy"), "same-origin", "{what}");
    assert_eq!(
        header(res, "cross-origin-opener-policy"),
        "same-origin",
        "{what}"
    );
    assert_eq!(header(res, "cache-control"), "no-store", "{what}");
    let csp = header(res, "content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    let scripts = csp
        .split(';')
        .find(|d| d.trim_start().starts_with("script-src"))
        .unwrap_or_else(|| panic!("{what}: no script-src in {csp}"));
    assert!(scripts.contains("'wasm-unsafe-eval'"), "{what}: {scripts}");
    assert!(
        !scripts.contains("'unsafe-inline'") && !scripts.contains(" 'unsafe-eval'"),
        "{what}: {scripts}"
    );
    // Every inline script of the page carries the nonce the policy names.
    let nonce = scripts
        .split_whitespace()
        .find_map(|t| t.strip_prefix("'nonce-"))
        .map(|t| t.trim_end_matches('\''))
        .unwrap_or_else(|| panic!("{what}: the policy names no nonce: {scripts}"));
    let inline_scripts = res.body.matches("<script").count();
    assert!(inline_scripts > 0, "{what}: a hydrating page has scripts");
    assert_eq!(
        res.body.matches(&format!("nonce=\"{nonce}\"")).count(),
        res.body.matches("<script").count(),
        "{what}: every <script> carries the response's nonce"
    );
}

#[tokio::test]
async fn every_page_type_carries_the_security_headers() {
    let app = TestApp::new().await;
    app.project("lib").await;
    let cookie = app.console_login("admin", ADMIN_PASSWORD).await;
    let signed_in = [("cookie", cookie.as_str())];
    let sign_in = app.get("/login").await;
    assert_eq!(sign_in.status, StatusCode::OK);
    assert_page_headers(&sign_in, "the sign-in page");
    let page = app
        .send(Method::GET, "/projects/lib", None, None, &signed_in)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_page_headers(&page, "a console page");
    let missing = app
        .send(Method::GET, "/no/such/page", None, None, &signed_in)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_page_headers(&missing, "the 404 page");
    let error = app
        .send(
            Method::GET,
            "/projects/not-a-project",
            None,
            None,
            &signed_in,
        )
        .await;
    assert_page_headers(&error, "an error page (unknown project)");
    assert!(error.body.contains("not found"), "{}", error.body);
    // Two pages, two nonces.
    let again = app.get("/login").await;
    assert_ne!(
        header(&sign_in, "content-security-policy"),
        header(&again, "content-security-policy")
    );
    // The API and the registry are not pages, but are never sniffed either.
    for path in [
        "/api/v2.0/systeminfo",
        "/v2/",
        "/v2/lib/x/tags/list",
        "/healthz",
    ] {
        let res = app.get(path).await;
        assert_eq!(header(&res, "x-content-type-options"), "nosniff", "{path}");
        assert!(
            !res.headers.contains_key("content-security-policy"),
            "{path}"
        );
    }
    // Server functions' answers are private: never cached.
    let call = app
        .post_form(
            "/console/fn/current_user",
            String::new(),
            &[("origin", "http://berth.test"), ("cookie", &cookie)],
        )
        .await;
    assert_eq!(header(&call, "cache-control"), "no-store");
}

#[tokio::test]
async fn the_sign_in_form_works_without_javascript_and_keeps_credentials_out_of_urls() {
    let app = TestApp::new().await;
    app.admin().await;
    let page = app.get("/login").await;
    // The server-rendered form posts its fields in the body, to the server.
    let form_tag = page
        .body
        .split("<form")
        .nth(1)
        .and_then(|f| f.split('>').next())
        .unwrap_or_else(|| panic!("no form on the sign-in page: {}", page.body));
    assert!(form_tag.contains(r#"method="post""#), "{form_tag}");
    assert!(form_tag.contains(r#"action="/login""#), "{form_tag}");

    let origin = [("origin", "http://berth.test")];
    let ok = app
        .post_form(
            "/login",
            form(&[("username", "admin"), ("password", ADMIN_PASSWORD)]),
            &origin,
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(header(&ok, "location"), "/projects");
    let cookie = header(&ok, "set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let me = app
        .post_form(
            "/console/fn/current_user",
            String::new(),
            &[("origin", "http://berth.test"), ("cookie", &cookie)],
        )
        .await;
    assert!(me.body.contains("\"admin\""), "signed in: {}", me.body);

    let wrong = app
        .post_form(
            "/login",
            form(&[("username", "admin"), ("password", "not the password")]),
            &origin,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::SEE_OTHER);
    let location = header(&wrong, "location");
    assert!(location.starts_with("/login?error="), "{location}");
    assert!(!location.contains("not%20the%20password") && !location.contains("password="));
    assert!(
        !wrong.headers.contains_key("set-cookie"),
        "no session for a failure"
    );
    let shown = app.get(location).await;
    assert!(
        shown.body.contains("invalid username or password"),
        "the page shows why: {}",
        shown.body
    );

    // A form on another site cannot sign a visitor in as someone else (login CSRF).
    let forged = app
        .post_form(
            "/login",
            form(&[("username", "admin"), ("password", ADMIN_PASSWORD)]),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A malformed form is a way back to the page, not an error page.
    let empty = app.post_form("/login", "%%%".into(), &origin).await;
    assert_eq!(empty.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn console_calls_answer_client_mistakes_with_4xx() {
    let app = TestApp::new().await;
    app.admin().await;
    let wrong = app.console_login_response("admin", "wrong-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.body);
    assert!(wrong.body.contains("invalid username or password"));
    let cookie = app.console_login("admin", ADMIN_PASSWORD).await;
    let call = |path: &'static str, body: String| {
        let cookie = cookie.clone();
        let app = &app;
        async move {
            app.post_form(
                path,
                body,
                &[("origin", "http://berth.test"), ("cookie", &cookie)],
            )
            .await
        }
    };
    let bad_name = call(
        "/console/fn/create_project",
        form(&[("name", "Not A Name!"), ("public", "false")]),
    )
    .await;
    assert_eq!(
        bad_name.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_name.body
    );
    assert!(bad_name.body.contains("project_name"), "{}", bad_name.body);
    let missing = call("/console/fn/get_project", form(&[("name", "nothing-here")])).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.body);
    call(
        "/console/fn/create_project",
        form(&[("name", "lib"), ("public", "false")]),
    )
    .await;
    let bad_rules = json!([{"repositories": {"pattern": "**"}, "tags": {"pattern": "v[1"},
        "template": "latestPushedK", "count": 1}]);
    let refused = call(
        "/console/fn/preview_retention",
        form(&[("project", "lib"), ("rules_json", &bad_rules.to_string())]),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("tag pattern"), "{}", refused.body);
}

#[tokio::test]
async fn tokens_for_another_service_are_refused() {
    let app = TestApp::new().await;
    app.admin().await;
    let other = app
        .send(
            Method::GET,
            "/service/token?service=not-berth",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST, "{}", other.body);
    assert!(other.body.contains("not-berth"), "{}", other.body);
    assert!(
        !other.body.contains("token\""),
        "no token in {}",
        other.body
    );
    let bearer = app
        .bearer("admin", ADMIN_PASSWORD, "registry:catalog:*")
        .await;
    let token = bearer.strip_prefix("Bearer ").unwrap();
    assert_eq!(common::jwt_claims(token)["aud"], "berth");
    let v2 = app
        .send(
            Method::GET,
            "/v2/",
            None,
            None,
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(v2.status, StatusCode::OK);
}

#[tokio::test]
async fn the_catalog_asks_for_credentials_and_lists_what_the_caller_may_read() {
    let app = TestApp::new().await;
    app.project("private").await;
    let admin = app.admin().await;
    app.state
        .services
        .create_project(
            &admin,
            domain::service::projects::NewProject {
                name: "open".into(),
                public: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.project("theirs").await;
    for repo in ["private/a", "private/b", "open/c", "theirs/d"] {
        app.push_image(repo, "v1", repo).await;
    }
    let anonymous = app.get("/v2/_catalog").await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.body
    );
    assert!(
        header(&anonymous, "www-authenticate").contains("scope=\"registry:catalog:*\""),
        "{}",
        header(&anonymous, "www-authenticate")
    );
    // Public repositories stay readable by name.
    assert_eq!(app.get("/v2/open/c/tags/list").await.status, StatusCode::OK);

    let list = |res: TestResponse| -> Value { res.json()["repositories"].clone() };
    let all = app
        .send(Method::GET, "/v2/_catalog", ADMIN, None, &[])
        .await;
    assert_eq!(
        list(all),
        json!(["open/c", "private/a", "private/b", "theirs/d"])
    );
    let pw = app
        .member("private", "dev", domain::types::Role::Developer)
        .await;
    let basic = app
        .send(Method::GET, "/v2/_catalog", Some(("dev", &pw)), None, &[])
        .await;
    assert_eq!(basic.status, StatusCode::OK);
    assert_eq!(list(basic), json!(["open/c", "private/a", "private/b"]));
    // The same through a bearer token, as docker and skopeo ask after the challenge; and for a
    // robot of one project, that project (and what is public).
    let (robot, secret) = app.robot("theirs", "ci", &["pull"]).await;
    let catalog_with_token = |user: String, password: String| {
        let app = &app;
        async move {
            let bearer = app.bearer(&user, &password, "registry:catalog:*").await;
            let res = app
                .send(
                    Method::GET,
                    "/v2/_catalog",
                    None,
                    None,
                    &[("authorization", &bearer)],
                )
                .await;
            assert_eq!(res.status, StatusCode::OK, "{}", res.body);
            res
        }
    };
    let via_token = catalog_with_token("dev".into(), pw.clone()).await;
    assert_eq!(list(via_token), json!(["open/c", "private/a", "private/b"]));
    let robot_view = catalog_with_token(robot, secret).await;
    assert_eq!(list(robot_view), json!(["open/c", "theirs/d"]));
}

fn oci_code(res: &TestResponse) -> String {
    res.json()["errors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn numeric_parameters_and_content_ranges_are_checked() {
    let app = TestApp::new().await;
    app.project("lib").await;
    app.push_image("lib/app", "v1", "p").await;
    for path in [
        "/v2/lib/app/tags/list?n=-1",
        "/v2/lib/app/tags/list?n=abc",
        "/v2/lib/app/tags/list?n=99999999999999999999999",
        "/v2/_catalog?n=-1",
        "/v2/_catalog?n=1.5",
    ] {
        let res = app.send(Method::GET, path, ADMIN, None, &[]).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}: {}", res.body);
        assert_eq!(oci_code(&res), "PAGINATION_NUMBER_INVALID", "{path}");
        assert!(res.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains('n'));
    }
    for path in [
        "/api/v2.0/projects?page=-1",
        "/api/v2.0/projects?page_size=abc",
        "/api/v2.0/users?page=1.5",
        "/api/v2.0/audit-logs?page_size=-5",
        "/api/v2.0/projects/lib/repositories?page=-1",
        "/api/v2.0/projects/lib/repositories/app/artifacts?page_size=x",
    ] {
        let res = app.send(Method::GET, path, ADMIN, None, &[]).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}: {}", res.body);
        let message = res.json()["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains("page"),
            "{path}: the message names the parameter: {message}"
        );
    }
    // A chunk's Content-Range in HTTP's response form is not the specification's.
    let start = app
        .send(Method::POST, "/v2/lib/app/blobs/uploads/", ADMIN, None, &[])
        .await;
    assert_eq!(start.status, StatusCode::ACCEPTED);
    let location = header(&start, "location").to_string();
    for range in ["bytes 0-3/4", "bytes 0-3", "0-3/4", "3-0", "x-y"] {
        let res = app
            .send_bytes(
                Method::PATCH,
                &location,
                ADMIN,
                b"abcd".to_vec(),
                &[
                    ("content-range", range),
                    ("content-type", "application/octet-stream"),
                ],
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::RANGE_NOT_SATISFIABLE,
            "{range}: {}",
            res.body
        );
    }
    let res = app
        .send_bytes(
            Method::PATCH,
            &location,
            ADMIN,
            b"abcd".to_vec(),
            &[
                ("content-range", "0-3"),
                ("content-type", "application/octet-stream"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
}

#[tokio::test]
async fn repository_names_in_both_of_harbors_encodings() {
    let app = TestApp::new().await;
    app.project("lib").await;
    app.push_image("lib/team/app", "v1", "x").await;
    for name in ["team%2Fapp", "team%252Fapp", "team%252fapp"] {
        let repo = app
            .send(
                Method::GET,
                &format!("/api/v2.0/projects/lib/repositories/{name}"),
                ADMIN,
                None,
                &[],
            )
            .await;
        assert_eq!(repo.status, StatusCode::OK, "{name}: {}", repo.body);
        assert_eq!(repo.json()["name"], "lib/team/app");
        let artifacts = app
            .send(
                Method::GET,
                &format!("/api/v2.0/projects/lib/repositories/{name}/artifacts"),
                ADMIN,
                None,
                &[],
            )
            .await;
        assert_eq!(artifacts.status, StatusCode::OK, "{name}");
        assert_eq!(artifacts.json().as_array().unwrap().len(), 1);
    }
    let tag = app
        .send(
            Method::POST,
            "/api/v2.0/projects/lib/repositories/team%252Fapp/artifacts/v1/tags",
            ADMIN,
            Some(json!({"name": "stable"})),
            &[],
        )
        .await;
    assert_eq!(tag.status, StatusCode::CREATED, "{}", tag.body);
    let deleted = app
        .send(
            Method::DELETE,
            "/api/v2.0/projects/lib/repositories/team%252Fapp",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
}

#[tokio::test]
async fn users_are_updated_and_deleted_in_harbors_shape() {
    let app = TestApp::new().await;
    app.project("lib").await;
    let pw = app
        .member("lib", "leaver", domain::types::Role::Developer)
        .await;
    let id = app
        .send(
            Method::GET,
            "/api/v2.0/users?q=username%3Dleaver",
            ADMIN,
            None,
            &[],
        )
        .await
        .json()[0]["user_id"]
        .as_i64()
        .unwrap();
    // Harbor's profile update.
    let updated = app
        .send(
            Method::PUT,
            &format!("/api/v2.0/users/{id}"),
            ADMIN,
            Some(json!({"email": "new@example.com", "realname": "Lee Ver", "comment": "x"})),
            &[],
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    let got = app
        .send(
            Method::GET,
            &format!("/api/v2.0/users/{id}"),
            ADMIN,
            None,
            &[],
        )
        .await
        .json();
    assert_eq!(got["email"], "new@example.com");
    assert_eq!(got["realname"], "Lee Ver");
    let bad = app
        .send(
            Method::PUT,
            &format!("/api/v2.0/users/{id}"),
            ADMIN,
            Some(json!({"email": "not an address"})),
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("email"), "{}", bad.body);
    let sysadmin = app
        .send(
            Method::PUT,
            &format!("/api/v2.0/users/{id}/sysadmin"),
            ADMIN,
            Some(json!({"sysadmin_flag": true})),
            &[],
        )
        .await;
    assert_eq!(sysadmin.status, StatusCode::OK);
    app.send(
        Method::PUT,
        &format!("/api/v2.0/users/{id}/sysadmin"),
        ADMIN,
        Some(json!({"sysadmin_flag": false})),
        &[],
    )
    .await;

    // Their console session works until they are deleted.
    let cookie = app.console_login("leaver", &pw).await;
    let who = |cookie: String| {
        let app = &app;
        async move {
            app.post_form(
                "/console/fn/current_user",
                String::new(),
                &[("origin", "http://berth.test"), ("cookie", &cookie)],
            )
            .await
            .body
        }
    };
    assert!(who(cookie.clone()).await.contains("leaver"));
    // Only system administrators delete users.
    let by_self = app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/users/{id}"),
            Some(("leaver", &pw)),
            None,
            &[],
        )
        .await;
    assert_eq!(by_self.status, StatusCode::FORBIDDEN, "{}", by_self.body);
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/users/{id}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    let gone = app
        .send(
            Method::GET,
            &format!("/api/v2.0/users/{id}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    // Their session, password and membership ended with them; the audit log keeps the name.
    assert!(!who(cookie).await.contains("leaver"));
    let basic = app
        .send(
            Method::GET,
            "/v2/",
            Some(("leaver", &password_of("leaver"))),
            None,
            &[],
        )
        .await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
    let members = app
        .send(
            Method::GET,
            "/api/v2.0/projects/lib/members",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert!(!members.body.contains("leaver"), "{}", members.body);
    let audit = app
        .send(
            Method::GET,
            "/api/v2.0/audit-logs?page_size=100",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert!(audit.body.contains("\"leaver\""), "{}", audit.body);
    // Nobody deletes themselves.
    let admin_id = app
        .send(Method::GET, "/api/v2.0/users/current", ADMIN, None, &[])
        .await
        .json()["user_id"]
        .as_i64()
        .unwrap();
    let own = app
        .send(
            Method::DELETE,
            &format!("/api/v2.0/users/{admin_id}"),
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
}

/// Each bad input answers 400 naming what is wrong, and leaves nothing stored.
#[tokio::test]
async fn bad_input_is_refused_before_anything_is_stored() {
    let app = TestApp::new().await;
    app.project("lib").await;
    let retention = |rule: Value| json!({"rules": [rule]});
    let cases: Vec<(Method, &str, Value, &str)> = vec![
        (
            Method::PUT,
            "/api/v2.0/projects/lib/retention",
            retention(
                json!({"repositories": {"pattern": "**"}, "tags": {"pattern": "v[1"},
                "template": "latestPushedK", "count": 1}),
            ),
            "tag pattern",
        ),
        (
            Method::POST,
            "/api/v2.0/projects/lib/retention/preview",
            retention(
                json!({"repositories": {"pattern": "{a,b"}, "tags": {"pattern": "**"},
                "template": "always"}),
            ),
            "repository pattern",
        ),
        (
            Method::PUT,
            "/api/v2.0/projects/lib/retention",
            retention(
                json!({"repositories": {"pattern": "**"}, "tags": {"pattern": "**"},
                "template": "latestPushedK", "count": -1}),
            ),
            "count",
        ),
        (
            Method::PUT,
            "/api/v2.0/projects/lib/retention",
            retention(
                json!({"repositories": {"pattern": "**"}, "tags": {"pattern": "**"},
                "template": "nDaysSinceLastPush", "count": 99999999999_i64}),
            ),
            "count",
        ),
        (
            Method::PUT,
            "/api/v2.0/projects/lib/retention",
            retention(
                json!({"repositories": {"pattern": "**"}, "tags": {"pattern": "**"},
                "template": "nDaysSinceLastPull", "count": 4000000000_u64}),
            ),
            "number of days",
        ),
        (
            Method::PUT,
            "/api/v2.0/projects/lib/retention",
            json!({"rules": [{"repositories": {"pattern": "**"}, "tags": {"pattern": "**"},
                "template": "always"}], "schedule": "0 0 31 2 *"}),
            "never runs",
        ),
        (
            Method::POST,
            "/api/v2.0/projects/lib/immutabletagrules",
            json!({"tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "release-[" }],
                "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}}),
            "tag pattern",
        ),
        (
            Method::POST,
            "/api/v2.0/robots",
            json!({"name": "forever", "duration": 99999999999_i64, "level": "project",
                "permissions": [{"kind": "project", "namespace": "lib",
                    "access": [{"resource": "repository", "action": "pull"}]}]}),
            "duration",
        ),
        (
            Method::POST,
            "/api/v2.0/robots",
            json!({"name": "never", "duration": -7, "level": "project",
                "permissions": [{"kind": "project", "namespace": "lib",
                    "access": [{"resource": "repository", "action": "pull"}]}]}),
            "duration",
        ),
        (
            Method::POST,
            "/api/v2.0/projects",
            json!({"project_name": "quota", "storage_limit": -5}),
            "storage_limit",
        ),
        (
            Method::PUT,
            "/api/v2.0/projects/lib",
            json!({"storage_limit": 0}),
            "storage_limit",
        ),
        (
            Method::POST,
            "/api/v2.0/projects",
            json!({"project_name": "Bad Name"}),
            "project_name",
        ),
        (
            Method::POST,
            "/api/v2.0/system/scanAll/schedule",
            json!({"schedule": {"type": "Custom", "cron": "*/0 * * * *"}}),
            "cron",
        ),
        (
            Method::POST,
            "/api/v2.0/system/gc",
            json!({"window_minutes": 9223372036854775807_i64}),
            "window_minutes",
        ),
        (
            Method::POST,
            "/api/v2.0/projects/lib/retention/executions",
            json!({"dry_run": "yes"}),
            "dry_run",
        ),
    ];
    for (method, path, body, field) in cases {
        let res = app
            .send(method.clone(), path, ADMIN, Some(body.clone()), &[])
            .await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {}",
            res.body
        );
        let message = res.json()["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains(field),
            "{method} {path}: the message names `{field}`: {message}"
        );
    }
    // Nothing was stored by any of them.
    let policy = app
        .send(
            Method::GET,
            "/api/v2.0/projects/lib/retention",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_ne!(policy.json()["source"], "project", "{}", policy.body);
    let rules = app
        .send(
            Method::GET,
            "/api/v2.0/projects/lib/immutabletagrules",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(rules.json(), json!([]));
    let robots = app
        .send(Method::GET, "/api/v2.0/robots", ADMIN, None, &[])
        .await;
    assert_eq!(robots.json(), json!([]));
    let project = app
        .send(
            Method::HEAD,
            "/api/v2.0/projects?project_name=quota",
            ADMIN,
            None,
            &[],
        )
        .await;
    assert_eq!(project.status, StatusCode::NOT_FOUND);
    let lib = app
        .send(Method::GET, "/api/v2.0/projects/lib", ADMIN, None, &[])
        .await;
    assert_eq!(lib.json()["storage_limit"], -1, "{}", lib.body);
}
