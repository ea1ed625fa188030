use super::*;
use rand::rngs::OsRng;

pub(crate) const ELECTION: ElectionId = ElectionId(4);
pub(crate) use crate::testing::CEREMONY;

/// A whole ceremony of `n` trustees with threshold `t` through a board: the trustees'
/// identity keys, every message posted, and the trustees at the end. Each trustee steps
/// in turn, its state kept as bytes between visits (as its key file keeps it), until
/// nobody has anything more to post.
pub(crate) fn run(n: usize, t: u16) -> (Vec<SigningKey>, Vec<CeremonyMessage>, Vec<Trustee>) {
    run_in(ELECTION, n, t, &mut OsRng)
}

fn run_in<R: rand_core::CryptoRng + rand_core::RngCore>(
    election: ElectionId,
    n: usize,
    t: u16,
    rng: &mut R,
) -> (Vec<SigningKey>, Vec<CeremonyMessage>, Vec<Trustee>) {
    let ids: Vec<_> = (0..n).map(|_| SigningKey::generate(rng)).collect();
    let seats: Vec<_> = ids.iter().map(Seat::of).collect();
    let mut board = Vec::new();
    let mut kept = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (trustee, first) =
            Trustee::join(id, election, CEREMONY, i as u16, &seats, t, rng).unwrap();
        board.push(first);
        kept.push(bincode::serialize(&trustee).unwrap());
    }
    for _ in 0..4 {
        for (i, id) in ids.iter().enumerate() {
            let mut trustee: Trustee = bincode::deserialize(&kept[i]).unwrap();
            board.extend(trustee.step(id, &board, rng).unwrap());
            kept[i] = bincode::serialize(&trustee).unwrap();
        }
    }
    let trustees = kept
        .iter()
        .map(|k| bincode::deserialize(k).unwrap())
        .collect();
    (ids, board, trustees)
}

pub(crate) use crate::testing::public;

#[test]
fn turns_kept_as_bytes_finish_the_ceremony_even_when_a_post_is_lost_or_it_restarts() {
    let ids: Vec<_> = (0..3).map(|_| SigningKey::generate(&mut OsRng)).collect();
    let seats: Vec<_> = ids.iter().map(Seat::of).collect();
    let stranger = SigningKey::generate(&mut OsRng);
    let turn = |kept: Option<&Vec<u8>>, key: &SigningKey, ceremony, board: &[_]| {
        let kept = kept.map(|b| KeptSide::from_bytes(b).unwrap());
        KeptSide::turn(kept, key, ELECTION, ceremony, &seats, 2, board)
    };
    assert!(matches!(
        turn(None, &stranger, CEREMONY, &[]),
        Err(CeremonyError::NoSeat)
    ));
    let mut kept: Vec<Option<Vec<u8>>> = vec![None; 3];
    let mut board: Vec<CeremonyMessage> = Vec::new();
    // An earlier ceremony's side is left behind: the trustee joins the running one.
    let old = turn(None, &ids[0], CEREMONY - 1, &[]).unwrap();
    assert!(old.joined);
    kept[0] = Some(old.kept.to_bytes().unwrap());
    for pass in 0..6 {
        for (i, key) in ids.iter().enumerate() {
            let t = turn(kept[i].as_ref(), key, CEREMONY, &board).unwrap();
            assert_eq!(t.joined, pass == 0, "trustee {i}, pass {pass}");
            let mut side = t.kept;
            // The first trustee's first post is lost: its outbox offers it again.
            if !(pass == 0 && i == 0) {
                board.append(&mut side.outbox);
            }
            kept[i] = Some(side.to_bytes().unwrap());
        }
    }
    assert_eq!(board.len(), 3 + 3 + 6 + 3);
    check_ceremony(ELECTION, CEREMONY, &public(&ids), 2, &board).unwrap();
}

/// Every trustee's turns, through a board, until nobody posts: the board, and each
/// trustee's kept side at the end.
fn turns_until_done(ids: &[SigningKey], seats: &[Seat]) -> (Vec<CeremonyMessage>, Vec<KeptSide>) {
    let mut board: Vec<CeremonyMessage> = Vec::new();
    let mut kept: Vec<Option<KeptSide>> = vec![None; ids.len()];
    loop {
        let before = board.len();
        for (i, key) in ids.iter().enumerate() {
            let t =
                KeptSide::turn(kept[i].take(), key, ELECTION, CEREMONY, seats, 2, &board).unwrap();
            let mut side = t.kept;
            board.append(&mut side.outbox);
            kept[i] = Some(side);
        }
        if board.len() == before {
            return (board, kept.into_iter().map(Option::unwrap).collect());
        }
    }
}

#[test]
fn the_key_alone_and_the_board_remake_a_trustees_side_and_a_side_drawn_anew_is_named() {
    let ids: Vec<_> = (0..3).map(|_| SigningKey::generate(&mut OsRng)).collect();
    let seats: Vec<_> = ids.iter().map(Seat::of).collect();
    let (board, sides) = turns_until_done(&ids, &seats);
    assert_eq!(board.len(), 3 + 3 + 6 + 3);
    let set = check_ceremony(ELECTION, CEREMONY, &public(&ids), 2, &board).unwrap();
    // The key file made at enrolment (no side kept) re-makes the very same side: the
    // same messages (nothing to post) and the same key share.
    let again = KeptSide::remake(&ids[1], ELECTION, CEREMONY, &seats, 2, &board).unwrap();
    assert_eq!(again.trustee.election_key(), Some(set.election_key));
    assert_eq!(
        again
            .trustee
            .key_share()
            .unwrap()
            .secret_share()
            .expose_scalar(),
        sides[1]
            .trustee
            .key_share()
            .unwrap()
            .secret_share()
            .expose_scalar()
    );
    let turn = KeptSide::turn(None, &ids[1], ELECTION, CEREMONY, &seats, 2, &board).unwrap();
    assert!(turn.kept.outbox.is_empty() && turn.joined);
    // A board part-way: the key re-makes what is there and makes the next round, as the
    // kept side would have.
    let first_two_rounds: Vec<_> = board
        .iter()
        .filter(|m| m.round <= Round::Polynomials)
        .cloned()
        .collect();
    let turn = KeptSide::turn(
        None,
        &ids[0],
        ELECTION,
        CEREMONY,
        &seats,
        2,
        &first_two_rounds,
    )
    .unwrap();
    let made: Vec<_> = board
        .iter()
        .filter(|m| m.round == Round::Shares && m.from == 0)
        .cloned()
        .collect();
    assert_eq!(turn.kept.outbox, made);
    assert_eq!(
        KeptSide::remake(&ids[0], ELECTION, CEREMONY, &seats, 2, &first_two_rounds).unwrap_err(),
        CeremonyError::NotPosted {
            round: Round::Shares
        }
    );
    // Another ceremony (a restart) draws another polynomial.
    let other = KeptSide::turn(None, &ids[0], ELECTION, CEREMONY + 1, &seats, 2, &[]).unwrap();
    assert_ne!(other.kept.outbox[0].payload, board[0].payload);
    // A side whose messages were drawn from other randomness (a version before the seeded
    // side, or an altered message) is named, not followed.
    let (drawn, _) = run_all(ELECTION, CEREMONY, &ids, 2, &mut OsRng).unwrap();
    assert_eq!(
        KeptSide::remake(&ids[2], ELECTION, CEREMONY, &seats, 2, &drawn).unwrap_err(),
        CeremonyError::NotRemade {
            round: Round::Commitments
        }
    );
    // ... while that side's own kept copy carries on as before.
    let (drawn_board, drawn_sides) = run_all(ELECTION, CEREMONY, &ids, 2, &mut OsRng).unwrap();
    let kept = KeptSide {
        trustee: drawn_sides[2].clone(),
        outbox: Vec::new(),
        decrypted: None,
    };
    let turn = KeptSide::turn(
        Some(kept),
        &ids[2],
        ELECTION,
        CEREMONY,
        &seats,
        2,
        &drawn_board,
    )
    .unwrap();
    assert!(turn.kept.outbox.is_empty() && !turn.joined);
}

#[test]
fn three_trustees_run_the_ceremony_through_a_board_and_two_decrypt() {
    use crate::secret::{find_counts, Ballot, DecryptionShare, EncryptedSums};
    let (ids, board, trustees) = run(3, 2);
    let identities = public(&ids);
    let seats: Vec<_> = ids.iter().map(Seat::of).collect();
    assert_eq!(board.len(), 3 + 3 + 6 + 3);
    let set = check_ceremony(ELECTION, CEREMONY, &identities, 2, &board).unwrap();
    let (keys, election) = (set.keys(), set.election_key);
    for t in &trustees {
        let share = t.key_share().unwrap();
        assert_eq!(share.key_set().shared_key().as_bytes(), election.as_bytes());
    }
    let mut sums = EncryptedSums::new(2);
    for choice in [1, 1, 0] {
        sums.add(&Ballot::encrypt(&election, 2, choice, &mut OsRng).unwrap())
            .unwrap();
    }
    let shares: Vec<_> = [0, 2]
        .iter()
        .map(|&i| {
            DecryptionShare::make(trustees[i].key_share().unwrap(), &sums, &mut OsRng).unwrap()
        })
        .collect();
    assert_eq!(find_counts(&keys, &sums, &shares, 3).unwrap(), [1, 2]);
    // A forged message on the board stops every trustee that reads it, by name.
    let mut forged = board[0].clone();
    forged.payload[0] ^= 1;
    let mut t = trustees[1].clone();
    let mut bad_board = board.clone();
    bad_board[0] = forged;
    assert!(matches!(
        t.step(&ids[1], &bad_board, &mut OsRng),
        Err(CeremonyError::Signature { from: 0, .. })
    ));
    // A threshold above the trustees, an index outside them or another trustee's
    // seat is refused at once.
    let join = |index: u16, seats: &[Seat], t: u16| {
        Trustee::join(&ids[0], ELECTION, CEREMONY, index, seats, t, &mut OsRng).map(|_| ())
    };
    assert!(join(0, &seats, 4).is_err());
    // A threshold at or below half the trustees: two groups could each decrypt.
    assert_eq!(
        join(0, &seats, 1),
        Err(CeremonyError::Keys(SecretError::Threshold {
            threshold: 1,
            trustees: 3
        }))
    );
    let four: Vec<_> = (0..4)
        .map(|_| Seat::of(&SigningKey::generate(&mut OsRng)))
        .collect();
    let mut four = four;
    four[0] = seats[0].clone();
    assert!(matches!(
        join(0, &four, 2),
        Err(CeremonyError::Keys(SecretError::Threshold { .. }))
    ));
    assert!(join(0, &four, 3).is_ok());
    assert!(matches!(
        join(3, &seats, 2),
        Err(CeremonyError::Addressed { .. })
    ));
    assert!(matches!(
        join(1, &seats, 2),
        Err(CeremonyError::Addressed { .. })
    ));
    // A receiving key swapped in by the server is refused before any share is sealed.
    let mut swapped = seats.clone();
    swapped[2].receiving = receiving_public(&ids[0]);
    assert_eq!(
        join(0, &swapped, 2),
        Err(CeremonyError::Receiving { trustee: 2 })
    );
}

#[test]
fn a_share_opens_only_for_its_recipient_from_its_sender_and_unaltered() {
    let [a, b, c] = [1u8, 2, 3].map(|i| SigningKey::from_bytes(&[i; 32]));
    let share = [7u8; 32];
    let sealed = seal_share(&a, &receiving_public(&b), &share, &mut OsRng).unwrap();
    assert_eq!(open_share(&b, &receiving_public(&a), &sealed), Ok(share));
    assert_eq!(
        open_share(&c, &receiving_public(&a), &sealed),
        Err(CeremonyError::Share)
    );
    assert_eq!(
        open_share(&b, &receiving_public(&c), &sealed),
        Err(CeremonyError::Share)
    );
    for at in [0, 30, sealed.len() - 1] {
        let mut altered = sealed.clone();
        altered[at] ^= 1;
        assert_eq!(
            open_share(&b, &receiving_public(&a), &altered),
            Err(CeremonyError::Share)
        );
    }
    assert_eq!(
        open_share(&b, &receiving_public(&a), &sealed[..20]),
        Err(CeremonyError::Share)
    );
    // Fresh nonces: the same share sealed twice gives different bytes.
    assert_ne!(
        seal_share(&a, &receiving_public(&b), &share, &mut OsRng).unwrap(),
        sealed
    );
    // The receiving key is bound to the identity key, and to no other.
    let proof = prove_receiving_key(&a);
    let id = |k: &SigningKey| PublicKey(k.verifying_key().to_bytes());
    assert!(receiving_key_is_bound(
        &id(&a),
        &receiving_public(&a),
        &proof
    ));
    assert!(!receiving_key_is_bound(
        &id(&a),
        &receiving_public(&b),
        &proof
    ));
    assert!(!receiving_key_is_bound(
        &id(&b),
        &receiving_public(&a),
        &proof
    ));
}

#[test]
fn a_confirmation_of_any_other_set_than_the_ceremony_made_is_refused() {
    for (n, t) in [(3, 2), (3, 3)] {
        let (ids_keys, messages, _) = run(n, t);
        let ids = public(&ids_keys);
        let at = messages
            .iter()
            .position(|m| m.round == Round::Confirmations && m.from == 0)
            .unwrap();
        let genuine = SealedSet::decode(&messages[at].payload).unwrap();
        // Trustee 0 signs another payload as its confirmation.
        let resigned = |payload: Vec<u8>| {
            let mut board = messages.clone();
            board[at] = CeremonyMessage::sign(
                &ids_keys[0],
                ELECTION,
                CEREMONY,
                Round::Confirmations,
                0,
                None,
                payload,
            );
            check_ceremony(ELECTION, CEREMONY, &ids, t, &board)
        };
        let with = |change: &dyn Fn(&mut SealedSet)| {
            let mut set = genuine.clone();
            change(&mut set);
            resigned(set.encode())
        };
        let refused = |r: Result<SealedSet, CeremonyError>, case: &str| {
            assert!(
                matches!(r, Err(CeremonyError::Confirmation { from: 0, .. })),
                "{case}: {r:?}"
            );
        };
        assert_eq!(resigned(genuine.encode()), Ok(genuine.clone()));
        let stranger = PublicKey([7; 32]);
        // The key its polynomials do not give (with t = n the crate's own key-set check
        // has nothing to compare), another election key, the seats reordered, another
        // threshold, a seat added or removed, another election.
        let [a, b] = [genuine.seats[0], genuine.seats[1]];
        refused(
            with(&|s| s.seats[0].verification_key = b.verification_key),
            "own key",
        );
        refused(
            with(&|s| s.election_key = a.verification_key),
            "election key",
        );
        refused(with(&|s| s.seats.swap(0, 1)), "reordered");
        refused(
            with(&|s| s.threshold = if t == 3 { 2 } else { 3 }),
            "threshold",
        );
        refused(
            with(&|s| {
                s.seats.push(SealedSeat {
                    identity: stranger,
                    verification_key: a.verification_key,
                })
            }),
            "seat added",
        );
        refused(
            with(&|s| s.seats.truncate(s.seats.len() - 1)),
            "seat removed",
        );
        refused(with(&|s| s.election = ElectionId(99)), "election");
        // Bytes of the wrong length or seat count.
        let bytes = genuine.encode();
        refused(resigned(bytes[..bytes.len() - 1].to_vec()), "short");
        refused(resigned([bytes.as_slice(), &[0]].concat()), "long");
        let count_at = crate::sealed_set::SEALED_SET_TAG.len() + 18;
        let mut count = bytes.clone();
        count[count_at] += 1;
        refused(resigned(count), "seat count");
        // The format of the version-3 confirmation: transcript and own key only.
        refused(
            resigned([genuine.transcript.0, a.verification_key.0].concat()),
            "old format",
        );
        assert!(matches!(
            with(&|s| s.transcript = Transcript([0; 32])),
            Err(CeremonyError::Transcript { from: 0 })
        ));
    }
}

#[test]
fn a_round_two_message_with_forged_lengths_is_refused_without_reserving_room() {
    let (_, board, _) = run(2, 2);
    let info = board
        .iter()
        .find(|m| m.round == Round::Polynomials)
        .unwrap()
        .payload
        .clone();
    assert_eq!(check_public_info(&info), Ok(()));
    let p = u64::from_le_bytes(info[..8].try_into().unwrap());
    let r_at = 8 + 40 * p as usize + 40;
    for (at, forged) in [
        (0, u64::MAX),
        (0, 1 << 40),
        (r_at, u64::MAX / 41),
        (r_at, 1 << 40),
    ] {
        let mut altered = info.clone();
        altered[at..at + 8].copy_from_slice(&forged.to_le_bytes());
        assert!(check_public_info(&altered).is_err(), "length at {at}");
    }
    assert!(check_public_info(&info[..10]).is_err());
}

#[test]
fn a_complete_ceremony_gives_the_trustees_keys_in_any_order() {
    let (ids, mut messages, _) = run(3, 2);
    let set = check_ceremony(ELECTION, CEREMONY, &public(&ids), 2, &messages).unwrap();
    assert_eq!(set.seats.len(), 3);
    assert_eq!(set.identities(), public(&ids));
    messages.reverse();
    let again = check_ceremony(ELECTION, CEREMONY, &public(&ids), 2, &messages).unwrap();
    assert_eq!(again, set);
    assert_eq!(set.keys().election_key(), Ok(set.election_key));
    for threshold in [1, 4] {
        assert_eq!(
            check_ceremony(ELECTION, CEREMONY, &public(&ids), threshold, &messages),
            Err(CeremonyError::Keys(SecretError::Threshold {
                threshold,
                trustees: 3
            }))
        );
    }
}

#[test]
fn a_forged_moved_missing_or_doubled_message_is_refused_by_name() {
    let (ids_keys, messages, _) = run(3, 2);
    let ids = public(&ids_keys);
    let check = |m: &[CeremonyMessage]| check_ceremony(ELECTION, CEREMONY, &ids, 2, m);
    // The server alters a payload, or passes one trustee's message as another's.
    let mut altered = messages.clone();
    altered[3].payload[0] ^= 1;
    assert_eq!(
        check(&altered),
        Err(CeremonyError::Signature {
            round: Round::Polynomials,
            from: 0
        })
    );
    let mut moved = messages.clone();
    moved[1].from = 2;
    assert!(matches!(
        check(&moved),
        Err(CeremonyError::Signature { from: 2, .. })
    ));
    // A message of an earlier ceremony.
    let mut old = messages.clone();
    old[0].ceremony = CEREMONY - 1;
    assert!(matches!(check(&old), Err(CeremonyError::Foreign { .. })));
    // A share addressed to its own sender, or a broadcast with a recipient.
    let mut self_share = messages.clone();
    let share = self_share
        .iter_mut()
        .find(|m| m.round == Round::Shares)
        .unwrap();
    share.to = Some(share.from);
    assert!(matches!(
        check(&self_share),
        Err(CeremonyError::Addressed { .. })
    ));
    // Missing, and twice.
    let missing: Vec<_> = messages
        .iter()
        .filter(|m| !(m.round == Round::Shares && m.from == 1 && m.to == Some(2)))
        .cloned()
        .collect();
    assert!(matches!(
        check(&missing),
        Err(CeremonyError::Missing {
            round: Round::Shares,
            from: 1
        })
    ));
    let mut twice = messages.clone();
    twice.push(messages[0].clone());
    assert!(matches!(check(&twice), Err(CeremonyError::Twice { .. })));
    // A confirmation of another transcript: one message of round 1 changed (and
    // signed again by its own trustee) after the others confirmed.
    let mut other = messages.clone();
    let mut first = other[0].clone();
    first.payload[0] ^= 1;
    let first_sender = usize::from(first.from);
    other[0] = CeremonyMessage::sign(
        &ids_keys[first_sender],
        ELECTION,
        CEREMONY,
        first.round,
        first.from,
        first.to,
        first.payload,
    );
    assert!(matches!(
        check(&other),
        Err(CeremonyError::Transcript { from: 0 })
    ));
}

#[test]
fn each_round_reads_only_its_own_payload_and_the_kept_receiving_keys_keep_their_format() {
    let (ids, board, trustees) = run(2, 2);
    let read = |m: &CeremonyMessage, round: Round| match round {
        Round::Commitments => m.commitment().map(drop),
        Round::Polynomials => m.polynomial().map(drop),
        Round::Shares => m
            .share(
                &ids[usize::from(m.to.unwrap_or(0))],
                &trustees[0].receiving[usize::from(m.from)],
            )
            .map(drop),
        Round::Confirmations => m.confirmation().map(drop),
    };
    let rounds = [
        Round::Commitments,
        Round::Polynomials,
        Round::Shares,
        Round::Confirmations,
    ];
    for m in &board {
        assert_eq!(read(m, m.round), Ok(()), "{} from {}", m.round, m.from);
        for other in rounds.iter().filter(|&&r| r != m.round) {
            let refused = read(m, *other).unwrap_err();
            assert!(
                refused
                    .to_string()
                    .contains(&format!("read as a message of {other}")),
                "{refused}"
            );
        }
    }
    // A commitment cut short.
    let first = board
        .iter()
        .find(|m| m.round == Round::Commitments)
        .unwrap();
    let short = CeremonyMessage::sign(
        &ids[usize::from(first.from)],
        first.election,
        first.ceremony,
        Round::Commitments,
        first.from,
        None,
        first.payload[..31].to_vec(),
    );
    assert_eq!(
        short.commitment(),
        Err(CeremonyError::Dkg {
            round: Round::Commitments,
            from: first.from,
            reason: "a commitment is 32 bytes".into()
        })
    );
    // Key files keep the receiving keys as arrays of bytes, as they always have.
    let json = serde_json::to_value(&trustees[0]).unwrap();
    let kept: Vec<[u8; 32]> = serde_json::from_value(json["receiving"].clone()).unwrap();
    assert_eq!(
        kept,
        [trustees[0].receiving[0].0, trustees[0].receiving[1].0]
    );
    let back: Trustee = serde_json::from_value(json).unwrap();
    assert_eq!(back.receiving, trustees[0].receiving);
}
