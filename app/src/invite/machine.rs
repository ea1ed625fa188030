//! A validator's enrolment as one state machine: a key made or opened in the key worker,
//! a new key's file downloaded, then the key proved over the invitation's challenge and
//! enrolled (with the account's password, unless the invitation only replaces a key).
//! Plain Rust with no browser: the page carries the effects out and turns what comes back
//! into events, so every transition is tested natively.
//!
//! | phase          | event                                  | effects   | then            |
//! |----------------|----------------------------------------|-----------|-----------------|
//! | Ready          | Make (new key, passphrases differ)     | (refused) | Ready           |
//! | Ready          | Make                                   | MakeKey   | Making          |
//! | Making         | KeyMade(Ok)                            |           | Ready (a key)   |
//! | Making         | KeyMade(Err)                           | (refused) | Ready           |
//! | Ready (a key)  | Downloaded                             |           | Ready (saved)   |
//! | Ready          | Send, no key                           | (refused) | Ready           |
//! | Ready (a key)  | Send, passwords differ                 | (refused) | Ready           |
//! | Ready (saved)  | Send                                   | Enrol     | Sending         |
//! | Sending        | Sent(Ok)                               |           | Enrolled        |
//! | Sending        | Sent(Err)                              | (refused) | Ready (the key) |
//! | any other      | any other                              | nothing   | unchanged       |
//!
//! A new key is enrolled only once its key file was downloaded: the server never holds
//! it, and a key lost with the page would leave the validator without one. A key file
//! opened from disk is saved already.

#![cfg_attr(not(feature = "hydrate"), allow(dead_code))]

use crate::machine::Machine;
use ledger::PublicKey;

/// Where the validator's key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Made here.
    New,
    /// A key file the validator has.
    File,
}

/// A key made or opened in the key worker (where it stays): its key file's JSON text, its
/// public half, and whether the file is saved (downloaded, or opened from disk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub file: String,
    pub public: PublicKey,
    pub saved: bool,
}

/// Where the enrolment is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for the validator (with the key made or opened so far).
    Ready(Option<Key>),
    /// The key worker makes or opens the key.
    Making(Source),
    /// The key is proved and enrolled.
    Sending(Key),
    /// Enrolled: the words that say so.
    Enrolled(String),
}

/// Something that happened to the enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// "Make my key" or "Open my key file", and whether the two passphrases typed agree
    /// (a new key's).
    Make {
        source: Source,
        passphrases_agree: bool,
    },
    /// The key made or opened (its file's text and public half), or why not.
    KeyMade(Result<(String, PublicKey), String>),
    /// The new key's file was downloaded.
    Downloaded,
    /// "Create my account" or "Enrol my new key", and whether the two passwords typed
    /// agree.
    Send { passwords_agree: bool },
    /// The key enrolled, or why not.
    Sent(Result<(), String>),
}

/// What a move asks of the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Make (or open) the key in the key worker.
    MakeKey(Source),
    /// Prove the key over the invitation's challenge and enrol it.
    Enrol(Key),
}

/// One invitation's enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The invitation only replaces a withdrawn key (no password).
    pub rekey: bool,
    pub phase: Phase,
    /// The last refusal, in words.
    pub refused: Option<String>,
}

impl Enrolment {
    pub fn new(rekey: bool) -> Self {
        Self {
            rekey,
            phase: Phase::Ready(None),
            refused: None,
        }
    }

    /// The key made or opened so far.
    pub fn key(&self) -> Option<&Key> {
        match &self.phase {
            Phase::Ready(key) => key.as_ref(),
            Phase::Sending(key) => Some(key),
            _ => None,
        }
    }

    /// Whether the buttons wait (working, or enrolled already).
    pub fn busy(&self) -> bool {
        matches!(
            self.phase,
            Phase::Making(_) | Phase::Sending(_) | Phase::Enrolled(_)
        )
    }
}

impl Machine for Enrolment {
    type Event = Event;
    type Effect = Effect;

    /// Takes one event; the effects to carry out (see the module's table).
    fn step(&mut self, event: Event) -> Vec<Effect> {
        let phase = std::mem::replace(&mut self.phase, Phase::Ready(None));
        let refuse = |phase, why: &str| (phase, Some(why.to_owned()), vec![]);
        let (phase, refused, effects) = match (phase, event) {
            (
                Phase::Ready(key),
                Event::Make {
                    source: Source::New,
                    passphrases_agree: false,
                },
            ) => refuse(Phase::Ready(key), "the two passphrases differ"),
            (Phase::Ready(_), Event::Make { source, .. }) => {
                (Phase::Making(source), None, vec![Effect::MakeKey(source)])
            }
            (Phase::Making(source), Event::KeyMade(Ok((file, public)))) => {
                let key = Key {
                    file,
                    public,
                    saved: source == Source::File,
                };
                (Phase::Ready(Some(key)), None, vec![])
            }
            (Phase::Making(_), Event::KeyMade(Err(why))) => refuse(Phase::Ready(None), &why),
            (Phase::Ready(Some(key)), Event::Downloaded) => {
                (Phase::Ready(Some(Key { saved: true, ..key })), None, vec![])
            }
            (Phase::Ready(None), Event::Send { .. }) => {
                refuse(Phase::Ready(None), "make or open your key first")
            }
            (
                Phase::Ready(Some(key)),
                Event::Send {
                    passwords_agree: false,
                },
            ) if !self.rekey => refuse(Phase::Ready(Some(key)), "the two passwords differ"),
            (Phase::Ready(Some(key)), Event::Send { .. }) if key.saved => {
                (Phase::Sending(key.clone()), None, vec![Effect::Enrol(key)])
            }
            (Phase::Sending(_), Event::Sent(Ok(()))) => {
                let said = if self.rekey {
                    "Your new key is enrolled."
                } else {
                    "Your account is ready."
                };
                (Phase::Enrolled(said.into()), None, vec![])
            }
            (Phase::Sending(key), Event::Sent(Err(why))) => refuse(Phase::Ready(Some(key)), &why),
            (phase, _) => {
                self.phase = phase;
                return vec![];
            }
        };
        self.phase = phase;
        self.refused = refused;
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: PublicKey = PublicKey([3; 32]);

    fn key(saved: bool) -> Key {
        Key {
            file: "{key file}".into(),
            public: PUBLIC,
            saved,
        }
    }

    fn at(phase: Phase, rekey: bool) -> Enrolment {
        Enrolment {
            rekey,
            phase,
            refused: None,
        }
    }

    /// One row: from `phase`, `event` gives `effects`, `then` and the refusal `refused`.
    fn row(from: Phase, event: Event, effects: Vec<Effect>, then: Phase, refused: Option<&str>) {
        let mut e = at(from.clone(), false);
        assert_eq!(e.step(event.clone()), effects, "{from:?} on {event:?}");
        assert_eq!(e.phase, then, "{from:?} on {event:?}");
        assert_eq!(e.refused.as_deref(), refused, "{from:?} on {event:?}");
    }

    fn make(source: Source, passphrases_agree: bool) -> Event {
        Event::Make {
            source,
            passphrases_agree,
        }
    }

    #[test]
    fn a_new_key_needs_the_same_passphrase_twice() {
        row(
            Phase::Ready(None),
            make(Source::New, false),
            vec![],
            Phase::Ready(None),
            Some("the two passphrases differ"),
        );
    }

    #[test]
    fn a_key_is_made_or_opened_in_the_worker() {
        for source in [Source::New, Source::File] {
            row(
                Phase::Ready(None),
                make(source, true),
                vec![Effect::MakeKey(source)],
                Phase::Making(source),
                None,
            );
        }
        // An opened file needs no second passphrase; another key may replace the first.
        row(
            Phase::Ready(Some(key(true))),
            make(Source::File, false),
            vec![Effect::MakeKey(Source::File)],
            Phase::Making(Source::File),
            None,
        );
    }

    #[test]
    fn a_new_key_must_be_downloaded_an_opened_file_is_saved_already() {
        row(
            Phase::Making(Source::New),
            Event::KeyMade(Ok(("{key file}".into(), PUBLIC))),
            vec![],
            Phase::Ready(Some(key(false))),
            None,
        );
        row(
            Phase::Making(Source::File),
            Event::KeyMade(Ok(("{key file}".into(), PUBLIC))),
            vec![],
            Phase::Ready(Some(key(true))),
            None,
        );
    }

    #[test]
    fn a_key_the_worker_refuses_says_why() {
        row(
            Phase::Making(Source::File),
            Event::KeyMade(Err("wrong passphrase, or the key file was altered".into())),
            vec![],
            Phase::Ready(None),
            Some("wrong passphrase, or the key file was altered"),
        );
    }

    #[test]
    fn the_download_is_noted() {
        row(
            Phase::Ready(Some(key(false))),
            Event::Downloaded,
            vec![],
            Phase::Ready(Some(key(true))),
            None,
        );
    }

    #[test]
    fn nothing_is_sent_without_a_key() {
        row(
            Phase::Ready(None),
            Event::Send {
                passwords_agree: true,
            },
            vec![],
            Phase::Ready(None),
            Some("make or open your key first"),
        );
    }

    #[test]
    fn an_account_needs_the_same_password_twice_a_rekey_none() {
        row(
            Phase::Ready(Some(key(true))),
            Event::Send {
                passwords_agree: false,
            },
            vec![],
            Phase::Ready(Some(key(true))),
            Some("the two passwords differ"),
        );
        let mut rekey = at(Phase::Ready(Some(key(true))), true);
        assert_eq!(
            rekey.step(Event::Send {
                passwords_agree: false
            }),
            vec![Effect::Enrol(key(true))]
        );
    }

    #[test]
    fn a_saved_key_is_enrolled_an_unsaved_one_is_not() {
        row(
            Phase::Ready(Some(key(false))),
            Event::Send {
                passwords_agree: true,
            },
            vec![],
            Phase::Ready(Some(key(false))),
            None,
        );
        row(
            Phase::Ready(Some(key(true))),
            Event::Send {
                passwords_agree: true,
            },
            vec![Effect::Enrol(key(true))],
            Phase::Sending(key(true)),
            None,
        );
    }

    #[test]
    fn an_enrolment_says_what_is_ready() {
        row(
            Phase::Sending(key(true)),
            Event::Sent(Ok(())),
            vec![],
            Phase::Enrolled("Your account is ready.".into()),
            None,
        );
        let mut rekey = at(Phase::Sending(key(true)), true);
        rekey.step(Event::Sent(Ok(())));
        assert_eq!(
            rekey.phase,
            Phase::Enrolled("Your new key is enrolled.".into())
        );
    }

    #[test]
    fn a_refused_enrolment_keeps_the_key_to_send_again() {
        row(
            Phase::Sending(key(true)),
            Event::Sent(Err("refused (410 gone)".into())),
            vec![],
            Phase::Ready(Some(key(true))),
            Some("refused (410 gone)"),
        );
    }

    #[test]
    fn a_second_click_or_an_answer_not_waited_for_changes_nothing() {
        let cases = [
            (Phase::Making(Source::New), make(Source::New, true)),
            (
                Phase::Sending(key(true)),
                Event::Send {
                    passwords_agree: true,
                },
            ),
            (Phase::Enrolled("x".into()), make(Source::New, true)),
            (Phase::Ready(None), Event::KeyMade(Ok(("f".into(), PUBLIC)))),
            (Phase::Ready(None), Event::Sent(Ok(()))),
            (Phase::Ready(None), Event::Downloaded),
        ];
        for (from, event) in cases {
            let mut e = at(from.clone(), false);
            e.refused = Some("before".into());
            assert_eq!(e.step(event.clone()), vec![], "{from:?} on {event:?}");
            assert_eq!(e.phase, from);
            assert_eq!(e.refused.as_deref(), Some("before"));
        }
        assert!(at(Phase::Sending(key(true)), false).busy());
        assert_eq!(at(Phase::Sending(key(true)), false).key(), Some(&key(true)));
    }
}
