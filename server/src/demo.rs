//! `serve --demo`: a ready election on an empty database, so a newcomer can try every role.

use engine::Node;
use ledger::VotingCode;
use rand::{Rng, RngCore};
use std::path::Path;
use wire::cells::spreadsheet_safe;
use wire::{
    Acceptance, KeyProof, NewElection, NewInvitation, NewTrustee, NewVoter, Role, TrusteeEnrolment,
};

fn password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Three trustees, any two of whom decrypt the tally: each key file is made here and its
/// seat filled by invitation with proven keys, as a trustee fills it. The key ceremony
/// runs in this process, every message posted to the node's board (which checks it), and
/// each trustee's side is then sealed into its key file as `ballotchain trustee ceremony`
/// leaves it. The key files' paths.
async fn run_ceremony(
    node: &Node,
    election: ledger::ElectionId,
    dir: &Path,
    passphrase: &str,
) -> Result<Vec<std::path::PathBuf>, Box<dyn std::error::Error>> {
    use ledger::ceremony::{Seat, Trustee};
    let mut trustees = Vec::new();
    for i in 1..=3 {
        let name = format!("trustee{i}");
        let (file, key) = keyfile::KeyFile::generate(&name, passphrase)?;
        let seat = node
            .invite_trustee(election, &NewTrustee { name: name.clone() })
            .await?;
        let challenge = hex::decode(node.trustee_invitation(&seat.token).await?.challenge)?;
        let enrolment = TrusteeEnrolment {
            seat: Seat::of(&key),
            proof: ledger::prove_possession(&key, &challenge),
        };
        node.enrol_trustee(&seat.token, &enrolment).await?;
        trustees.push((file, key, dir.join(format!("demo-{name}.key"))));
    }
    let ceremony = node
        .start_ceremony(election, 2)
        .await?
        .ceremony
        .ok_or("the key ceremony did not start")?;
    let seats: Vec<Seat> = ceremony.seats.iter().map(|s| s.seat.clone()).collect();
    let mut rng = rand::rngs::OsRng;
    let mut sides = Vec::new();
    for (file, key, _) in &trustees {
        let position = seats
            .iter()
            .position(|s| s.identity == file.public_key)
            .ok_or("a trustee has no seat in the ceremony")?;
        let (side, first) = Trustee::join(
            key,
            election,
            ceremony.id,
            position as u16,
            &seats,
            ceremony.threshold,
            &mut rng,
        )?;
        node.post_ceremony_messages(election, &[first]).await?;
        sides.push(side);
    }
    loop {
        let mut posted = false;
        for (side, (_, key, _)) in sides.iter_mut().zip(&trustees) {
            let board = node.ceremony_board(election).await?;
            let messages = board.ceremony.map(|c| c.messages).unwrap_or_default();
            let out = side.step(key, &messages, &mut rng)?;
            if !out.is_empty() {
                node.post_ceremony_messages(election, &out).await?;
                posted = true;
            }
        }
        if !posted {
            break;
        }
    }
    let mut paths = Vec::new();
    for ((file, _, path), side) in trustees.into_iter().zip(sides) {
        crate::trustee::write_key_file(&path, &file, passphrase, side)?;
        paths.push(path);
    }
    Ok(paths)
}

/// Creates the demo (admin, 3 validators, 3 trustees, 3 candidates, 20 voters, open) when the
/// database has no election and no account; otherwise leaves it alone.
pub async fn seed_if_empty(
    node: &Node,
    codes_path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    if !node.list_elections().await?.is_empty() || node.has_admin().await? {
        println!("--demo: the database already has data; nothing was added");
        return Ok(());
    }
    let admin_password = password();
    let admin = node.create_admin("admin", &admin_password).await?;
    // Each validator's key is made here, in this CLI process, and enrolled the way a
    // validator enrols: by invitation, with a proof of possession. The server keeps only
    // the public keys; the key files are written next to the codes file.
    let dir = codes_path.parent().unwrap_or(Path::new(""));
    let passphrase = password();
    let passphrase_path = dir.join("demo-validator-passphrase.txt");
    crate::files::write_private(&passphrase_path, format!("{passphrase}\n").as_bytes(), true)?;
    let mut validators = Vec::new();
    for i in 1..=3 {
        let name = format!("validator{i}");
        let pw = password();
        let (file, key) = keyfile::KeyFile::generate(&name, &passphrase)?;
        let key_path = dir.join(format!("demo-{name}.key"));
        crate::files::write_private(&key_path, (file.to_json()? + "\n").as_bytes(), true)?;
        let invited = node
            .create_invitation(
                admin.id,
                &NewInvitation {
                    username: name.clone(),
                    role: Role::Validator,
                },
            )
            .await?;
        let challenge = hex::decode(node.invitation(&invited.token).await?.challenge)?;
        node.accept_invitation(
            &invited.token,
            Acceptance {
                password: Some(pw.clone()),
                key: Some(KeyProof {
                    public_key: file.public_key,
                    proof: ledger::prove_possession(&key, &challenge),
                }),
            },
        )
        .await?;
        validators.push((name, pw, key_path));
    }
    let election = node
        .create_election(NewElection {
            title: "Demo election".into(),
            description: "A demonstration election with twenty registered voters.".into(),
            difficulty_bits: Some(16),
            quorum: Some(2),
        })
        .await?;
    for (name, party) in [
        ("Ada Lovelace", "Analytical Party"),
        ("Grace Hopper", "Compiler Alliance"),
        ("Alan Turing", "Computable Union"),
    ] {
        node.add_candidate(election.id, name, party).await?;
    }
    // The codes are made here, as `ballotchain codes` makes them; the node is given only
    // their public keys.
    let codes: Vec<(String, String, VotingCode)> = (1..=20)
        .map(|i| {
            let mut bytes = [0u8; ledger::code::CODE_BYTES];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            (
                format!("Demo voter {i}"),
                format!("D{i:03}"),
                VotingCode::from_entropy(bytes),
            )
        })
        .collect();
    let voters = codes
        .iter()
        .map(|(name, external_id, code)| NewVoter {
            name: name.clone(),
            external_id: Some(external_id.clone()),
            public_key: code.public_key(election.id),
        })
        .collect();
    let registered = node.register_voters(election.id, voters).await?;
    for (name, _, _) in &validators {
        node.enrol_validator(election.id, name).await?;
    }
    let trustees = run_ceremony(node, election.id, dir, &passphrase).await?;
    node.open_election(election.id).await?;

    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["voter_id", "name", "external_id", "code"])?;
    for (voter, (_, _, code)) in registered.voters.iter().zip(&codes) {
        let external = voter.external_id.clone().unwrap_or_default();
        out.write_record([
            voter.voter_id.to_string().as_str(),
            &spreadsheet_safe(&voter.name),
            &spreadsheet_safe(&external),
            &code.to_string(),
        ])?;
    }
    crate::files::write_private(codes_path, &out.into_inner()?, true)?;
    println!(
        "Demo election {} is open (difficulty 16 bits, quorum 2).",
        election.id
    );
    println!("  admin password:      admin / {admin_password}");
    for (name, pw, key) in &validators {
        println!("  validator password:  {name} / {pw}");
        println!("  validator key file:  {}", key.display());
    }
    for path in &trustees {
        println!("  trustee key file:    {}", path.display());
    }
    println!("  any 2 of the 3 trustees decrypt the tally");
    println!(
        "  key files' passphrase in {} (approve with `ballotchain approve --key FILE --passphrase-file {}`)",
        passphrase_path.display(),
        passphrase_path.display()
    );
    println!("  20 voting codes written to {}", codes_path.display());
    Ok(())
}
