//! `ballotchain verify`: re-check an exported chain offline and print its tally.

use ledger::{verify_export, ChainExport};

/// Loads the export from a file or URL, verifies every rule and approval, prints the tally.
pub fn run(source: &str) -> Result<(), Box<dyn std::error::Error>> {
    let export: ChainExport = if source.starts_with("http://") || source.starts_with("https://") {
        ureq::get(source).call()?.into_json()?
    } else {
        serde_json::from_reader(std::io::BufReader::new(std::fs::File::open(source)?))?
    };
    let started = std::time::Instant::now();
    let tally = verify_export(&export).map_err(|e| format!("chain does NOT verify: {e}"))?;
    let g = &export.genesis;
    println!(
        "chain verified: election {} {:?}, genesis {}, {} blocks, {} votes ({:.2} s)",
        g.election.0,
        g.title,
        export.genesis_hash,
        export.blocks.len(),
        tally.total,
        started.elapsed().as_secs_f64()
    );
    for c in &g.candidates {
        println!(
            "  {:>8}  {}",
            tally.counts.get(&c.id).copied().unwrap_or(0),
            c.name
        );
    }
    Ok(())
}
