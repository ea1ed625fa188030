//! `ballotchain trustee`: a trustee's side of the secret ballot from the command line,
//! with the key file on the trustee's own machine.
//!
//! - `enrol` proves the identity key over the invitation's challenge and enrols it with
//!   the share-receiving key it binds.
//! - `ceremony` reads the board, checks every message it uses, and posts this trustee's
//!   messages of every round it can take now. Between runs the trustee's side of the
//!   ceremony stays sealed in its key file, never on the server. Once the ceremony is
//!   complete it prints the election key this trustee's own key share gives; once the
//!   election is open, it checks the genesis block seals exactly the set this trustee's
//!   ceremony made and prints the genesis hash to publish, or raises the alarm.
//! - `tally` verifies the chain here, recomputes the sums up to the final head and posts
//!   this trustee's decryption share of them, only when the server's sums are its own.

use crate::cli::{InvitationArgs, TrusteeCeremonyArgs, TrusteeTallyArgs};
use crate::client::{token_of, Api};
use ledger::ceremony::{CeremonyMessage, KeptSide, Seat, Trustee, Turn};
use ledger::{prove_possession, ElectionId, PublicKey};
use std::path::Path;
use wire::{fingerprint, CeremonyInfo};

type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

/// `trustee enrol`: enrols the key file's identity key and its share-receiving key.
pub fn enrol(args: InvitationArgs) -> CliResult<()> {
    let api = Api::new(args.server.base());
    let token = token_of(&args.invitation);
    let info = api.trustee_invitation(token)?;
    let (_, key) = crate::key::open(&args.keyfile.key, args.keyfile.passphrase_file.as_deref())?;
    let challenge =
        hex::decode(&info.challenge).map_err(|_| "the server sent a challenge that is not hex")?;
    let enrolment = wire::TrusteeEnrolment {
        seat: Seat::of(&key),
        proof: prove_possession(&key, &challenge),
    };
    let enrolled = api.accept_trustee_invitation(token, &enrolment)?;
    println!(
        "trustee {} of election {} ({}) enrolled with identity key {} ({})",
        enrolled.name,
        info.election,
        info.title,
        fingerprint(&enrolment.seat.identity),
        enrolment.seat.identity
    );
    Ok(())
}

/// `trustee ceremony`: takes every round this trustee can take now; with `--wait`, keeps
/// reading the board until the ceremony is complete. Once the election is sealed, checks
/// the genesis block instead ([`check_genesis`]).
pub fn ceremony(args: TrusteeCeremonyArgs) -> CliResult<()> {
    let api = Api::new(args.server.base());
    let passphrase = crate::key::passphrase(args.keyfile.passphrase_file.as_deref(), false)?;
    let _held = hold(&args.keyfile.key)?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(args.wait);
    let election = ElectionId(args.election);
    loop {
        let detail = api.election(election)?;
        if detail.state != wire::ElectionState::Setup {
            return check_genesis(&api, &args.keyfile.key, &passphrase, election);
        }
        let board = api.ceremony_polling(election, deadline)?;
        let done = match &board.ceremony {
            None => {
                println!("no key ceremony has started yet in election {election}");
                false
            }
            Some(ceremony) => step(&api, &args.keyfile.key, &passphrase, election, ceremony)?,
        };
        if done {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return if args.wait == 0 {
                Ok(())
            } else {
                Err(format!(
                    "the key ceremony was not complete after {} s; run this again later",
                    args.wait
                )
                .into())
            };
        }
        // A person's turn takes minutes; a read a second keeps well inside the board's
        // limit per address, even with several trustees behind one.
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// One pass over the board: posts what this trustee owes. True once the ceremony is
/// complete with this trustee's confirmation in it.
fn step(
    api: &Api,
    path: &Path,
    passphrase: &str,
    election: ElectionId,
    ceremony: &CeremonyInfo,
) -> CliResult<bool> {
    let (file, key, state) = crate::key::open_kept(path, passphrase)?;
    let me = PublicKey(key.verifying_key().to_bytes());
    let position = ceremony
        .seats
        .iter()
        .find(|s| s.seat.identity == me)
        .map(|s| s.position)
        .ok_or_else(|| {
            format!(
                "this key ({}) has no seat in ceremony {} of election {election}",
                fingerprint(&me),
                ceremony.id
            )
        })?;
    let kept = read_kept(path, state)?;
    let seats: Vec<Seat> = ceremony.seats.iter().map(|s| s.seat.clone()).collect();
    let Turn { mut kept, joined } = KeptSide::turn(
        kept,
        &key,
        election,
        ceremony.id,
        &seats,
        ceremony.threshold,
        &ceremony.messages,
    )
    .map_err(|e| format!("ceremony {}: {e}", ceremony.id))?;
    if joined {
        // Whom this trustee shares the election key with: to compare, out of band, with
        // the names and fingerprints the election office published.
        println!(
            "joining ceremony {} of election {election}: any {} of these {} trustees will decrypt the tally",
            ceremony.id,
            ceremony.threshold,
            ceremony.seats.len()
        );
        for s in &ceremony.seats {
            println!("  {}  {}", fingerprint(&s.seat.identity), s.name);
        }
    }
    // Kept before posting: a run cut after posting finds its state; one cut before finds
    // the messages in its outbox.
    save(path, &file, passphrase, &kept)?;
    let mut posted = 0;
    if !kept.outbox.is_empty() {
        let after = api.post_ceremony_messages(election, &kept.outbox)?;
        posted = kept.outbox.len();
        for m in &kept.outbox {
            println!("posted {}{}", m.round, to_whom(m));
        }
        kept.outbox.clear();
        save(path, &file, passphrase, &kept)?;
        if let Some(c) = after.ceremony {
            return report(&c, &kept, position, posted);
        }
    }
    report(ceremony, &kept, position, posted)
}

/// Once the election is sealed: the genesis block must keep the rules and seal this
/// trustee's key at its seat with exactly the set its own ceremony made
/// (`KeptSide::check_sealed`). Prints the genesis hash for the trustee to publish (voters
/// pin it), or an `ATTENTION:` alarm and fails.
fn check_genesis(api: &Api, path: &Path, passphrase: &str, election: ElectionId) -> CliResult<()> {
    let (_, key, state) = crate::key::open_kept(path, passphrase)?;
    let me = PublicKey(key.verifying_key().to_bytes());
    let bytes = api.genesis_bytes(election)?;
    let alarm = |hash: Option<ledger::BlockHash>, why: String| {
        let which = hash.map_or_else(String::new, |h| format!(" {h}"));
        attention(format!(
            "the genesis block{which} of election {election} does not seal the key ceremony this trustee ({}) took part in: {why}. Do not publish its hash: tell the election office and the other trustees, and warn the voters.",
            fingerprint(&me)
        ))
    };
    let genesis = crate::client::read_genesis(&bytes, election).map_err(|e| alarm(None, e))?;
    let hash = genesis.hash();
    genesis
        .check_rules()
        .map_err(|e| alarm(Some(hash), e.to_string()))?;
    if !genesis.trustees.trustees.iter().any(|t| t.identity == me) {
        let listed = ledger::ceremony::ShareError::NotListed;
        return Err(alarm(Some(hash), listed.to_string()));
    }
    let kept = read_kept(path, state)?;
    let kept = sealed_side(api, election, &key, kept, genesis.trustees.ceremony)?;
    let seat = kept
        .check_sealed(&me, election, &genesis.trustees)
        .map_err(|e| alarm(Some(hash), e.to_string()))?;
    let sealed = &genesis.trustees;
    println!(
        "the genesis block of election {election} seals your key at seat {seat} with exactly the set your key ceremony made: any {} of these {} trustees decrypt the tally; election key {}",
        sealed.threshold,
        sealed.trustees.len(),
        sealed.election_key
    );
    println!("genesis {hash}");
    println!(
        "publish this hash beside the office's: voters pin it with `ballotchain vote --genesis {hash}`, and anyone with `ballotchain verify --genesis {hash}`"
    );
    Ok(())
}

/// The ceremony side a key file keeps, if any.
fn read_kept(path: &Path, state: Option<impl AsRef<[u8]>>) -> CliResult<Option<KeptSide>> {
    Ok(state
        .map(|bytes| KeptSide::from_bytes(bytes.as_ref()))
        .transpose()
        .map_err(|e| format!("{}: {e}", path.display()))?)
}

/// This trustee's finished side of ceremony `sealed` (the one the genesis block seals):
/// the one the key file keeps, or, when it keeps none (the file saved at enrolment) or
/// another ceremony's, the side re-made from the key and the public board
/// (`KeptSide::remake`). Whatever the board says, `check_sealed` then holds the side to
/// the genesis block.
fn sealed_side(
    api: &Api,
    election: ElectionId,
    key: &ed25519_dalek::SigningKey,
    kept: Option<KeptSide>,
    sealed: u64,
) -> CliResult<KeptSide> {
    if let Some(kept) = kept.as_ref().filter(|k| {
        k.trustee.election == election
            && k.trustee.ceremony == sealed
            && k.trustee.key_share().is_some()
    }) {
        return Ok(kept.clone());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let board = api.ceremony_polling(election, deadline)?;
    let ceremony = board
        .ceremony
        .filter(|c| c.id == sealed)
        .ok_or_else(|| format!("this key file keeps no finished side of ceremony {sealed}, the one the genesis block seals, and the board does not show that ceremony to re-make it from: open the key file you saved after your last turn"))?;
    let seats: Vec<Seat> = ceremony.seats.iter().map(|s| s.seat.clone()).collect();
    let remade = KeptSide::remake(
        key,
        election,
        sealed,
        &seats,
        ceremony.threshold,
        &ceremony.messages,
    );
    match (remade, kept) {
        (Ok(side), _) => {
            tracing::info!(
                ceremony = sealed,
                "key share re-made from the key and the board"
            );
            Ok(side)
        }
        // The side kept, of another ceremony: its check against the genesis block names
        // what is wrong.
        (Err(_), Some(kept)) => Ok(kept),
        (Err(e), None) => {
            Err(format!("your key share cannot be re-made from this key file: {e}").into())
        }
    }
}

/// An alarm for the trustee: printed on its own line starting `ATTENTION:` (as every line
/// that needs a person), and the error that makes the run fail.
fn attention(text: String) -> Box<dyn std::error::Error> {
    eprintln!("ATTENTION: {text}");
    "stopped: see the ATTENTION line above".into()
}

fn to_whom(m: &CeremonyMessage) -> String {
    m.to.map(|to| format!(" to trustee {to}"))
        .unwrap_or_default()
}

/// Prints where the ceremony stands; true once it is complete. The election key printed
/// is the one this trustee's own key share gives (`kept`), never the server's word: when
/// the board reports another, or none is kept here, that is an alarm.
fn report(
    ceremony: &CeremonyInfo,
    kept: &KeptSide,
    position: u16,
    posted: usize,
) -> CliResult<bool> {
    if let Some(board_key) = ceremony.election_key {
        let own = kept
            .trustee
            .election_key()
            .ok_or_else(|| {
                attention(format!(
                    "the board says key ceremony {} is complete, but this key file keeps no finished side of it (an older copy of the key file?): use the copy saved after your last turn",
                    ceremony.id
                ))
            })?;
        if own != board_key {
            return Err(attention(format!(
                "the board reports election key {board_key} for ceremony {}, but your key share gives {own}: tell the election office and the other trustees",
                ceremony.id
            )));
        }
        println!(
            "the key ceremony {} is complete: election key {own} (computed here from your key share)",
            ceremony.id
        );
        println!(
            "once the office opens voting, run this again: it checks the sealed genesis block and prints its hash for you to publish"
        );
        return Ok(true);
    }
    if let Some(problem) = &ceremony.problem {
        println!("the key ceremony {} failed: {problem}", ceremony.id);
        return Ok(false);
    }
    if let Some(w) = &ceremony.waiting {
        let names: Vec<String> = w
            .trustees
            .iter()
            .map(|&p| {
                let name = ceremony
                    .seats
                    .get(usize::from(p))
                    .map_or("?", |s| s.name.as_str());
                if p == position {
                    format!("{name} (you)")
                } else {
                    name.to_owned()
                }
            })
            .collect();
        println!("{} waits for {}", w.round, names.join(", "));
    } else if posted > 0 {
        println!("every message is in; the board checks the ceremony");
    }
    Ok(false)
}

/// Writes a trustee's key file with its side of a finished ceremony sealed in it, as
/// `trustee ceremony` leaves it (the demo's trustees, whose ceremony ran in one process).
pub(crate) fn write_key_file(
    path: &Path,
    file: &keyfile::KeyFile,
    passphrase: &str,
    trustee: Trustee,
) -> CliResult<()> {
    let kept = KeptSide {
        trustee,
        outbox: Vec::new(),
        decrypted: None,
    };
    save(path, file, passphrase, &kept)
}

/// Holds the key file for one run that changes its kept state: a second `trustee
/// ceremony` or `trustee tally` on the same file is refused while this one runs (two runs
/// could each seal a different round into it). The lock is on a file beside the key
/// file, since saving replaces the key file itself; it ends with the process.
fn hold(path: &Path) -> CliResult<std::fs::File> {
    let beside = path.with_extension("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&beside)
        .map_err(|e| format!("cannot open {}: {e}", beside.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "another ballotchain run is using {} (its lock {} is held): let it finish first",
            path.display(),
            beside.display()
        )
        .into()),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(format!("cannot lock {}: {e}", beside.display()).into())
        }
    }
}

/// Seals the kept state into the key file, replacing it whole: see [`seal_state`].
fn save(path: &Path, file: &keyfile::KeyFile, passphrase: &str, kept: &KeptSide) -> CliResult<()> {
    seal_state(path, file, passphrase, kept.to_bytes())
}

/// Seals `state` (or refuses, if it did not turn into bytes) into the key file at `path`:
/// the new file is written beside the old one and synced, read back and opened with the
/// passphrase to exactly this state, and only then moved over it; any failure leaves the
/// old file byte for byte.
fn seal_state(
    path: &Path,
    file: &keyfile::KeyFile,
    passphrase: &str,
    state: Result<Vec<u8>, ledger::ceremony::CeremonyError>,
) -> CliResult<()> {
    let unchanged = |e: String| format!("{}: {e}; the key file is unchanged", path.display());
    let state = state.map_err(|e| unchanged(e.to_string()))?;
    let text = file
        .with_state(passphrase, &state)
        .and_then(|f| f.to_json())
        .map_err(|e| unchanged(e.to_string()))?
        + "\n";
    crate::files::replace_private(path, text.as_bytes(), |back| {
        let back = std::str::from_utf8(back).map_err(|_| "the new copy is not text")?;
        file.check_saved(back, passphrase, &state)
            .map_err(|e| e.to_string())
    })
}

/// `trustee tally`: verifies the whole chain here, recomputes the encrypted sums up to the
/// final head from this verified copy, and refuses to post when the server's sums or head
/// differ from its own; otherwise decrypts its share of the sums with the key share sealed
/// in the key file, with its proofs, signs it with the identity key and posts it.
pub fn tally(args: TrusteeTallyArgs) -> CliResult<()> {
    let api = Api::new(args.server.base());
    let election = ElectionId(args.election);
    let passphrase = crate::key::passphrase(args.keyfile.passphrase_file.as_deref(), false)?;
    let _held = hold(&args.keyfile.key)?;
    let (file, key, state) = crate::key::open_kept(&args.keyfile.key, &passphrase)?;
    let kept = read_kept(&args.keyfile.key, state)?;
    let export = api.export(election)?;
    if export.genesis_hash != args.genesis {
        return Err(format!(
            "the server's genesis block is {}, not the published {}: posting nothing",
            export.genesis_hash, args.genesis
        )
        .into());
    }
    let chain = ledger::replay(&export).map_err(|e| format!("the chain does not verify: {e}"))?;
    let sealed = &chain.genesis().trustees;
    let mut kept = sealed_side(&api, election, &key, kept, sealed.ceremony)?;
    let report = api.tally(election)?;
    // One count per trustee, recorded beyond the key file: a copy of the key file used
    // on this machine is refused for another count.
    let me = PublicKey(key.verifying_key().to_bytes());
    let book = count_record_path(&args.genesis, &me)?;
    let recorded = recorded_count(&book)?;
    let record = ledger::result::may_share(&ledger::result::ShareAsked {
        genesis: args.genesis,
        trustee: me,
        height: chain.height(),
        tip: chain.tip(),
        sums: &chain.tally().sums,
        served: report.final_head.as_ref().map(|end| (end.height, end.head)),
        served_sums: &report.sums,
        expected: args.expect_final,
        recorded: recorded.as_ref(),
    })
    .map_err(|e| match e {
        ledger::result::ShareRefusal::OtherCount(e) => {
            format!("{e} ({}): posting nothing", book.display())
        }
        other => format!("{other}: posting nothing"),
    })?;
    let signed = kept
        .decrypt_share(
            &key,
            election,
            sealed,
            &chain.tip(),
            &chain.tally().sums,
            &mut rand::rngs::OsRng,
        )
        .map_err(|e| match e {
            ledger::ceremony::ShareError::NotListed => format!(
                "the genesis block of election {election} does not list this trustee's key ({}): posting nothing",
                fingerprint(&PublicKey(key.verifying_key().to_bytes()))
            ),
            other => format!("{other}: posting nothing"),
        })?;
    let position = signed.trustee;
    // Kept before posting, on this machine and in the key file: this trustee decrypts
    // this count only.
    record_count(&book, &record)?;
    save(&args.keyfile.key, &file, &passphrase, &kept)?;
    let after = api.post_tally_share(election, &signed)?;
    println!(
        "decryption share of trustee {position} posted for the {} ballots up to block {} ({})",
        chain.tally().total,
        record.height,
        record.head
    );
    match after.result {
        Some(result) => {
            println!("the result is decrypted and published:");
            for c in result {
                println!("  {:>8}  {}", c.votes, c.name);
            }
        }
        None => println!(
            "{} of the {} shares needed are in",
            after.shares.len(),
            sealed.threshold
        ),
    }
    Ok(())
}

/// The folder where this machine records what its trustees did beyond their key files:
/// `$BALLOTCHAIN_STATE_DIR`, or `~/.local/state/ballotchain`; never the working folder.
fn state_dir() -> CliResult<std::path::PathBuf> {
    let dir = match std::env::var_os("BALLOTCHAIN_STATE_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .filter(|d| !d.is_empty())
            .map(|home| std::path::PathBuf::from(home).join(".local/state/ballotchain"))
            .ok_or("no home folder to keep the count record in: set BALLOTCHAIN_STATE_DIR")?,
    };
    if !dir.is_absolute() {
        return Err(format!(
            "the state folder {} is not an absolute path: set BALLOTCHAIN_STATE_DIR to one",
            dir.display()
        )
        .into());
    }
    Ok(dir)
}

/// Where the count a trustee decrypted for the election of `genesis` is recorded.
fn count_record_path(
    genesis: &ledger::BlockHash,
    trustee: &PublicKey,
) -> CliResult<std::path::PathBuf> {
    Ok(state_dir()?
        .join("counts")
        .join(format!("{genesis}-{}.json", trustee.to_hex())))
}

/// The count recorded at `path`, if any. A record that does not read refuses (it is
/// never taken for none, nor overwritten).
fn recorded_count(path: &Path) -> CliResult<Option<ledger::result::CountRecord>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            format!(
                "the count record {} does not read ({e}): posting nothing",
                path.display()
            )
            .into()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read the count record {}: {e}", path.display()).into()),
    }
}

/// Records the count decrypted, written and synced (and read back) before the share is
/// posted; its folder is the owner's only.
fn record_count(path: &Path, record: &ledger::result::CountRecord) -> CliResult<()> {
    if let Some(folder) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    }
    let text = serde_json::to_string_pretty(record)? + "\n";
    crate::files::replace_private(path, text.as_bytes(), |back| {
        match serde_json::from_slice::<ledger::result::CountRecord>(back) {
            Ok(read) if read == *record => Ok(()),
            _ => Err("the count record did not read back as written".into()),
        }
    })
    .map_err(|e| format!("{e}: posting nothing").into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    #[test]
    fn a_key_file_save_that_fails_at_any_step_leaves_the_old_file_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trustee.key");
        let identity = SigningKey::from_bytes(&[7; 32]);
        let passphrase = "correct horse battery";
        let file = keyfile::KeyFile::seal_with(&identity, "trustee", passphrase, 64, 1).unwrap();
        let (trustee, first) = Trustee::join(
            &identity,
            ElectionId(1),
            1,
            0,
            &[Seat::of(&identity)],
            1,
            &mut rand::rngs::OsRng,
        )
        .unwrap();
        let kept = KeptSide {
            trustee,
            outbox: vec![first],
            decrypted: None,
        };
        save(&path, &file, passphrase, &kept).unwrap();
        let old = std::fs::read(&path).unwrap();
        let unchanged = |err: Box<dyn std::error::Error>, why: &str| {
            let err = err.to_string();
            assert!(err.contains(why), "{err}");
            assert!(err.contains("unchanged"), "{err}");
            assert_eq!(std::fs::read(&path).unwrap(), old);
        };
        // Serialisation fails: nothing is written, no empty state sealed over the file.
        let failed = Err(ledger::ceremony::CeremonyError::Encode {
            what: "the kept ceremony state",
            reason: "out of memory".into(),
        });
        unchanged(
            seal_state(&path, &file, passphrase, failed).unwrap_err(),
            "cannot encode the kept ceremony state: out of memory",
        );
        // Sealing fails (a passphrase that does not open the file).
        unchanged(
            seal_state(&path, &file, "not the passphrase", kept.to_bytes()).unwrap_err(),
            "wrong passphrase",
        );
        // Writing fails (the copy beside cannot be made).
        std::fs::create_dir(dir.path().join("trustee.saving")).unwrap();
        unchanged(
            save(&path, &file, passphrase, &kept).unwrap_err(),
            "cannot create",
        );
        std::fs::remove_dir(dir.path().join("trustee.saving")).unwrap();
        // Reading back fails (the copy on disk is not the file that was sealed): shown in
        // files::tests, whose check is the one used here. A save that works replaces it and
        // the new file opens to the state sealed.
        let mut next = kept.clone();
        next.outbox.clear();
        save(&path, &file, passphrase, &next).unwrap();
        assert_ne!(std::fs::read(&path).unwrap(), old);
        let (_, _, state) = crate::key::open_kept(&path, passphrase).unwrap();
        assert_eq!(
            KeptSide::from_bytes(&state.unwrap()).unwrap().outbox.len(),
            0
        );
    }
}
