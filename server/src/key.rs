//! `ballotchain key`: a validator's signing key in a passphrase-encrypted key file, made
//! and opened on the validator's own machine (the server never sees it).

use keyfile::KeyFile;
use std::path::Path;

/// The passphrase: the first line of `file`, or typed at a prompt (not echoed).
pub fn passphrase(
    file: Option<&Path>,
    confirm: bool,
) -> Result<String, Box<dyn std::error::Error>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the passphrase file {}: {e}", path.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_owned());
    }
    let first = rpassword::prompt_password("Passphrase: ")?;
    if confirm && rpassword::prompt_password("Again: ")? != first {
        return Err("the two passphrases differ".into());
    }
    Ok(first)
}

/// Reads and opens a key file: the key file and its signing key.
pub fn open(
    path: &Path,
    passphrase_file: Option<&Path>,
) -> Result<(KeyFile, ed25519_dalek::SigningKey), Box<dyn std::error::Error>> {
    open_with(path, &passphrase(passphrase_file, false)?)
}

/// Reads and opens a key file with `passphrase`.
pub fn open_with(
    path: &Path,
    passphrase: &str,
) -> Result<(KeyFile, ed25519_dalek::SigningKey), Box<dyn std::error::Error>> {
    let file = read(path)?;
    let key = file
        .open(passphrase)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((file, key))
}

/// Reads and opens a key file with `passphrase`, with the state it keeps (a trustee's
/// side of the ceremony): the passphrase is stretched once.
pub fn open_kept(
    path: &Path,
    passphrase: &str,
) -> Result<
    (
        KeyFile,
        ed25519_dalek::SigningKey,
        Option<keyfile::KeptState>,
    ),
    Box<dyn std::error::Error>,
> {
    let file = read(path)?;
    let (key, state) = file
        .open_with_state(passphrase)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((file, key, state))
}

fn read(path: &Path) -> Result<KeyFile, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the key file {}: {e}", path.display()))?;
    Ok(KeyFile::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// `key new`: makes a key and writes its key file (never over an existing file).
pub fn new(
    out: &Path,
    label: &str,
    passphrase_file: Option<&Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    if out.exists() {
        return Err(format!(
            "{} exists already; a key file is never overwritten",
            out.display()
        )
        .into());
    }
    let (file, _) = KeyFile::generate(label, &passphrase(passphrase_file, true)?)?;
    crate::files::write_private(out, (file.to_json()? + "\n").as_bytes(), false)?;
    println!("key file written to {}", out.display());
    println!("public key: {}", file.public_key);
    Ok(())
}

/// `key show`: opens a key file (so a wrong passphrase shows now, not at the first
/// approval) and prints whose key it is.
pub fn show(path: &Path, passphrase_file: Option<&Path>) -> Result<(), Box<dyn std::error::Error>> {
    let (file, _) = open(path, passphrase_file)?;
    println!("label: {}", file.label);
    println!("public key: {}", file.public_key);
    Ok(())
}
