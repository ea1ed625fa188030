//! The board as everyone checks it: each message as it comes, and the whole ceremony
//! once every message is in (the set every confirmation must sign).

use super::*;

/// Messages of one ceremony by (round, sender, recipient).
pub(super) type Board<'a> = BTreeMap<(Round, u16, Option<u16>), &'a CeremonyMessage>;

/// One message as a board takes it, for the ceremony of trustees whose identity keys are
/// `identities` (in trustee order): of this election and ceremony, from a trustee,
/// addressed as its round wants (a share to another trustee, anything else to all), and
/// signed by its sender's identity key.
pub fn check_message(
    election: ElectionId,
    ceremony: u64,
    identities: &[PublicKey],
    m: &CeremonyMessage,
) -> Result<(), CeremonyError> {
    if m.election != election || m.ceremony != ceremony {
        return Err(CeremonyError::Foreign {
            election: m.election,
            ceremony: m.ceremony,
        });
    }
    let n = identities.len();
    let addressed = usize::from(m.from) < n
        && match (m.round, m.to) {
            (Round::Shares, Some(to)) => usize::from(to) < n && to != m.from,
            (Round::Shares, None) | (_, Some(_)) => false,
            (_, None) => true,
        };
    if !addressed {
        return Err(CeremonyError::Addressed {
            round: m.round,
            from: m.from,
        });
    }
    if !m.is_signed_by(&identities[usize::from(m.from)]) {
        return Err(CeremonyError::Signature {
            round: m.round,
            from: m.from,
        });
    }
    Ok(())
}

/// The messages of this election's ceremony, each checked ([`check_message`]) and once.
/// Messages of another election or ceremony are refused (`strict`: the messages are
/// claimed to be this ceremony's) or left out (a board that also holds older ones).
pub(super) fn read_board<'a>(
    election: ElectionId,
    ceremony: u64,
    identities: &[PublicKey],
    messages: &'a [CeremonyMessage],
    strict: bool,
) -> Result<Board<'a>, CeremonyError> {
    let mut board = BTreeMap::new();
    for m in messages {
        if !strict && (m.election != election || m.ceremony != ceremony) {
            continue;
        }
        check_message(election, ceremony, identities, m)?;
        if board.insert((m.round, m.from, m.to), m).is_some() {
            return Err(CeremonyError::Twice {
                round: m.round,
                from: m.from,
            });
        }
    }
    Ok(board)
}

/// Checks a finished ceremony of the trustees whose identity keys are `identities` (in
/// trustee order) with this threshold: a threshold above half the trustees
/// ([`check_threshold`]); every message of this election and ceremony, addressed to
/// trustees, signed by its sender, once per sender (and recipient in round 3), none
/// missing; and every confirmation of exactly the set the ceremony made ([`SealedSet`]: these
/// seats in this order, this threshold, this transcript, and the verification keys and
/// election key the published polynomials give). Returns that set, the one to seal.
pub fn check_ceremony(
    election: ElectionId,
    ceremony: u64,
    identities: &[PublicKey],
    threshold: u16,
    messages: &[CeremonyMessage],
) -> Result<SealedSet, CeremonyError> {
    let n = identities.len();
    let seen = read_board(election, ceremony, identities, messages, true)?;
    let trustees = 0..n as u16;
    for round in [
        Round::Commitments,
        Round::Polynomials,
        Round::Shares,
        Round::Confirmations,
    ] {
        for from in trustees.clone() {
            let expected: Vec<Option<u16>> = if round == Round::Shares {
                trustees
                    .clone()
                    .filter(|&to| to != from)
                    .map(Some)
                    .collect()
            } else {
                vec![None]
            };
            if expected
                .iter()
                .any(|to| !seen.contains_key(&(round, from, *to)))
            {
                return Err(CeremonyError::Missing { round, from });
            }
        }
    }
    let transcript = transcript_hash(messages);
    check_threshold(threshold, n)?;
    let made = keys_from_polynomials(&seen, n, threshold)?;
    let expected = SealedSet {
        election,
        ceremony,
        threshold,
        seats: identities
            .iter()
            .zip(&made.participants)
            .map(|(identity, key)| SealedSeat {
                identity: *identity,
                verification_key: *key,
            })
            .collect(),
        transcript,
        election_key: made.shared,
    };
    for from in trustees {
        let c = seen[&(Round::Confirmations, from, None)].confirmation()?;
        if c.transcript != transcript {
            return Err(CeremonyError::Transcript { from });
        }
        // Every trustee must confirm the set the published polynomials give: otherwise one
        // trustee could confirm a key of its choosing and steer the election key to one it
        // alone holds, or the seats and threshold could differ from what the others signed.
        if let Some(difference) = expected.difference(&c) {
            return Err(CeremonyError::Confirmation {
                from,
                reason: format!("it confirms {difference}, not the set the ceremony made"),
            });
        }
    }
    let keys = TrusteeKeys {
        threshold,
        keys: expected.verification_keys(),
    };
    if keys.election_key()? != expected.election_key {
        return Err(CeremonyError::Keys(SecretError::Malformed {
            what: "election key",
            reason: "not the sum of the public polynomials' constant terms".into(),
        }));
    }
    Ok(expected)
}

/// The keys the trustees' public polynomials (round 2) give: each trustee's verification
/// key (the summed polynomial at its index + 1) and the election key (its constant term).
struct PolynomialKeys {
    participants: Vec<GroupKey>,
    shared: GroupKey,
}

fn keys_from_polynomials(
    board: &Board<'_>,
    n: usize,
    threshold: u16,
) -> Result<PolynomialKeys, CeremonyError> {
    use elastic_elgamal::group::{ElementOps, ScalarOps};
    type Element = <G as ElementOps>::Element;
    type Scalar = <G as ScalarOps>::Scalar;
    let refused = |from: u16, reason: String| CeremonyError::Dkg {
        round: Round::Polynomials,
        from,
        reason,
    };
    let mut summed: Vec<Element> = vec![G::identity(); usize::from(threshold)];
    for from in 0..n as u16 {
        let info = board[&(Round::Polynomials, from, None)].polynomial()?;
        if info.polynomial.len() != usize::from(threshold) {
            return Err(refused(
                from,
                format!(
                    "a polynomial of {} coefficients for a threshold of {threshold}",
                    info.polynomial.len()
                ),
            ));
        }
        for (sum, c) in summed.iter_mut().zip(&info.polynomial) {
            *sum += *c;
        }
    }
    let bytes = |e: &Element| {
        let mut out = [0u8; 32];
        G::serialize_element(e, &mut out);
        GroupKey(out)
    };
    let participants = (1..=n as u64)
        .map(|x| {
            let x = Scalar::from(x);
            let mut power = Scalar::from(1u64);
            let mut value = G::identity();
            for c in &summed {
                value += *c * power;
                power *= x;
            }
            bytes(&value)
        })
        .collect();
    Ok(PolynomialKeys {
        participants,
        shared: bytes(&summed[0]),
    })
}
