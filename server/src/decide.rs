//! `ballotchain accept`, `approve` and `reject`: a validator's actions from the command
//! line, with the key file on the validator's own machine; and `ballotchain vote`, a
//! voter's. This is the path that does not depend on the WebAssembly the server serves:
//! the chain is re-verified here, the block checked here, the vote signed here, and only a
//! signature leaves the machine.

use crate::cli::{AcceptArgs, DecideArgs, VoteArgs};
use ledger::{
    prove_possession, replay, validate_block, Approval, Block, BlockHash, ChainExport, ChainState,
    PublicKey, Rejection,
};
use serde::de::DeserializeOwned;
use wire::{fingerprint, Acceptance, Account, BlockSummary, ErrorBody, InvitationInfo, KeyProof};

type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

/// An API answer: the body, or the server's refusal in its own words.
pub(crate) fn answer<T: DeserializeOwned>(
    response: Result<ureq::Response, ureq::Error>,
) -> CliResult<T> {
    match response {
        Ok(r) => Ok(r.into_json()?),
        Err(e) => Err(refusal(e)),
    }
}

/// A failed request in words: the server's refusal in its own words, or why it could not
/// be reached.
pub(crate) fn refusal(e: ureq::Error) -> Box<dyn std::error::Error> {
    match e {
        ureq::Error::Status(code, r) => {
            let text = r.into_string().unwrap_or_default();
            match serde_json::from_str::<ErrorBody>(&text) {
                Ok(body) => format!("refused ({code} {}): {}", body.error, body.message),
                Err(_) => format!("the server answered {code}: {text}"),
            }
            .into()
        }
        e => format!("cannot reach the server: {e}").into(),
    }
}

pub(crate) fn get<T: DeserializeOwned>(url: &str) -> CliResult<T> {
    answer(ureq::get(url).call())
}

/// [`get`] for a command that polls until `deadline`: a `429` (this address read too
/// often) is waited out for the `Retry-After` the server gives, while time is left.
pub(crate) fn get_polling<T: DeserializeOwned>(
    url: &str,
    deadline: std::time::Instant,
) -> CliResult<T> {
    loop {
        match ureq::get(url).call() {
            Err(ureq::Error::Status(429, r)) => {
                let wait = r
                    .header("retry-after")
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .unwrap_or(5);
                let wake = std::time::Instant::now() + std::time::Duration::from_secs(wait);
                if wake > deadline {
                    return Err(refusal(ureq::Error::Status(429, r)));
                }
                tracing::info!(wait, "the server asks to read less often: waiting");
                std::thread::sleep(std::time::Duration::from_secs(wait));
            }
            other => return answer(other),
        }
    }
}

/// The token of an invitation link (`…/invite/<token>`) or the token itself.
pub(crate) fn token_of(invitation: &str) -> &str {
    invitation
        .trim()
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// The account password: the first line of a file, or typed twice at a prompt.
fn password(file: Option<&std::path::Path>) -> CliResult<String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the password file {}: {e}", path.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_owned());
    }
    let first = rpassword::prompt_password("Choose your sign-in password (12+ characters): ")?;
    if rpassword::prompt_password("Again: ")? != first {
        return Err("the two passwords differ".into());
    }
    Ok(first)
}

/// `accept`: enrols the key of a key file with a validator's invitation, proving
/// possession by signing the invitation's challenge here.
pub fn accept(args: AcceptArgs) -> CliResult<()> {
    let base = args.server.trim_end_matches('/');
    let token = token_of(&args.invitation);
    let info: InvitationInfo = get(&format!("{base}/api/invitations/{token}"))?;
    if info.role != wire::Role::Validator {
        return Err(format!(
            "this invitation is for an {} account, which holds no key: open the link in a browser",
            info.role
        )
        .into());
    }
    let (_, key) = crate::key::open(&args.key, args.passphrase_file.as_deref())?;
    let challenge =
        hex::decode(&info.challenge).map_err(|_| "the server sent a challenge that is not hex")?;
    let public_key = PublicKey(key.verifying_key().to_bytes());
    let acceptance = Acceptance {
        password: if info.rekey {
            None
        } else {
            Some(password(args.password_file.as_deref())?)
        },
        key: Some(KeyProof {
            public_key,
            proof: prove_possession(&key, &challenge),
        }),
    };
    let account: Account = answer(
        ureq::post(&format!("{base}/api/invitations/{token}/accept")).send_json(&acceptance),
    )?;
    println!(
        "validator {} enrolled with key {} ({})",
        account.username,
        fingerprint(&public_key),
        public_key
    );
    Ok(())
}

/// The election's chain, replayed here from its genesis, after checking the genesis lists
/// this key.
fn verified_chain(base: &str, election: u64, key: &PublicKey) -> CliResult<ChainState> {
    let export: ChainExport = get(&format!("{base}/api/elections/{election}/export"))?;
    let chain = replay(&export).map_err(|e| format!("the chain does not verify: {e}"))?;
    if !chain.is_validator(key) {
        return Err(format!(
            "the genesis block of election {election} does not list this key ({})",
            fingerprint(key)
        )
        .into());
    }
    Ok(chain)
}

/// `approve` and `reject`: checks the chain and the block here, then signs and sends the
/// decision. An approval is only signed for a block that passes every rule here.
pub fn decide(args: DecideArgs, reason: Option<&str>) -> CliResult<()> {
    let base = args.server.trim_end_matches('/');
    let hash: BlockHash = args
        .block
        .parse()
        .map_err(|_| "a block hash is 64 hex digits")?;
    let (_, key) = crate::key::open(&args.key, args.passphrase_file.as_deref())?;
    let public = PublicKey(key.verifying_key().to_bytes());
    let chain = verified_chain(base, args.election, &public)?;
    let url = format!("{base}/api/elections/{}/blocks/{hash}", args.election);
    let summary: BlockSummary = match reason {
        None => {
            let block: Block = get(&format!("{url}/raw"))?;
            if block.hash() != hash {
                return Err(format!("the server sent block {}, not {hash}", block.hash()).into());
            }
            validate_block(&chain, &block)
                .map_err(|e| format!("not approved: the block breaks a rule: {e}"))?;
            let approval = Approval::sign(&key, hash);
            answer(
                ureq::post(&format!("{url}/approve")).send_json(wire::SignedApproval {
                    validator: approval.validator,
                    signature: approval.signature,
                }),
            )?
        }
        Some(reason) => {
            let rejection = Rejection::sign(&key, hash, reason);
            answer(
                ureq::post(&format!("{url}/reject")).send_json(wire::SignedRejection {
                    validator: rejection.validator,
                    signature: rejection.signature,
                    reason: rejection.reason,
                }),
            )?
        }
    };
    println!(
        "block {} {hash}: {} ({} approval(s), {} rejection(s))",
        summary.index,
        summary.status.label(),
        summary.approvals,
        summary.rejections
    );
    Ok(())
}

/// `vote`: fetches the genesis block, which must be the published one when `--genesis`
/// is given, and checks its rules (this format version, and an election key that every
/// sealed trustee signed with the whole set); encrypts the choice under it with its
/// proofs, derives the voter's key from the code in the file and signs, all here; sends
/// only the signed, encrypted vote; prints the receipt computed here, once the server's
/// answer names the same one.
pub fn vote(args: VoteArgs) -> CliResult<()> {
    let base = args.server.trim_end_matches('/');
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
    let bytes = genesis_bytes(base, election)?;
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
    let answered: wire::CastReceipt = answer(
        ureq::post(&format!("{base}/api/elections/{election}/votes"))
            .send_json(wire::Ballot::Signed { vote }),
    )?;
    if answered.receipt != own {
        return Err(format!(
            "ATTENTION: the server answered receipt {}, but the vote sent here has receipt {own}: keep this one and check it on the chain",
            answered.receipt
        )
        .into());
    }
    println!("vote accepted; receipt {own}");
    println!("check it at {base}/e/{election}/receipt/{own}");
    Ok(())
}

/// The genesis block of `election` in its canonical encoding (the bytes its hash is taken
/// over), decoded here ([`read_genesis`]).
pub(crate) fn fetch_genesis(
    base: &str,
    election: ledger::ElectionId,
) -> CliResult<ledger::Genesis> {
    Ok(read_genesis(&genesis_bytes(base, election)?, election)?)
}

/// The genesis block of `election` as the server sends it in its canonical encoding.
pub(crate) fn genesis_bytes(base: &str, election: ledger::ElectionId) -> CliResult<Vec<u8>> {
    let url = format!("{base}/api/elections/{election}/genesis");
    let response = ureq::get(&url)
        .set("Accept", "application/octet-stream")
        .call()
        .map_err(refusal)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes)
        .map_err(|e| format!("cannot read the genesis block from {url}: {e}"))?;
    Ok(bytes)
}

/// Decodes the genesis block of `election`: a block of another format version is refused
/// by name, and so is another election's.
pub(crate) fn read_genesis(
    bytes: &[u8],
    election: ledger::ElectionId,
) -> Result<ledger::Genesis, String> {
    let genesis = ledger::Genesis::decode(bytes).map_err(|e| match e {
        ledger::DecodeError::Version { found, .. } => format!(
            "the server's genesis block is of format version {found}; this software reads version {} only (an earlier format is refused: its trustees' signatures do not cover the whole sealed set)",
            ledger::GENESIS_VERSION
        ),
        other => format!("the server's genesis block does not read: {other}"),
    })?;
    if genesis.election != election {
        return Err(format!(
            "the server sent the genesis block of election {}",
            genesis.election
        ));
    }
    Ok(genesis)
}
