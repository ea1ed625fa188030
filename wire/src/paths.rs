//! Every API path a client asks for, one function per endpoint, so that the command line,
//! the pages and the workers name each endpoint the same way: the command line puts the
//! server's base URL in front, the pages and workers ask their own origin.

use ledger::ElectionId;
use std::fmt::Display;

/// `/api/elections/{id}`: an election's detail.
pub fn election(id: ElectionId) -> String {
    format!("/api/elections/{id}")
}

/// `/api/elections/{id}/export`: the whole chain (and the result once published).
pub fn export(id: ElectionId) -> String {
    format!("{}/export", election(id))
}

/// `/api/elections/{id}/genesis`: the genesis block.
pub fn genesis(id: ElectionId) -> String {
    format!("{}/genesis", election(id))
}

/// `/api/elections/{id}/work`: the mining template.
pub fn work(id: ElectionId) -> String {
    format!("{}/work", election(id))
}

/// `/api/elections/{id}/blocks`: where mined blocks are submitted (and the chain read).
pub fn blocks(id: ElectionId) -> String {
    format!("{}/blocks", election(id))
}

/// `/api/elections/{id}/blocks/{block}`: one block, by hash or height.
pub fn block(id: ElectionId, block: impl Display) -> String {
    format!("{}/blocks/{block}", election(id))
}

/// `/api/elections/{id}/head`: the chain's head (its height and hash).
pub fn head(id: ElectionId) -> String {
    format!("{}/head", election(id))
}

/// `/api/elections/{id}/chain?since={since}`: the approved blocks after height `since`,
/// with their approvals, a page at a time (at most `limit`, when given).
pub fn chain_since(id: ElectionId, since: u64, limit: Option<u64>) -> String {
    match limit {
        Some(limit) => format!("{}/chain?since={since}&limit={limit}", election(id)),
        None => format!("{}/chain?since={since}", election(id)),
    }
}

/// `/api/elections/{id}/blocks?status=awaiting`: the blocks awaiting approval.
pub fn awaiting(id: ElectionId) -> String {
    format!("{}?status=awaiting", blocks(id))
}

/// `/api/elections/{id}/blocks/{block}/raw`: one block as it was mined, to check.
pub fn block_raw(id: ElectionId, block: impl Display) -> String {
    format!("{}/raw", self::block(id, block))
}

/// `/api/elections/{id}/blocks/{block}/approve`: where a validator's approval goes.
pub fn approve(id: ElectionId, block: impl Display) -> String {
    format!("{}/approve", self::block(id, block))
}

/// `/api/elections/{id}/blocks/{block}/reject`: where a validator's rejection goes.
pub fn reject(id: ElectionId, block: impl Display) -> String {
    format!("{}/reject", self::block(id, block))
}

/// `/api/elections/{id}/votes`: where votes are cast.
pub fn votes(id: ElectionId) -> String {
    format!("{}/votes", election(id))
}

/// `/api/elections/{id}/voters`: the roll.
pub fn voters(id: ElectionId) -> String {
    format!("{}/voters", election(id))
}

/// `/api/elections/{id}/voters/{voter}/key`: one voter's key, while the roll is open.
pub fn voter_key(id: ElectionId, voter: impl Display) -> String {
    format!("{}/voters/{voter}/key", election(id))
}

/// `/api/elections/{id}/events`: what changes in the election, as Server-Sent Events.
pub fn events(id: ElectionId) -> String {
    format!("{}/events", election(id))
}

/// `/api/elections/{id}/ceremony`: the key ceremony's board.
pub fn ceremony(id: ElectionId) -> String {
    format!("{}/ceremony", election(id))
}

/// `/api/elections/{id}/ceremony/messages`: where trustees post their messages.
pub fn ceremony_messages(id: ElectionId) -> String {
    format!("{}/ceremony/messages", election(id))
}

/// `/api/elections/{id}/tally`: the count.
pub fn tally(id: ElectionId) -> String {
    format!("{}/tally", election(id))
}

/// `/api/elections/{id}/tally/shares`: where trustees post their decryption shares.
pub fn tally_shares(id: ElectionId) -> String {
    format!("{}/tally/shares", election(id))
}

/// `/api/invitations/{token}`: an invitation's details.
pub fn invitation(token: &str) -> String {
    format!("/api/invitations/{token}")
}

/// `/api/invitations/{token}/accept`.
pub fn accept_invitation(token: &str) -> String {
    format!("{}/accept", invitation(token))
}

/// `/api/trustee-invitations/{token}`: a trustee's invitation.
pub fn trustee_invitation(token: &str) -> String {
    format!("/api/trustee-invitations/{token}")
}

/// `/api/trustee-invitations/{token}/accept`.
pub fn accept_trustee_invitation(token: &str) -> String {
    format!("{}/accept", trustee_invitation(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_routes() {
        let e = ElectionId(7);
        assert_eq!(export(e), "/api/elections/7/export");
        assert_eq!(block(e, 3), "/api/elections/7/blocks/3");
        assert_eq!(head(e), "/api/elections/7/head");
        assert_eq!(chain_since(e, 4, None), "/api/elections/7/chain?since=4");
        assert_eq!(
            chain_since(e, 4, Some(100)),
            "/api/elections/7/chain?since=4&limit=100"
        );
        assert_eq!(awaiting(e), "/api/elections/7/blocks?status=awaiting");
        assert_eq!(block_raw(e, "ab"), "/api/elections/7/blocks/ab/raw");
        assert_eq!(approve(e, "ab"), "/api/elections/7/blocks/ab/approve");
        assert_eq!(reject(e, "ab"), "/api/elections/7/blocks/ab/reject");
        assert_eq!(voter_key(e, 12), "/api/elections/7/voters/12/key");
        assert_eq!(tally_shares(e), "/api/elections/7/tally/shares");
        assert_eq!(ceremony_messages(e), "/api/elections/7/ceremony/messages");
        assert_eq!(events(e), "/api/elections/7/events");
        assert_eq!(accept_invitation("t"), "/api/invitations/t/accept");
        assert_eq!(
            accept_trustee_invitation("t"),
            "/api/trustee-invitations/t/accept"
        );
    }
}
