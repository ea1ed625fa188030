//! The accept loop: every connection with a header timeout (which also ends an idle
//! keep-alive), an I/O idle timeout, a request timeout and a cap on connections and on
//! requests in flight, so slow or half-sent requests cannot hold the server.

use app::site::ClientAddr;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
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

/// How long after a request's deadline its body may still arrive (see [`admit`]).
const BODY_GRACE: Duration = Duration::from_secs(1);

/// Graceful shutdown waits this long for answers under way.
const DRAIN: Duration = Duration::from_secs(15);

/// `app` behind the cap on requests in flight (in all and per client) and the request
/// timeout. Goes inside the layer that finds the client's address.
pub fn with_request_limits(app: Router, limits: Limits) -> Router {
    let admission = Arc::new(Admission {
        slots: Arc::new(Semaphore::new(limits.in_flight)),
        clients: Mutex::new(HashMap::new()),
        per_client: (limits.in_flight / 4).max(1),
        request: limits.request,
    });
    app.layer(middleware::from_fn_with_state(admission, admit))
}

/// Requests under way, in all and per client address.
struct Admission {
    slots: Arc<Semaphore>,
    clients: Mutex<HashMap<IpAddr, usize>>,
    /// A quarter of the slots: one client cannot take them all.
    per_client: usize,
    request: Duration,
}

/// One client's request under way; counted until dropped.
struct Share {
    admission: Arc<Admission>,
    client: IpAddr,
}

impl Share {
    fn take(admission: &Arc<Admission>, client: IpAddr) -> Option<Self> {
        let mut clients = admission.clients.lock().unwrap_or_else(|p| p.into_inner());
        let under_way = clients.entry(client).or_insert(0);
        if *under_way >= admission.per_client {
            return None;
        }
        *under_way += 1;
        Some(Self {
            admission: admission.clone(),
            client,
        })
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut clients = self
            .admission
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(under_way) = clients.get_mut(&self.client) {
            *under_way -= 1;
            if *under_way == 0 {
                clients.remove(&self.client);
            }
        }
    }
}

/// Admits a request if a slot is free (in all and for its client), else 503 with
/// `Retry-After`. The work runs to its end in a task of its own, holding the slot,
/// whatever becomes of the request: a write is never cut off between its commit and
/// what follows it (the chain in memory moving on). A request not answered in time (its
/// body still arriving, or slow work) gets 503 `timeout`; a body still arriving then
/// stops with the connection.
async fn admit(State(admission): State<Arc<Admission>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let client = request
        .extensions()
        .get::<ClientAddr>()
        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0);
    let Ok(slot) = admission.slots.clone().try_acquire_owned() else {
        tracing::warn!(path, "busy: request shed");
        return busy(
            ErrorCode::Overloaded,
            "the server is busy; try again in a few seconds",
        );
    };
    let Some(share) = Share::take(&admission, client) else {
        tracing::warn!(path, %client, "busy: this client's share of requests is in use");
        return busy(
            ErrorCode::Overloaded,
            "this address has many requests under way already; try again in a few seconds",
        );
    };
    // The body must be in soon after the answer's deadline too (after it, so that the
    // answer is the timeout): a body still trickling in then fails, so its work ends
    // instead of holding the slot.
    let (parts, body) = request.into_parts();
    let body = axum::body::Body::new(Deadline {
        body,
        deadline: Box::pin(tokio::time::sleep(admission.request + BODY_GRACE)),
    });
    let request = Request::from_parts(parts, body);
    let work = tokio::spawn(async move {
        let _held = (slot, share);
        next.run(request).await
    });
    match tokio::time::timeout(admission.request, work).await {
        Ok(Ok(response)) => response,
        Ok(Err(failed)) => {
            tracing::error!(path, error = %failed, "a request's work failed");
            let body = wire::ErrorBody {
                error: ErrorCode::Internal,
                message: "something went wrong on the server; it has been logged".into(),
                details: Vec::new(),
            };
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
        }
        Err(_) => {
            tracing::warn!(path, "request timed out");
            busy(
                ErrorCode::Timeout,
                "the request took too long to arrive or to answer; try again",
            )
        }
    }
}

/// A request body that fails once its deadline has passed.
struct Deadline {
    body: axum::body::Body,
    deadline: Pin<Box<Sleep>>,
}

impl http_body::Body for Deadline {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request body did not arrive in time",
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
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
