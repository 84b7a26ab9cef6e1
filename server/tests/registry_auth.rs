//! `/v2/` authentication: the Bearer challenge, Basic credentials, and refusal of every kind
//! of bad token (forged, expired, `alg: none`, algorithm confusion, wrong audience).

mod common;

use axum::http::{Method, StatusCode};
use base64::Engine;
use common::{password_of, TestApp, ADMIN_PASSWORD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

async fn v2(app: &TestApp, authorization: Option<&str>) -> common::TestResponse {
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    app.send(Method::GET, "/v2/", None, None, &headers).await
}

async fn real_token(app: &TestApp) -> String {
    let res = app
        .send(
            Method::GET,
            "/service/token?service=berth",
            Some(("admin", ADMIN_PASSWORD)),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    res.json()["token"].as_str().unwrap().to_string()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(aud: &str, exp: u64) -> Value {
    json!({"iss": "berth-token-service", "sub": "admin", "aud": aud, "exp": exp, "nbf": now() - 10,
        "iat": now() - 10, "jti": "x", "access": [], "kind": "user", "uid": 1})
}

/// Signs claims with the server's own key, read from its data directory.
fn sign_with_server_key(app: &TestApp, claims: &Value) -> String {
    let pkcs8 = std::fs::read(app.data_dir.path().join("keys/token-signing.p8")).unwrap();
    jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        claims,
        &EncodingKey::from_ec_der(&pkcs8),
    )
    .unwrap()
}

#[tokio::test]
async fn missing_credentials_get_the_bearer_challenge() {
    let app = TestApp::new().await;
    let res = app
        .send(
            Method::GET,
            "/v2/",
            None,
            None,
            &[("host", "registry.test:5000")],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers["www-authenticate"],
        "Bearer realm=\"http://registry.test:5000/service/token\",service=\"berth\""
    );
    assert_eq!(res.json()["errors"][0]["code"], "UNAUTHORIZED");
    assert_eq!(
        res.headers["docker-distribution-api-version"],
        "registry/2.0"
    );
}

#[tokio::test]
async fn tokens_and_basic_credentials_open_v2() {
    let app = TestApp::new().await;
    app.admin().await;
    let token = real_token(&app).await;
    let res = v2(&app, Some(&format!("Bearer {token}"))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        res.headers["docker-distribution-api-version"],
        "registry/2.0"
    );

    app.user("dev").await;
    let res = app
        .send(
            Method::GET,
            "/v2/",
            Some(("dev", &password_of("dev"))),
            None,
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = app
        .send(Method::GET, "/v2/", Some(("dev", "wrong")), None, &[])
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json()["errors"][0]["message"],
        "invalid username or password"
    );
    assert!(res.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let app = TestApp::new().await;
    app.admin().await;
    let good = real_token(&app).await;
    let (header, payload, signature) = {
        let parts: Vec<&str> = good.split('.').collect();
        (
            parts[0].to_string(),
            parts[1].to_string(),
            parts[2].to_string(),
        )
    };

    // Forged: the same claims signed by a key that is not the server's.
    let other = ring::signature::EcdsaKeyPair::generate_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &ring::rand::SystemRandom::new(),
    )
    .unwrap();
    let forged = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims("berth", now() + 600),
        &EncodingKey::from_ec_der(other.as_ref()),
    )
    .unwrap();
    // Tampered: the real signature over changed claims.
    let mut tampered_claims = common::jwt_claims(&good);
    tampered_claims["sub"] = json!("someone-else");
    let tampered = format!(
        "{header}.{}.{signature}",
        b64(tampered_claims.to_string().as_bytes())
    );
    // Expired, and for another audience, though signed with the real key.
    let expired = sign_with_server_key(&app, &claims("berth", now() - 120));
    let wrong_audience = sign_with_server_key(&app, &claims("some-other-registry", now() + 600));
    // alg: none with no signature.
    let none = format!("{}.{payload}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    // Algorithm confusion: HS256 keyed with the public key bytes.
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims("berth", now() + 600),
        &EncodingKey::from_secret(b"public key bytes are public"),
    )
    .unwrap();

    for (what, token) in [
        ("forged", forged),
        ("tampered", tampered),
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("alg none", none),
        ("HS256 confusion", confused),
        ("garbage", "not.a.jwt".to_string()),
    ] {
        let res = v2(&app, Some(&format!("Bearer {token}"))).await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{what} token accepted: {}",
            res.body
        );
        assert!(
            res.json()["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("invalid bearer token"),
            "{what}"
        );
    }
}

/// Many clients asking for tokens at once (a CI fleet logging in) all get one: more concurrent
/// grants than the database pool has connections once made every grant wait for a second
/// connection while holding one, and they failed with 500 after the pool's timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_token_requests_all_succeed() {
    let app = TestApp::new().await;
    app.admin().await;
    let started = std::time::Instant::now();
    let requests = (0..24).map(|i| {
        let path = format!(
            "/service/token?service=berth&scope=repository:library/app{i}:pull,push&scope=repository:other/app{i}:pull"
        );
        let app = &app;
        async move {
            app.send(
                Method::GET,
                &path,
                Some(("admin", ADMIN_PASSWORD)),
                None,
                &[],
            )
            .await
        }
    });
    for res in futures::future::join_all(requests).await {
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert!(res.json()["token"].is_string());
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "no grant waited for the pool's timeout: {:?}",
        started.elapsed()
    );
}
