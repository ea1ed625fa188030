//! The command line's client of the API: one typed method per request, the server's
//! refusals typed (and in its own words), and the genesis block as served (its canonical
//! bytes, decoded here).

use ledger::{Block, BlockHash, ChainExport, ElectionId};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::{Duration, Instant};
use wire::{paths, ErrorBody, ErrorCode};

type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Why a request got no answer of the kind asked for.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The server refused, in its own words.
    #[error("refused ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: ErrorCode,
        message: String,
        /// Seconds to wait before asking again, when the server says.
        retry_after: Option<u64>,
    },
    /// A failure status without the API's refusal in it (a proxy's page, say).
    #[error("the server answered {status}: {text}")]
    Status { status: u16, text: String },
    /// No answer at all.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// An answer that does not read as what was asked for.
    #[error("the server's answer does not read: {0}")]
    Unreadable(String),
}

impl From<ureq::Error> for ApiError {
    fn from(e: ureq::Error) -> Self {
        match e {
            ureq::Error::Status(status, r) => {
                let retry_after = r
                    .header("retry-after")
                    .and_then(|s| s.trim().parse::<u64>().ok());
                let text = r.into_string().unwrap_or_default();
                match serde_json::from_str::<ErrorBody>(&text) {
                    Ok(body) => Self::Refused {
                        status,
                        code: body.error,
                        message: body.message,
                        retry_after,
                    },
                    Err(_) => Self::Status { status, text },
                }
            }
            e => Self::Unreachable(e.to_string()),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// One server's API, as the command line uses it: each method one request, its path
/// from [`wire::paths`]. Every call has timeouts, so a stalled server fails the command
/// instead of hanging it.
pub(crate) struct Api {
    base: String,
    agent: ureq::Agent,
}

impl Api {
    /// The API of the server at `base` (`https://vote.example.org`, no trailing slash).
    pub(crate) fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(10))
                .timeout_read(Duration::from_secs(60))
                .timeout_write(Duration::from_secs(60))
                .build(),
        }
    }

    /// The server's base URL, to show people where to look.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> ApiResult<T> {
        read(self.agent.get(&self.url(path)).call())
    }

    fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> ApiResult<T> {
        read(self.agent.post(&self.url(path)).send_json(body))
    }

    /// A validator's or officer's invitation.
    pub(crate) fn invitation(&self, token: &str) -> ApiResult<wire::InvitationInfo> {
        self.get(&paths::invitation(token))
    }

    /// Takes up a validator's or officer's invitation.
    pub(crate) fn accept_invitation(
        &self,
        token: &str,
        acceptance: &wire::Acceptance,
    ) -> ApiResult<wire::Account> {
        self.post(&paths::accept_invitation(token), acceptance)
    }

    /// A trustee's invitation.
    pub(crate) fn trustee_invitation(&self, token: &str) -> ApiResult<wire::TrusteeInvitationInfo> {
        self.get(&paths::trustee_invitation(token))
    }

    /// Takes up a trustee's invitation with the seat it enrols.
    pub(crate) fn accept_trustee_invitation(
        &self,
        token: &str,
        enrolment: &wire::TrusteeEnrolment,
    ) -> ApiResult<wire::TrusteeInfo> {
        self.post(&paths::accept_trustee_invitation(token), enrolment)
    }

    /// An election's detail.
    pub(crate) fn election(&self, id: ElectionId) -> ApiResult<wire::ElectionDetail> {
        self.get(&paths::election(id))
    }

    /// The whole chain.
    pub(crate) fn export(&self, id: ElectionId) -> ApiResult<ChainExport> {
        self.get(&paths::export(id))
    }

    /// The chain's head.
    pub(crate) fn head(&self, id: ElectionId) -> ApiResult<wire::Head> {
        self.get(&paths::head(id))
    }

    /// A page of the approved blocks after height `since`.
    pub(crate) fn chain_since(
        &self,
        id: ElectionId,
        since: u64,
    ) -> ApiResult<Vec<ledger::ApprovedBlock>> {
        self.get(&paths::chain_since(id, since, None))
    }

    /// The blocks awaiting approval.
    pub(crate) fn awaiting(&self, id: ElectionId) -> ApiResult<Vec<wire::BlockSummary>> {
        self.get(&paths::awaiting(id))
    }

    /// A block as it was mined (the caller checks its hash).
    pub(crate) fn block(&self, id: ElectionId, hash: BlockHash) -> ApiResult<Block> {
        self.get(&paths::block_raw(id, hash))
    }

    /// A validator's signed approval of block `hash`.
    pub(crate) fn approve(
        &self,
        id: ElectionId,
        hash: BlockHash,
        approval: &ledger::Approval,
    ) -> ApiResult<wire::BlockSummary> {
        let body = wire::SignedApproval {
            validator: approval.validator,
            signature: approval.signature,
        };
        self.post(&paths::approve(id, hash), &body)
    }

    /// A validator's signed rejection of block `hash`, with its reason.
    pub(crate) fn reject(
        &self,
        id: ElectionId,
        hash: BlockHash,
        rejection: &ledger::Rejection,
    ) -> ApiResult<wire::BlockSummary> {
        let body = wire::SignedRejection {
            validator: rejection.validator,
            signature: rejection.signature,
            reason: rejection.reason.clone(),
        };
        self.post(&paths::reject(id, hash), &body)
    }

    /// The mining template.
    pub(crate) fn work(&self, id: ElectionId) -> ApiResult<wire::WorkTemplate> {
        self.get(&paths::work(id))
    }

    /// Submits a mined block.
    pub(crate) fn submit_block(
        &self,
        id: ElectionId,
        block: &Block,
    ) -> ApiResult<wire::SubmitOutcome> {
        self.post(&paths::blocks(id), block)
    }

    /// Casts a ballot.
    pub(crate) fn cast(
        &self,
        id: ElectionId,
        ballot: &wire::Ballot,
    ) -> ApiResult<wire::CastReceipt> {
        self.post(&paths::votes(id), ballot)
    }

    /// The key ceremony's board, read until `deadline` by a command that polls: a `429`
    /// (this address read too often) is waited out for the `Retry-After` the server
    /// gives, while time is left.
    pub(crate) fn ceremony_polling(
        &self,
        id: ElectionId,
        deadline: Instant,
    ) -> ApiResult<wire::CeremonyBoard> {
        loop {
            match self.get(&paths::ceremony(id)) {
                Err(
                    refused @ ApiError::Refused {
                        status: 429,
                        retry_after,
                        ..
                    },
                ) => {
                    let wait = retry_after.unwrap_or(5);
                    if Instant::now() + Duration::from_secs(wait) > deadline {
                        return Err(refused);
                    }
                    tracing::info!(wait, "the server asks to read less often: waiting");
                    std::thread::sleep(Duration::from_secs(wait));
                }
                other => return other,
            }
        }
    }

    /// Posts this trustee's ceremony messages: the board after.
    pub(crate) fn post_ceremony_messages(
        &self,
        id: ElectionId,
        messages: &[ledger::ceremony::CeremonyMessage],
    ) -> ApiResult<wire::CeremonyBoard> {
        self.post(&paths::ceremony_messages(id), &messages)
    }

    /// The count.
    pub(crate) fn tally(&self, id: ElectionId) -> ApiResult<wire::TallyReport> {
        self.get(&paths::tally(id))
    }

    /// Posts a trustee's signed decryption share: the count after.
    pub(crate) fn post_tally_share(
        &self,
        id: ElectionId,
        share: &ledger::result::SignedShare,
    ) -> ApiResult<wire::TallyReport> {
        self.post(&paths::tally_shares(id), share)
    }

    /// The genesis block of `election` in its canonical encoding (the bytes its hash is
    /// taken over), decoded here ([`read_genesis`]).
    pub(crate) fn genesis(&self, election: ElectionId) -> CliResult<ledger::Genesis> {
        Ok(read_genesis(&self.genesis_bytes(election)?, election)?)
    }

    /// The genesis block of `election` as the server sends it in its canonical encoding.
    /// The genesis block's canonical bytes: `kept` (a copy this machine holds) while the
    /// server says it is current (a bodiless 304, which the server does not count as an
    /// export), otherwise the bytes served. The caller hashes whichever it gets.
    pub(crate) fn genesis_bytes_since(
        &self,
        election: ElectionId,
        kept: Option<Vec<u8>>,
    ) -> CliResult<Vec<u8>> {
        let url = self.url(&paths::genesis(election));
        let mut request = self
            .agent
            .get(&url)
            .set("Accept", "application/octet-stream");
        if let Some(kept) = &kept {
            let hash = ledger::BlockHash(ledger::hash::sha256(kept));
            request = request.set("If-None-Match", &wire::genesis_etag(&hash, true));
        }
        let response = request.call().map_err(ApiError::from)?;
        if response.status() == 304 {
            return kept.ok_or_else(|| {
                format!("{url} answered 304 to a request that named no copy").into()
            });
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes)
            .map_err(|e| format!("cannot read the genesis block from {url}: {e}"))?;
        Ok(bytes)
    }

    pub(crate) fn genesis_bytes(&self, election: ElectionId) -> CliResult<Vec<u8>> {
        let url = self.url(&paths::genesis(election));
        let response = self
            .agent
            .get(&url)
            .set("Accept", "application/octet-stream")
            .call()
            .map_err(ApiError::from)?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes)
            .map_err(|e| format!("cannot read the genesis block from {url}: {e}"))?;
        Ok(bytes)
    }
}

/// An answer read as `T`, or why not.
fn read<T: DeserializeOwned>(response: Result<ureq::Response, ureq::Error>) -> ApiResult<T> {
    response?
        .into_json()
        .map_err(|e| ApiError::Unreadable(e.to_string()))
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
