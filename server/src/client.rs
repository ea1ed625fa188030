//! The command line's client of the API: requests, the server's refusals in its own words,
//! and the genesis block as served (its canonical bytes, decoded here).

use serde::de::DeserializeOwned;
use wire::ErrorBody;

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
    let url = format!("{base}{}", wire::paths::genesis(election));
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
