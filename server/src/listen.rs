//! The accept loop: every connection with a header timeout (which also ends an idle
//! keep-alive), an I/O idle timeout, a request timeout and a cap on connections and on
//! requests in flight, so slow or half-sent requests cannot hold the server.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::Service as _;
use wire::ErrorCode;

/// How long the server waits for each connection and request.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// From the connection's start, or the end of the previous answer on a kept-alive
    /// connection, until the request's headers are in.
    pub header_read: Duration,
    /// From the headers to the answer's head.
    pub request: Duration,
    /// No byte moving either way (a stalled upload, a client that stops reading).
    /// Longer than `request`: the socket is idle while a slow handler works.
    pub io_idle: Duration,
    /// Requests being answered at once; more get 503 with `Retry-After`.
    pub in_flight: usize,
    /// Open connections; more wait in the kernel's queue until one closes.
    pub connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            io_idle: Duration::from_secs(60),
            in_flight: 256,
            connections: 1024,
        }
    }
}

/// Graceful shutdown waits this long for answers under way.
const DRAIN: Duration = Duration::from_secs(15);

/// `app` with the request timeout and the cap on requests in flight (the cap outermost,
/// so a shed request costs nothing).
pub fn with_request_limits(app: Router, limits: Limits) -> Router {
    let slots = Arc::new(Semaphore::new(limits.in_flight));
    app.layer(middleware::from_fn_with_state(limits.request, time_limit))
        .layer(middleware::from_fn_with_state(slots, shed_load))
}

/// 503 when a request is not answered in time (its body is still arriving, or the work
/// takes too long); the work is dropped, so its transaction rolls back.
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(path, "request timed out");
            busy(
                ErrorCode::Timeout,
                "the request took too long to arrive or to answer; try again",
            )
        }
    }
}

fn busy(code: ErrorCode, message: &str) -> Response {
    let body = wire::ErrorBody {
        error: code,
        message: message.into(),
        details: Vec::new(),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from_static("2"))],
        axum::Json(body),
    )
        .into_response()
}

async fn shed_load(State(slots): State<Arc<Semaphore>>, request: Request, next: Next) -> Response {
    // Held until the handler has answered.
    let Ok(_permit) = slots.try_acquire() else {
        tracing::warn!(path = request.uri().path(), "busy: request shed");
        return busy(
            ErrorCode::Overloaded,
            "the server is busy; try again in a few seconds",
        );
    };
    next.run(request).await
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets answers under way
/// finish (for a while).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    let connections = Arc::new(Semaphore::new(limits.connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Over the cap, nothing is accepted: new clients wait in the kernel's queue.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // Adds the peer's address to every request, as `axum::serve` does.
        let service = match make.call(peer).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let io = TokioIo::new(IdleTimeout::new(stream, limits.io_idle));
        let connection =
            graceful.watch(http.serve_connection(io, TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, timeout = e.is_timeout(), "connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!(open = graceful.count(), "draining connections");
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}; closing them");
    }
    Ok(())
}

/// A failed accept: the client's own trouble is skipped; anything else (out of file
/// descriptors) backs off a second.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        tracing::error!("accept failed: {e}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// I/O that fails with `TimedOut` once no byte has moved either way for `idle`.
struct IdleTimeout<T> {
    io: T,
    idle: Duration,
    last: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<T> IdleTimeout<T> {
    fn new(io: T, idle: Duration) -> Self {
        Self {
            io,
            idle,
            last: Instant::now(),
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn track<R>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if r.is_ready() {
            self.last = Instant::now();
            return r;
        }
        // The timer is moved on lazily, only when it fires.
        loop {
            ready!(self.timer.as_mut().poll(cx));
            let deadline = self.last + self.idle;
            if Instant::now() >= deadline {
                return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
            }
            self.timer.as_mut().reset(deadline);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        this.track(cx, r)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.track(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.track(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
