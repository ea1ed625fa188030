//! `ballotchain key`: key files made and opened on the holder's machine.

mod common;

use common::BIN;
use std::process::{Command, Output};

fn ballotchain(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_key_file_is_made_opened_with_its_passphrase_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("validator1.key.json");
    let right = dir.path().join("right");
    let wrong = dir.path().join("wrong");
    std::fs::write(&right, "a passphrase of mine\n").unwrap();
    std::fs::write(&wrong, "not my passphrase at all\n").unwrap();
    let (key_s, right_s, wrong_s) = (
        key.to_str().unwrap(),
        right.to_str().unwrap(),
        wrong.to_str().unwrap(),
    );

    let made = ballotchain(&[
        "key",
        "new",
        "--out",
        key_s,
        "--label",
        "validator1",
        "--passphrase-file",
        right_s,
    ]);
    assert!(made.status.success(), "{}", text(&made));
    let public = text(&made)
        .lines()
        .find_map(|l| l.strip_prefix("public key: ").map(str::to_owned))
        .expect("the public key is printed");
    let file: keyfile::KeyFile =
        keyfile::KeyFile::from_json(&std::fs::read_to_string(&key).unwrap()).unwrap();
    assert_eq!(file.public_key.to_hex(), public);
    assert_eq!(file.label, "validator1");

    let shown = ballotchain(&["key", "show", "--key", key_s, "--passphrase-file", right_s]);
    assert!(shown.status.success(), "{}", text(&shown));
    assert!(text(&shown).contains(&format!("public key: {public}")));

    let refused = ballotchain(&["key", "show", "--key", key_s, "--passphrase-file", wrong_s]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("wrong passphrase"),
        "{}",
        text(&refused)
    );

    let again = ballotchain(&["key", "new", "--out", key_s, "--passphrase-file", right_s]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("never overwritten"),
        "{}",
        text(&again)
    );
    let unchanged = keyfile::KeyFile::from_json(&std::fs::read_to_string(&key).unwrap()).unwrap();
    assert_eq!(unchanged, file, "the key file is as it was");

    let short = dir.path().join("short");
    std::fs::write(&short, "short\n").unwrap();
    let weak = ballotchain(&[
        "key",
        "new",
        "--out",
        dir.path().join("weak.json").to_str().unwrap(),
        "--passphrase-file",
        short.to_str().unwrap(),
    ]);
    assert!(!weak.status.success());
    assert!(
        text(&weak).contains("at least 12 characters"),
        "{}",
        text(&weak)
    );
    assert!(!dir.path().join("weak.json").exists());
}
