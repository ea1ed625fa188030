//! The officer's voting codes as one state machine: made in the codes worker from the roll
//! typed or chosen, the codes sheet downloaded, and only then the voters registered (their
//! keys, never a code). Plain Rust with no browser: the page carries the effects out and
//! turns what comes back into events, so every transition is tested natively.
//!
//! | phase              | event                 | effects               | then                |
//! |--------------------|-----------------------|-----------------------|---------------------|
//! | Ready, Failed, Made | Make                 | MakeCodes             | Making              |
//! | Making             | Made(Ok)              |                       | Made (not saved)    |
//! | Making             | Made(Err)             |                       | Failed              |
//! | Made               | Downloaded            |                       | Made (saved)        |
//! | Made (saved)       | Register              | Register              | Registering         |
//! | Registering        | Registered(Ok)        | Said(Ok), Refresh     | Ready               |
//! | Registering        | Registered(Err)       | Said(Err)             | Made (saved)        |
//! | any other          | any other             | nothing               | unchanged           |
//!
//! The voters are registered only once their codes sheet was downloaded: codes shown
//! nowhere else must not outlive the page unsaved. A refused registration keeps the codes,
//! to send again once the problem is fixed.

#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

use crate::machine::Machine;
use wire::NewVoter;

/// Codes made in this browser: the voters to register (keys only), the codes sheet's
/// download link, their roll's size and hash, and whether the sheet was downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub voters: Vec<NewVoter>,
    pub sheet: String,
    pub count: usize,
    pub hash: String,
    pub downloaded: bool,
}

/// Where the codes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Nothing made.
    Ready,
    /// The codes worker makes them.
    Making,
    /// Making them was refused, in words.
    Failed(String),
    /// Made: download the sheet, then register.
    Made(Made),
    /// The voters' keys are being registered.
    Registering(Made),
}

/// Something that happened to the codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// "Make codes".
    Make,
    /// The codes made (voters and the sheet's download link), or why not.
    Made(Result<(Vec<NewVoter>, String), String>),
    /// The codes sheet's link was followed.
    Downloaded,
    /// "Register these voters".
    Register,
    /// The registration's outcome in words.
    Registered(Result<String, String>),
}

/// What a move asks of the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Make codes from the roll typed or chosen.
    MakeCodes,
    /// Register these voters.
    Register(Vec<NewVoter>),
    /// Say this on the page.
    Said(Result<String, String>),
    /// Load the election again.
    Refresh,
}

impl Phase {
    /// Whether the buttons wait.
    pub fn busy(&self) -> bool {
        matches!(self, Self::Making | Self::Registering(_))
    }
}

impl Machine for Phase {
    type Event = Event;
    type Effect = Effect;

    /// Takes one event; the effects to carry out (see the module's table).
    fn step(&mut self, event: Event) -> Vec<Effect> {
        let phase = std::mem::replace(self, Self::Ready);
        let (phase, effects) = match (phase, event) {
            (Self::Ready | Self::Failed(_) | Self::Made(_), Event::Make) => {
                (Self::Making, vec![Effect::MakeCodes])
            }
            (Self::Making, Event::Made(Ok((voters, sheet)))) => {
                let keys: Vec<_> = voters.iter().map(|v| v.public_key).collect();
                let roll = wire::Roll::of(&keys);
                let made = Made {
                    voters,
                    sheet,
                    count: roll.voters as usize,
                    hash: roll.shown_hash(),
                    downloaded: false,
                };
                (Self::Made(made), vec![])
            }
            (Self::Making, Event::Made(Err(why))) => (Self::Failed(why), vec![]),
            (Self::Made(made), Event::Downloaded) => (
                Self::Made(Made {
                    downloaded: true,
                    ..made
                }),
                vec![],
            ),
            (Self::Made(made), Event::Register) if made.downloaded => {
                let voters = made.voters.clone();
                (Self::Registering(made), vec![Effect::Register(voters)])
            }
            (Self::Registering(_), Event::Registered(Ok(said))) => {
                (Self::Ready, vec![Effect::Said(Ok(said)), Effect::Refresh])
            }
            (Self::Registering(made), Event::Registered(Err(why))) => (
                Self::Made(made),
                vec![Effect::Said(Err(format!("Nothing was registered: {why}")))],
            ),
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
    use ledger::PublicKey;

    fn voters() -> Vec<NewVoter> {
        (1..=2u8)
            .map(|i| NewVoter {
                name: format!("voter {i}"),
                external_id: None,
                public_key: PublicKey([i; 32]),
            })
            .collect()
    }

    fn made(downloaded: bool) -> Made {
        let keys: Vec<_> = voters().iter().map(|v| v.public_key).collect();
        Made {
            voters: voters(),
            sheet: "blob:sheet".into(),
            count: 2,
            hash: wire::Roll::of(&keys).shown_hash(),
            downloaded,
        }
    }

    fn row(from: Phase, event: Event, effects: Vec<Effect>, then: Phase) {
        let mut phase = from.clone();
        assert_eq!(phase.step(event.clone()), effects, "{from:?} on {event:?}");
        assert_eq!(phase, then, "{from:?} on {event:?}");
    }

    #[test]
    fn codes_are_made_from_ready_after_a_refusal_or_again() {
        for from in [
            Phase::Ready,
            Phase::Failed("x".into()),
            Phase::Made(made(true)),
        ] {
            row(from, Event::Make, vec![Effect::MakeCodes], Phase::Making);
        }
    }

    #[test]
    fn codes_made_await_their_download_with_the_rolls_size_and_hash() {
        row(
            Phase::Making,
            Event::Made(Ok((voters(), "blob:sheet".into()))),
            vec![],
            Phase::Made(made(false)),
        );
    }

    #[test]
    fn a_roll_the_worker_refuses_says_why() {
        row(
            Phase::Making,
            Event::Made(Err("line 2: the name is empty".into())),
            vec![],
            Phase::Failed("line 2: the name is empty".into()),
        );
    }

    #[test]
    fn the_download_is_noted() {
        row(
            Phase::Made(made(false)),
            Event::Downloaded,
            vec![],
            Phase::Made(made(true)),
        );
    }

    #[test]
    fn voters_are_registered_only_once_their_sheet_was_downloaded() {
        row(
            Phase::Made(made(false)),
            Event::Register,
            vec![],
            Phase::Made(made(false)),
        );
        row(
            Phase::Made(made(true)),
            Event::Register,
            vec![Effect::Register(voters())],
            Phase::Registering(made(true)),
        );
    }

    #[test]
    fn a_registration_is_said_and_the_election_reloaded() {
        row(
            Phase::Registering(made(true)),
            Event::Registered(Ok("2 voter(s) registered.".into())),
            vec![
                Effect::Said(Ok("2 voter(s) registered.".into())),
                Effect::Refresh,
            ],
            Phase::Ready,
        );
    }

    #[test]
    fn a_refused_registration_keeps_the_codes_to_send_again() {
        row(
            Phase::Registering(made(true)),
            Event::Registered(Err("duplicate key".into())),
            vec![Effect::Said(Err(
                "Nothing was registered: duplicate key".into()
            ))],
            Phase::Made(made(true)),
        );
    }

    #[test]
    fn a_second_click_or_an_answer_not_waited_for_changes_nothing() {
        let cases = [
            (Phase::Making, Event::Make),
            (Phase::Registering(made(true)), Event::Make),
            (Phase::Registering(made(true)), Event::Register),
            (Phase::Ready, Event::Made(Ok((voters(), "blob:x".into())))),
            (Phase::Ready, Event::Registered(Ok("x".into()))),
            (Phase::Ready, Event::Downloaded),
            (Phase::Making, Event::Register),
        ];
        for (from, event) in cases {
            row(from.clone(), event, vec![], from);
        }
        assert!(Phase::Making.busy() && Phase::Registering(made(true)).busy());
        assert!(!Phase::Made(made(true)).busy());
    }
}
