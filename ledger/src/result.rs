//! The result of a secret-ballot election: the trustees' signed decryption shares of the
//! encrypted sums up to the final head, and the counts they decrypt to. Anyone checks it
//! from the chain alone ([`check_result`]): the sums are recomputed from the appended
//! ballots, every share is signed by its trustee's identity key (as the genesis block
//! seals it) over this election, the final head and those sums, every share's proofs hold,
//! at least the threshold of trustees gave one, and `count·G` is what each sum decrypts to.

use crate::approval::{sign, verifies};
use crate::encoding::{DecodeError, Reader, Writer};
use crate::genesis::{ElectionId, Genesis};
use crate::hash::{BlockHash, PublicKey, Signature};
use crate::secret::{check_counts, DecryptionShare, EncryptedSums, SecretError};
use crate::validate::ChainState;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

const SHARE_DOMAIN: &[u8] = b"ballotchain/decryption-share/v1";

/// A trustee's decryption share of the sums at the final head, signed by its identity key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedShare {
    /// The trustee's position (its index in the genesis block's trustees).
    pub trustee: u16,
    /// Per candidate, the share and its proof ([`DecryptionShare::encode`]).
    #[serde(with = "crate::hash::var_hex")]
    pub share: Vec<u8>,
    /// The identity key's signature over the domain tag, the election, the final head,
    /// the sums and the share.
    pub signature: Signature,
}

fn signed_bytes(
    election: ElectionId,
    head: &BlockHash,
    sums: &EncryptedSums,
    trustee: u16,
    share: &[u8],
) -> Vec<u8> {
    let mut w = Writer::default();
    w.raw(SHARE_DOMAIN)
        .u64(election.0)
        .raw(&head.0)
        .var_bytes(&sums.to_bytes())
        .u16(trustee)
        .var_bytes(share);
    w.bytes
}

impl SignedShare {
    /// Signs a trustee's share of `sums`, the sums of `election` up to `head`.
    pub fn sign(
        identity: &SigningKey,
        election: ElectionId,
        head: &BlockHash,
        sums: &EncryptedSums,
        share: &DecryptionShare,
    ) -> Self {
        let bytes = share.encode();
        let (_, signature) = sign(
            identity,
            &signed_bytes(election, head, sums, share.trustee, &bytes),
        );
        Self {
            trustee: share.trustee,
            share: bytes,
            signature,
        }
    }

    /// Whether `identity` signed this share of these sums up to this head.
    pub fn is_signed_by(
        &self,
        identity: &PublicKey,
        election: ElectionId,
        head: &BlockHash,
        sums: &EncryptedSums,
    ) -> bool {
        verifies(
            identity,
            &signed_bytes(election, head, sums, self.trustee, &self.share),
            &self.signature,
        )
    }

    /// The share, read; its trustee must be the one it is posted as.
    pub fn read(&self) -> Result<DecryptionShare, SecretError> {
        let share = DecryptionShare::decode(&self.share)?;
        if share.trustee != self.trustee {
            return Err(SecretError::Trustee {
                trustee: self.trustee,
                reason: format!("the share inside is trustee {}'s", share.trustee),
            });
        }
        Ok(share)
    }
}

/// The published result: the final head it covers, the shares and the counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TallyResult {
    /// The height and hash of the final head: the result covers the appended ballots up
    /// to it, no more.
    pub height: u64,
    pub head: BlockHash,
    /// At least the threshold of trustees' shares.
    pub shares: Vec<SignedShare>,
    /// Votes per candidate, in ballot order.
    pub counts: Vec<u64>,
}

/// Why a result does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    /// The chain given does not end at the result's final head.
    #[error("the result covers block {height} ({head}), but the chain ends at block {found}")]
    Head {
        height: u64,
        head: BlockHash,
        found: u64,
    },
    /// A share from no trustee, or not signed by its trustee over these sums and head.
    #[error("trustee {0}'s share is not signed by their identity key over these sums")]
    Signature(u16),
    /// The shares, the proofs or the counts do not hold.
    #[error("{0}")]
    Secret(#[from] SecretError),
    /// Counts that do not add up to the ballots counted.
    #[error("the counts add up to {found}, but {turnout} ballots were counted")]
    Turnout { found: u64, turnout: u64 },
}

/// Checks one posted share against the trustees sealed in `genesis` and the sums up to
/// `head`: signed by its trustee's identity key, and every proof holding.
pub fn check_share(
    genesis: &Genesis,
    head: &BlockHash,
    sums: &EncryptedSums,
    share: &SignedShare,
) -> Result<DecryptionShare, ResultError> {
    let identity = genesis
        .trustees
        .trustees
        .get(usize::from(share.trustee))
        .map(|t| t.identity)
        .ok_or(ResultError::Signature(share.trustee))?;
    if !share.is_signed_by(&identity, genesis.election, head, sums) {
        return Err(ResultError::Signature(share.trustee));
    }
    let read = share.read()?;
    crate::secret::verify_share(&genesis.trustees.keys(), sums, &read)?;
    Ok(read)
}

/// Checks a published result against `chain`, the verified chain up to its final head.
pub fn check_result(chain: &ChainState, result: &TallyResult) -> Result<(), ResultError> {
    if chain.height() != result.height || chain.tip() != result.head {
        return Err(ResultError::Head {
            height: result.height,
            head: result.head,
            found: chain.height(),
        });
    }
    let genesis = chain.genesis();
    let sums = &chain.tally().sums;
    let shares = result
        .shares
        .iter()
        .map(|s| check_share(genesis, &result.head, sums, s))
        .collect::<Result<Vec<_>, _>>()?;
    check_counts(&genesis.trustees.keys(), sums, &shares, &result.counts)?;
    let found: u64 = result.counts.iter().sum();
    if found != chain.tally().total {
        return Err(ResultError::Turnout {
            found,
            turnout: chain.tally().total,
        });
    }
    Ok(())
}

impl DecryptionShare {
    /// The share's bytes: the trustee (u16), the number of parts (u32), then 96 bytes per
    /// part (the share, then its proof).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u16(self.trustee).u32(self.parts.len() as u32);
        for (share, proof) in &self.parts {
            w.raw(share).raw(proof);
        }
        w.bytes
    }

    /// Reads [`Self::encode`]'s bytes; nothing may trail.
    pub fn decode(bytes: &[u8]) -> Result<Self, SecretError> {
        let bad = |e: DecodeError| SecretError::Malformed {
            what: "decryption share",
            reason: e.to_string(),
        };
        let mut r = Reader::new(bytes);
        let trustee = r.u16().map_err(bad)?;
        let n = r.u32().map_err(bad)?;
        if n as usize > bytes.len() / 96 {
            return Err(bad(DecodeError::TooLong(n)));
        }
        let parts = (0..n)
            .map(|_| Ok((r.array().map_err(bad)?, r.array().map_err(bad)?)))
            .collect::<Result<_, SecretError>>()?;
        r.finish().map_err(bad)?;
        Ok(Self { trustee, parts })
    }
}

/// The one count a trustee decrypted its share of, as its tool records it beyond the key
/// file (a file in the trustee's state folder on the command line, this browser's storage
/// on the page): keyed by the genesis block's hash and the trustee's identity key, so a
/// second copy of the key file used on the same machine is refused for another count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountRecord {
    /// The hash of the election's genesis block.
    pub genesis: BlockHash,
    /// The trustee's identity key.
    pub trustee: PublicKey,
    /// The final head decrypted: its height and hash.
    pub height: u64,
    pub head: BlockHash,
    /// The encrypted sums decrypted, hex ([`EncryptedSums::to_bytes`]).
    pub sums: String,
}

/// A count other than the one recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this trustee's share of another count is recorded here (block {height}, {head}): it decrypts only one count")]
pub struct OtherCount {
    pub height: u64,
    pub head: BlockHash,
}

impl CountRecord {
    /// Admits the count of `head` with `sums` (hex) only if it is the one recorded, for
    /// this genesis block and trustee.
    pub fn admits(
        &self,
        genesis: &BlockHash,
        trustee: &PublicKey,
        head: &BlockHash,
        sums: &str,
    ) -> Result<(), OtherCount> {
        if self.genesis == *genesis
            && self.trustee == *trustee
            && self.head == *head
            && self.sums == sums
        {
            Ok(())
        } else {
            Err(OtherCount {
                height: self.height,
                head: self.head,
            })
        }
    }
}

/// What a trustee's tool knows when it is asked for its share: its own verified copy of
/// the chain, what the server serves as the final count, the final head the trustee was
/// given from outside the office (if any), and the count recorded on this machine.
#[derive(Debug, Clone, Copy)]
pub struct ShareAsked<'a> {
    /// The copy's genesis hash, and the trustee's identity key.
    pub genesis: BlockHash,
    pub trustee: PublicKey,
    /// The copy, verified here: its height, tip and the sums recomputed from it.
    pub height: u64,
    pub tip: BlockHash,
    pub sums: &'a EncryptedSums,
    /// The final head the server serves (none before the officer finalises) and its sums.
    pub served: Option<(u64, BlockHash)>,
    pub served_sums: &'a EncryptedSums,
    /// The final head given from outside the office, if any.
    pub expected: Option<(u64, BlockHash)>,
    /// The count this machine recorded for this genesis block and trustee, if any.
    pub recorded: Option<&'a CountRecord>,
}

/// Why a trustee's tool refuses to decrypt: nothing is posted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareRefusal {
    /// The officer has not finalised the count.
    #[error("the count is not final yet: the officer finalises it after voting closes")]
    NotFinal,
    /// The served final head is not the one the trustee was given.
    #[error("the server's final head is block {0} ({1}), not the one you were given, {2}:{3}")]
    NotGiven(u64, BlockHash, u64, BlockHash),
    /// The served final head or sums are not the trustee's own copy's.
    #[error("{0}")]
    Differs(Box<Mismatch>),
    /// Another count is recorded for this trustee here.
    #[error("{0}")]
    OtherCount(#[from] OtherCount),
}

/// A served final count that is not the trustee's own copy: the served head and the start
/// of its sums, and the copy's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server's final head or sums differ from this trustee's own verified copy (block {served_height} {served_head}, sums {served_sums}…; here block {height} {tip}, sums {sums}…)")]
pub struct Mismatch {
    pub served_height: u64,
    pub served_head: BlockHash,
    pub served_sums: String,
    pub height: u64,
    pub tip: BlockHash,
    pub sums: String,
}

/// May this trustee decrypt its share of the count it is asked for? Only of a final
/// count, at the head it was given (if any), that is exactly its own verified copy (head
/// and sums), and the one count recorded here if there is one. The record to keep before
/// posting, or why not. The command line and the tally page both ask this.
pub fn may_share(asked: &ShareAsked<'_>) -> Result<CountRecord, ShareRefusal> {
    let (height, head) = asked.served.ok_or(ShareRefusal::NotFinal)?;
    if let Some((h, given)) = asked.expected {
        if (h, given) != (height, head) {
            return Err(ShareRefusal::NotGiven(height, head, h, given));
        }
    }
    let own = hex::encode(asked.sums.to_bytes());
    if height != asked.height || head != asked.tip || asked.served_sums != asked.sums {
        let start = |s: &str| s.get(..16).unwrap_or(s).to_owned();
        return Err(ShareRefusal::Differs(Box::new(Mismatch {
            served_height: height,
            served_head: head,
            served_sums: start(&hex::encode(asked.served_sums.to_bytes())),
            height: asked.height,
            tip: asked.tip,
            sums: start(&own),
        })));
    }
    if let Some(record) = asked.recorded {
        record.admits(&asked.genesis, &asked.trustee, &asked.tip, &own)?;
    }
    Ok(CountRecord {
        genesis: asked.genesis,
        trustee: asked.trustee,
        height: asked.height,
        head: asked.tip,
        sums: own,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Ballot;
    use crate::validate::tests::{fixture, mine, signed};
    use rand::rngs::OsRng;

    #[test]
    fn a_result_needs_the_threshold_of_signed_proven_shares_and_the_counts_they_decrypt_to() {
        let election = ElectionId(1);
        let (sealed, ids, sides) = crate::testing::sealed_trustees(election, 3, 2, 5);
        let mut f = fixture(4);
        let mut genesis = f.chain.genesis().clone();
        genesis.trustees = sealed.clone();
        f.chain = ChainState::new(genesis);
        let votes = f
            .codes
            .iter()
            .zip([0, 1, 1, 2])
            .map(|(code, choice)| {
                let ballot = Ballot::encrypt(&sealed.election_key, 3, choice, &mut OsRng);
                signed(code, ballot.unwrap().encode().unwrap())
            })
            .collect();
        let block = mine(&f.chain, votes);
        f.chain.append(&block).unwrap();
        let (head, sums) = (f.chain.tip(), f.chain.tally().sums.clone());
        let share = |i: usize, sums: &EncryptedSums| {
            let made = DecryptionShare::make(sides[i].key_share().unwrap(), sums, &mut OsRng);
            SignedShare::sign(&ids[i], election, &head, sums, &made.unwrap())
        };
        let result = |shares: Vec<SignedShare>, counts: Vec<u64>| TallyResult {
            height: 1,
            head,
            shares,
            counts,
        };
        // Two of three trustees: the counts cast. The third stayed away.
        let good = result(vec![share(0, &sums), share(2, &sums)], vec![1, 2, 1]);
        assert_eq!(check_result(&f.chain, &good), Ok(()));
        // One share is below the threshold: no result holds, whatever it claims.
        assert_eq!(
            check_result(&f.chain, &result(vec![share(0, &sums)], vec![1, 2, 1])),
            Err(ResultError::Secret(SecretError::TooFewShares {
                have: 1,
                need: 2
            }))
        );
        // Counts the sums do not decrypt to.
        assert!(matches!(
            check_result(&f.chain, &result(good.shares.clone(), vec![2, 1, 1])),
            Err(ResultError::Secret(SecretError::WrongCount { .. }))
        ));
        // A share passed off as another trustee's, or signed over other sums.
        let mut moved = share(0, &sums);
        moved.trustee = 1;
        assert_eq!(
            check_result(
                &f.chain,
                &result(vec![moved, share(2, &sums)], vec![1, 2, 1])
            ),
            Err(ResultError::Signature(1))
        );
        let other_sums = EncryptedSums::new(3);
        let mut elsewhere = share(0, &sums);
        elsewhere.signature = share(0, &other_sums).signature;
        assert_eq!(
            check_result(
                &f.chain,
                &result(vec![elsewhere, share(2, &sums)], vec![1, 2, 1])
            ),
            Err(ResultError::Signature(0))
        );
        // A share whose proof fails, though its trustee signed it.
        let mut read = share(2, &sums).read().unwrap();
        read.parts[1].1[0] ^= 1;
        let forged = SignedShare::sign(&ids[2], election, &head, &sums, &read);
        assert!(matches!(
            check_share(f.chain.genesis(), &head, &sums, &forged),
            Err(ResultError::Secret(SecretError::Share { trustee: 2, .. }))
        ));
        // A result for another head.
        let mut early = good.clone();
        early.height = 0;
        assert!(matches!(
            check_result(&f.chain, &early),
            Err(ResultError::Head { .. })
        ));
        // Shares read back from their bytes, and bytes that are no share do not.
        let bytes = read.encode();
        assert_eq!(DecryptionShare::decode(&bytes).unwrap(), read);
        assert!(DecryptionShare::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut huge = bytes.clone();
        huge[2..6].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(DecryptionShare::decode(&huge).is_err());
    }

    #[test]
    fn a_count_record_admits_its_own_count_only() {
        let record = CountRecord {
            genesis: BlockHash([1; 32]),
            trustee: PublicKey([2; 32]),
            height: 7,
            head: BlockHash([3; 32]),
            sums: "abcd".into(),
        };
        let (g, t, h) = (record.genesis, record.trustee, record.head);
        assert_eq!(record.admits(&g, &t, &h, "abcd"), Ok(()));
        let refused = OtherCount { height: 7, head: h };
        let other = Err(refused.clone());
        assert_eq!(record.admits(&g, &t, &BlockHash([4; 32]), "abcd"), other);
        assert_eq!(record.admits(&g, &t, &h, "abce"), other);
        assert_eq!(record.admits(&BlockHash([9; 32]), &t, &h, "abcd"), other);
        assert_eq!(record.admits(&g, &PublicKey([9; 32]), &h, "abcd"), other);
        let said = refused.to_string();
        assert!(
            said.starts_with(
                "this trustee's share of another count is recorded here (block 7, 0303"
            ),
            "{said}"
        );
    }

    #[test]
    fn a_trustee_may_share_only_its_own_final_copy_at_the_given_head_and_recorded_count() {
        let f = fixture(1);
        let chain = &f.chain;
        let sums = &chain.tally().sums;
        let own = hex::encode(sums.to_bytes());
        let (tip, other) = (chain.tip(), BlockHash([7; 32]));
        let asked = ShareAsked {
            genesis: chain.genesis_hash(),
            trustee: PublicKey([2; 32]),
            height: 0,
            tip,
            sums,
            served: Some((0, tip)),
            served_sums: sums,
            expected: None,
            recorded: None,
        };
        // Everything agrees: the record to keep names this count.
        let record = may_share(&asked).unwrap();
        assert_eq!(
            (record.height, record.head, &record.sums, record.genesis),
            (0, tip, &own, chain.genesis_hash())
        );
        assert_eq!(
            may_share(&ShareAsked {
                expected: Some((0, tip)),
                ..asked
            }),
            Ok(record.clone())
        );
        assert_eq!(
            may_share(&ShareAsked {
                recorded: Some(&record),
                ..asked
            }),
            Ok(record.clone())
        );
        // Not final; another head than given; a head or sums not the copy's.
        assert_eq!(
            may_share(&ShareAsked {
                served: None,
                ..asked
            }),
            Err(ShareRefusal::NotFinal)
        );
        assert_eq!(
            may_share(&ShareAsked {
                expected: Some((0, other)),
                ..asked
            }),
            Err(ShareRefusal::NotGiven(0, tip, 0, other))
        );
        assert!(matches!(
            may_share(&ShareAsked {
                served: Some((1, other)),
                ..asked
            }),
            Err(ShareRefusal::Differs(m)) if m.served_height == 1
        ));
        let mut forged = sums.clone();
        let ballot = Ballot::encrypt(&crate::validate::tests::election_key(), 3, 0, &mut OsRng);
        forged.add(&ballot.unwrap()).unwrap();
        let start = hex::encode(forged.to_bytes())[..16].to_owned();
        assert!(matches!(
            may_share(&ShareAsked {
                served_sums: &forged,
                ..asked
            }),
            Err(ShareRefusal::Differs(m)) if m.served_sums == start
        ));
        // Another count recorded here.
        let elsewhere = CountRecord {
            head: other,
            height: 3,
            ..record
        };
        assert_eq!(
            may_share(&ShareAsked {
                recorded: Some(&elsewhere),
                ..asked
            }),
            Err(ShareRefusal::OtherCount(OtherCount {
                height: 3,
                head: other
            }))
        );
    }
}
