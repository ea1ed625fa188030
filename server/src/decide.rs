//! `ballotchain accept`, `approve` and `reject`: a validator's actions from the command
//! line, with the key file on the validator's own machine. This is the path that does not
//! depend on the WebAssembly the server serves: the chain is re-verified here, the block
//! checked here, and only a signature leaves the machine.

use crate::cli::{AcceptArgs, DecideArgs};
use crate::client::{token_of, Api};
use ledger::{
    prove_possession, replay, validate_block, Approval, BlockHash, ChainState, ElectionId,
    PublicKey, Rejection,
};
use wire::{fingerprint, Acceptance, KeyProof};

type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

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
    let taken = &args.taken;
    let api = Api::new(taken.server.base());
    let token = token_of(&taken.invitation);
    let info = api.invitation(token)?;
    if info.role != wire::Role::Validator {
        return Err(format!(
            "this invitation is for an {} account, which holds no key: open the link in a browser",
            info.role
        )
        .into());
    }
    let (_, key) = crate::key::open(&taken.keyfile.key, taken.keyfile.passphrase_file.as_deref())?;
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
    let account = api.accept_invitation(token, &acceptance)?;
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
fn verified_chain(api: &Api, election: ElectionId, key: &PublicKey) -> CliResult<ChainState> {
    let export = api.export(election)?;
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
    let api = Api::new(args.server.base());
    let election = ElectionId(args.election);
    let hash: BlockHash = args
        .block
        .parse()
        .map_err(|_| "a block hash is 64 hex digits")?;
    let (_, key) = crate::key::open(&args.keyfile.key, args.keyfile.passphrase_file.as_deref())?;
    let public = PublicKey(key.verifying_key().to_bytes());
    let chain = verified_chain(&api, election, &public)?;
    let summary = match reason {
        None => {
            let block = api.block(election, hash)?;
            if block.hash() != hash {
                return Err(format!("the server sent block {}, not {hash}", block.hash()).into());
            }
            validate_block(&chain, &block)
                .map_err(|e| format!("not approved: the block breaks a rule: {e}"))?;
            api.approve(election, hash, &Approval::sign(&key, hash))?
        }
        Some(reason) => api.reject(election, hash, &Rejection::sign(&key, hash, reason))?,
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
