//! The officer's voting codes, in their own worker: read from the roll, one code per
//! voter from this browser's randomness, and the codes sheet to download. The page gets
//! the voters to register (keys only) and the sheet.

use crate::Job;
use gloo_worker::{HandlerId, Worker, WorkerScope};
use ledger::{ElectionId, PublicKey, VotingCode};
use serde::{Deserialize, Serialize};

/// Most voters one registration may carry (the server's own limit).
pub const MAX_ROLL: usize = 100_000;

/// What the officer asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CodesRequest {
    /// Codes for every voter of a roll: CSV with a header naming `name` (and optionally
    /// `external_id`). `offset` is subtracted from line numbers in problems (typed lines
    /// get a header row added).
    Roll {
        election: ElectionId,
        text: String,
        offset: u64,
    },
    /// One new code (for a voter who lost theirs).
    One { election: ElectionId },
}

/// Codes made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CodesAnswer {
    /// The voters to register and the codes sheet (CSV: name, external_id, code).
    Roll {
        voters: Vec<wire::NewVoter>,
        sheet: String,
    },
    /// One code and its key.
    One { code: String, public_key: PublicKey },
}

/// Why no codes were made: what the roll page matches on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CodesError {
    /// Lines of the roll that are wrong, one problem each: nothing was made.
    #[error("{}", .0.join("; "))]
    Rows(Vec<String>),
    /// The roll as a whole is refused (no 'name' column, no voters, too many, not CSV).
    #[error("{0}")]
    Roll(String),
    /// This machine gave no randomness.
    #[error("no randomness: {0}")]
    Randomness(String),
    /// The worker is gone, or answered out of turn (an older copy of its bundle).
    #[error("{0}")]
    Worker(String),
}

/// The codes worker.
pub struct CodesWorker;

impl Job for CodesWorker {
    type Request = CodesRequest;
    type Answer = Result<CodesAnswer, CodesError>;
    type Codec = crate::Json;
    const BUNDLE: &'static str = "codes";
}

/// A new voting code from this machine's cryptographic randomness.
fn fresh_code() -> Result<VotingCode, CodesError> {
    let mut bytes = [0u8; ledger::code::CODE_BYTES];
    getrandom::getrandom(&mut bytes).map_err(|e| CodesError::Randomness(e.to_string()))?;
    Ok(VotingCode::from_entropy(bytes))
}

/// Answers one request.
pub fn make(request: CodesRequest) -> Result<CodesAnswer, CodesError> {
    match request {
        CodesRequest::One { election } => {
            let code = fresh_code()?;
            Ok(CodesAnswer::One {
                public_key: code.public_key(election),
                code: code.to_string(),
            })
        }
        CodesRequest::Roll {
            election,
            text,
            offset,
        } => roll(election, &text, offset),
    }
}

fn roll(election: ElectionId, text: &str, offset: u64) -> Result<CodesAnswer, CodesError> {
    let refused = |e: &dyn std::fmt::Display| CodesError::Roll(e.to_string());
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| refused(&e))?.clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let name_col =
        col("name").ok_or_else(|| refused(&"the roll's header must name a 'name' column"))?;
    let ext_col = col("external_id");
    let mut voters = Vec::new();
    let mut sheet = csv::Writer::from_writer(Vec::new());
    let mut problems = Vec::new();
    sheet
        .write_record(["name", "external_id", "code"])
        .map_err(|e| refused(&e))?;
    let mut externals = std::collections::HashSet::new();
    for record in reader.records() {
        let record = record.map_err(|e| refused(&e))?;
        let line = record.position().map_or(0, |p| p.line()) - offset;
        if record.len() > headers.len() {
            problems.push(format!(
                "line {line}: more fields than the header names (a comma in a name needs quotes)"
            ));
            continue;
        }
        let name = record.get(name_col).unwrap_or("").to_owned();
        if name.is_empty() {
            problems.push(format!("line {line}: the name is empty"));
            continue;
        }
        let external = ext_col.and_then(|c| record.get(c)).unwrap_or("").to_owned();
        if !external.is_empty() && !externals.insert(external.clone()) {
            problems.push(format!(
                "line {line}: external id {external:?} appears twice"
            ));
            continue;
        }
        let code = fresh_code()?;
        let cells = [
            wire::cells::spreadsheet_safe(&name),
            wire::cells::spreadsheet_safe(&external),
        ];
        sheet
            .write_record([&*cells[0], &*cells[1], &code.to_string()])
            .map_err(|e| refused(&e))?;
        voters.push(wire::NewVoter {
            name,
            external_id: Some(external).filter(|x| !x.is_empty()),
            public_key: code.public_key(election),
        });
    }
    if !problems.is_empty() {
        return Err(CodesError::Rows(problems));
    }
    if voters.is_empty() {
        return Err(refused(&"the roll has no voters"));
    }
    if voters.len() > MAX_ROLL {
        return Err(CodesError::Roll(format!(
            "at most {MAX_ROLL} voters at once; split the roll"
        )));
    }
    let sheet = sheet.into_inner().map_err(|e| refused(&e))?;
    Ok(CodesAnswer::Roll {
        voters,
        sheet: String::from_utf8_lossy(&sheet).into_owned(),
    })
}

impl Worker for CodesWorker {
    type Message = ();
    type Input = (u32, CodesRequest);
    type Output = (u32, Result<CodesAnswer, CodesError>);

    fn create(_: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _: &WorkerScope<Self>, _: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, (id, request): Self::Input, who: HandlerId) {
        scope.respond(who, (id, make(request)));
    }
}

/// Asks the codes worker (spawned on first use).
async fn call(request: CodesRequest) -> Result<CodesAnswer, CodesError> {
    crate::ask::<CodesWorker>(request)
        .await
        .map_err(CodesError::Worker)?
}

fn out_of_turn() -> CodesError {
    CodesError::Worker(
        "the codes worker answered another request (an older copy of it?): reload the page".into(),
    )
}

/// Codes for every voter of a roll ([`CodesRequest::Roll`]): the voters to register and
/// the codes sheet.
pub async fn roll_codes(
    election: ElectionId,
    text: String,
    offset: u64,
) -> Result<(Vec<wire::NewVoter>, String), CodesError> {
    match call(CodesRequest::Roll {
        election,
        text,
        offset,
    })
    .await?
    {
        CodesAnswer::Roll { voters, sheet } => Ok((voters, sheet)),
        _ => Err(out_of_turn()),
    }
}

/// One new code and its key, for a voter who lost theirs.
pub async fn one_code(election: ElectionId) -> Result<(String, PublicKey), CodesError> {
    match call(CodesRequest::One { election }).await? {
        CodesAnswer::One { code, public_key } => Ok((code, public_key)),
        _ => Err(out_of_turn()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roll_gets_one_code_per_voter_whose_key_is_registered() {
        let election = ElectionId(3);
        let text = "name,external_id\nAda,A1\n\"Hopper, Grace\",\n=cmd,A3\n";
        let Ok(CodesAnswer::Roll { voters, sheet }) = make(CodesRequest::Roll {
            election,
            text: text.into(),
            offset: 0,
        }) else {
            panic!("codes are made")
        };
        assert_eq!(voters.len(), 3);
        assert_eq!(voters[1].name, "Hopper, Grace");
        assert_eq!(voters[1].external_id, None);
        let rows: Vec<_> = csv::Reader::from_reader(sheet.as_bytes())
            .records()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows.len(), 3);
        // The sheet's code gives the key registered for its voter; a formula is defused.
        for (row, voter) in rows.iter().zip(&voters) {
            let code = VotingCode::parse(&row[2]).unwrap();
            assert_eq!(code.public_key(election), voter.public_key);
        }
        assert!(rows[2][0].starts_with('\''));
    }

    #[test]
    fn a_bad_roll_names_its_lines_and_makes_nothing() {
        let election = ElectionId(3);
        let roll = |text: &str, offset| {
            make(CodesRequest::Roll {
                election,
                text: text.into(),
                offset,
            })
        };
        assert_eq!(
            roll("who\nAda\n", 0).unwrap_err(),
            CodesError::Roll("the roll's header must name a 'name' column".into())
        );
        let rows = roll("name,external_id\n,A1\nAda,A2\nBob,A2\nC,D,E\n", 1).unwrap_err();
        assert_eq!(
            rows,
            CodesError::Rows(vec![
                "line 1: the name is empty".into(),
                "line 3: external id \"A2\" appears twice".into(),
                "line 4: more fields than the header names (a comma in a name needs quotes)".into()
            ])
        );
        assert_eq!(
            rows.to_string(),
            "line 1: the name is empty; line 3: external id \"A2\" appears twice; line 4: more fields than the header names (a comma in a name needs quotes)"
        );
        assert_eq!(
            roll("name\n", 0).unwrap_err(),
            CodesError::Roll("the roll has no voters".into())
        );
        let Ok(CodesAnswer::One { code, public_key }) = make(CodesRequest::One { election }) else {
            panic!("one code is made")
        };
        assert_eq!(
            VotingCode::parse(&code).unwrap().public_key(election),
            public_key
        );
    }
}
