//! `ballotchain codes`: voting codes made on the officer's machine, never on the server.
//! From a roll (`name,external_id`) it writes the codes sheet for the voters and the keys
//! file for the server (`name,external_id,public_key`), and prints the roll's count and
//! hash, which the office page and, once sealed, the explorer show for the same keys.

use crate::cli::CodesArgs;
use ledger::{ElectionId, VotingCode};
use rand::RngCore;
use std::path::Path;
use wire::cells::spreadsheet_safe;

type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A roll's row: name and optional external id.
struct Entry {
    name: String,
    external_id: String,
}

fn read_roll(path: &Path) -> CliResult<Vec<Entry>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("cannot read the roll {}: {e}", path.display()))?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let name_col = col("name")
        .ok_or("the roll's header must name a 'name' column (and optionally 'external_id')")?;
    let ext_col = col("external_id");
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut externals = std::collections::HashSet::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line());
                let name = r.get(name_col).unwrap_or("").to_owned();
                if name.is_empty() {
                    problems.push(format!("line {line}: the name is empty"));
                }
                let external_id = ext_col.and_then(|c| r.get(c)).unwrap_or("").to_owned();
                if !external_id.is_empty() && !externals.insert(external_id.clone()) {
                    problems.push(format!(
                        "line {line}: external id {external_id:?} appears twice"
                    ));
                }
                entries.push(Entry { name, external_id });
            }
            Err(e) => problems.push(format!(
                "line {}: {e}",
                e.position().map_or(0, |p| p.line())
            )),
        }
    }
    if !problems.is_empty() {
        return Err(format!("{}: {}", path.display(), problems.join("; ")).into());
    }
    if entries.is_empty() {
        return Err(format!("{} has no voters", path.display()).into());
    }
    Ok(entries)
}

/// Runs `codes`: nothing is written over an existing file.
pub fn run(args: CodesArgs) -> CliResult<()> {
    if args.out == args.keys {
        return Err("--out and --keys must be two different files".into());
    }
    for out in [&args.out, &args.keys] {
        if out.exists() {
            return Err(
                format!("{} exists already; it is never overwritten", out.display()).into(),
            );
        }
    }
    let entries = read_roll(&args.roll)?;
    let election = ElectionId(args.election);
    let mut codes = csv::Writer::from_writer(Vec::new());
    let mut keys_file = csv::Writer::from_writer(Vec::new());
    codes.write_record(["name", "external_id", "code"])?;
    keys_file.write_record(["name", "external_id", "public_key", "election"])?;
    let election_text = election.to_string();
    let mut keys = Vec::with_capacity(entries.len());
    let mut rng = rand::rngs::OsRng;
    for e in &entries {
        let mut bytes = [0u8; ledger::code::CODE_BYTES];
        rng.fill_bytes(&mut bytes);
        let code = VotingCode::from_entropy(bytes);
        let key = code.public_key(election);
        let (name, external) = (spreadsheet_safe(&e.name), spreadsheet_safe(&e.external_id));
        codes.write_record([&*name, &*external, &code.to_string()])?;
        keys_file.write_record([&*name, &*external, &key.to_hex(), &election_text])?;
        keys.push(key);
    }
    let (codes, keys_bytes) = (codes.into_inner()?, keys_file.into_inner()?);
    crate::files::write_private(&args.out, &codes, false)?;
    if let Err(e) = crate::files::write_private(&args.keys, &keys_bytes, false) {
        // No codes sheet without its keys file: those codes would count for nothing.
        let _ = std::fs::remove_file(&args.out);
        return Err(e);
    }
    let roll = wire::Roll::of(&keys);
    println!(
        "{} voting codes for election {election} written to {} (give each voter theirs)",
        entries.len(),
        args.out.display()
    );
    println!(
        "keys file for the server written to {} (upload it on the election's page)",
        args.keys.display()
    );
    println!("roll: {} voters, hash {}", roll.voters, roll.shown_hash());
    Ok(())
}
