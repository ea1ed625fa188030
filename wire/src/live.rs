//! `GET /api/elections/{id}/events`: what changed in an election, as Server-Sent Events.
//! Each event names what changed, not the new data: a page that follows the stream reads
//! its own data again (a receipt page re-reads its receipt), so nothing per voter is
//! streamed and nothing is stored for the stream. On connect (and on reconnect with
//! `Last-Event-ID`) the server first sends the current version of each kind (those newer
//! than the id given), then every change as it happens.

use crate::state::{BlockStatus, ElectionState};
use ledger::BlockHash;
use serde::{Deserialize, Serialize};

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// The chain's head moved: a block was appended (or voting opened: height 0).
    Head { height: u64, hash: BlockHash },
    /// A block was submitted (awaiting) or decided.
    Block {
        hash: BlockHash,
        status: BlockStatus,
    },
    /// Votes joined the pool.
    Pool,
    /// The key ceremony's board changed: a trustee enrolled, a message was posted, the
    /// ceremony (re)started.
    Ceremony,
    /// A trustee's decryption share was posted.
    Share { trustee: u16 },
    /// The result was decrypted and published.
    Result,
    /// The election's state changed: voting opened or closed, or the count was
    /// finalised (`finalised`).
    State {
        state: ElectionState,
        finalised: bool,
    },
}

impl Change {
    /// The kind's name, as the event's `kind` field gives it: one current version is
    /// kept of each.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Head { .. } => "head",
            Self::Block { .. } => "block",
            Self::Pool => "pool",
            Self::Ceremony => "ceremony",
            Self::Share { .. } => "share",
            Self::Result => "result",
            Self::State { .. } => "state",
        }
    }
}

/// One event of the stream: its id (the SSE `id:`, which a reconnecting client sends back
/// as `Last-Event-ID`) and what changed (the `data:` JSON, with the id in it too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// `{instance}-{sequence}`: the server instance that numbered it, and its number
    /// there, rising with every change.
    pub id: String,
    #[serde(flatten)]
    pub change: Change,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_as_its_kind_with_its_fields_and_id() {
        let event = LiveEvent {
            id: "a1b2-7".into(),
            change: Change::Block {
                hash: BlockHash([1; 32]),
                status: BlockStatus::Appended,
            },
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "block");
        assert_eq!(json["status"], "appended");
        assert_eq!(json["id"], "a1b2-7");
        assert_eq!(serde_json::from_value::<LiveEvent>(json).unwrap(), event);
        let state = Change::State {
            state: ElectionState::Closed,
            finalised: true,
        };
        assert_eq!(state.kind(), "state");
        assert_eq!(
            serde_json::to_value(&state).unwrap(),
            serde_json::json!({"kind": "state", "state": "closed", "finalised": true})
        );
    }
}
