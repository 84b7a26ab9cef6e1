//! Listening sockets: plain HTTP, HTTPS over rustls (HTTP/1.1 and HTTP/2 by ALPN), the optional
//! HTTP→HTTPS redirect, and graceful shutdown that lets in-flight requests finish.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use anyhow::Context;
use axum::extract::Request;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use axum_server::Handle;

use crate::config::Config;

/// How long in-flight requests may run after a shutdown signal before connections are closed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Sockets bound before serving, so tests can bind port 0 and learn the port.
pub struct Listeners {
    /// HTTPS when `https` is configured, plain HTTP otherwise.
    pub main: TcpListener,
    /// The plain HTTP port answering with redirects, when HTTPS and `redirect_http` are on.
    pub redirect: Option<TcpListener>,
}

impl Listeners {
    pub fn bind(config: &Config) -> anyhow::Result<Self> {
        let bind = |port: u16| -> anyhow::Result<TcpListener> {
            let addr = format!("{}:{}", config.http.bind, port);
            let listener =
                TcpListener::bind(&addr).with_context(|| format!("cannot listen on {addr}"))?;
            listener.set_nonblocking(true)?;
            Ok(listener)
        };
        match &config.https {
            Some(https) => Ok(Self {
                main: bind(https.port)?,
                redirect: if https.redirect_http {
                    Some(bind(config.http.port)?)
                } else {
                    None
                },
            }),
            None => Ok(Self {
                main: bind(config.http.port)?,
                redirect: None,
            }),
        }
    }
}

/// Serves `app` until `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    config: &Config,
    app: Router,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let handle: Handle<SocketAddr> = Handle::new();
    let main_addr = listeners.main.local_addr()?;
    let service = app.into_make_service_with_connect_info::<SocketAddr>();

    let redirect_task = match (listeners.redirect, &config.https) {
        (Some(listener), Some(https)) => {
            let target_port = https.port;
            let redirect = Router::new()
                .fallback(move |req: Request| async move { redirect_to_https(req, target_port) });
            let addr = listener.local_addr()?;
            let server = axum_server::from_tcp(listener)?.handle(handle.clone());
            tracing::info!(%addr, "redirecting plain HTTP to HTTPS");
            Some(tokio::spawn(server.serve(redirect.into_make_service())))
        }
        _ => None,
    };

    let signal_handle = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutdown requested: finishing in-flight requests");
        signal_handle.graceful_shutdown(Some(DRAIN_TIMEOUT));
    });

    let result = match &config.https {
        Some(https) => {
            let tls = RustlsConfig::from_pem_file(&https.certificate, &https.private_key)
                .await
                .with_context(|| {
                    format!(
                        "cannot load TLS certificate {} / key {}",
                        https.certificate.display(),
                        https.private_key.display()
                    )
                })?;
            tracing::info!(addr = %main_addr, "serving HTTPS (HTTP/1.1 and HTTP/2)");
            axum_server::from_tcp_rustls(listeners.main, tls)?
                .handle(handle.clone())
                .serve(service)
                .await
        }
        None => {
            tracing::info!(addr = %main_addr, "serving HTTP");
            let mut server = axum_server::from_tcp(listeners.main)?
                .acceptor(crate::sendfile::Acceptor)
                .handle(handle.clone());
            // Body chunks must reach the connection as they are (queued, written vectored),
            // never flattened into hyper's buffer: `sendfile` recognises its placeholders.
            server.http_builder().http1().writev(true);
            server.serve(service).await
        }
    };
    if let Some(task) = redirect_task {
        task.abort();
    }
    result.context("server failed")?;
    tracing::info!("server stopped");
    Ok(())
}

/// 308 to the same host and path on the HTTPS port; the method and body are preserved.
fn redirect_to_https(req: Request, https_port: u16) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.rsplit_once(':').map_or(h, |(name, port)| {
                if port.chars().all(|c| c.is_ascii_digit()) {
                    name
                } else {
                    h
                }
            })
        })
        .unwrap_or("localhost");
    let authority = if https_port == 443 {
        host.to_string()
    } else {
        format!("{host}:{https_port}")
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    match format!("https://{authority}{path}").parse::<Uri>() {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location.to_string())],
        )
            .into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad Host header").into_response(),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
