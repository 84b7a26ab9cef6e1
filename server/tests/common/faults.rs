//! A fault-injecting TCP proxy in front of a real server: it forwards both ways, counts the
//! bytes sent upstream, and cuts every open connection once, when the count reaches a mark.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct FaultProxy {
    pub port: u16,
    /// Bytes clients sent through the proxy to the upstream.
    pub upstream_bytes: Arc<AtomicU64>,
    /// When `upstream_bytes` reaches this, every connection is cut (once; 0: never).
    pub cut_at: Arc<AtomicU64>,
    cut: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream_bytes = Arc::new(AtomicU64::new(0));
        let cut_at = Arc::new(AtomicU64::new(0));
        let cut = Arc::new(tokio::sync::Notify::new());
        let fired = Arc::new(AtomicBool::new(false));
        let (bytes, mark, notify) = (upstream_bytes.clone(), cut_at.clone(), cut.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
                    continue;
                };
                let (bytes, mark, notify, fired) =
                    (bytes.clone(), mark.clone(), notify.clone(), fired.clone());
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            let total = bytes.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                            let at = mark.load(Ordering::SeqCst);
                            if at > 0 && total >= at && !fired.swap(true, Ordering::SeqCst) {
                                notify.notify_waiters();
                                return;
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let down = async {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = match sr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if cw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    // Either direction ending, or the cut, closes both sockets.
                    tokio::select! {
                        _ = up => {}
                        _ = down => {}
                        _ = notify.notified() => {}
                    }
                });
            }
        });
        Self {
            port,
            upstream_bytes,
            cut_at,
            cut,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut.notify_waiters();
    }
}
