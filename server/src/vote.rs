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
    let cache = genesis_cache(api.base(), election);
    let kept = cache.as_ref().and_then(|path| std::fs::read(path).ok());
    let bytes = api.genesis_bytes_since(election, kept.clone())?;
    if let Some(path) = cache.filter(|_| kept.as_ref() != Some(&bytes)) {
        keep_genesis(&path, &bytes);
    }
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

/// Where this machine keeps the genesis block of `election` on the server at `base`, so
/// the next vote asks only whether it is still current: under `$BALLOTCHAIN_CACHE_DIR`,
/// or `$XDG_CACHE_HOME/ballotchain`, or `~/.cache/ballotchain`, one file per server and
/// election. `None` when no such folder is known: every vote then fetches the block. A
/// kept copy is trusted no more than a served one: its hash is checked the same way.
fn genesis_cache(base: &str, election: ledger::ElectionId) -> Option<std::path::PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let root = var("BALLOTCHAIN_CACHE_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| std::path::PathBuf::from(d).join("ballotchain")))
        .or_else(|| var("HOME").map(|h| std::path::PathBuf::from(h).join(".cache/ballotchain")))
        .filter(|root| root.is_absolute())?;
    let server = hex::encode(&ledger::hash::sha256(base.as_bytes())[..12]);
    Some(
        root.join("genesis")
            .join(format!("{server}-{election}.bin")),
    )
}

/// Keeps the genesis block's bytes at `path` (written aside, then moved). A copy that
/// cannot be kept costs only a download next time: said, and the vote goes on.
fn keep_genesis(path: &std::path::Path, bytes: &[u8]) {
    let aside = path.with_extension("partial");
    let kept = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&aside, bytes))
        .and_then(|()| std::fs::rename(&aside, path));
    if let Err(e) = kept {
        tracing::warn!(path = %path.display(), error = %e, "cannot keep the genesis block for the next vote");
    }
}
