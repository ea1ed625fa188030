//! What changes in each election, for the pages that follow it live
//! (`GET /api/elections/{id}/events`): every change this instance makes or hears of from
//! another instance is numbered and sent to the streams open on this instance; the
//! latest of each kind is kept, so a stream that connects (or reconnects with the id of
//! the last event it saw) first gets the current version of each kind. Nothing is
//! stored: after a restart the numbering starts again under a new instance id, and a
//! client that names another instance's id gets every kind's current version.

use crate::{Node, Result};
use ledger::ElectionId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::broadcast;
use wire::{Change, LiveEvent};

/// How many changes a slow stream may fall behind before it is sent every kind's
/// current version again.
const BACKLOG: usize = 256;

/// The latest event of each kind of one election, by kind, with its number.
type Latest = HashMap<&'static str, (u64, LiveEvent)>;

/// The changes of every election on this instance.
pub(crate) struct Live {
    /// This instance's id in event ids: a restart, or another instance, numbers anew.
    instance: String,
    next: AtomicU64,
    sender: broadcast::Sender<(ElectionId, LiveEvent)>,
    /// The latest event of each kind, per election, with its number.
    latest: Mutex<HashMap<ElectionId, Latest>>,
}

impl Live {
    pub(crate) fn new() -> Self {
        let mut id = [0u8; 4];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
        Self {
            instance: hex::encode(id),
            next: AtomicU64::new(1),
            sender: broadcast::channel(BACKLOG).0,
            latest: Mutex::new(HashMap::new()),
        }
    }

    fn latest(&self) -> std::sync::MutexGuard<'_, HashMap<ElectionId, Latest>> {
        // Inserts and reads only: a poisoned map is still whole.
        self.latest.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Numbers the change, keeps it as its kind's latest and sends it to the open streams.
    pub(crate) fn publish(&self, election: ElectionId, change: Change) {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let event = LiveEvent {
            id: format!("{}-{number}", self.instance),
            change,
        };
        self.latest()
            .entry(election)
            .or_default()
            .insert(event.change.kind(), (number, event.clone()));
        // No stream open is no error.
        let _ = self.sender.send((election, event));
    }

    /// The number of an event id of this instance's; `None` for another instance's, or
    /// anything else.
    fn number_of(&self, id: &str) -> Option<u64> {
        let (instance, number) = id.rsplit_once('-')?;
        (instance == self.instance)
            .then(|| number.parse().ok())
            .flatten()
    }
}

impl Node {
    /// Every change made or heard from now on, of every election.
    pub fn follow_changes(&self) -> broadcast::Receiver<(ElectionId, LiveEvent)> {
        self.inner.live.sender.subscribe()
    }

    /// What a stream of `election` starts with: the current version of each kind, or,
    /// given the id of the last event a client saw on this instance, those newer than
    /// it. The head and the state are always known (numbered 0 when they have not
    /// changed since this instance started); other kinds once one has happened here.
    pub async fn changes_since(
        &self,
        election: ElectionId,
        since: Option<&str>,
    ) -> Result<Vec<LiveEvent>> {
        let live = &self.inner.live;
        // The number of the last event seen, when it is this instance's.
        let after = since.and_then(|id| live.number_of(id));
        let mut kinds: Latest = live.latest().get(&election).cloned().unwrap_or_default();
        let known = |change: Change| {
            (
                0,
                LiveEvent {
                    id: format!("{}-0", live.instance),
                    change,
                },
            )
        };
        let state = self.state_of(election).await?;
        let finalised = crate::count::final_head(&mut *self.inner.read.acquire().await?, election)
            .await?
            .is_some();
        kinds
            .entry("state")
            .or_insert_with(|| known(Change::State { state, finalised }));
        if let Some(chain) = self.chain_now(election) {
            kinds.entry("head").or_insert_with(|| {
                known(Change::Head {
                    height: chain.height(),
                    hash: chain.tip(),
                })
            });
        }
        let mut events: Vec<(u64, LiveEvent)> = kinds
            .into_values()
            .filter(|(number, _)| after.is_none_or(|after| *number > after))
            .collect();
        events.sort_by_key(|(number, _)| *number);
        Ok(events.into_iter().map(|(_, event)| event).collect())
    }

    /// Says a change of `election` to the streams on this instance and, on PostgreSQL,
    /// to the other instances (which say it to theirs). Called once the change is
    /// committed; a notification that cannot be sent costs only a late page update (the
    /// pages also read their data when they come back into view).
    pub(crate) async fn changed(&self, election: ElectionId, change: Change) {
        self.inner.live.publish(election, change.clone());
        if self.inner.listener.is_none() {
            return;
        }
        let event = crate::sync::Event::Live(election, self.inner.live.instance.clone(), change);
        let sent = async {
            let mut db = self.inner.write.acquire().await?;
            event.send(&mut db).await
        };
        if let Err(e) = sent.await {
            tracing::warn!(election = election.0, error = %e, "cannot tell the other instances of a change");
        }
    }

    /// A change an instance told of: said to the streams on this one, unless this one
    /// told it (its streams have it already).
    pub(crate) fn heard_change(&self, election: ElectionId, from: &str, change: Change) {
        if from != self.inner.live.instance {
            self.inner.live.publish(election, change);
        }
    }
}
