//! Logs, request ids and Prometheus metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use domain::db::Database as DatabaseConnection;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::Arc;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::config::{LogConfig, LogFormat};
use crate::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Prometheus collectors for this process.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    /// Scans finished by this replica (success or failure).
    pub scans_finished: prometheus::IntCounter,
    zero_copy_bytes: prometheus::IntCounter,
    consumer_lag: IntGaugeVec,
    /// Blob bytes replication moved in this replica.
    pub replication_bytes: prometheus::IntCounter,
    /// Replication task attempts that failed and were scheduled again.
    pub replication_retries: prometheus::IntCounter,
    /// Replication tasks this replica ended, by final status.
    pub replication_tasks: IntCounterVec,
    db: DatabaseConnection,
}

impl Metrics {
    pub fn new(db: DatabaseConnection) -> Self {
        let registry = Registry::new_custom(Some("berth".into()), None).expect("valid prefix");
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests served, by route template, method and status.",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to produce the response head.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ]),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by state."),
            &["state"],
        )
        .expect("valid metric");
        let scans_finished = prometheus::IntCounter::new(
            "scans_finished_total",
            "Vulnerability scans finished by this replica.",
        )
        .expect("valid metric");
        let zero_copy_bytes = prometheus::IntCounter::new(
            "blob_zero_copy_bytes_total",
            "Blob bytes this replica sent from file to socket without copying (sendfile).",
        )
        .expect("valid metric");
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                "event_consumer_lag",
                "Domain events written that a consumer has not finished yet.",
            ),
            &["consumer"],
        )
        .expect("valid metric");
        let replication_bytes = prometheus::IntCounter::new(
            "replication_bytes_total",
            "Blob bytes replication copied in this replica.",
        )
        .expect("valid metric");
        let replication_retries = prometheus::IntCounter::new(
            "replication_retries_total",
            "Replication task attempts that failed and were scheduled again.",
        )
        .expect("valid metric");
        let replication_tasks = IntCounterVec::new(
            Opts::new(
                "replication_tasks_total",
                "Replication tasks this replica ended, by status.",
            ),
            &["status"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(replication_bytes.clone()),
            Box::new(replication_retries.clone()),
            Box::new(replication_tasks.clone()),
            Box::new(latency.clone()),
            Box::new(pool.clone()),
            Box::new(scans_finished.clone()),
            Box::new(zero_copy_bytes.clone()),
            Box::new(consumer_lag.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric registered once");
        }
        Self {
            registry,
            requests,
            latency,
            pool,
            scans_finished,
            zero_copy_bytes,
            consumer_lag,
            replication_bytes,
            replication_retries,
            replication_tasks,
            db,
        }
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition of every collector, with pool gauges and consumer lag read now.
    pub async fn render(&self) -> String {
        match domain::service::events::consumer_statuses(&self.db).await {
            Ok((_, consumers)) => {
                for c in consumers {
                    self.consumer_lag.with_label_values(&[&c.name]).set(c.lag);
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read event consumer lag"),
        }
        let (open, idle) = domain::db::pool_usage(&self.db);
        self.pool.with_label_values(&["open"]).set(i64::from(open));
        self.pool.with_label_values(&["idle"]).set(i64::from(idle));
        let sent = crate::sendfile::BYTES_SENT.load(std::sync::atomic::Ordering::Relaxed);
        self.zero_copy_bytes
            .inc_by(sent.saturating_sub(self.zero_copy_bytes.get()));
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("prometheus text is UTF-8")
    }
}

pub async fn scrape(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render().await,
    )
        .into_response()
}

async fn record(metrics: Arc<Metrics>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    // The route template, never the raw path, so label cardinality stays bounded.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(console)".to_owned());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let started = Instant::now();
    // Every domain event this request causes records its id.
    let response = domain::service::events::with_request_id(request_id, next.run(request)).await;
    metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Request ids (`x-request-id`, generated unless the client sent one), a tracing span per
/// request, metrics, and HSTS when serving HTTPS.
pub fn apply(router: Router, metrics: Arc<Metrics>, hsts_max_age: Option<u64>) -> Router {
    let router = router.layer(middleware::from_fn(move |req, next| {
        record(metrics.clone(), req, next)
    }));
    let router = match hsts_max_age {
        Some(age) => router.layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_str(&format!("max-age={age}; includeSubDomains"))
                .expect("ascii header"),
        )),
        None => router,
    };
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", id, method = %request.method(), path = %request.uri().path())
        })
        // One access-log line per request, at info.
        .on_response(DefaultOnResponse::new().level(Level::INFO)))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Installs the global log subscriber: human-readable text or one JSON object per line.
pub fn init_tracing(log: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}
