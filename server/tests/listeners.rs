//! The real listeners: HTTPS with a certificate generated at test time, HTTP/2, HSTS, the plain
//! HTTP redirect, and graceful shutdown that drains in-flight responses.

mod common;

use std::net::TcpListener;

use berth_server::config::HttpsConfig;
use berth_server::serve::{self, Listeners};
use common::TestApp;

fn loopback_listener() -> TcpListener {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

#[tokio::test]
async fn https_serves_the_console_over_http2_with_hsts_and_redirects_plain_http() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();

    let main = loopback_listener();
    let redirect = loopback_listener();
    let https_port = main.local_addr().unwrap().port();
    let http_port = redirect.local_addr().unwrap().port();
    let app = TestApp::with_config(|c| {
        c.http.port = http_port;
        c.https = Some(HttpsConfig {
            port: https_port,
            certificate: cert_path.clone(),
            private_key: key_path.clone(),
            redirect_http: true,
            hsts_max_age: 600,
        });
    })
    .await;
    let config = (*app.state.config).clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve::run(
            &config,
            berth_server::router(app.state.clone()),
            Listeners {
                main,
                redirect: Some(redirect),
            },
            async move {
                let _ = stop_rx.await;
            },
        )
        .await
    });

    let ca = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("https://localhost:{https_port}");

    let res = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.version(),
        reqwest::Version::HTTP_2,
        "ALPN should pick h2"
    );
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=600; includeSubDomains"
    );
    assert!(res.text().await.unwrap().contains("Projects"));

    let res = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("strict-transport-security"));

    let res = client
        .get(format!("http://localhost:{http_port}/projects?page=2"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(
        res.headers()["location"],
        format!("https://localhost:{https_port}/projects?page=2")
    );

    stop_tx.send(()).unwrap();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    stopped
        .expect("server stops after the shutdown signal")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_lets_in_flight_responses_finish_and_refuses_new_connections() {
    const SIZE: usize = 48 << 20;
    let app = TestApp::new().await;
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("large.bin"), vec![7u8; SIZE]).unwrap();
    let state = berth_server::AppState::new(
        (*app.state.config).clone(),
        app.state.db.clone(),
        site.path().to_path_buf(),
    )
    .unwrap();
    let listener = loopback_listener();
    let port = listener.local_addr().unwrap().port();
    let config = (*state.config).clone();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve::run(
            &config,
            berth_server::router(state),
            Listeners {
                main: listener,
                redirect: None,
            },
            async move {
                let _ = stop_rx.await;
            },
        )
        .await
    });

    let mut res = reqwest::get(format!("http://127.0.0.1:{port}/large.bin"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut received = res.chunk().await.unwrap().unwrap().len();
    assert!(received < SIZE, "the response must still be in flight");

    stop_tx.send(()).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let refused = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "new connections are refused while draining"
    );

    while let Some(chunk) = res.chunk().await.unwrap() {
        received += chunk.len();
    }
    assert_eq!(received, SIZE, "the in-flight response completed");
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    stopped
        .expect("server stops once drained")
        .unwrap()
        .unwrap();
}
