//! Rate limits per client address. On failed attempts: guessing passwords or voting codes
//! from one address is slowed down, while honest traffic (which does not fail) is never
//! limited; the sign-in form, the ballot form and the JSON API all go through [`Limits`].
//! And on the public requests that cost the server most (exports, mining templates,
//! block submissions, tallies), where every request counts.

use engine::{EngineError, Node};
use ledger::{ElectionId, TxId};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wire::{Account, Ballot, ErrorCode};

/// Refused: this address failed too often in the current window.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many {what} from this address; try again in {wait} s")]
pub struct TooManyFailures {
    /// What failed.
    pub what: &'static str,
    /// Seconds until the window ends.
    pub wait: u64,
}

/// Counts failures (or, with [`FailureLimit::count`], every request) per client address
/// in fixed windows.
pub struct FailureLimit {
    what: &'static str,
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// What time it is ([`Instant::now`], or a test's clock).
    clock: Box<dyn Fn() -> Instant + Send + Sync>,
}

/// Entries kept before expired windows are swept out.
const SWEEP_AT: usize = 10_000;

impl FailureLimit {
    /// At most `max` failures of `what` per `window` from one address.
    pub fn new(what: &'static str, max: u32, window: Duration) -> Self {
        Self {
            what,
            max,
            window,
            failures: Mutex::new(HashMap::new()),
            clock: Box::new(Instant::now),
        }
    }

    /// The same limit on another clock (a test's, which it moves on by hand).
    pub fn with_clock(self, clock: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        Self {
            clock: Box::new(clock),
            ..self
        }
    }

    /// How long since `start`, on this limit's clock.
    fn since(&self, start: Instant) -> Duration {
        (self.clock)().saturating_duration_since(start)
    }

    /// Refused while `ip` has used up its failures in the current window.
    pub fn check(&self, ip: IpAddr) -> Result<(), TooManyFailures> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((start, n)) = failures.get(&ip) {
            let elapsed = self.since(*start);
            if elapsed < self.window && *n >= self.max {
                return Err(TooManyFailures {
                    what: self.what,
                    wait: (self.window - elapsed).as_secs().max(1),
                });
            }
        }
        Ok(())
    }

    /// `ip`'s count in the current window (a new one once the last has passed); expired
    /// windows of all addresses are swept out once there are many.
    fn current_window<'m>(
        &self,
        failures: &'m mut HashMap<IpAddr, (Instant, u32)>,
        ip: IpAddr,
    ) -> &'m mut (Instant, u32) {
        if failures.len() >= SWEEP_AT {
            failures.retain(|_, (start, _)| self.since(*start) < self.window);
        }
        let now = (self.clock)();
        let entry = failures.entry(ip).or_insert((now, 0));
        if now.saturating_duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry
    }

    /// Counts an attempt from `ip` as failed before it is tried, or refuses it when the
    /// window's failures are used up: a burst of parallel guesses is refused at once
    /// instead of all being tried. The attempt is taken back if it succeeds
    /// ([`Attempt::succeeded`]).
    pub fn reserve(&self, ip: IpAddr) -> Result<Attempt<'_>, TooManyFailures> {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = self.current_window(&mut failures, ip);
        if entry.1 >= self.max {
            return Err(TooManyFailures {
                what: self.what,
                wait: (self.window.saturating_sub(self.since(entry.0)))
                    .as_secs()
                    .max(1),
            });
        }
        entry.1 += 1;
        Ok(Attempt {
            limit: self,
            ip,
            started: entry.0,
        })
    }

    /// Counts one request from `ip`, or refuses it when the window's are used up: for
    /// requests that cost the server, where every request counts.
    pub fn count(&self, ip: IpAddr) -> Result<(), TooManyFailures> {
        self.reserve(ip).map(drop)
    }

    /// Counts one failure from `ip`.
    pub fn record_failure(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let entry = self.current_window(&mut failures, ip);
        entry.1 += 1;
    }
}

/// An attempt counted as failed until it [`succeeded`](Attempt::succeeded).
pub struct Attempt<'a> {
    limit: &'a FailureLimit,
    ip: IpAddr,
    started: Instant,
}

impl Attempt<'_> {
    /// The attempt succeeded: it no longer counts (unless its window has moved on).
    pub fn succeeded(self) {
        let mut failures = self
            .limit
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = failures.get_mut(&self.ip) {
            if entry.0 == self.started {
                entry.1 = entry.1.saturating_sub(1);
            }
        }
    }
}

/// Why a limited attempt did not go through.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Too many failures from this address: not even tried.
    #[error(transparent)]
    Limited(#[from] TooManyFailures),
    /// Tried, and the node said no.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Refused {
    /// The stable code of the refusal.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Limited(_) => ErrorCode::RateLimited,
            Self::Engine(e) => e.code(),
        }
    }
}

/// The limits of one server, per address: failed sign-ins and invalid voting codes, and
/// the costly public requests.
pub struct Limits {
    /// Failed sign-ins: 10 a minute.
    pub logins: FailureLimit,
    /// Unknown or malformed voting codes: 20 a minute.
    pub codes: FailureLimit,
    /// Chain exports (a 304 counts too): 120 a minute (a validator's command line
    /// fetches the export for every decision).
    pub exports: FailureLimit,
    /// Mining templates: 600 a minute (a miner's page polls about once a second).
    pub templates: FailureLimit,
    /// Submitted blocks: 60 a minute.
    pub blocks: FailureLimit,
    /// Tallies: 120 a minute.
    pub tallies: FailureLimit,
    /// Reads of a key ceremony's board: 240 a minute (a trustee's command line reads it
    /// once a second while it waits; a full board's check is kept, but each read still
    /// gathers every message).
    pub boards: FailureLimit,
}

impl Default for Limits {
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        Self {
            logins: FailureLimit::new("failed sign-ins", 10, minute),
            codes: FailureLimit::new("invalid voting codes", 20, minute),
            exports: FailureLimit::new("chain exports", 120, minute),
            templates: FailureLimit::new("mining template requests", 600, minute),
            blocks: FailureLimit::new("submitted blocks", 60, minute),
            tallies: FailureLimit::new("tally requests", 120, minute),
            boards: FailureLimit::new("ceremony board reads", 240, minute),
        }
    }
}

impl Limits {
    /// Casts a ballot under the limit on invalid codes and votes (guessing codes shows up
    /// as unknown or malformed codes; forged votes as keys outside the roll, signatures
    /// or ballots that do not verify, which an honest voter's device never sends).
    pub async fn cast(
        &self,
        node: &Node,
        client: IpAddr,
        election: ElectionId,
        ballot: Ballot,
    ) -> Result<TxId, Refused> {
        self.codes.check(client)?;
        node.cast_vote(election, ballot).await.map_err(|e| {
            if matches!(
                e,
                EngineError::UnknownCode
                    | EngineError::Invalid(_)
                    | EngineError::Forbidden(_)
                    | EngineError::Rule(_)
                    | EngineError::Vote(_)
            ) {
                self.codes.record_failure(client);
            }
            e.into()
        })
    }

    /// Changes a signed-in account's password; a wrong current password counts as a
    /// failed sign-in. The account's new session generation (every other session ended).
    pub async fn change_password(
        &self,
        node: &Node,
        client: IpAddr,
        account: wire::AccountId,
        current: &str,
        new: &str,
    ) -> Result<i64, Refused> {
        let attempt = self.logins.reserve(client)?;
        match node.change_password(account, current, new).await {
            Ok(generation) => {
                attempt.succeeded();
                Ok(generation)
            }
            // Only a wrong current password counts against the address.
            Err(EngineError::BadCredentials) => Err(EngineError::BadCredentials.into()),
            Err(e) => {
                attempt.succeeded();
                Err(e.into())
            }
        }
    }

    /// Checks a username and password under the limit on failed sign-ins.
    pub async fn authenticate(
        &self,
        node: &Node,
        client: IpAddr,
        username: &str,
        password: &str,
    ) -> Result<Account, Refused> {
        // Reserved before the password is hashed: a parallel burst gets 429 at once.
        let attempt = self.logins.reserve(client)?;
        match node.authenticate(username, password).await {
            Ok(account) => {
                attempt.succeeded();
                Ok(account)
            }
            Err(EngineError::BadCredentials) => {
                tracing::warn!(%client, "failed sign-in");
                Err(EngineError::BadCredentials.into())
            }
            Err(e) => {
                attempt.succeeded();
                Err(e.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_beyond_the_limit_are_refused_per_address() {
        let limit = FailureLimit::new("failed sign-ins", 3, Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(limit.check(a).is_ok());
            limit.record_failure(a);
        }
        assert!(limit.check(a).is_err());
        assert!(limit.check(b).is_ok());
    }

    #[test]
    fn attempts_are_reserved_before_they_are_tried_and_a_success_gives_its_back() {
        let limit = FailureLimit::new("failed sign-ins", 2, Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        // Two attempts in flight use the window up: a third is refused before either ends.
        let first = limit.reserve(a).unwrap();
        let second = limit.reserve(a).unwrap();
        assert!(limit.reserve(a).is_err());
        first.succeeded();
        // The other two end without succeeding: they stay counted.
        let _third = limit.reserve(a).unwrap();
        let _ = second;
        assert!(limit.reserve(a).is_err(), "failed attempts stay counted");
    }

    #[test]
    fn the_window_resets() {
        let start = Instant::now();
        let passed = std::sync::Arc::new(Mutex::new(Duration::ZERO));
        let clock = passed.clone();
        let limit = FailureLimit::new("failed sign-ins", 1, Duration::from_secs(60))
            .with_clock(move || start + *clock.lock().unwrap());
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        limit.record_failure(a);
        let refused = limit.check(a).unwrap_err();
        assert_eq!(refused.wait, 60);
        *passed.lock().unwrap() = Duration::from_secs(45);
        assert_eq!(limit.check(a).unwrap_err().wait, 15);
        *passed.lock().unwrap() = Duration::from_secs(60);
        assert!(limit.check(a).is_ok());
        // A new window counts afresh.
        limit.record_failure(a);
        assert!(limit.check(a).is_err());
    }
}
