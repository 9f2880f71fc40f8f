//! Nothing committed is lost between the database and a subscriber: events committed while the
//! bus is unreachable, or while the relay is stopped, wait in the outbox and all reach the SSE
//! stream once it is back; compared by outbox id (`source_id`), each exactly once. On PostgreSQL
//! + Redis, Redis itself is cut away (through a TCP proxy) and brought back.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use uuid::Uuid;

use crate::stream_support::{Setup, SseClient, StreamServer, WAIT, quick_live, server_with_bus_behind_proxy, spawn};

crate::on_every_setup!(
    events_committed_while_the_bus_is_unreachable_are_all_delivered_when_it_returns,
    events_committed_while_the_relay_is_stopped_are_all_delivered_when_it_restarts,
    an_unreadable_outbox_row_is_set_aside_counted_and_the_events_after_it_delivered,
);

const STREAM: &str = "/api/v1/admin/streams/subscribe-all?channels=user_actions,system";

/// The outbox ids of every event waiting to be published.
async fn pending_ids(srv: &StreamServer) -> BTreeSet<Uuid> {
    srv.app.store.unpublished_events(1000).await.expect("outbox").events.into_iter().map(|r| r.id).collect()
}

/// Reads events until every id of `expected` has arrived; fails on a duplicate or a stranger.
async fn receive_all(sse: &mut SseClient, expected: &BTreeSet<Uuid>) {
    let mut seen = BTreeSet::new();
    while seen.len() < expected.len() {
        let (_, e) = sse.next_event().await;
        let id = e.source_id.expect("a source id");
        assert!(expected.contains(&id), "an event that was not waiting: {e:?}");
        assert!(seen.insert(id), "delivered twice: {e:?}");
    }
}

/// Writes 5 users and 2 venues (the server keeps answering); returns their waiting outbox ids.
async fn write_while_unpublished(srv: &StreamServer, tag: &str) -> BTreeSet<Uuid> {
    for i in 0..5 {
        srv.create_user(&format!("{tag}{i}")).await;
    }
    srv.create_venue(&format!("{tag} Hall")).await;
    srv.create_venue(&format!("{tag} Club")).await;
    let waiting = pending_ids(srv).await;
    assert_eq!(waiting.len(), 7, "every committed event waits in the outbox");
    waiting
}

async fn events_committed_while_the_bus_is_unreachable_are_all_delivered_when_it_returns(setup: Setup) {
    let s = spawn(setup, quick_live()).await.expect("server");
    let srv = &s.server;
    let mut sse = srv.sse(STREAM, None).await;
    srv.bus.set_down(true);
    let waiting = write_while_unpublished(srv, "down").await;
    let (status, health) = srv.get_json("/health").await;
    assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("degraded")));
    srv.bus.set_down(false); // the relay retries on its own
    receive_all(&mut sse, &waiting).await;
    srv.drained().await;
}

async fn events_committed_while_the_relay_is_stopped_are_all_delivered_when_it_restarts(setup: Setup) {
    let mut s = spawn(setup, quick_live()).await.expect("server");
    let relay = s.server.background.remove(0);
    relay.abort();
    let _ = relay.await; // stopped, whatever it was doing
    let srv = &mut s.server;
    let mut sse = srv.sse(STREAM, None).await;
    let waiting = write_while_unpublished(srv, "stopped").await;
    srv.background.push(srv.app.spawn_relay());
    receive_all(&mut sse, &waiting).await;
    srv.drained().await;
}

/// A row the relay cannot publish (its channel unknown) used to stop it for good:
/// nothing after it was ever published. It is set aside (a dead letter, counted in the admin
/// stats and in `luna_relay_dead_letters_total`) and the events after it reach the stream.
async fn an_unreadable_outbox_row_is_set_aside_counted_and_the_events_after_it_delivered(setup: Setup) {
    let mut s = spawn(setup, quick_live()).await.expect("server");
    let relay = s.server.background.remove(0);
    relay.abort();
    let _ = relay.await;
    let mut sse = s.server.sse(STREAM, None).await;
    s.server.app.store.record_event(domain::DomainEvent::DataReset).await.expect("recorded");
    let sql = "UPDATE outbox SET channel = 'nowhere' WHERE event_type = 'data.reset'";
    s._db.execute_unchecked("outbox", "outbox_channel_check", sql).await;
    let waiting = write_while_unpublished(&s.server, "after_bad").await;
    let srv = &mut s.server;
    srv.background.push(srv.app.spawn_relay());
    receive_all(&mut sse, &waiting).await;
    srv.drained().await;
    let (_, stats) = srv.get_json("/api/v1/admin/stats").await;
    assert_eq!(
        (stats["events"]["outbox_pending"].as_u64(), stats["events"]["outbox_dead"].as_u64()),
        (Some(0), Some(1))
    );
    let text = srv.client.get(srv.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("luna_relay_dead_letters_total"), "the dead letter is counted in /metrics");
}

/// Polls `/health` until its status is `want`.
async fn health_becomes(srv: &StreamServer, want: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, health) = srv.get_json("/health").await;
        if health["status"] == want {
            assert_eq!(status, StatusCode::OK, "{health}");
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "health never became {want}: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_committed_while_redis_is_cut_off_are_all_delivered_when_it_returns() {
    // Bound whole: its database and key prefix live until the end of the test.
    let Some(setup) = server_with_bus_behind_proxy().await else { return };
    let (srv, proxy) = (&setup.srv, &setup.proxy);
    let mut sse = srv.sse(STREAM, None).await;
    srv.create_user("before_cut").await;
    sse.next_event().await;
    // The relay marks an event published after the bus took it: wait for that before cutting.
    srv.drained().await;
    proxy.cut();
    let waiting = write_while_unpublished(srv, "cut").await;
    health_becomes(srv, "degraded").await;
    proxy.restore();
    receive_all(&mut sse, &waiting).await;
    health_becomes(srv, "healthy").await;
    srv.drained().await;
}
