//! A validator's decision on a block as one state machine: checked against what the page
//! knows (the key unlocked, the validators the verified genesis block lists), signed in
//! the key worker and sent, and, for an approval that appended the block, kept in this
//! browser's copy of the chain. Plain Rust with no browser: the page carries the effects
//! out and turns what comes back into events, so every transition is tested natively.
//!
//! | phase   | event                                        | effects                | then    |
//! |---------|----------------------------------------------|------------------------|---------|
//! | Idle    | Decide, no key unlocked                      | (refused)              | Idle    |
//! | Idle    | Decide, the copy not verified (none listed)  | (refused)              | Idle    |
//! | Idle    | Decide, the key not listed                   | (refused)              | Idle    |
//! | Idle    | Decide                                       | SignAndSend            | Sending |
//! | Sending | Sent(Ok), an approval that appended          | Pin                    | Pinning |
//! | Sending | Sent(Ok), otherwise                          | Refresh (sent)         | Idle    |
//! | Sending | Sent(Err(Locked))                            | Relock, Refresh        | Idle    |
//! | Sending | Sent(Err(refused))                           | Refresh (refused)      | Idle    |
//! | Pinning | Pinned(Ok)                                   | Refresh (sent)         | Idle    |
//! | Pinning | Pinned(Err)                                  | Refresh (refused)      | Idle    |
//! | busy    | Decide (a second click)                      | nothing                | busy    |
//! | any     | an answer it does not wait for               | nothing                | same    |

#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

use crate::machine::Machine;
use ledger::{BlockHash, ElectionId, PublicKey};
use wire::{BlockStatus, BlockSummary};

/// Approve, or reject with a reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject(String),
}

/// A decision on one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnBlock {
    pub election: ElectionId,
    pub hash: BlockHash,
    pub decision: Decision,
}

/// Where the page's decision is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// None in flight.
    Idle,
    /// The key worker signs it and the page sends it.
    Sending(OnBlock),
    /// The approval appended the block: this browser's copy of the chain keeps it.
    Pinning(OnBlock, BlockSummary),
}

/// Why a decision was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSent {
    /// The key worker holds no key (its bundle reloaded): the key must be unlocked again.
    Locked,
    /// The key worker or the server refused, in words.
    Refused(String),
}

/// Something that happened to the decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Approve or Reject, with what the page knows: the key unlocked here, and the
    /// validators the genesis block lists as this browser verified it (none: the copy
    /// could not be verified).
    Decide {
        on: OnBlock,
        key: Option<PublicKey>,
        listed: Vec<PublicKey>,
    },
    /// The decision signed and sent: the block after, or why not.
    Sent(Result<BlockSummary, NotSent>),
    /// The appended block kept in this browser's copy, or why not.
    Pinned(Result<(), String>),
}

/// What a move asks of the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Sign the decision in the key worker and send it.
    SignAndSend(OnBlock),
    /// Keep the block this approval appended in this browser's copy.
    Pin {
        election: ElectionId,
        height: u64,
        hash: BlockHash,
    },
    /// The key is gone from the worker: show the key panel's unlock form again.
    Relock,
    /// Load the queue again.
    Refresh,
}

/// What became of the last decision, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent(String),
    Refused(String),
}

/// The page's decision desk: its phase and the last outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desk {
    pub phase: Phase,
    pub outcome: Option<Outcome>,
}

impl Default for Desk {
    fn default() -> Self {
        Self {
            phase: Phase::Idle,
            outcome: None,
        }
    }
}

/// "Approved block 3: appended to the chain (2 approvals)."
fn sent(on: &OnBlock, b: &BlockSummary) -> Outcome {
    Outcome::Sent(format!(
        "{} block {}: {} ({} approval{}).",
        match on.decision {
            Decision::Approve => "Approved",
            Decision::Reject(_) => "Rejected",
        },
        b.index,
        b.status.label(),
        b.approvals,
        if b.approvals == 1 { "" } else { "s" },
    ))
}

/// Why the page signs nothing: no key, an unverified copy, or a key the genesis block
/// does not list.
fn unsigned(on: &OnBlock, key: Option<PublicKey>, listed: &[PublicKey]) -> Option<String> {
    let Some(key) = key else {
        return Some("Unlock your key first (above).".into());
    };
    if listed.is_empty() {
        return Some("This browser could not verify the chain, so nothing was signed.".into());
    }
    (!listed.contains(&key)).then(|| {
        format!(
            "The genesis block of election {} does not list your key ({}); nothing was signed.",
            on.election,
            wire::fingerprint(&key)
        )
    })
}

impl Desk {
    /// Whether a decision is in flight (the buttons wait).
    pub fn busy(&self) -> bool {
        self.phase != Phase::Idle
    }
}

impl Machine for Desk {
    type Event = Event;
    type Effect = Effect;

    /// Takes one event; the effects to carry out (see the module's table).
    fn step(&mut self, event: Event) -> Vec<Effect> {
        let phase = std::mem::replace(&mut self.phase, Phase::Idle);
        let (phase, outcome, effects) = match (phase, event) {
            (Phase::Idle, Event::Decide { on, key, listed }) => {
                match unsigned(&on, key, &listed) {
                    Some(why) => (Phase::Idle, Some(Outcome::Refused(why)), vec![]),
                    None => (
                        Phase::Sending(on.clone()),
                        None,
                        vec![Effect::SignAndSend(on)],
                    ),
                }
            }
            (Phase::Sending(on), Event::Sent(Ok(b)))
                if on.decision == Decision::Approve && b.status == BlockStatus::Appended =>
            {
                let pin = Effect::Pin {
                    election: on.election,
                    height: b.index,
                    hash: on.hash,
                };
                (Phase::Pinning(on, b), None, vec![pin])
            }
            (Phase::Sending(on), Event::Sent(Ok(b))) => {
                (Phase::Idle, Some(sent(&on, &b)), vec![Effect::Refresh])
            }
            (Phase::Sending(_), Event::Sent(Err(NotSent::Locked))) => (
                Phase::Idle,
                Some(Outcome::Refused(
                    "Your key is no longer unlocked in this page: unlock it again (above), then decide."
                        .into(),
                )),
                vec![Effect::Relock, Effect::Refresh],
            ),
            (Phase::Sending(_), Event::Sent(Err(NotSent::Refused(why)))) => {
                (Phase::Idle, Some(Outcome::Refused(why)), vec![Effect::Refresh])
            }
            (Phase::Pinning(on, b), Event::Pinned(Ok(()))) => {
                (Phase::Idle, Some(sent(&on, &b)), vec![Effect::Refresh])
            }
            (Phase::Pinning(..), Event::Pinned(Err(why))) => (
                Phase::Idle,
                Some(Outcome::Refused(format!(
                    "Approved, but this browser could not keep the block: {why}."
                ))),
                vec![Effect::Refresh],
            ),
            // A second click while one is in flight, or an answer not waited for.
            (phase, _) => {
                self.phase = phase;
                return vec![];
            }
        };
        self.phase = phase;
        self.outcome = outcome;
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: PublicKey = PublicKey([1; 32]);
    const OTHER: PublicKey = PublicKey([2; 32]);

    fn on(decision: Decision) -> OnBlock {
        OnBlock {
            election: ElectionId(4),
            hash: BlockHash([5; 32]),
            decision,
        }
    }

    fn summary(status: BlockStatus, approvals: u64) -> BlockSummary {
        BlockSummary {
            hash: BlockHash([5; 32]),
            index: 3,
            prev: BlockHash([4; 32]),
            status,
            votes: 2,
            approvals,
            rejections: 0,
            miner_tag: String::new(),
            submitted_at: 0,
        }
    }

    fn decide(decision: Decision, key: Option<PublicKey>, listed: Vec<PublicKey>) -> Event {
        Event::Decide {
            on: on(decision),
            key,
            listed,
        }
    }

    fn at(phase: Phase) -> Desk {
        Desk {
            phase,
            outcome: None,
        }
    }

    fn refused(desk: &Desk) -> String {
        match &desk.outcome {
            Some(Outcome::Refused(why)) => why.clone(),
            other => panic!("refused expected, got {other:?}"),
        }
    }

    #[test]
    fn nothing_is_signed_without_an_unlocked_key() {
        let mut d = Desk::default();
        assert_eq!(d.step(decide(Decision::Approve, None, vec![ME])), vec![]);
        assert_eq!(d.phase, Phase::Idle);
        assert!(refused(&d).contains("Unlock your key first"));
    }

    #[test]
    fn nothing_is_signed_when_this_browser_could_not_verify_the_chain() {
        let mut d = Desk::default();
        assert_eq!(d.step(decide(Decision::Approve, Some(ME), vec![])), vec![]);
        assert!(refused(&d).contains("could not verify the chain"));
    }

    #[test]
    fn nothing_is_signed_with_a_key_the_genesis_block_does_not_list() {
        let mut d = Desk::default();
        assert_eq!(
            d.step(decide(Decision::Reject("x".into()), Some(ME), vec![OTHER])),
            vec![]
        );
        assert!(refused(&d).contains("does not list your key"));
        assert!(refused(&d).contains(&wire::fingerprint(&ME)));
    }

    #[test]
    fn a_listed_key_signs_and_sends() {
        let mut d = Desk::default();
        let effects = d.step(decide(Decision::Approve, Some(ME), vec![OTHER, ME]));
        assert_eq!(effects, vec![Effect::SignAndSend(on(Decision::Approve))]);
        assert_eq!(d.phase, Phase::Sending(on(Decision::Approve)));
        assert!(d.busy());
    }

    #[test]
    fn an_approval_that_appended_the_block_is_kept_in_this_browsers_copy() {
        let mut d = at(Phase::Sending(on(Decision::Approve)));
        let b = summary(BlockStatus::Appended, 2);
        let effects = d.step(Event::Sent(Ok(b.clone())));
        assert_eq!(
            effects,
            vec![Effect::Pin {
                election: ElectionId(4),
                height: 3,
                hash: BlockHash([5; 32])
            }]
        );
        assert_eq!(d.phase, Phase::Pinning(on(Decision::Approve), b));
    }

    #[test]
    fn a_decision_sent_is_said_and_the_queue_reloaded() {
        let mut d = at(Phase::Sending(on(Decision::Approve)));
        let effects = d.step(Event::Sent(Ok(summary(BlockStatus::Awaiting, 1))));
        assert_eq!(effects, vec![Effect::Refresh]);
        assert_eq!(d.phase, Phase::Idle);
        assert_eq!(
            d.outcome,
            Some(Outcome::Sent(
                "Approved block 3: awaiting approval (1 approval).".into()
            ))
        );
        let mut d = at(Phase::Sending(on(Decision::Reject("bad".into()))));
        // A rejection is never pinned, whatever the block's state.
        let effects = d.step(Event::Sent(Ok(summary(BlockStatus::Appended, 2))));
        assert_eq!(effects, vec![Effect::Refresh]);
        assert!(matches!(&d.outcome, Some(Outcome::Sent(m)) if m.starts_with("Rejected block 3")));
    }

    #[test]
    fn a_key_gone_from_the_worker_is_asked_for_again() {
        let mut d = at(Phase::Sending(on(Decision::Approve)));
        let effects = d.step(Event::Sent(Err(NotSent::Locked)));
        assert_eq!(effects, vec![Effect::Relock, Effect::Refresh]);
        assert!(refused(&d).contains("unlock it again"));
    }

    #[test]
    fn a_refused_decision_says_why() {
        let mut d = at(Phase::Sending(on(Decision::Approve)));
        let effects = d.step(Event::Sent(Err(NotSent::Refused("stale".into()))));
        assert_eq!(effects, vec![Effect::Refresh]);
        assert_eq!(refused(&d), "stale");
    }

    #[test]
    fn a_kept_block_says_the_approval() {
        let b = summary(BlockStatus::Appended, 2);
        let mut d = at(Phase::Pinning(on(Decision::Approve), b));
        assert_eq!(d.step(Event::Pinned(Ok(()))), vec![Effect::Refresh]);
        assert_eq!(
            d.outcome,
            Some(Outcome::Sent(
                "Approved block 3: appended to the chain (2 approvals).".into()
            ))
        );
    }

    #[test]
    fn a_block_this_browser_could_not_keep_is_said() {
        let b = summary(BlockStatus::Appended, 2);
        let mut d = at(Phase::Pinning(on(Decision::Approve), b));
        assert_eq!(
            d.step(Event::Pinned(Err("another block at height 3".into()))),
            vec![Effect::Refresh]
        );
        assert!(refused(&d).starts_with("Approved, but this browser could not keep the block"));
    }

    #[test]
    fn a_second_click_or_an_answer_not_waited_for_changes_nothing() {
        let b = summary(BlockStatus::Appended, 2);
        let cases = [
            (
                Phase::Sending(on(Decision::Approve)),
                decide(Decision::Approve, Some(ME), vec![ME]),
            ),
            (
                Phase::Pinning(on(Decision::Approve), b.clone()),
                decide(Decision::Approve, Some(ME), vec![ME]),
            ),
            (Phase::Idle, Event::Sent(Ok(b.clone()))),
            (Phase::Idle, Event::Pinned(Ok(()))),
            (Phase::Sending(on(Decision::Approve)), Event::Pinned(Ok(()))),
        ];
        for (phase, event) in cases {
            let mut d = Desk {
                phase: phase.clone(),
                outcome: Some(Outcome::Sent("before".into())),
            };
            assert_eq!(d.step(event.clone()), vec![], "{phase:?} on {event:?}");
            assert_eq!(d.phase, phase);
            assert_eq!(d.outcome, Some(Outcome::Sent("before".into())));
        }
    }
}
