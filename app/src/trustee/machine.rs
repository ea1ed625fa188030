//! A trustee's decryption share as one state machine: made in this browser (its own copy
//! of the chain checked, the share decrypted in the key worker, the count recorded), then,
//! when the key file was chosen rather than remembered here, offered for download before
//! the share is posted. Plain Rust with no browser: the page carries the effects out and
//! turns what comes back into events, so every transition is tested natively.
//!
//! | phase            | event                         | effects      | then             |
//! |------------------|-------------------------------|--------------|------------------|
//! | Ready, Failed    | Make                          | MakeShare    | Working          |
//! | Working          | Progress                      |              | Working (words)  |
//! | Working (making) | Made(Ok), file remembered     | Post         | Working (posting)|
//! | Working (making) | Made(Ok), file chosen         |              | SaveFirst        |
//! | Working          | Made(Err)                     |              | Failed           |
//! | SaveFirst        | Saved                         |              | SaveFirst (saved)|
//! | SaveFirst, saved | Post                          | Post         | Working (posting)|
//! | Working (posting)| Posted(Ok)                    | Refresh      | Posted           |
//! | Working (posting)| Posted(Err), file remembered  |              | Failed           |
//! | Working (posting)| Posted(Err), file chosen      |              | SaveFirst (why)  |
//! | any other        | any other                     | nothing      | unchanged        |
//!
//! A share made with a chosen key file is never posted before the trustee took the
//! updated file, which records the count: an earlier copy would let the key decrypt
//! another count. A refused post keeps the share, to post again.

#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

use crate::machine::Machine;
use ledger::result::SignedShare;

/// A share made and not yet posted, with the download link of the key file that records
/// its count (none when the file is remembered in this browser, which keeps it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub share: SignedShare,
    pub file: Option<String>,
}

/// Where the share is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Nothing made.
    Ready,
    /// Making the share (`None`), or posting this one; the words say the step.
    Working(Option<Made>, String),
    /// Made with a chosen key file: the updated file to download before posting, whether
    /// it was, and why the last post was refused (if it was).
    SaveFirst {
        made: Made,
        saved: bool,
        refused: Option<String>,
    },
    /// Posted: what the server said.
    Posted(String),
    /// Refused, in words.
    Failed(String),
}

/// Something that happened to the share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// "Check the count and post my share", with whether the key file is remembered here.
    Make { remembered: bool },
    /// The step the work is at, in words.
    Progress(String),
    /// The share made (and the updated key file's link when chosen), or why not.
    Made(Result<Made, String>),
    /// The updated key file's link was followed.
    Saved,
    /// "I have saved it: post my share".
    Post,
    /// The share posted (what the server said), or why not.
    Posted(Result<String, String>),
}

/// What a move asks of the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Check the count in this browser and make the share (the key file remembered here,
    /// or chosen).
    MakeShare { remembered: bool },
    /// Post this share.
    Post(SignedShare),
    /// Load the count again.
    Refresh,
}

impl Phase {
    /// Whether the form waits (working, waiting for the saved file, or done).
    pub fn busy(&self) -> bool {
        !matches!(self, Self::Ready | Self::Failed(_))
    }
}

impl Machine for Phase {
    type Event = Event;
    type Effect = Effect;

    /// Takes one event; the effects to carry out (see the module's table).
    fn step(&mut self, event: Event) -> Vec<Effect> {
        let phase = std::mem::replace(self, Self::Ready);
        let (phase, effects) = match (phase, event) {
            (Self::Ready | Self::Failed(_), Event::Make { remembered }) => (
                Self::Working(None, "Opening your key file…".into()),
                vec![Effect::MakeShare { remembered }],
            ),
            (Self::Working(made, _), Event::Progress(words)) => {
                (Self::Working(made, words), vec![])
            }
            (Self::Working(None, _), Event::Made(Ok(made))) => match made.file {
                None => {
                    let post = Effect::Post(made.share.clone());
                    (
                        Self::Working(Some(made), "Posting your share…".into()),
                        vec![post],
                    )
                }
                Some(_) => (
                    Self::SaveFirst {
                        made,
                        saved: false,
                        refused: None,
                    },
                    vec![],
                ),
            },
            (Self::Working(None, _), Event::Made(Err(why))) => (Self::Failed(why), vec![]),
            (Self::SaveFirst { made, refused, .. }, Event::Saved) => (
                Self::SaveFirst {
                    made,
                    saved: true,
                    refused,
                },
                vec![],
            ),
            (
                Self::SaveFirst {
                    made, saved: true, ..
                },
                Event::Post,
            ) => {
                let post = Effect::Post(made.share.clone());
                (
                    Self::Working(Some(made), "Posting your share…".into()),
                    vec![post],
                )
            }
            (Self::Working(Some(_), _), Event::Posted(Ok(said))) => {
                (Self::Posted(said), vec![Effect::Refresh])
            }
            (Self::Working(Some(made), _), Event::Posted(Err(why))) => match made.file {
                None => (Self::Failed(why), vec![]),
                Some(_) => (
                    Self::SaveFirst {
                        made,
                        saved: true,
                        refused: Some(why),
                    },
                    vec![],
                ),
            },
            (phase, _) => {
                *self = phase;
                return vec![];
            }
        };
        *self = phase;
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real signed share of one trustee (the fixture's), of empty sums.
    fn share() -> SignedShare {
        let election = ledger::ElectionId(7);
        let (_, identities, sides) = ledger::testing::sealed_trustees(election, 1, 1, 1);
        let sums = ledger::secret::EncryptedSums::new(2);
        let head = ledger::BlockHash([3; 32]);
        let part = ledger::secret::DecryptionShare::make(
            sides[0].key_share().expect("a finished side"),
            &sums,
            &mut ledger::testing::rng(1),
        )
        .expect("a share of empty sums");
        SignedShare::sign(&identities[0], election, &head, &sums, &part)
    }

    fn made(file: Option<&str>) -> Made {
        Made {
            share: share(),
            file: file.map(str::to_owned),
        }
    }

    fn row(from: Phase, event: Event, effects: Vec<Effect>, then: Phase) {
        let mut phase = from.clone();
        assert_eq!(phase.step(event.clone()), effects, "{from:?} on {event:?}");
        assert_eq!(phase, then, "{from:?} on {event:?}");
    }

    fn making() -> Phase {
        Phase::Working(None, "Opening your key file…".into())
    }

    fn posting(file: Option<&str>) -> Phase {
        Phase::Working(Some(made(file)), "Posting your share…".into())
    }

    #[test]
    fn a_share_is_made_from_ready_or_after_a_refusal() {
        for from in [Phase::Ready, Phase::Failed("x".into())] {
            row(
                from,
                Event::Make { remembered: true },
                vec![Effect::MakeShare { remembered: true }],
                making(),
            );
        }
    }

    #[test]
    fn the_work_says_its_step() {
        row(
            making(),
            Event::Progress("Reading the count…".into()),
            vec![],
            Phase::Working(None, "Reading the count…".into()),
        );
    }

    #[test]
    fn a_share_made_with_a_remembered_file_is_posted_at_once() {
        row(
            making(),
            Event::Made(Ok(made(None))),
            vec![Effect::Post(share())],
            posting(None),
        );
    }

    #[test]
    fn a_share_made_with_a_chosen_file_waits_for_the_file_to_be_saved() {
        row(
            making(),
            Event::Made(Ok(made(Some("blob:key")))),
            vec![],
            Phase::SaveFirst {
                made: made(Some("blob:key")),
                saved: false,
                refused: None,
            },
        );
    }

    #[test]
    fn a_share_refused_here_says_why() {
        row(
            making(),
            Event::Made(Err("the count is not final".into())),
            vec![],
            Phase::Failed("the count is not final".into()),
        );
    }

    #[test]
    fn nothing_is_posted_before_the_file_is_saved() {
        let waiting = Phase::SaveFirst {
            made: made(Some("blob:key")),
            saved: false,
            refused: None,
        };
        row(waiting.clone(), Event::Post, vec![], waiting.clone());
        let saved = Phase::SaveFirst {
            made: made(Some("blob:key")),
            saved: true,
            refused: None,
        };
        row(waiting, Event::Saved, vec![], saved.clone());
        row(
            saved,
            Event::Post,
            vec![Effect::Post(share())],
            posting(Some("blob:key")),
        );
    }

    #[test]
    fn a_posted_share_is_said_and_the_count_reloaded() {
        row(
            posting(None),
            Event::Posted(Ok("posted".into())),
            vec![Effect::Refresh],
            Phase::Posted("posted".into()),
        );
    }

    #[test]
    fn a_refused_post_keeps_the_share_to_post_again() {
        row(
            posting(None),
            Event::Posted(Err("unreachable".into())),
            vec![],
            Phase::Failed("unreachable".into()),
        );
        row(
            posting(Some("blob:key")),
            Event::Posted(Err("unreachable".into())),
            vec![],
            Phase::SaveFirst {
                made: made(Some("blob:key")),
                saved: true,
                refused: Some("unreachable".into()),
            },
        );
    }

    #[test]
    fn a_second_click_or_an_answer_not_waited_for_changes_nothing() {
        let cases = [
            (making(), Event::Make { remembered: false }),
            (posting(None), Event::Made(Ok(made(None)))),
            (Phase::Posted("x".into()), Event::Make { remembered: true }),
            (Phase::Ready, Event::Posted(Ok("x".into()))),
            (Phase::Ready, Event::Saved),
            (making(), Event::Posted(Ok("x".into()))),
        ];
        for (from, event) in cases {
            row(from.clone(), event, vec![], from);
        }
        assert!(making().busy() && Phase::Posted("x".into()).busy());
        assert!(!Phase::Failed("x".into()).busy());
    }
}
