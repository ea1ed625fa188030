//! `ballotchain vote`: a voter's vote from the command line. Nothing here depends on the
//! WebAssembly the server serves: the genesis block is checked here (against the published
//! hash when given), the choice encrypted and proved here, the vote signed here with the key
//! derived from the code, and only the signed, encrypted vote leaves the machine.

use crate::cli::VoteArgs;
use crate::client::{read_genesis, Api};

type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

/// `vote`: fetches the genesis block, which must be the published one when `--genesis`
/// is given, and checks its rules (this format version, and an election key that every
/// sealed trustee signed with the whole set); encrypts the choice under it with its
/// proofs, derives the voter's key from the code in the file and signs, all here; sends
/// only the signed, encrypted vote; prints the receipt computed here, once the server's
/// answer names the same one.
pub fn vote(args: VoteArgs) -> CliResult<()> {
    let api = Api::new(args.server.base());
    let text = std::fs::read_to_string(&args.code_file).map_err(|e| {
        format!(
            "cannot read the code file {}: {e}",
            args.code_file.display()
        )
    })?;
    let code = ledger::VotingCode::parse(text.lines().next().unwrap_or_default())
        .map_err(|e| format!("{}: {e}", args.code_file.display()))?;
    let election = ledger::ElectionId(args.election);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let bytes = api.genesis_bytes(election)?;
    // The hash of the bytes as served (a genesis block's hash is taken over its canonical
    // encoding), compared before anything is read of them.
    let hash = ledger::BlockHash(ledger::hash::sha256(&bytes));
    match args.genesis {
        Some(published) if published != hash => {
            return Err(format!(
                "the server's genesis block is {hash}, not the published {published}: nothing was encrypted or sent"
            )
            .into())
        }
        Some(_) => {}
        None => eprintln!(
            "note: no --genesis given: this vote trusts the server's genesis block {hash}; compare it with the hash the trustees and the election office published"
        ),
    }
    let genesis = read_genesis(&bytes, election)?;
    genesis.check_rules().map_err(|e| {
        format!("the election key cannot be trusted, nothing was encrypted or sent: {e}")
    })?;
    let choice = genesis
        .candidates
        .iter()
        .position(|c| c.id.0 == args.candidate)
        .ok_or_else(|| {
            let ids: Vec<String> = genesis
                .candidates
                .iter()
                .map(|c| format!("{} ({})", c.id, c.name))
                .collect();
            format!(
                "candidate {} is not on the ballot; the ballot is {}",
                args.candidate,
                ids.join(", ")
            )
        })?;
    let vote = ledger::Vote::cast(
        &code.signing_key(election),
        &genesis,
        choice,
        now,
        &mut rand::rngs::OsRng,
    )?;
    let own = vote.tx_id();
    let answered = api.cast(election, &wire::Ballot::Signed { vote })?;
    if answered.receipt != own {
        return Err(format!(
            "ATTENTION: the server answered receipt {}, but the vote sent here has receipt {own}: keep this one and check it on the chain",
            answered.receipt
        )
        .into());
    }
    println!("vote accepted; receipt {own}");
    println!("check it at {}/e/{election}/receipt/{own}", api.base());
    Ok(())
}
