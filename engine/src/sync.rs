//! Several instances on one PostgreSQL database. The database decides what the chain is
//! (each election's chain lock and its unique appended height); each instance keeps its
//! copy of the chains in memory up to date from the stored blocks: when another instance
//! says it appended one (PostgreSQL's LISTEN/NOTIFY), and before any write that depends
//! on the tip. A SQLite file has one instance, whose memory is never behind.

use crate::blocks::appended_after;
use crate::{store, ChainSlot, EngineError, Inner, Node, Result};
use ledger::{ChainState, ElectionId, Signatures};
use sqlx::postgres::PgListener;
use sqlx::AnyConnection;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What one instance tells the others, as a notification's payload (its JSON, e.g.
/// `{"appended":7}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Event {
    /// A block was appended to this election's chain.
    Appended(ElectionId),
    /// Votes joined this election's pending pool.
    Votes(ElectionId),
    /// This election's stored chain failed the integrity check, for this reason.
    Altered(ElectionId, String),
    /// Something the pages that follow this election show changed (see `live`), told by
    /// the instance of this id (which has said it to its own streams already).
    Live(ElectionId, String, wire::Change),
}

/// Longest reason an `Altered` event carries (PostgreSQL allows 8000 bytes).
const MAX_REASON: usize = 4000;

impl Event {
    /// The payload: the event's JSON, a long reason cut to [`MAX_REASON`] bytes.
    pub(crate) fn to_payload(&self) -> serde_json::Result<String> {
        match self {
            Self::Altered(id, why) if why.len() > MAX_REASON => {
                let mut end = MAX_REASON;
                while !why.is_char_boundary(end) {
                    end -= 1;
                }
                serde_json::to_string(&Self::Altered(*id, why[..end].to_owned()))
            }
            other => serde_json::to_string(other),
        }
    }

    /// An event read from a payload; `None` for anything else.
    pub(crate) fn parse(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }

    /// Tells the other instances, once the transaction `db` commits.
    pub(crate) async fn send(&self, db: &mut AnyConnection) -> sqlx::Result<()> {
        let payload = self
            .to_payload()
            .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        store::notify(db, &payload).await
    }
}

/// Starts the task that hears other instances' events on `url` for the node behind
/// `node`; it ends with the node.
pub(crate) fn listen(url: String, node: Weak<Inner>) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        loop {
            match hear(&url, &node).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "listening to other instances failed; again in a second");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })
    .abort_handle()
}

/// Hears events until the node is gone (`Ok`) or the listener fails. Whenever the
/// connection was lost (and so events may have been missed), every chain in memory
/// catches up and every mining template is made anew.
async fn hear(url: &str, node: &Weak<Inner>) -> std::result::Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(store::EVENTS).await?;
    // Events may have been missed before this listener started.
    let mut missed = true;
    loop {
        if missed {
            let Some(inner) = node.upgrade() else {
                return Ok(());
            };
            Node { inner }.catch_up_all().await;
            missed = false;
        }
        let heard = listener.try_recv().await?;
        let Some(inner) = node.upgrade() else {
            return Ok(());
        };
        let node = Node { inner };
        match heard.map(|n| Event::parse(n.payload())) {
            None => missed = true,
            Some(None) => {}
            Some(Some(Event::Appended(id))) => {
                if let Err(e) = node.refresh(id).await {
                    tracing::warn!(election = id.0, error = %e, "catching up with another instance failed");
                }
            }
            Some(Some(Event::Votes(id))) => node.pool_grew(id),
            Some(Some(Event::Live(id, from, change))) => node.heard_change(id, &from, change),
            Some(Some(Event::Altered(id, why))) => {
                if node.integrity_problem(id).is_none() {
                    tracing::error!(election = id.0, %why, "TAMPERING DETECTED by another instance's integrity check");
                    node.set_chain(id, ChainSlot::Tampered(why));
                }
            }
        }
    }
}

impl Node {
    /// Every chain in memory catches up, and every template is made anew.
    async fn catch_up_all(&self) {
        let loaded: Vec<ElectionId> = self.chains().keys().copied().collect();
        for id in loaded {
            self.pool_grew(id);
            if let Err(e) = self.refresh(id).await {
                tracing::warn!(election = id.0, error = %e, "catching up with another instance failed");
            }
        }
    }

    /// The chain in memory catches up with the stored one, if it is verified and behind.
    async fn refresh(&self, id: ElectionId) -> Result<()> {
        if self.chain_now(id).is_none() {
            return Ok(());
        }
        let _appending = self.inner.append_lock.lock().await;
        self.catch_up(&mut *self.inner.read.acquire().await?, id)
            .await
            .map(drop)
    }

    /// The chain, caught up with the blocks other instances appended: what a write that
    /// depends on the tip starts from. Reads the stored height first, and takes the
    /// append lock only when the chain in memory is behind.
    pub(crate) async fn fresh_chain(&self, id: ElectionId) -> Result<Arc<ChainState>> {
        let chain = self.chain(id).await?;
        if self.inner.listener.is_none() {
            // A SQLite file has one instance: every block appended is this one's.
            return Ok(chain);
        }
        let stored: Option<i64> = sqlx::query_scalar(
            "SELECT max(idx) FROM blocks WHERE election_id = $1 AND status = $2",
        )
        .bind(id)
        .bind(wire::BlockStatus::Appended)
        .fetch_one(&self.inner.read)
        .await?;
        if stored.unwrap_or(0) <= crate::db_time(chain.height()) {
            return Ok(chain);
        }
        let _appending = self.inner.append_lock.lock().await;
        self.catch_up(&mut *self.inner.read.acquire().await?, id)
            .await
    }

    /// A write transaction that holds `election`'s chain until it ends (its lock on
    /// PostgreSQL, the one writer on SQLite), and the chain caught up inside it: what
    /// appends, decisions, block intake and finalising write in. Called with the append
    /// lock held.
    pub(crate) async fn begin_chain_write(
        &self,
        election: ElectionId,
    ) -> Result<(sqlx::Transaction<'static, sqlx::Any>, Arc<ChainState>)> {
        let mut tx = self.inner.write.begin().await?;
        store::lock_chain(&mut tx, election).await?;
        let chain = self.catch_up(&mut tx, election).await?;
        Ok((tx, chain))
    }

    /// The chain in memory extended by the blocks stored after its tip, each verified as
    /// a copy kept elsewhere verifies what it follows (every chain rule, the approvals of
    /// a quorum of the genesis validators); read on `db`. Called with the append lock
    /// held. A stored chain that no longer holds the tip in memory, or a block that does
    /// not verify, is an altered chain, which takes no more writes.
    pub(crate) async fn catch_up(
        &self,
        db: &mut AnyConnection,
        id: ElectionId,
    ) -> Result<Arc<ChainState>> {
        let chain = self.chain(id).await?;
        let served = appended_after(db, id, chain.height(), None).await?;
        let Some(last) = served.last() else {
            return Ok(chain);
        };
        let head = (last.block.header.index, last.block.hash());
        let known = chain.clone();
        let followed = tokio::task::spawn_blocking(move || {
            // Each vote's ballot proofs were checked as it came into the pool.
            ledger::follow(&known, head, &served, &[], Signatures::ProofsChecked)
        })
        .await
        .map_err(EngineError::join)?;
        match followed {
            Ok(next) => {
                let next = Arc::new(next);
                tracing::info!(
                    election = id.0,
                    from = chain.height(),
                    to = next.height(),
                    "caught up with blocks appended by another instance"
                );
                self.set_chain(id, ChainSlot::Verified(next.clone()));
                Ok(next)
            }
            Err(e) => {
                let why = e.to_string();
                tracing::error!(election = id.0, %why, "TAMPERING DETECTED: the stored chain does not extend the verified one");
                self.set_chain(id, ChainSlot::Tampered(why.clone()));
                Err(EngineError::Integrity(why))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_back_as_written() {
        for event in [
            Event::Appended(ElectionId(7)),
            Event::Votes(ElectionId(u64::from(u32::MAX) + 1)),
            Event::Altered(ElectionId(3), "block 2: its parent is gone".into()),
        ] {
            assert_eq!(Event::parse(&event.to_payload().unwrap()), Some(event));
        }
        assert_eq!(
            Event::Appended(ElectionId(7)).to_payload().unwrap(),
            r#"{"appended":7}"#
        );
        let long = Event::Altered(ElectionId(1), "é".repeat(3000))
            .to_payload()
            .unwrap();
        assert!(long.len() <= MAX_REASON + r#"{"altered":[1,""]}"#.len());
        assert!(
            matches!(Event::parse(&long), Some(Event::Altered(ElectionId(1), why)) if why.chars().all(|c| c == 'é'))
        );
        for junk in [
            "",
            "appended 3",
            r#"{"appended":"x"}"#,
            r#"{"sealed":3}"#,
            r#"{"altered":3}"#,
            r#"{"votes":-1}"#,
        ] {
            assert_eq!(Event::parse(junk), None, "{junk:?}");
        }
    }
}
