//! `GET /api/elections/{id}/events`: what changes in an election, as Server-Sent Events
//! (see `wire::live`). Bounded: at most [`PER_CLIENT`] streams per client address (`429`)
//! and half the connections the server takes in all (`503` with `Retry-After`); a
//! heartbeat comment every 20 s keeps a quiet stream inside the idle cuts (the server's
//! and a proxy's, 60 s); every stream ends when the server begins to shut down, so the
//! drain is not held.

use super::extract::ElectionPath;
use super::ApiError;
use crate::serve::AppState;
use app::site::ClientAddr;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use engine::Node;
use ledger::ElectionId;
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch};
use wire::{ErrorCode, LiveEvent};

/// Streams one client address may hold open (a person with a few pages open; pages close
/// theirs while hidden).
pub const PER_CLIENT: usize = 4;

/// Between two heartbeats on a quiet stream.
pub const HEARTBEAT: Duration = Duration::from_secs(20);

pub fn router() -> Router<AppState> {
    Router::new().route("/elections/{id}/events", get(events))
}

/// The event streams open, per client address, against their bounds.
pub struct Streams {
    open: Mutex<HashMap<IpAddr, usize>>,
    /// Streams in all: half the connections the server takes, so pages that follow an
    /// election never take every connection.
    most: usize,
}

/// One open stream, counted until dropped.
struct Ticket {
    streams: Arc<Streams>,
    client: IpAddr,
}

impl Streams {
    /// Bounds for a server that takes `connections` connections at once.
    pub fn new(connections: usize) -> Arc<Self> {
        Arc::new(Self {
            open: Mutex::new(HashMap::new()),
            most: (connections / 2).max(1),
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Counts only: a poisoned map is still whole.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A stream for `client`, or why not.
    fn take(self: &Arc<Self>, client: IpAddr) -> Result<Ticket, ApiError> {
        let mut open = self.open();
        if open.values().sum::<usize>() >= self.most {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Overloaded,
                "the server follows as many pages as it can; try again in a few seconds",
            )
            .retry_after(5));
        }
        let mine = open.entry(client).or_insert(0);
        if *mine >= PER_CLIENT {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!("this address follows {PER_CLIENT} pages already: close one (a hidden page closes its own)"),
            )
            .retry_after(5));
        }
        *mine += 1;
        Ok(Ticket {
            streams: self.clone(),
            client,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.streams.open();
        if let Some(mine) = open.get_mut(&self.client) {
            *mine -= 1;
            if *mine == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// One stream's state between two events.
struct Follow {
    node: Node,
    election: ElectionId,
    /// Sent before anything new: the current version of each kind.
    first: VecDeque<LiveEvent>,
    changes: broadcast::Receiver<(ElectionId, LiveEvent)>,
    stopping: watch::Receiver<bool>,
    _ticket: Ticket,
}

impl Follow {
    /// The next event to send; `None` ends the stream (the server is stopping).
    async fn next(&mut self) -> Option<LiveEvent> {
        loop {
            if let Some(event) = self.first.pop_front() {
                return Some(event);
            }
            tokio::select! {
                () = stopped(&mut self.stopping) => return None,
                heard = self.changes.recv() => match heard {
                    Ok((election, event)) if election == self.election => return Some(event),
                    Ok(_) => {}
                    // Fell behind: every kind's current version instead of what was missed.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        self.first = self
                            .node
                            .changes_since(self.election, None)
                            .await
                            .ok()?
                            .into();
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }
}

/// Resolves once the server begins to shut down (or can no longer say so).
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    // The guard `wait_for` answers is dropped here, before anything else waits.
    let _ = stopping.wait_for(|stopping| *stopping).await;
}

fn sse(event: &LiveEvent) -> Event {
    Event::default()
        .id(event.id.clone())
        .json_data(event)
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "an event did not encode");
            // A comment: the page reads nothing from it, and its next event still comes.
            Event::default().comment("an event did not encode")
        })
}

async fn events(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ElectionPath(election): ElectionPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Subscribed before the current versions are read: nothing falls between the two.
    let changes = state.node.follow_changes();
    let since = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let first = state.node.changes_since(election, since.as_deref()).await?;
    let ticket = state.streams.take(client)?;
    let follow = Follow {
        node: state.node.clone(),
        election,
        first: first.into(),
        changes,
        stopping: state.stopping.clone(),
        _ticket: ticket,
    };
    let stream = futures_util::stream::unfold(follow, |mut follow| async move {
        let event = follow.next().await?;
        Some((Ok::<_, Infallible>(sse(&event)), follow))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
        .into_response();
    let headers = response.headers_mut();
    // nginx would otherwise hold the events back in its buffer.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
