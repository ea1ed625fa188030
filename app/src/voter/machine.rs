//! The ballot page's logic as one state machine: sealing the choice, then casting it or
//! auditing it instead (cast-or-audit), as phases, the events that move them (buttons,
//! the ballot worker's and the server's answers) and the effects each move asks of the
//! browser. Plain Rust with no browser: the page carries the effects out and turns what
//! comes back into events, so every transition is tested natively.
//!
//! | phase     | event                              | effects             | then      |
//! |-----------|------------------------------------|---------------------|-----------|
//! | Choosing  | Seal, a code that does not read    | (notice MalformedCode)| Choosing |
//! | Choosing  | Seal, not confirmed                | (notice Unconfirmed)| Choosing  |
//! | Choosing  | Seal, no choice                    | (notice NoCandidate)| Choosing  |
//! | Choosing  | Seal, confirmed, a choice          | SealInWorker        | Sealing   |
//! | Sealing   | Sealed(Ok)                         | ShowSealed          | Sealed    |
//! | Sealing   | Sealed(Err(notice))                | (notice)            | Choosing  |
//! | Sealed    | Cast                               | CastSealed          | Casting   |
//! | Sealed    | Audit                              | RevealSealed        | Revealing |
//! | Casting   | CastAnswer(Ok)                     | ToReceipt           | Cast      |
//! | Casting   | CastAnswer(Err(MalformedCode))     | (notice)            | Sealed    |
//! | Casting   | CastAnswer(Err(notice))            | Restart(notice)     | Choosing  |
//! | Revealing | Audited(Ok(text))                  |                     | Audited   |
//! | Revealing | Audited(Err(notice))               | (notice)            | Choosing  |
//! | Audited   | Again                              |                     | Choosing  |
//! | any other | any other (a second click, a late answer) | nothing      | unchanged |
//!
//! A code that does not read as a voting code is flagged before anything is sealed; one
//! mistyped after sealing keeps the sealed ballot, so the voter corrects the code. Any
//! other refusal of the cast starts again from a fresh page, with the notice that says
//! why. A sealed ballot is brought into view with its choice restated, Cast first: on a
//! phone it would otherwise appear below the fold.

// The server build renders the form but never moves it: the answers are the browser's.
#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

use crate::machine::Machine;
use crate::notice::Notice;
use ledger::{CandidateId, TxId};

/// A ballot sealed in the ballot worker: its fingerprint (a cast vote's receipt page
/// shows the same), the milliseconds sealing took there, and the choice sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedBallot {
    pub hash: TxId,
    pub millis: u64,
    pub choice: CandidateId,
}

/// Where the ballot of this page is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Choosing: nothing sealed.
    Choosing,
    /// The ballot worker checks the election key and seals this choice.
    Sealing(CandidateId),
    /// Sealed: cast it, or audit it instead.
    Sealed(SealedBallot),
    /// The ballot worker signs the sealed ballot with the code typed; the page sends it.
    Casting(SealedBallot),
    /// The ballot worker reveals the sealed ballot (never to be cast).
    Revealing,
    /// Revealed for audit: the audit's JSON text. It is never cast.
    Audited(String),
    /// Cast: the page moves on to the receipt.
    Cast(TxId),
}

/// Something that happened to the ballot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// "Seal my ballot", with what the form has: whether the code typed reads as a voting
    /// code, the choice, and the confirmation.
    Seal {
        code_reads: bool,
        choice: Option<CandidateId>,
        confirmed: bool,
    },
    /// The ballot worker's answer to sealing: the fingerprint and milliseconds, or why not.
    Sealed(Result<(TxId, u64), Notice>),
    /// "Cast my vote".
    Cast,
    /// The answer to casting: the receipt, and whether it is of a vote this code had cast
    /// before (an answer lost on the way); or why not.
    CastAnswer(Result<(TxId, bool), Notice>),
    /// "Audit this ballot instead".
    Audit,
    /// The revealed ballot as the audit's JSON text, or why not.
    Audited(Result<String, Notice>),
    /// "Seal a new ballot", after an audit.
    Again,
}

/// What a move asks of the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Seal this choice in the ballot worker.
    SealInWorker(CandidateId),
    /// Bring the sealed ballot into view, its Cast button first.
    ShowSealed,
    /// Sign the sealed ballot in the ballot worker with the code typed, and send it.
    CastSealed,
    /// Reveal the sealed ballot from the ballot worker.
    RevealSealed,
    /// Go to the receipt's page (`already`: the code had voted before).
    ToReceipt { receipt: TxId, already: bool },
    /// Start again from a fresh ballot page that shows this notice.
    Restart(Notice),
}

/// The ballot of one page: its phase and the notice under the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ballot {
    pub phase: Phase,
    pub notice: Option<Notice>,
}

impl Default for Ballot {
    fn default() -> Self {
        Self {
            phase: Phase::Choosing,
            notice: None,
        }
    }
}

impl Ballot {
    /// Whether the page waits for the worker or the server (its buttons are off).
    pub fn busy(&self) -> bool {
        matches!(
            self.phase,
            Phase::Sealing(_) | Phase::Casting(_) | Phase::Revealing
        )
    }

    /// Whether the choice is sealed (the choices are locked until it is cast or audited).
    pub fn sealed(&self) -> bool {
        matches!(self.phase, Phase::Sealed(_) | Phase::Casting(_))
    }
}

impl Machine for Ballot {
    type Event = Event;
    type Effect = Effect;

    /// Takes one event; the effects to carry out (see the module's table).
    fn step(&mut self, event: Event) -> Vec<Effect> {
        let phase = std::mem::replace(&mut self.phase, Phase::Choosing);
        let (phase, notice, effects) = match (phase, event) {
            (
                Phase::Choosing,
                Event::Seal {
                    code_reads: false, ..
                },
            ) => (Phase::Choosing, Some(Notice::MalformedCode), vec![]),
            (
                Phase::Choosing,
                Event::Seal {
                    confirmed: false, ..
                },
            ) => (Phase::Choosing, Some(Notice::Unconfirmed), vec![]),
            (Phase::Choosing, Event::Seal { choice: None, .. }) => {
                (Phase::Choosing, Some(Notice::NoCandidate), vec![])
            }
            (
                Phase::Choosing,
                Event::Seal {
                    choice: Some(choice),
                    ..
                },
            ) => (
                Phase::Sealing(choice),
                None,
                vec![Effect::SealInWorker(choice)],
            ),
            (Phase::Sealing(choice), Event::Sealed(Ok((hash, millis)))) => (
                Phase::Sealed(SealedBallot {
                    hash,
                    millis,
                    choice,
                }),
                None,
                vec![Effect::ShowSealed],
            ),
            (Phase::Sealing(_), Event::Sealed(Err(notice))) => {
                (Phase::Choosing, Some(notice), vec![])
            }
            (Phase::Sealed(ballot), Event::Cast) => {
                (Phase::Casting(ballot), None, vec![Effect::CastSealed])
            }
            (Phase::Sealed(_), Event::Audit) => {
                (Phase::Revealing, None, vec![Effect::RevealSealed])
            }
            (Phase::Casting(_), Event::CastAnswer(Ok((receipt, already)))) => (
                Phase::Cast(receipt),
                None,
                vec![Effect::ToReceipt { receipt, already }],
            ),
            (Phase::Casting(ballot), Event::CastAnswer(Err(Notice::MalformedCode))) => {
                (Phase::Sealed(ballot), Some(Notice::MalformedCode), vec![])
            }
            (Phase::Casting(_), Event::CastAnswer(Err(notice))) => {
                (Phase::Choosing, None, vec![Effect::Restart(notice)])
            }
            (Phase::Revealing, Event::Audited(Ok(text))) => (Phase::Audited(text), None, vec![]),
            (Phase::Revealing, Event::Audited(Err(notice))) => {
                (Phase::Choosing, Some(notice), vec![])
            }
            (Phase::Audited(_), Event::Again) => (Phase::Choosing, None, vec![]),
            // A second click while waiting, or an answer the page no longer waits for.
            (phase, _) => {
                self.phase = phase;
                return vec![];
            }
        };
        self.phase = phase;
        self.notice = notice;
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: TxId = TxId([7; 32]);
    const RECEIPT: TxId = TxId([9; 32]);
    const CHOICE: CandidateId = CandidateId(2);

    fn at(phase: Phase) -> Ballot {
        Ballot {
            phase,
            notice: None,
        }
    }

    fn sealed() -> SealedBallot {
        SealedBallot {
            hash: HASH,
            millis: 40,
            choice: CHOICE,
        }
    }

    fn seal(choice: Option<CandidateId>, confirmed: bool) -> Event {
        Event::Seal {
            code_reads: true,
            choice,
            confirmed,
        }
    }

    /// One row of the table: from `phase`, `event` gives `effects` and `then` with
    /// `notice`.
    fn row(phase: Phase, event: Event, effects: Vec<Effect>, then: Phase, notice: Option<Notice>) {
        let mut b = at(phase.clone());
        let got = b.step(event.clone());
        assert_eq!(got, effects, "{phase:?} on {event:?}");
        assert_eq!(b.phase, then, "{phase:?} on {event:?}");
        assert_eq!(b.notice, notice, "{phase:?} on {event:?}");
    }

    #[test]
    fn a_code_that_does_not_read_is_flagged_before_sealing() {
        row(
            Phase::Choosing,
            Event::Seal {
                code_reads: false,
                choice: Some(CHOICE),
                confirmed: true,
            },
            vec![],
            Phase::Choosing,
            Some(Notice::MalformedCode),
        );
    }

    #[test]
    fn an_unconfirmed_ballot_is_not_sealed() {
        row(
            Phase::Choosing,
            seal(Some(CHOICE), false),
            vec![],
            Phase::Choosing,
            Some(Notice::Unconfirmed),
        );
    }

    #[test]
    fn a_ballot_without_a_choice_is_not_sealed() {
        row(
            Phase::Choosing,
            seal(None, true),
            vec![],
            Phase::Choosing,
            Some(Notice::NoCandidate),
        );
    }

    #[test]
    fn a_confirmed_choice_is_sealed_in_the_worker() {
        row(
            Phase::Choosing,
            seal(Some(CHOICE), true),
            vec![Effect::SealInWorker(CHOICE)],
            Phase::Sealing(CHOICE),
            None,
        );
    }

    #[test]
    fn the_sealed_ballot_keeps_its_choice_fingerprint_and_time() {
        row(
            Phase::Sealing(CHOICE),
            Event::Sealed(Ok((HASH, 40))),
            vec![Effect::ShowSealed],
            Phase::Sealed(sealed()),
            None,
        );
    }

    #[test]
    fn a_ballot_the_worker_will_not_seal_goes_back_to_choosing_with_why() {
        row(
            Phase::Sealing(CHOICE),
            Event::Sealed(Err(Notice::UntrustedKey)),
            vec![],
            Phase::Choosing,
            Some(Notice::UntrustedKey),
        );
    }

    #[test]
    fn casting_signs_and_sends_the_sealed_ballot() {
        row(
            Phase::Sealed(sealed()),
            Event::Cast,
            vec![Effect::CastSealed],
            Phase::Casting(sealed()),
            None,
        );
    }

    #[test]
    fn auditing_reveals_the_sealed_ballot() {
        row(
            Phase::Sealed(sealed()),
            Event::Audit,
            vec![Effect::RevealSealed],
            Phase::Revealing,
            None,
        );
    }

    #[test]
    fn a_cast_vote_moves_on_to_its_receipt() {
        for already in [false, true] {
            row(
                Phase::Casting(sealed()),
                Event::CastAnswer(Ok((RECEIPT, already))),
                vec![Effect::ToReceipt {
                    receipt: RECEIPT,
                    already,
                }],
                Phase::Cast(RECEIPT),
                None,
            );
        }
    }

    #[test]
    fn a_mistyped_code_keeps_the_sealed_ballot() {
        row(
            Phase::Casting(sealed()),
            Event::CastAnswer(Err(Notice::MalformedCode)),
            vec![],
            Phase::Sealed(sealed()),
            Some(Notice::MalformedCode),
        );
    }

    #[test]
    fn a_refused_vote_starts_again_with_the_notice() {
        for notice in [Notice::InvalidCode, Notice::Failed, Notice::AlreadyVoted] {
            row(
                Phase::Casting(sealed()),
                Event::CastAnswer(Err(notice)),
                vec![Effect::Restart(notice)],
                Phase::Choosing,
                None,
            );
        }
    }

    #[test]
    fn a_revealed_ballot_is_shown_for_audit_and_never_cast() {
        row(
            Phase::Revealing,
            Event::Audited(Ok("{}".into())),
            vec![],
            Phase::Audited("{}".into()),
            None,
        );
        let mut b = at(Phase::Audited("{}".into()));
        assert_eq!(b.step(Event::Cast), vec![]);
        assert_eq!(b.phase, Phase::Audited("{}".into()));
    }

    #[test]
    fn a_ballot_the_worker_will_not_reveal_goes_back_to_choosing() {
        row(
            Phase::Revealing,
            Event::Audited(Err(Notice::Failed)),
            vec![],
            Phase::Choosing,
            Some(Notice::Failed),
        );
    }

    #[test]
    fn after_an_audit_a_new_ballot_is_sealed_afresh() {
        row(
            Phase::Audited("{}".into()),
            Event::Again,
            vec![],
            Phase::Choosing,
            None,
        );
    }

    #[test]
    fn a_second_click_or_a_late_answer_changes_nothing() {
        let cases = [
            (Phase::Sealing(CHOICE), seal(Some(CHOICE), true)),
            (Phase::Casting(sealed()), Event::Cast),
            (Phase::Casting(sealed()), Event::Audit),
            (Phase::Sealed(sealed()), seal(Some(CHOICE), true)),
            (Phase::Choosing, Event::Sealed(Ok((HASH, 1)))),
            (Phase::Choosing, Event::CastAnswer(Ok((RECEIPT, false)))),
            (Phase::Revealing, Event::Cast),
            (Phase::Cast(RECEIPT), Event::Again),
        ];
        for (phase, event) in cases {
            let mut b = Ballot {
                phase: phase.clone(),
                notice: Some(Notice::Failed),
            };
            assert_eq!(b.step(event.clone()), vec![], "{phase:?} on {event:?}");
            assert_eq!(b.phase, phase, "{phase:?} on {event:?}");
            assert_eq!(b.notice, Some(Notice::Failed), "the notice stays");
        }
        assert!(at(Phase::Sealing(CHOICE)).busy());
        assert!(at(Phase::Casting(sealed())).sealed());
        assert!(!at(Phase::Choosing).busy());
    }
}
