//! Where an election, a block and a vote are in their lives, and who an account is.

names! {
    /// Where an election is in its life.
    pub enum ElectionState {
        /// Registering candidates, voters and validators.
        Setup = "setup",
        /// Genesis sealed; votes accepted.
        Open = "open",
        /// No more votes; pending votes may still be mined and approved.
        Closed = "closed",
    }
}

names! {
    /// Where an election's key ceremony is, as its board shows it.
    pub enum CeremonyState {
        /// The officer has not started one.
        NotStarted = "none",
        /// Rounds still wait for trustees (or every message is in, not yet checked).
        Running = "running",
        /// Every trustee confirmed the same sealed set: the election key is known.
        Complete = "complete",
        /// The board's check failed: the officer restarts the ceremony.
        Failed = "failed",
    }
}

names! {
    /// Where a submitted block is.
    pub enum BlockStatus {
        /// Waiting for validators' decisions.
        Awaiting = "awaiting",
        /// Approved by a quorum: part of the chain.
        Appended = "appended",
        /// Another block was appended at its height first.
        Stale = "stale",
        /// Enough validators rejected it that quorum is out of reach.
        Rejected = "rejected",
    }
}

names! {
    /// Where a voter's vote is, as the receipt lookup tells it.
    pub enum ReceiptStatus {
        /// In the pool, not yet in a block.
        Pending = "pending",
        /// In a mined block that validators have not yet approved.
        AwaitingApproval = "awaiting_approval",
        /// In an appended block: on the chain.
        Appended = "appended",
        /// Not on the chain when the officer finalised the count early: not counted.
        Uncounted = "uncounted",
    }
}

names! {
    /// Where the node's check of an election's stored chain stands.
    pub enum ChainCheck {
        /// Nothing sealed yet: there is no chain to check.
        NotSealed = "not_sealed",
        /// The start-up check has not reached this chain yet: it is shown, and takes
        /// writes once verified.
        Checking = "checking",
        /// Verified when the node started, and block by block since.
        Verified = "verified",
        /// The stored chain or its rows were altered: it takes no writes.
        Altered = "altered",
        /// Written by an earlier version in a format this one does not read: shown,
        /// not verified, and takes no writes.
        OldFormat = "old_format",
    }
}

names! {
    /// What an account may do.
    pub enum Role {
        /// Runs elections.
        Admin = "admin",
        /// Checks and approves blocks.
        Validator = "validator",
    }
}

impl ElectionState {
    /// How the state reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Setup => "In preparation",
            Self::Open => "Voting open",
            Self::Closed => "Voting closed",
        }
    }
}

impl BlockStatus {
    /// How a block's fate reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            Self::Awaiting => "awaiting approval",
            Self::Appended => "appended to the chain",
            Self::Stale => "stale (another block was appended first)",
            Self::Rejected => "rejected by validators",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_through_json_and_text() {
        fn check<T>(all: &[T])
        where
            T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr,
            T: serde::Serialize + serde::de::DeserializeOwned,
        {
            for v in all {
                let json = serde_json::to_string(v).unwrap();
                assert_eq!(json, format!("\"{v}\""));
                assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *v);
                assert_eq!(v.to_string().parse::<T>().ok(), Some(*v));
            }
        }
        check(ElectionState::ALL);
        check(BlockStatus::ALL);
        check(ReceiptStatus::ALL);
        check(ChainCheck::ALL);
        check(Role::ALL);
    }

    #[test]
    fn an_unknown_name_is_an_error_not_a_default() {
        let err = "king".parse::<Role>().unwrap_err();
        assert_eq!(err.to_string(), "\"king\" is not a known Role");
        let err = serde_json::from_str::<Role>("\"king\"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown variant `king`, expected `admin` or `validator`"
        );
    }
}
