//! What a form's action tells the person who sent it: every outcome, good or bad, with its
//! words, in one table. An action sends the browser back to its page with `?done=name` or
//! `?error=name`, so the outcome survives the redirect with JavaScript and without.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use wire::ErrorCode;

/// An outcome a page shows after one of its forms was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// An election was created.
    Created,
    /// A candidate was added.
    CandidateAdded,
    /// A candidate was renamed or redescribed.
    CandidateSaved,
    /// A candidate was taken off the ballot.
    CandidateRemoved,
    /// A validator was enrolled.
    ValidatorEnrolled,
    /// A voter was taken off the roll.
    VoterRemoved,
    /// The genesis block was sealed.
    Opened,
    /// Voting was closed.
    Closed,
    /// The key ceremony was started (again).
    CeremonyStarted,
    /// The count's final head was recorded.
    Finalised,
    /// A validator approved a block.
    Approved,
    /// A validator rejected a block.
    Rejected,
    /// Someone changed their password.
    PasswordChanged,
    /// An invitee's account was created.
    AccountCreated,
    /// The two passwords typed differ.
    PasswordMismatch,
    /// The invitation was used already or has expired.
    Gone,
    /// The form's CSRF token did not match the session's.
    Csrf,
    /// A field is empty, too long or out of range.
    InvalidInput,
    /// A name that must be unique is taken.
    Duplicate,
    /// The election's state does not allow this.
    WrongState,
    /// The thing named does not exist.
    NotFound,
    /// Wrong username or password.
    BadCredentials,
    /// Too many failures from this connection.
    RateLimited,
    /// The account may not do this.
    Forbidden,
    /// The first-run link is used up or wrong.
    InvalidToken,
    /// The voting code is not registered.
    InvalidCode,
    /// The voting code does not have the shape of one.
    MalformedCode,
    /// The voting code has voted already.
    AlreadyVoted,
    /// The ballot was sent without ticking the confirmation.
    Unconfirmed,
    /// The ballot was sent without a candidate.
    NoCandidate,
    /// The ballot was sent while voting is not open.
    VotingClosed,
    /// The election key served is not the sealed trustees' key: nothing was encrypted.
    UntrustedKey,
    /// The chain failed verification; it takes no writes.
    ChainIntegrity,
    /// The block was decided on or went stale meanwhile.
    NoLongerAwaiting,
    /// Something went wrong on the server.
    Failed,
}

/// Every notice: its name in the URL, whether it reports a refusal, and its words.
const TABLE: &[(Notice, &str, bool, &str)] = &[
    (Notice::Created, "created", false, "Election created."),
    (Notice::CandidateAdded, "candidate_added", false, "Candidate added."),
    (Notice::CandidateSaved, "candidate_saved", false, "Candidate saved."),
    (Notice::CandidateRemoved, "candidate_removed", false, "Candidate removed."),
    (Notice::ValidatorEnrolled, "validator_enrolled", false, "Validator enrolled."),
    (Notice::VoterRemoved, "voter_removed", false, "Voter taken off the roll."),
    (Notice::Opened, "opened", false, "The genesis block is sealed and voting is open."),
    (Notice::Closed, "closed", false, "Voting is closed."),
    (Notice::CeremonyStarted, "ceremony_started", false, "The key ceremony has started: each trustee now takes their turns."),
    (Notice::Finalised, "finalised", false, "The count is final: the trustees can now post their decryption shares."),
    (Notice::Approved, "approved", false, "Block approved."),
    (Notice::Rejected, "rejected", false, "Block rejected."),
    (Notice::PasswordChanged, "password_changed", false, "Password changed."),
    (Notice::AccountCreated, "account_created", false, "Your account is ready: sign in with your username and the password you chose."),
    (Notice::PasswordMismatch, "password_mismatch", true, "The two passwords differ; type the same one twice."),
    (Notice::Gone, "gone", true, "This invitation has been used already or has expired; ask the election office for a new one."),
    (Notice::Csrf, "csrf", true, "The form expired. Reload the page and try again."),
    (
        Notice::InvalidInput,
        "invalid_input",
        true,
        "Check the form: names and titles cannot be empty, difficulty is 0 to 48 bits, quorum 2 to 100, a rejection needs a reason; usernames have 3 to 40 letters, digits, '.', '_' or '-', passwords at least 12 characters.",
    ),
    (Notice::Duplicate, "duplicate", true, "That is already done or the name is already taken."),
    (
        Notice::WrongState,
        "wrong_state",
        true,
        "Not possible in the election's current state (the registry is frozen once voting opens; opening needs two candidates, a voter, enough validators, each with an enrolled key, and the trustees' finished key ceremony; a key can be replaced only before sealing).",
    ),
    (Notice::NotFound, "not_found", true, "Not found."),
    (Notice::BadCredentials, "bad_credentials", true, "Wrong username or password."),
    (
        Notice::RateLimited,
        "rate_limited",
        true,
        "Too many failed attempts from this connection. Wait a minute, then try again.",
    ),
    (Notice::Forbidden, "forbidden", true, "You are not a validator of this election."),
    (
        Notice::InvalidToken,
        "invalid_token",
        true,
        "This set-up link is not valid (it works once, until the first admin exists).",
    ),
    (
        Notice::InvalidCode,
        "invalid_code",
        true,
        "This voting code is not valid for this election. Check it and try again.",
    ),
    (
        Notice::MalformedCode,
        "malformed_code",
        true,
        "That does not look like a voting code: it has 24 letters and digits, like ABCD-EFGH-JKMN-PQRS-TVWX-YZ12.",
    ),
    (
        Notice::AlreadyVoted,
        "already_voted",
        true,
        "This voting code has already been used. Each code votes once.",
    ),
    (
        Notice::Unconfirmed,
        "unconfirmed",
        true,
        "Tick the box to confirm your choice, then cast your vote.",
    ),
    (Notice::NoCandidate, "no_candidate", true, "Choose one candidate on the ballot."),
    (Notice::VotingClosed, "voting_closed", true, "Voting is not open in this election."),
    (
        Notice::UntrustedKey,
        "untrusted_key",
        true,
        "This page was given an election key that is not the trustees' key: your choice was neither encrypted nor sent. Do not vote here; tell the election office.",
    ),
    (
        Notice::ChainIntegrity,
        "chain_integrity",
        true,
        "This election's chain failed verification; it takes no changes.",
    ),
    (
        Notice::NoLongerAwaiting,
        "no_longer_awaiting",
        true,
        "This block is no longer awaiting approval.",
    ),
    (Notice::Failed, "failed", true, "Something went wrong; please try again."),
];

impl Notice {
    fn row(self) -> &'static (Notice, &'static str, bool, &'static str) {
        TABLE
            .iter()
            .find(|row| row.0 == self)
            .unwrap_or(&TABLE[TABLE.len() - 1])
    }

    /// The name in the page's URL.
    pub fn name(self) -> &'static str {
        self.row().1
    }

    /// Whether it reports a refusal rather than something done.
    pub fn is_error(self) -> bool {
        self.row().2
    }

    /// The words the page shows.
    pub fn text(self) -> &'static str {
        self.row().3
    }

    /// The notice with this name.
    pub fn named(name: &str) -> Option<Self> {
        TABLE.iter().find(|row| row.1 == name).map(|row| row.0)
    }

    /// The usual notice for an error the node or the server answered with. An action
    /// that knows better (the ballot: a malformed code) picks its own.
    pub fn for_code(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Duplicate => Self::Duplicate,
            ErrorCode::WrongState => Self::WrongState,
            ErrorCode::NotFound => Self::NotFound,
            ErrorCode::BadCredentials => Self::BadCredentials,
            ErrorCode::RateLimited => Self::RateLimited,
            ErrorCode::Forbidden | ErrorCode::Unauthenticated => Self::Forbidden,
            ErrorCode::InvalidCode => Self::InvalidCode,
            ErrorCode::AlreadyVoted => Self::AlreadyVoted,
            ErrorCode::ChainIntegrity => Self::ChainIntegrity,
            ErrorCode::Stale => Self::NoLongerAwaiting,
            ErrorCode::Gone => Self::Gone,
            ErrorCode::Database | ErrorCode::Internal | ErrorCode::Session => Self::Failed,
            _ => Self::InvalidInput,
        }
    }

    /// `path?done=name` or `path?error=name` (`&` when `path` has a query already):
    /// where an action sends the browser.
    pub fn on(self, path: &str) -> String {
        let key = if self.is_error() { "error" } else { "done" };
        let join = if path.contains('?') { '&' } else { '?' };
        format!("{path}{join}{key}={}", self.name())
    }
}

/// The notice named in the page's query string, if any; it follows client-side
/// navigation (an action's redirect with JavaScript on).
pub fn from_query() -> Memo<Option<Notice>> {
    let query = use_query_map();
    let notice = Memo::new(move |_| {
        let q = query.read();
        q.get("error")
            .or_else(|| q.get("done"))
            .and_then(|name| Notice::named(&name))
    });
    // Shown once: the address loses it, so a reload (or a bookmark) shows the page as it
    // is, not an outcome of long ago.
    Effect::new(move |_| {
        if notice.get().is_some() {
            #[cfg(feature = "hydrate")]
            forget_in_address_bar();
        }
    });
    notice
}

/// Takes `done` and `error` out of the address bar, keeping the history entry's state.
#[cfg(feature = "hydrate")]
fn forget_in_address_bar() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(url) = window
        .location()
        .href()
        .and_then(|href| web_sys::Url::new(&href))
    else {
        return;
    };
    let params = url.search_params();
    params.delete("done");
    params.delete("error");
    if let Ok(history) = window.history() {
        let state = history.state().unwrap_or(wasm_bindgen::JsValue::NULL);
        // A browser that refuses keeps the address: the outcome shows again on reload,
        // as it did before.
        let _ = history.replace_state_with_url(&state, "", Some(&url.href()));
    }
}

/// The words of a page's refusal to load (a server function's error message).
pub fn server_error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// A notice as the page shows it: refusals as alerts, outcomes as status.
pub fn view(notice: Option<Notice>) -> impl IntoView {
    notice.map(|n| {
        if n.is_error() {
            view! { <p class="error" role="alert" data-notice=n.name()>{n.text()}</p> }.into_any()
        } else {
            view! { <p class="ok" role="status" data-notice=n.name()>{n.text()}</p> }.into_any()
        }
    })
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn every_notice_has_one_row_and_its_name_reads_back() {
        for (i, row) in TABLE.iter().enumerate() {
            assert_eq!(Notice::named(row.1), Some(row.0), "{}", row.1);
            assert!(
                TABLE[i + 1..]
                    .iter()
                    .all(|other| other.0 != row.0 && other.1 != row.1),
                "{} appears twice",
                row.1
            );
        }
        assert_eq!(Notice::named("no such notice"), None);
        assert_eq!(Notice::Csrf.on("/admin"), "/admin?error=csrf");
        assert_eq!(Notice::Opened.on("/admin/e/1"), "/admin/e/1?done=opened");
    }

    #[test]
    fn server_failures_are_never_shown_as_the_users_fault() {
        for code in [ErrorCode::Database, ErrorCode::Internal, ErrorCode::Session] {
            assert_eq!(Notice::for_code(code), Notice::Failed);
        }
        assert_eq!(
            Notice::for_code(ErrorCode::InsufficientWork),
            Notice::InvalidInput
        );
    }
}
