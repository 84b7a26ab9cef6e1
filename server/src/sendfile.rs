//! Zero-copy blob downloads on plain HTTP/1.x: a blob's bytes go from the page cache to the
//! socket with `sendfile(2)` instead of being read into memory and written back out.
//!
//! hyper stays in charge of the protocol (status line, headers, `Content-Length`, keep-alive);
//! only the body's bytes take the short path. The response body ([`FileBody`]) yields
//! *placeholder* chunks, slices of one static buffer that is never read, and hands its file
//! region to the connection. hyper queues body chunks unchanged (its vectored write strategy,
//! forced on where the acceptor is installed, `serve::run`) and passes them to the connection's `poll_write_vectored`, where
//! [`SendfileStream`] recognises a placeholder by its address and writes the same number of bytes
//! from the file instead.
//!
//! A placeholder copied anywhere else would go out as zeros, so the path is taken only where
//! nothing copies body bytes: HTTP/1 requests on a connection accepted by [`Acceptor`] (the plain
//! HTTP listener; TLS and HTTP/2 stream as before), through a router with no body-transforming
//! middleware. The registry tests pull every blob through it and compare digests.

use std::collections::VecDeque;
use std::future::{ready, Ready};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{Request, Version};
use domain::storage::{BlobContent, FileRegion};
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// The most bytes one placeholder chunk stands for. The buffer lives in `.bss` and is never
/// read, so it costs address space, not memory.
const PLACEHOLDER_LEN: usize = 4 << 20;
static PLACEHOLDER: [u8; PLACEHOLDER_LEN] = [0; PLACEHOLDER_LEN];

/// Bytes this process has written with `sendfile`, for `/metrics`.
pub static BYTES_SENT: AtomicU64 = AtomicU64::new(0);

fn is_placeholder(buf: &[u8]) -> bool {
    let start = PLACEHOLDER.as_ptr() as usize;
    let at = buf.as_ptr() as usize;
    !buf.is_empty() && at >= start && at + buf.len() <= start + PLACEHOLDER_LEN
}

/// One connection's file regions waiting for their placeholder bytes, in response order (HTTP/1
/// writes one response body after the other). A request extension on connections that support
/// zero-copy bodies.
#[derive(Clone, Default)]
pub struct ZeroCopy {
    shared: Arc<Mutex<Pending>>,
}

#[derive(Default)]
struct Pending {
    regions: VecDeque<FileRegion>,
    /// Set when a body that registered its region went away before yielding all its
    /// placeholders: the regions no longer line up with the bytes, so the connection stops.
    broken: bool,
}

impl ZeroCopy {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The body of a blob download: the file region itself on a zero-copy connection, a stream
/// otherwise.
pub fn blob_body<B>(content: BlobContent, request: &Request<B>) -> io::Result<Body> {
    let http1 = matches!(request.version(), Version::HTTP_10 | Version::HTTP_11);
    match (content, request.extensions().get::<ZeroCopy>()) {
        (BlobContent::File(region), Some(zero_copy)) if http1 => {
            Ok(Body::new(FileBody::new(region, zero_copy.clone())))
        }
        (content, _) => Ok(Body::from_stream(content.into_stream()?)),
    }
}

/// A response body of placeholders standing for a file region.
pub struct FileBody {
    region: Option<FileRegion>,
    /// Placeholder bytes still to yield.
    remaining: u64,
    zero_copy: ZeroCopy,
}

impl FileBody {
    fn new(region: FileRegion, zero_copy: ZeroCopy) -> Self {
        Self {
            remaining: region.len,
            region: Some(region),
            zero_copy,
        }
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        // Registered on the first poll, which hyper makes only once the previous response's body
        // has been yielded in full, so regions queue in the order their bytes are written.
        if let Some(region) = this.region.take() {
            if region.len > 0 {
                this.zero_copy.pending().regions.push_back(region);
            }
        }
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let n = this.remaining.min(PLACEHOLDER_LEN as u64) as usize;
        this.remaining -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&PLACEHOLDER[..n])))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

impl Drop for FileBody {
    fn drop(&mut self) {
        if self.region.is_none() && self.remaining > 0 {
            self.zero_copy.pending().broken = true;
        }
    }
}

/// A plain TCP connection that writes placeholder bytes from their file region.
pub struct SendfileStream {
    tcp: TcpStream,
    zero_copy: ZeroCopy,
}

impl SendfileStream {
    /// Writes up to `len` bytes of the front region, with the socket's readiness as the waker.
    fn poll_sendfile(&mut self, cx: &mut Context<'_>, len: usize) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.tcp.poll_write_ready(cx))?;
            let mut pending = self.zero_copy.pending();
            if pending.broken {
                return Poll::Ready(Err(io::Error::other(
                    "a blob download was abandoned mid-body; closing the connection",
                )));
            }
            let Some(region) = pending.regions.front_mut() else {
                return Poll::Ready(Err(io::Error::other(
                    "placeholder bytes without a file region",
                )));
            };
            let count = (len as u64).min(region.len) as usize;
            let tcp = &self.tcp;
            let sent = tcp.try_io(Interest::WRITABLE, || {
                rustix::fs::sendfile(tcp, &region.file, Some(&mut region.offset), count)
                    .map_err(io::Error::from)
            });
            match sent {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the blob's file is shorter than its recorded size",
                    )))
                }
                Ok(n) => {
                    BYTES_SENT.fetch_add(n as u64, Ordering::Relaxed);
                    region.len -= n as u64;
                    if region.len == 0 {
                        pending.regions.pop_front();
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for SendfileStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for SendfileStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if is_placeholder(buf) {
            self.poll_sendfile(cx, buf.len())
        } else {
            Pin::new(&mut self.tcp).poll_write(cx, buf)
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Ordinary bytes up to the first placeholder in one write; a placeholder on its own.
        match bufs.iter().position(|b| is_placeholder(b)) {
            Some(first) if bufs[..first].iter().all(|b| b.is_empty()) => {
                self.poll_sendfile(cx, bufs[first].len())
            }
            Some(first) => Pin::new(&mut self.tcp).poll_write_vectored(cx, &bufs[..first]),
            None => Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Accepts plain TCP connections as [`SendfileStream`]s and gives their requests the
/// connection's [`ZeroCopy`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Acceptor;

impl<S> axum_server::accept::Accept<TcpStream, S> for Acceptor {
    type Stream = SendfileStream;
    type Service = WithZeroCopy<S>;
    type Future = Ready<io::Result<(SendfileStream, WithZeroCopy<S>)>>;

    fn accept(&self, tcp: TcpStream, inner: S) -> Self::Future {
        let zero_copy = ZeroCopy::default();
        ready(Ok((
            SendfileStream {
                tcp,
                zero_copy: zero_copy.clone(),
            },
            WithZeroCopy { inner, zero_copy },
        )))
    }
}

/// Adds the connection's [`ZeroCopy`] to each request.
#[derive(Clone)]
pub struct WithZeroCopy<S> {
    inner: S,
    zero_copy: ZeroCopy,
}

impl<S, B> tower::Service<Request<B>> for WithZeroCopy<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> S::Future {
        request.extensions_mut().insert(self.zero_copy.clone());
        self.inner.call(request)
    }
}
