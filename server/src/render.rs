//! Console requests run on single-threaded render workers.
//!
//! Leptos 0.8's reactive graph can deadlock when the tasks of one server-side render are polled
//! on two threads at once: an effect inside `<Suspense/>` and a resource's async-derived take
//! their `RwLock`s in opposite orders (upstream leptos-rs/leptos#4673; observed here as a
//! project page that sent its first chunk and then never finished, with both tokio workers
//! parked in `RwLock::write`, and every later request queued behind them). Each console request
//! — page or server function — is therefore handled start to finish, its body included, on one
//! of a few render threads, each a current-thread tokio runtime, so every task Leptos spawns for
//! that request stays on that thread. Different requests still run in parallel on different
//! render threads, and the registry and REST API never pass through here.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A fixed set of render threads; requests are dealt out round-robin.
pub struct RenderPool {
    workers: Vec<mpsc::UnboundedSender<Job>>,
    next: AtomicUsize,
}

impl RenderPool {
    /// The process's render threads, started on first use.
    pub fn shared() -> Arc<Self> {
        static POOL: std::sync::LazyLock<Arc<RenderPool>> = std::sync::LazyLock::new(|| {
            let n = std::env::var("BERTH_RENDER_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
                .max(1);
            Arc::new(RenderPool {
                workers: (0..n).map(spawn_worker).collect(),
                next: AtomicUsize::new(0),
            })
        });
        POOL.clone()
    }

    fn submit(&self, job: Job) -> Result<(), Job> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        self.workers[i].send(job).map_err(|e| e.0)
    }
}

/// A render thread's stack: deep page trees (the administration page) need more than the
/// default 2 MiB in unoptimised builds. Only the pages touched are ever committed.
const RENDER_STACK: usize = 16 * 1024 * 1024;

fn spawn_worker(i: usize) -> mpsc::UnboundedSender<Job> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    std::thread::Builder::new()
        .name(format!("berth-render-{i}"))
        .stack_size(RENDER_STACK)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a render thread's runtime starts");
            runtime.block_on(async move {
                while let Some(job) = rx.recv().await {
                    tokio::spawn(job);
                }
            });
        })
        .expect("a render thread starts");
    tx
}

/// Middleware: hands the request to a render thread and relays the response it produces.
pub async fn confine(State(pool): State<Arc<RenderPool>>, req: Request, next: Next) -> Response {
    let (head_tx, head_rx) = oneshot::channel();
    let (mut body_tx, body_rx) = futures::channel::mpsc::channel::<Result<Bytes, axum::Error>>(8);
    let job: Job = Box::pin(async move {
        let (parts, body) = next.run(req).await.into_parts();
        if head_tx.send(parts).is_err() {
            return;
        }
        let mut chunks = body.into_data_stream();
        while let Some(chunk) = chunks.next().await {
            if body_tx.send(chunk).await.is_err() {
                return; // the client went away
            }
        }
    });
    if pool.submit(job).is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the console is shutting down",
        )
            .into_response();
    }
    match head_rx.await {
        Ok(parts) => Response::from_parts(parts, Body::from_stream(body_rx)),
        Err(_) => {
            tracing::error!("a console request ended without a response (see the log above)");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
