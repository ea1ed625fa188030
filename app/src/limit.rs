//! Rate limits on failed attempts: guessing passwords or voting codes from one address
//! is slowed down, while honest traffic (which does not fail) is never limited. The sign-in
//! form, the ballot form and the JSON API all go through [`Limits`].

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

/// Counts failures per client address in fixed windows.
pub struct FailureLimit {
    what: &'static str,
    max: u32,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
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
        }
    }

    /// Refused while `ip` has used up its failures in the current window.
    pub fn check(&self, ip: IpAddr) -> Result<(), TooManyFailures> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((start, n)) = failures.get(&ip) {
            let elapsed = start.elapsed();
            if elapsed < self.window && *n >= self.max {
                return Err(TooManyFailures {
                    what: self.what,
                    wait: (self.window - elapsed).as_secs().max(1),
                });
            }
        }
        Ok(())
    }

    /// Counts one failure from `ip`.
    pub fn record_failure(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() >= SWEEP_AT {
            let window = self.window;
            failures.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = failures.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
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

/// The limits of one server: failed sign-ins and invalid voting codes per address.
pub struct Limits {
    /// Failed sign-ins: 10 a minute.
    pub logins: FailureLimit,
    /// Unknown or malformed voting codes: 20 a minute.
    pub codes: FailureLimit,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            logins: FailureLimit::new("failed sign-ins", 10, Duration::from_secs(60)),
            codes: FailureLimit::new("invalid voting codes", 20, Duration::from_secs(60)),
        }
    }
}

impl Limits {
    /// Casts a ballot under the limit on invalid codes (guessing codes shows up as
    /// unknown or malformed codes).
    pub async fn cast(
        &self,
        node: &Node,
        client: IpAddr,
        election: ElectionId,
        ballot: Ballot,
    ) -> Result<TxId, Refused> {
        self.codes.check(client)?;
        node.cast_vote(election, ballot).await.map_err(|e| {
            if matches!(e, EngineError::UnknownCode | EngineError::Invalid(_)) {
                self.codes.record_failure(client);
            }
            e.into()
        })
    }

    /// Changes a signed-in account's password; a wrong current password counts as a
    /// failed sign-in.
    pub async fn change_password(
        &self,
        node: &Node,
        client: IpAddr,
        account: wire::AccountId,
        current: &str,
        new: &str,
    ) -> Result<(), Refused> {
        self.logins.check(client)?;
        node.change_password(account, current, new)
            .await
            .map_err(|e| {
                if matches!(e, EngineError::BadCredentials) {
                    self.logins.record_failure(client);
                }
                e.into()
            })
    }

    /// Checks a username and password under the limit on failed sign-ins.
    pub async fn authenticate(
        &self,
        node: &Node,
        client: IpAddr,
        username: &str,
        password: &str,
    ) -> Result<Account, Refused> {
        self.logins.check(client)?;
        node.authenticate(username, password).await.map_err(|e| {
            if matches!(e, EngineError::BadCredentials) {
                self.logins.record_failure(client);
                tracing::warn!(%client, "failed sign-in");
            }
            e.into()
        })
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
    fn the_window_resets() {
        let limit = FailureLimit::new("failed sign-ins", 1, Duration::from_millis(20));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        limit.record_failure(a);
        assert!(limit.check(a).is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limit.check(a).is_ok());
    }
}
