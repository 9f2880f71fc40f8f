//! What only PostgreSQL has: write transactions that run at once, so a check and the write it
//! guards can interleave with another transaction's commit.

use sqlx::Connection;
use store::StoreError;
use testdb::{Backend, TestDatabase};

use crate::fixtures::{new_booking, new_interaction, user, venue};

/// An interaction whose venue is being deleted waits for the deletion, then is refused. Before,
/// its check read the venue as still there, and its foreign key let the row in once the
/// deletion (which keeps the venue's row) committed: an interaction left on a deleted venue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interaction_racing_its_venues_deletion_is_refused_once_it_commits() {
    let Some((db, store)) = postgres_store().await else { return };
    let (ann, gone) = (user(&store, "ann").await, venue(&store, "Gone").await);

    // A deletion under way in another transaction, holding the venue's row as delete_venue does.
    let mut deleting = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut tx = deleting.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM venues WHERE id = $1 FOR UPDATE").bind(gone.id).execute(&mut *tx).await.unwrap();
    sqlx::query("UPDATE venues SET deleted_at = now() WHERE id = $1").bind(gone.id).execute(&mut *tx).await.unwrap();
    sqlx::query("DELETE FROM interactions WHERE venue_id = $1").bind(gone.id).execute(&mut *tx).await.unwrap();

    let like = new_interaction(&ann, &gone, domain::InteractionType::Like);
    let racing = tokio::spawn({
        let store = store.clone();
        async move { store.record_interaction(like).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!racing.is_finished(), "the interaction waits for the deletion");
    tx.commit().await.expect("commit the deletion");

    let answer = racing.await.expect("the interaction's task");
    assert!(matches!(answer, Err(StoreError::NotFound { entity: "venue", .. })), "{answer:?}");
    assert_eq!(store.counts().await.unwrap().interactions, 0);
    drop(store);
    drop(deleting);
}

/// A relay that finds the lease taken gives its connection back to the pool. Before, the
/// connection was closed, so every server waiting on the lease (it asks every 10 ms) opened a
/// new PostgreSQL session each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_refused_the_lease_keeps_its_connection() {
    let Some((db, store)) = postgres_store().await else { return };
    let held = store.relay_lease().await.unwrap().expect("a free lease is granted");
    let mut probe = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    assert!(store.relay_lease().await.unwrap().is_none());
    let before = sessions(&mut probe).await;
    for _ in 0..50 {
        assert!(store.relay_lease().await.unwrap().is_none(), "held by the first");
    }
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let after = sessions(&mut probe).await;
    // Closing each would open 50; a pool may open a few of its own meanwhile (more on a busy
    // machine), so the bound is half that.
    assert!(after - before < 25, "50 refused attempts opened {} sessions", after - before);
    held.release().await;
    assert!(store.relay_lease().await.unwrap().is_some(), "free again after release");
    drop(store);
    drop(probe);
}

/// A lease whose holder stops answering (its process frozen: SIGSTOP, a paused VM) is freed by
/// PostgreSQL once its session has been idle for a few seconds, so another server's relay takes
/// over. Before, the session lock stayed with the frozen process, whose connection PostgreSQL
/// still saw as healthy, and every server's events waited in the outbox until it resumed
/// (measured on two real servers: every SIGSTOP caught mid-pass stopped all publishing for as
/// long as the stop lasted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_held_by_a_frozen_relay_is_freed_by_postgres() {
    let Some((db, store)) = postgres_store().await else { return };
    let frozen = store.relay_lease().await.unwrap().expect("a free lease is granted");
    let started = std::time::Instant::now();
    let taken = loop {
        if let Some(lease) = store.relay_lease().await.unwrap() {
            break lease;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(15), "a frozen holder kept the lease for 15 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(started.elapsed() >= std::time::Duration::from_secs(2), "taken over only once the holder was idle");
    taken.release().await;
    frozen.release().await; // its session is gone: the unlock fails and the connection is closed
    let again = store.relay_lease().await.unwrap().expect("free after both released");
    again.release().await;
    // A released lease's connection rejoins the pool without the bound: it outlives it idle.
    let mut probe = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let others = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    let before: i64 = sqlx::query_scalar(others).fetch_one(&mut probe).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let after: i64 = sqlx::query_scalar(others).fetch_one(&mut probe).await.unwrap();
    assert_eq!(after, before, "pooled sessions ended while idle");
    drop(store);
    drop(probe);
}

/// An answer to a plan's invitation waits for a booking of the plan under way, then finds the
/// plan confirmed. Before, it changed the party the booking had just counted, so a guest who
/// accepted then came without a seat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_racing_the_plans_booking_waits_and_is_refused_once_it_commits() {
    let Some((db, store)) = postgres_store().await else { return };
    let (ann, ben, v) = (user(&store, "ann").await, user(&store, "ben").await, venue(&store, "V").await);
    let plan = plan_for_tomorrow(&store, &ann, &v, vec![ben.id]).await;

    // A booking under way in another transaction, holding the plan's row as the booking does.
    let mut booking = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut tx = booking.begin().await.expect("begin");
    sqlx::query("SELECT id FROM plans WHERE id = $1 FOR UPDATE").bind(plan.id).execute(&mut *tx).await.unwrap();
    sqlx::query("UPDATE plans SET status = 'confirmed' WHERE id = $1").bind(plan.id).execute(&mut *tx).await.unwrap();

    let racing = tokio::spawn({
        let store = store.clone();
        async move { store.answer_plan_invitation(plan.id, ben.id, true).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!racing.is_finished(), "the answer waits for the booking");
    tx.commit().await.expect("commit the booking");

    let answer = racing.await.expect("the answer's task");
    assert!(matches!(answer, Err(StoreError::Conflict { .. })), "{answer:?}");
    let ben_now = store.get_plan(plan.id).await.unwrap().participants.into_iter().find(|p| p.user_id == ben.id);
    assert_eq!(ben_now.map(|p| p.status), Some(domain::ParticipantStatus::Invited));
    drop(store);
    drop(booking);
}

/// A plan's booking waits for a deletion of its organizer holding their row before it locks the
/// plan, as the deletion (user, then plans) does. Before, the booking locked the plan first and
/// then waited on the user for its foreign key while the deletion waited on the plan: a
/// deadlock, which PostgreSQL broke by failing one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plans_booking_takes_the_organizer_before_the_plan_as_a_deletion_does() {
    let Some((db, store)) = postgres_store().await else { return };
    let (ann, v) = (user(&store, "ann").await, venue(&store, "V").await);
    let plan = plan_for_tomorrow(&store, &ann, &v, vec![]).await;

    // A deletion of Ann under way in another transaction: her row first, as delete_user does.
    let mut deleting = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut tx = deleting.begin().await.expect("begin");
    sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE").bind(ann.id).execute(&mut *tx).await.unwrap();

    let mut booking = new_booking(&ann, &v, plan.start_time, 1);
    booking.request.plan_id = Some(plan.id);
    let racing = tokio::spawn({
        let store = store.clone();
        async move { store.book(booking, None).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!racing.is_finished(), "the booking waits for the deletion");
    // The deletion goes on to her plans: free, since the booking has not taken the plan.
    let locked = sqlx::query("SELECT id FROM plans WHERE id = $1 FOR UPDATE").bind(plan.id).execute(&mut *tx).await;
    assert!(locked.is_ok(), "{locked:?}");
    tx.rollback().await.expect("the deletion gives up");
    let answer = racing.await.expect("the booking's task");
    assert!(matches!(answer, Ok(store::Idempotent::Fresh(domain::SeatOutcome::Booked(_)))), "{answer:?}");
    drop(store);
    drop(deleting);
}

/// A plan of `organizer`'s at `venue` this time tomorrow, inviting `invitees`.
async fn plan_for_tomorrow(
    store: &store::DynStore,
    organizer: &domain::User,
    venue: &domain::Venue,
    invitees: Vec<uuid::Uuid>,
) -> domain::Plan {
    let new_plan = domain::NewPlan {
        id: domain::new_id(),
        organizer_id: organizer.id,
        venue_id: venue.id,
        start_time: chrono::Utc::now() + chrono::Duration::days(1),
        party_size: None,
        invitees,
    };
    store.create_plan(new_plan).await.unwrap()
}

/// Sessions ever opened on the connection's database (the statistics snapshot is cleared first,
/// so each read is fresh).
async fn sessions(c: &mut sqlx::PgConnection) -> i64 {
    sqlx::query("SELECT pg_stat_clear_snapshot()").execute(&mut *c).await.unwrap();
    let sql = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()";
    sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut *c).await.unwrap()
}

/// A fresh PostgreSQL database and a store on it; `None` (said) when it is not configured.
/// Rows written as before migration 0008 (no part of the day, no open flag) read as open with
/// no part of the day, and the schema itself refuses a part of the day it does not know.
#[tokio::test]
async fn an_interest_written_without_the_new_columns_is_open_and_an_unknown_part_of_the_day_is_refused() {
    let Some((db, store)) = postgres_store().await else { return };
    let (ann, v) = (user(&store, "ann").await, venue(&store, "bar").await);
    let mut raw = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    sqlx::query(
        "INSERT INTO venue_interests (user_id, venue_id, preferred_time, created_at) \
         SELECT u.id, v.id, NULL, now() FROM users u, venues v",
    )
    .execute(&mut raw)
    .await
    .expect("insert");
    let err =
        sqlx::query("UPDATE venue_interests SET preferred_time_slot = 'dusk'").execute(&mut raw).await.unwrap_err();
    assert!(err.to_string().contains("venue_interests_preferred_time_slot_check"), "{err}");
    let got = store.scan_interests(None, 10).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].user_id, got[0].venue_id), (ann.id, v.id));
    assert_eq!((got[0].preferred_time_slot, got[0].open_to_invites), (None, true));
}

/// PostgreSQL refuses a NUL in text ("invalid byte sequence for encoding UTF8: 0x00"): text
/// that no check before the store caught is an `Invalid`, a 4xx, not an internal error.
#[tokio::test]
async fn a_nul_in_text_that_reaches_postgresql_is_invalid_input_not_an_internal_error() {
    let Some((_db, store)) = postgres_store().await else { return };
    let err = store.password_hash("pat\u{0}").await.unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(e) if e.0[0].field == "text"), "{err:?}");
    assert!(err.to_string().contains("NUL"), "{err}");
}

/// A reset while a long write (an import, a seed) holds the reset gate shared never holds up
/// other writes: it polls for the gate instead of queueing for it. Before, its queued exclusive
/// request made every new write wait behind it (2 s per try, 12 tries), so a user took ~2 s.
/// Once the long write ends, the reset goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_waiting_for_a_long_write_never_holds_up_other_writes() {
    let Some((db, store)) = postgres_store().await else { return };
    let mut importing = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut tx = importing.begin().await.expect("begin");
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1)").bind(store::RESET_GATE).execute(&mut *tx).await.unwrap();

    let reset = tokio::spawn({
        let store = store.clone();
        async move { store.reset().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Milliseconds normally; 1 s detects the old ~2 s wait behind the reset's queued request.
    let write = tokio::time::timeout(std::time::Duration::from_secs(1), user(&store, "ann")).await;
    assert!(write.is_ok(), "a write waited behind the reset while a long write held the gate");
    assert!(!reset.is_finished(), "the reset waits for the long write");
    tx.commit().await.expect("end the long write");

    let answer = reset.await.expect("the reset's task");
    match answer {
        Ok(()) => assert_eq!(store.counts().await.unwrap().users, 0, "the reset ran after the long write"),
        Err(StoreError::Busy(why)) => assert!(why.contains("long write"), "{why}"),
        Err(e) => panic!("the reset failed: {e:?}"),
    }
    drop(store);
    drop(importing);
}

/// A reset refused because a long write held the reset gate all along is `Busy`, whose message
/// (shown to the caller) says why, not `Unavailable` (a database down, whose cause is hidden);
/// and it changed nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_behind_a_write_longer_than_its_budget_is_busy_and_says_why() {
    let Some((db, store)) = postgres_store().await else { return };
    user(&store, "kept").await;
    let mut importing = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut tx = importing.begin().await.expect("begin");
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1)").bind(store::RESET_GATE).execute(&mut *tx).await.unwrap();
    match store.reset().await {
        Err(StoreError::Busy(why)) => assert!(why.contains("long write") && why.contains("again"), "{why}"),
        other => panic!("expected a busy refusal, got {other:?}"),
    }
    tx.rollback().await.expect("end the long write");
    assert_eq!(store.counts().await.unwrap().users, 1, "a refused reset deleted nothing");
    drop(store);
    drop(importing);
}

async fn postgres_store() -> Option<(TestDatabase, store::DynStore)> {
    let Some(db) = TestDatabase::create(Backend::Postgres).await else {
        eprintln!("skipped: {} is not set", testdb::POSTGRES_URL_VAR);
        return None;
    };
    let store = store::connect(&db.url).await.expect("open the store");
    Some((db, store))
}

/// A sender whose friend request was declined waits `DECLINED_REQUEST_COOLDOWN_DAYS` (7) from
/// the decline before asking the same person again, and may ask once they have passed. (The
/// decline is moved into the past directly: the store takes its times from the clock.)
#[tokio::test]
async fn a_declined_sender_may_ask_again_once_the_cool_down_has_passed() {
    let Some((db, store)) = postgres_store().await else { return };
    let (ann, ben) = (user(&store, "ann").await, user(&store, "ben").await);
    let request = store.send_friend_request(ann.id, ben.id).await.unwrap();
    store.answer_friend_request(request.id, ben.id, false).await.unwrap();
    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let declined_ago = |days: i64| {
        sqlx::query("UPDATE friend_requests SET responded_at = now() - make_interval(days => $1::int) WHERE id = $2")
            .bind(days as i32)
            .bind(request.id)
    };
    declined_ago(6).execute(&mut conn).await.unwrap();
    let err = store.send_friend_request(ann.id, ben.id).await.unwrap_err();
    assert!(matches!(&err, StoreError::Conflict { field: Some(f), .. } if f == "to_user_id"), "{err:?}");
    declined_ago(8).execute(&mut conn).await.unwrap();
    let again = store.send_friend_request(ann.id, ben.id).await.expect("asked again after the cool-down");
    assert_eq!(again.status, domain::FriendRequestStatus::Pending);
}

/// A server starting while another is writing starts at once. Before, its start-up check for
/// indexes left out by a bulk load ran `CREATE INDEX IF NOT EXISTS` of each, which takes the
/// table's SHARE lock even when the index exists: it waited for every write under way, and two
/// servers started together on one database with `--demo` deadlocked (the second's check against
/// the first's seeding) and one exited with "deadlock detected".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_opens_while_another_session_is_writing_the_tables() {
    let Some((db, store)) = postgres_store().await else { return };
    let mut writing = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let mut tx = writing.begin().await.expect("begin");
    // The lock every INSERT, UPDATE and DELETE takes, held as a write under way holds it.
    for table in ["users", "interactions", "social_edges", "venue_interests"] {
        let lock = format!("LOCK TABLE {table} IN ROW EXCLUSIVE MODE");
        sqlx::query(sqlx::AssertSqlSafe(lock)).execute(&mut *tx).await.unwrap();
    }
    let opened = tokio::time::timeout(std::time::Duration::from_secs(5), store::connect(&db.url)).await;
    let opened = opened.expect("the store opened within 5 s while a write was under way");
    assert!(opened.is_ok(), "{:?}", opened.err());
    tx.commit().await.unwrap();
    drop((store, opened, writing));
}
