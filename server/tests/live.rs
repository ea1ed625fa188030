//! The event stream of an election (`GET /api/elections/{id}/events`) over real HTTP: each
//! kind of change arrives as it happens, a reconnect with `Last-Event-ID` gets only what
//! changed since, one address holds at most four streams, and a stream ends when the
//! server stops.

mod common;

use common::*;
use ledger::ElectionId;
use std::collections::BTreeSet;
use std::time::Duration;
use wire::{Change, ElectionState, LiveEvent};

fn kinds(events: &[LiveEvent]) -> BTreeSet<&'static str> {
    events.iter().map(|e| e.change.kind()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_says_each_change_resumes_after_the_last_id_and_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (s, admin) = server_with_admin(dir.path()).await;
    let office = Api::signed_in(&s, "admin", ADMIN_PASSWORD).await;
    let anyone = Api::anonymous(&s);
    let e = open_election(&s, &admin, "Live", 2, false).await;
    let id = ElectionId(e.election as u64);

    // On connect: the current state, and the ceremony that ran since the server started.
    let mut stream = EventStream::follow(&s, id, None).await;
    // Told to a proxy in front: pass each event on at once (nginx takes the header off).
    let unbuffered = EventStream::open(&s, id, None).await;
    assert_eq!(unbuffered.headers()["x-accel-buffering"], "no");
    assert_eq!(unbuffered.headers()["cache-control"], "no-cache");
    drop(unbuffered);
    let first = stream.drain().await;
    assert_eq!(
        kinds(&first),
        BTreeSet::from(["ceremony", "state"]),
        "{first:?}"
    );
    assert!(first.iter().any(|e| e.change
        == Change::State {
            state: ElectionState::Setup,
            finalised: false
        }));

    // Voting opens: the state, and the head at height 0.
    office.open(id).await;
    let opened = stream.until("state").await;
    let genesis = office.election(id).await.unwrap().genesis_hash.unwrap();
    let mut seen = opened;
    if !seen.iter().any(|e| e.change.kind() == "head") {
        seen.extend(stream.until("head").await);
    }
    assert!(seen.iter().any(|e| e.change
        == Change::Head {
            height: 0,
            hash: genesis
        }));

    // A vote joins the pool.
    vote(&s, e.election, &e.codes[0], e.candidates[0]).await;
    let mut pool = stream.until("pool").await;
    // (On PostgreSQL the instance also hears its own notification of the vote: a second
    // pool event may follow.)
    pool.extend(stream.drain().await);
    assert!(pool.iter().all(|e| e.change == Change::Pool), "{pool:?}");
    let after_pool = pool.last().unwrap().id.clone();

    // A block is submitted, approved twice and appended: the block's status at each step,
    // then the new head.
    mine_once(&s, e.election);
    let submitted = stream.until("block").await;
    let hash = office.awaiting(id).await[0].hash;
    assert_eq!(
        submitted.last().unwrap().change,
        Change::Block {
            hash,
            status: wire::BlockStatus::Awaiting
        }
    );
    for key in &e.validators {
        approve_as(&s, e.election, &hash.to_string(), key).await;
    }
    let appended_block = Change::Block {
        hash,
        status: wire::BlockStatus::Appended,
    };
    let mut appended: Vec<LiveEvent> = Vec::new();
    while !(appended.iter().any(|e| e.change == appended_block)
        && appended
            .iter()
            .any(|e| matches!(e.change, Change::Head { height: 1, .. })))
    {
        let event = stream.next(Duration::from_secs(10)).await;
        appended.push(event.unwrap_or_else(|| panic!("the block appended: {appended:?}")));
    }

    // Closing, finalising, the trustee's share and the result.
    office.close(id).await.unwrap();
    stream.until("state").await;
    office.finalise(id, false).await.unwrap();
    let finalised = stream.until("state").await;
    assert_eq!(
        finalised.last().unwrap().change,
        Change::State {
            state: ElectionState::Closed,
            finalised: true
        }
    );
    let export = anyone.export(id).await.unwrap();
    let chain = ledger::replay(&export).unwrap();
    let (trustee, side) = &e.trustees[0];
    let made = ledger::secret::DecryptionShare::make(
        side.key_share().unwrap(),
        &chain.tally().sums,
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    let share =
        ledger::result::SignedShare::sign(trustee, id, &chain.tip(), &chain.tally().sums, &made);
    anyone.post_share(id, &share).await.unwrap();
    let mut counted = stream.until("share").await;
    if !counted.iter().any(|e| e.change == Change::Result) {
        counted.extend(stream.until("result").await);
    }
    assert!(counted
        .iter()
        .any(|e| e.change == Change::Share { trustee: 0 }));

    // A reconnect naming the last event it saw before the block gets only what changed
    // since, the latest of each kind: not the pool's or the ceremony's.
    let mut resumed = EventStream::follow(&s, id, Some(&after_pool)).await;
    let since = resumed.drain().await;
    assert_eq!(
        kinds(&since),
        BTreeSet::from(["block", "head", "result", "share", "state"]),
        "{since:?}"
    );
    // An id of another server instance (or a restart): every kind's current version.
    let mut elsewhere = EventStream::follow(&s, id, Some("0badcafe-99")).await;
    assert_eq!(
        kinds(&elsewhere.drain().await),
        BTreeSet::from(["block", "ceremony", "head", "pool", "result", "share", "state"])
    );

    // One address holds four streams at most: the fifth is refused, and once one closes
    // another may open.
    let fourth = EventStream::follow(&s, id, None).await;
    let refused = EventStream::open(&s, id, None).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: wire::ErrorBody = refused.json().await.unwrap();
    assert_eq!(body.error, wire::ErrorCode::RateLimited);
    drop(fourth);
    let mut again = None;
    for _ in 0..50 {
        let response = EventStream::open(&s, id, None).await;
        if response.status() == 200 {
            again = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "a stream opens once another closed");

    // An election that does not exist: 404, no stream.
    let missing = EventStream::open(&s, ElectionId(999), None).await;
    assert_eq!(missing.status(), 404);

    // Stopping the server ends every stream, each properly (the last chunk sent), not cut
    // when the drain gives up on connections still open.
    let pid = s.pid().expect("a server this test started").to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(stream.ends_cleanly().await, "the stream ended at shutdown");
    drop(s);
}
