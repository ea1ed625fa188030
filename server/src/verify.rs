//! `ballotchain verify`: re-check an exported chain offline, against the heads an
//! observer pinned, and print its tally; `ballotchain check`: the server's own full check
//! of a database.

use ledger::{verify_export, BlockHash, ChainExport};
use std::path::Path;

/// Loads the export from a file or URL, verifies every rule and approval, checks it
/// starts at `genesis` and holds every `expect`ed head, prints the tally.
pub fn run(
    source: &str,
    genesis: Option<BlockHash>,
    expect: &[(u64, BlockHash)],
) -> Result<(), Box<dyn std::error::Error>> {
    let export: ChainExport = if source.starts_with("http://") || source.starts_with("https://") {
        ureq::get(source).call()?.into_json()?
    } else {
        serde_json::from_reader(std::io::BufReader::new(std::fs::File::open(source)?))?
    };
    let started = std::time::Instant::now();
    let tally = verify_export(&export).map_err(|e| format!("chain does NOT verify: {e}"))?;
    if let Some(genesis) = genesis {
        if export.genesis_hash != genesis {
            return Err(format!(
                "chain does NOT verify: its genesis block is {}, not {genesis}",
                export.genesis_hash
            )
            .into());
        }
    }
    for (height, hash) in expect {
        match export.hash_at(*height) {
            Some(found) if found == *hash => {}
            Some(found) => {
                return Err(format!(
                    "chain does NOT hold the pinned head {height}:{hash}: its block {height} is {found} (the chain was rewritten)"
                )
                .into())
            }
            None => {
                return Err(format!(
                    "chain does NOT hold the pinned head {height}:{hash}: it has only {} blocks (blocks were removed)",
                    export.blocks.len()
                )
                .into())
            }
        }
    }
    let g = &export.genesis;
    println!(
        "chain verified: election {} {:?}, genesis {}, {} blocks, {} ballots, every proof checked ({:.2} s)",
        g.election.0,
        g.title,
        export.genesis_hash,
        export.blocks.len(),
        tally.total,
        started.elapsed().as_secs_f64()
    );
    for (height, hash) in expect {
        println!("  holds the pinned head {height}:{hash}");
    }
    println!(
        "  the election key is the {} trustees' (any {} decrypt); encrypted sums per candidate:",
        g.trustees.trustees.len(),
        g.trustees.threshold
    );
    for (c, sum) in g.candidates.iter().zip(tally.sums.to_bytes().chunks(64)) {
        println!("  {}  {}", hex::encode(sum), c.name);
    }
    match &export.result {
        Some(result) => {
            let trustees: Vec<String> = result
                .shares
                .iter()
                .map(|s| s.trustee.to_string())
                .collect();
            println!(
                "result verified: the shares of trustees {} (each signed and proven) decrypt the sums up to block {} to:",
                trustees.join(", "),
                result.height
            );
            for (c, count) in g.candidates.iter().zip(&result.counts) {
                println!("  {count:>8}  {}", c.name);
            }
            // Evidence: each share is signed over this head. The same trustee's share over
            // another head, in another export, is signed proof it decrypted twice.
            println!("the shares, each signed by its trustee over this election, head and sums:");
            for s in &result.shares {
                let key = g.trustees.trustees.get(usize::from(s.trustee)).map_or_else(
                    || "of no seat".to_owned(),
                    |t| wire::fingerprint(&t.identity),
                );
                println!(
                    "  trustee {} (key {key}): block {} {}",
                    s.trustee, result.height, result.head
                );
            }
        }
        None => println!(
            "no result is published yet: the trustees decrypt the sums once the count is final"
        ),
    }
    Ok(())
}

/// Opens the database (applying migrations) and checks every stored chain in full, as
/// the server does at start; an error when any chain was altered.
pub async fn check(db: &Path, every_proof: bool) -> Result<(), Box<dyn std::error::Error>> {
    let location = engine::Location::from(db);
    if let engine::Location::File(path) = &location {
        if !path.exists() {
            return Err(format!("{} does not exist", path.display()).into());
        }
    }
    let how = if every_proof {
        engine::StartupCheck::EveryProof
    } else {
        engine::StartupCheck::Recorded
    };
    let (_node, report) = engine::Node::open_with(&location, how).await?;
    let proofs = if every_proof {
        "every ballot proof re-checked"
    } else {
        "ballot proofs as recorded at intake"
    };
    for (id, height) in &report.verified {
        println!(
            "election {}: chain of {height} blocks verified ({proofs})",
            id.0
        );
    }
    for (id, problem) in &report.problems {
        println!("election {}: TAMPERING DETECTED: {problem}", id.0);
    }
    for (id, why) in &report.old_format {
        println!("election {}: NOT VERIFIED: {why}", id.0);
    }
    if !report.problems.is_empty() {
        Err(format!("{} chain(s) failed verification", report.problems.len()).into())
    } else if !report.old_format.is_empty() {
        Err(format!(
            "{} chain(s) of an earlier format could not be verified",
            report.old_format.len()
        )
        .into())
    } else {
        Ok(())
    }
}

/// `ballotchain audit`: checks a ballot audit against the election key the server's genesis
/// block seals (the trustees' own: every confirmation signs the whole sealed set).
pub fn audit(
    file: &Path,
    server: &str,
    pinned: Option<BlockHash>,
) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let audit: ledger::audit::BallotAudit = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a ballot audit: {e}", file.display()))?;
    let genesis = crate::client::Api::new(server).genesis(audit.election)?;
    if let Some(pinned) = pinned {
        if genesis.hash() != pinned {
            return Err(format!(
                "the server's genesis block is {}, not the published {pinned}",
                genesis.hash()
            )
            .into());
        }
    }
    genesis
        .check_rules()
        .map_err(|e| format!("the election key is not the trustees': {e}"))?;
    let order: Vec<ledger::CandidateId> = genesis.candidates.iter().map(|c| c.id).collect();
    if order != audit.candidates {
        return Err("the audit's ballot is not the genesis block's ballot".into());
    }
    audit.check(&genesis.trustees.election_key)?;
    let name = genesis
        .candidates
        .iter()
        .find(|c| c.id == audit.choice)
        .map_or("?", |c| c.name.as_str());
    println!(
        "the sealed ballot {} is the encryption of candidate {} ({name}) under the trustees' election key of election {}",
        audit.ballot_hash(),
        audit.choice,
        audit.election
    );
    Ok(())
}
