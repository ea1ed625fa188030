//! The election's set-up as a checklist: what the genesis block needs before voting can
//! open, each step with what is there or what is missing, read from the same figures the
//! officer's page shows. Sealing is offered once every step is done; the server checks the
//! same again when it seals.

use super::ManagedElection;
use wire::CeremonyState;

/// One thing sealing needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The step's name, as the page's `data-step` gives it.
    pub key: &'static str,
    /// Whether it is done.
    pub done: bool,
    /// What is there, or what is missing, in words.
    pub said: String,
}

fn step(key: &'static str, done: bool, said: String) -> Step {
    Step { key, done, said }
}

/// "1 voter", "2 voters".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Every step, in the order an officer takes them.
pub fn steps(e: &ManagedElection) -> Vec<Step> {
    vec![ballot(e), roll(e), validators(e), trustees(e), ceremony(e)]
}

/// Whether every step is done.
pub fn complete(steps: &[Step]) -> bool {
    steps.iter().all(|s| s.done)
}

fn ballot(e: &ManagedElection) -> Step {
    let n = e.candidates.len();
    let said = match n {
        0 => "Ballot: no candidate yet; add at least two.".to_owned(),
        1 => "Ballot: one candidate; add at least one more.".to_owned(),
        n => format!("Ballot: {}.", count(n, "candidate", "candidates")),
    };
    step("ballot", n >= 2, said)
}

fn roll(e: &ManagedElection) -> Step {
    let said = match e.voters {
        0 => "Roll: no voter registered yet; make their codes under Voters.".to_owned(),
        n => format!("Roll: {} registered.", count(n as usize, "voter", "voters")),
    };
    step("roll", e.voters > 0, said)
}

fn validators(e: &ManagedElection) -> Step {
    let quorum = usize::from(e.quorum);
    let keyless: Vec<&str> = e
        .validators
        .iter()
        .filter(|v| v.public_key.is_none())
        .map(|v| v.username.as_str())
        .collect();
    let keyed = e.validators.len() - keyless.len();
    let said = if !keyless.is_empty() {
        format!(
            "Validators: waiting for {} to enrol a new key (re-enrolment link).",
            keyless.join(", ")
        )
    } else if keyed < quorum {
        format!(
            "Validators: {} enrolled for a quorum of {quorum}; enrol {} more.",
            keyed,
            quorum - keyed
        )
    } else {
        format!(
            "Validators: {} enrolled, each with a key, for a quorum of {quorum}.",
            count(keyed, "validator", "validators")
        )
    };
    step("validators", keyless.is_empty() && keyed >= quorum, said)
}

fn trustees(e: &ManagedElection) -> Step {
    let seats = &e.trustees.trustees;
    let waiting: Vec<&str> = seats
        .iter()
        .filter(|t| t.seat.is_none())
        .map(|t| t.name.as_str())
        .collect();
    let said = if seats.is_empty() {
        "Trustees: none invited yet; invite them under Trustees.".to_owned()
    } else if waiting.is_empty() {
        format!(
            "Trustees: {} enrolled.",
            count(seats.len(), "trustee", "trustees")
        )
    } else {
        format!(
            "Trustees: waiting for {} to accept their invitation.",
            waiting.join(", ")
        )
    };
    step("trustees", !seats.is_empty() && waiting.is_empty(), said)
}

fn ceremony(e: &ManagedElection) -> Step {
    let board = &e.trustees;
    let state = board.state();
    let said = match (state, &board.ceremony) {
        (CeremonyState::Complete, _) => "Key ceremony: complete.".to_owned(),
        (CeremonyState::Failed, _) => "Key ceremony: failed; start it again.".to_owned(),
        (CeremonyState::Running, Some(c)) => match &c.waiting {
            Some(w) => format!(
                "Key ceremony: running; {}.",
                crate::trustee::waiting_for(c, w)
            ),
            None => "Key ceremony: running; every message is in and being checked.".to_owned(),
        },
        _ => "Key ceremony: not started; start it once every trustee is enrolled.".to_owned(),
    };
    step("ceremony", state == CeremonyState::Complete, said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger::ElectionId;
    use wire::{CeremonyBoard, ElectionState, ValidatorInfo};

    fn election() -> ManagedElection {
        ManagedElection {
            csrf: String::new(),
            id: ElectionId(1),
            title: "Board".into(),
            state: ElectionState::Setup,
            difficulty_bits: 8,
            quorum: 2,
            candidates: Vec::new(),
            voters: 0,
            roll: wire::Roll {
                voters: 0,
                hash: None,
            },
            roll_list: Vec::new(),
            votes: 0,
            pending: 0,
            height: None,
            awaiting: 0,
            validators: Vec::new(),
            other_validators: Vec::new(),
            trustees: CeremonyBoard {
                election: ElectionId(1),
                trustees: Vec::new(),
                ceremony: None,
            },
            tally: None,
        }
    }

    fn said(e: &ManagedElection) -> Vec<(&'static str, bool, String)> {
        steps(e)
            .into_iter()
            .map(|s| (s.key, s.done, s.said))
            .collect()
    }

    #[test]
    fn an_empty_election_names_every_missing_step() {
        let e = election();
        let steps = steps(&e);
        assert!(!complete(&steps));
        assert_eq!(
            said(&e),
            vec![
                (
                    "ballot",
                    false,
                    "Ballot: no candidate yet; add at least two.".into()
                ),
                (
                    "roll",
                    false,
                    "Roll: no voter registered yet; make their codes under Voters.".into()
                ),
                (
                    "validators",
                    false,
                    "Validators: 0 enrolled for a quorum of 2; enrol 2 more.".into()
                ),
                (
                    "trustees",
                    false,
                    "Trustees: none invited yet; invite them under Trustees.".into()
                ),
                (
                    "ceremony",
                    false,
                    "Key ceremony: not started; start it once every trustee is enrolled.".into()
                ),
            ]
        );
    }

    #[test]
    fn a_withdrawn_key_or_a_trustee_not_enrolled_keeps_sealing_back_by_name() {
        let mut e = election();
        let key = |name: &str, key: Option<ledger::PublicKey>| ValidatorInfo {
            username: name.into(),
            public_key: key,
            in_genesis: false,
        };
        e.validators = vec![
            key("ada", Some(ledger::PublicKey([1; 32]))),
            key("bob", None),
            key("cy", Some(ledger::PublicKey([2; 32]))),
        ];
        e.trustees.trustees = vec![wire::TrusteeInfo {
            id: wire::TrusteeId(3),
            name: "Grace".into(),
            seat: None,
            enrolled_at: None,
        }];
        let steps = steps(&e);
        assert_eq!(
            steps[2].said,
            "Validators: waiting for bob to enrol a new key (re-enrolment link)."
        );
        assert!(!steps[2].done);
        assert_eq!(
            steps[3].said,
            "Trustees: waiting for Grace to accept their invitation."
        );
        e.validators.remove(1);
        assert!(steps_done(&e, "validators"));
        assert_eq!(
            steps_said(&e, "validators"),
            "Validators: 2 validators enrolled, each with a key, for a quorum of 2."
        );
    }

    #[test]
    fn a_complete_set_up_offers_sealing() {
        let mut e = election();
        e.candidates = ["Ada", "Grace"]
            .iter()
            .enumerate()
            .map(|(i, name)| ledger::Candidate {
                id: ledger::CandidateId(i as u32 + 1),
                name: (*name).into(),
                description: String::new(),
            })
            .collect();
        e.voters = 1;
        e.validators = (1..=2)
            .map(|i| ValidatorInfo {
                username: format!("v{i}"),
                public_key: Some(ledger::PublicKey([i; 32])),
                in_genesis: false,
            })
            .collect();
        let (_, identities, _) = ledger::testing::sealed_trustees(e.id, 1, 1, 1);
        e.trustees.trustees = vec![wire::TrusteeInfo {
            id: wire::TrusteeId(1),
            name: "Grace".into(),
            seat: Some(ledger::ceremony::Seat::of(&identities[0])),
            enrolled_at: Some(1),
        }];
        let mut ceremony = wire::CeremonyInfo {
            id: 1,
            threshold: 1,
            seats: Vec::new(),
            messages: Vec::new(),
            waiting: None,
            election_key: None,
            problem: Some("a confirmation is refused".into()),
            warning: None,
        };
        e.trustees.ceremony = Some(ceremony.clone());
        assert_eq!(
            steps_said(&e, "ceremony"),
            "Key ceremony: failed; start it again."
        );
        assert!(!complete(&steps(&e)));
        ceremony.problem = None;
        ceremony.election_key = Some(ledger::GroupKey([9; 32]));
        e.trustees.ceremony = Some(ceremony);
        let steps = steps(&e);
        assert!(complete(&steps), "{steps:?}");
        assert_eq!(steps[0].said, "Ballot: 2 candidates.");
        assert_eq!(steps[1].said, "Roll: 1 voter registered.");
        assert_eq!(steps[3].said, "Trustees: 1 trustee enrolled.");
    }

    fn steps_done(e: &ManagedElection, key: &str) -> bool {
        steps(e).into_iter().any(|s| s.key == key && s.done)
    }

    fn steps_said(e: &ManagedElection, key: &str) -> String {
        steps(e)
            .into_iter()
            .find(|s| s.key == key)
            .map(|s| s.said)
            .unwrap_or_default()
    }
}
