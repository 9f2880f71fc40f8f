//! The agent against the external provider stand-in: failures and timeouts are retried a
//! bounded number of times, then nothing is left half-made (no local booking, no remote
//! reservation, the idempotency key free again); a slow provider holds the seats while it is
//! asked and a retry meanwhile is told the first is in flight; the janitor releases holds an
//! agent left behind.

use std::sync::Arc;

use app::booking::{BookingAgent, BookingSettings, ExternalProvider, ExternalSettings, ProviderKind};
use app::{App, AppSettings};
use reqwest::StatusCode;
use serde_json::json;

use crate::bookings::evening_venue;
use crate::helpers::{Backend, TestApp, expect_error, expect_json, seed_user, spawn_app_with};
use crate::plans::in_two_days_at;

macro_rules! with_provider_on_every_backend {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Postgres).await;
                }
            )+
        }
    };
}

with_provider_on_every_backend!(
    a_failing_provider_is_retried_then_nothing_is_booked_and_the_key_is_free,
    a_provider_that_never_answers_in_time_is_given_up_and_its_reservation_cancelled,
    a_slow_provider_holds_the_seats_and_a_retry_meanwhile_is_in_flight,
    a_retry_in_flight_is_told_to_come_back_when_the_hold_may_be_released_if_sooner,
    a_flaky_provider_leaves_only_whole_bookings,
    the_janitor_releases_a_hold_its_agent_left_behind,
    deleting_a_venue_by_force_gives_its_tables_back_at_the_provider,
    a_confirmation_that_fails_after_the_provider_said_yes_gives_the_seats_back_at_once,
);

fn external(tweak: impl FnOnce(&mut ExternalSettings)) -> ExternalSettings {
    let mut s = ExternalSettings {
        latency_ms: 5,
        jitter_ms: 0,
        failure_rate: 0.0,
        timeout_rate: 0.0,
        timeout_ms: 300,
        max_attempts: 3,
        backoff_ms: 5,
        ..ExternalSettings::default()
    };
    tweak(&mut s);
    s
}

/// A server booking through an external stand-in with these settings; `None` without PostgreSQL.
async fn spawn(backend: Backend, ext: ExternalSettings) -> Option<(TestApp, Arc<ExternalProvider>)> {
    spawn_holding(backend, ext, 0).await
}

/// [`spawn`], with holds released after `hold_ttl_secs`.
async fn spawn_holding(
    backend: Backend,
    ext: ExternalSettings,
    hold_ttl_secs: u64,
) -> Option<(TestApp, Arc<ExternalProvider>)> {
    let provider = Arc::new(ExternalProvider::new(ext.clone()));
    let settings = AppSettings {
        booking: BookingSettings {
            provider: ProviderKind::External,
            external: ext.clone(),
            hold_ttl_secs,
            ..BookingSettings::default()
        },
        ..AppSettings::default()
    };
    let agent = BookingAgent::with_provider(provider.clone(), ext);
    let app = spawn_app_with(backend, settings, |a: App| a.with_booking_agent(agent)).await?;
    Some((app, provider))
}

/// A server whose provider answers after `latency_ms` (well within its timeout), users ann and
/// ben, and an evening venue seating `seats`: (app, provider, ann, ben, venue).
async fn slow_provider(
    backend: Backend,
    latency_ms: u64,
    seats: i32,
) -> Option<(Arc<TestApp>, Arc<ExternalProvider>, String, String, String)> {
    let slow = external(|e| {
        e.latency_ms = latency_ms;
        e.timeout_ms = 3000;
    });
    let (app, provider) = spawn(backend, slow).await?;
    let app = Arc::new(app);
    let (ann, ben) = (user(&app, "ann").await, user(&app, "ben").await);
    let v = evening_venue(&app, "Remote", seats).await;
    Some((app, provider, ann, ben, v))
}

async fn user(app: &TestApp, handle: &str) -> String {
    app.create_user(seed_user(handle)).await["id"].as_str().expect("id").to_string()
}

async fn a_failing_provider_is_retried_then_nothing_is_booked_and_the_key_is_free(backend: Backend) {
    let Some((app, provider)) = spawn(backend, external(|e| e.failure_rate = 1.0)).await else { return };
    let ann = user(&app, "ann").await;
    let v = evening_venue(&app, "Remote", 10).await;
    let body = json!({"venue_id": v, "booking_time": in_two_days_at(19), "party_size": 2});
    let path = format!("/api/v1/bookings/{ann}/create");
    for _ in 0..2 {
        // The second try with the same key is not "in flight" nor a replay: the key was freed.
        let res = app.post_with_key(&path, "k", &body).await;
        expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", None).await;
    }
    assert_eq!(app.counts().await.bookings, 0);
    assert!(provider.reservations().is_empty());
    let events = app.pending_event_types().await;
    assert_eq!(events.iter().filter(|e| *e == "booking.held").count(), 2);
    assert_eq!(events.iter().filter(|e| *e == "booking.released").count(), 2);
    assert!(!events.iter().any(|e| e == "booking.created"), "{events:?}");
}

async fn a_provider_that_never_answers_in_time_is_given_up_and_its_reservation_cancelled(backend: Backend) {
    let ext = external(|e| {
        e.timeout_rate = 1.0;
        e.timeout_ms = 40;
        e.max_attempts = 2;
    });
    let Some((app, provider)) = spawn(backend, ext).await else { return };
    let ann = user(&app, "ann").await;
    let v = evening_venue(&app, "Remote", 10).await;
    let body = json!({"venue_id": v, "booking_time": in_two_days_at(19), "party_size": 2});
    let started = std::time::Instant::now();
    let res = app.post(&format!("/api/v1/bookings/{ann}/create"), &body).await;
    expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", None).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "bounded: {:?}", started.elapsed());
    // The stand-in reserved while its answers were late; the agent cancelled it.
    assert!(provider.reservations().is_empty());
    assert_eq!(app.counts().await.bookings, 0);
}

async fn a_slow_provider_holds_the_seats_and_a_retry_meanwhile_is_in_flight(backend: Backend) {
    let Some((app, provider, ann, ben, v)) = slow_provider(backend, 600, 2).await else { return };
    let body = json!({"venue_id": v, "booking_time": in_two_days_at(19), "party_size": 2});
    let path = format!("/api/v1/bookings/{ann}/create");
    let first = {
        let (app, path, body) = (app.clone(), path.clone(), body.clone());
        tokio::spawn(
            async move { expect_json(app.post_with_key(&path, "slow", &body).await, StatusCode::CREATED).await },
        )
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let retry = app.post_with_key(&path, "slow", &body).await;
    // It says when to retry, and how long the key can stay taken: hold_ttl_secs (0 here) plus
    // the janitor's 30 s between passes.
    assert_eq!(retry.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("5"));
    let refused = expect_error(retry, StatusCode::CONFLICT, "conflict", Some("idempotency_key")).await;
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("freed within 30 s"), "{refused}");
    // The hold takes the seats while the provider is asked.
    let other = json!({"venue_id": v, "booking_time": in_two_days_at(19), "party_size": 1});
    expect_error(
        app.post(&format!("/api/v1/bookings/{ben}/create"), &other).await,
        StatusCode::CONFLICT,
        "slot_full",
        None,
    )
    .await;
    let made = first.await.expect("first request");
    assert_eq!((made["status"].as_str(), made["booking"]["provider"].as_str()), (Some("confirmed"), Some("external")));
    let id: uuid::Uuid = made["booking_id"].as_str().expect("id").parse().expect("uuid");
    assert_eq!(provider.reservations(), vec![id]);
    let replay = app.post_with_key(&path, "slow", &body).await;
    assert_eq!(expect_json(replay, StatusCode::CREATED).await, made);
    // Cancelling cancels at the provider too.
    expect_json(app.post(&format!("/api/v1/bookings/{id}/cancel"), &json!({})).await, StatusCode::OK).await;
    assert!(provider.reservations().is_empty());
}

/// Holds last 3 s here: a retry 200 ms after the first request is told to come back in at
/// most 3 s (2.8 s left, rounded up), when the hold and its key may be released, not in 5 s.
async fn a_retry_in_flight_is_told_to_come_back_when_the_hold_may_be_released_if_sooner(backend: Backend) {
    let slow = external(|e| {
        e.latency_ms = 600;
        e.timeout_ms = 3000;
    });
    let Some((app, _provider)) = spawn_holding(backend, slow, 3).await else { return };
    let app = Arc::new(app);
    let ann = user(&app, "ann").await;
    let v = evening_venue(&app, "Remote", 2).await;
    let body = json!({"venue_id": v, "booking_time": in_two_days_at(19), "party_size": 2});
    let path = format!("/api/v1/bookings/{ann}/create");
    let first = {
        let (app, path, body) = (app.clone(), path.clone(), body.clone());
        tokio::spawn(async move { app.post_with_key(&path, "soon", &body).await.status() })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let retry = app.post_with_key(&path, "soon", &body).await;
    let after: Option<u64> = retry.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
    assert!(after.is_some_and(|s| (1..=3).contains(&s)), "Retry-After {after:?}");
    let refused = expect_error(retry, StatusCode::CONFLICT, "conflict", Some("idempotency_key")).await;
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("freed within 33 s"), "{refused}");
    assert_eq!(first.await.expect("first request"), StatusCode::CREATED);
}

async fn a_flaky_provider_leaves_only_whole_bookings(backend: Backend) {
    let Some((app, provider)) = spawn(backend, external(|e| e.failure_rate = 0.5)).await else { return };
    // Three people, each booking one table per hour (a second one at the same time would be a
    // conflict, not a provider call).
    let people = [user(&app, "ann").await, user(&app, "ben").await, user(&app, "cat").await];
    let v = evening_venue(&app, "Remote", 100).await;
    let (mut booked, mut failed) = (Vec::new(), 0);
    for i in 0..16 {
        let body = json!({"venue_id": v, "booking_time": in_two_days_at(17 + i % 6), "party_size": 2});
        let res = app.post(&format!("/api/v1/bookings/{}/create", people[i as usize / 6]), &body).await;
        match res.status() {
            StatusCode::CREATED => {
                let r = expect_json(res, StatusCode::CREATED).await;
                booked.push(r["booking_id"].as_str().expect("id").parse::<uuid::Uuid>().expect("uuid"));
            }
            _ => {
                expect_error(res, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", None).await;
                failed += 1;
            }
        }
    }
    // Three tries at even odds: most succeed, some may not; every outcome is whole.
    assert!(booked.len() >= 8, "{} booked, {failed} failed", booked.len());
    booked.sort();
    assert_eq!(provider.reservations(), booked);
    let confirmed = app.get_json("/api/v1/bookings?status=confirmed&limit=100", StatusCode::OK).await;
    assert_eq!(confirmed.as_array().map(Vec::len), Some(booked.len()));
    assert_eq!(app.counts().await.bookings as usize, booked.len());
}

async fn the_janitor_releases_a_hold_its_agent_left_behind(backend: Backend) {
    let Some((app, provider)) = spawn(backend, external(|_| {})).await else { return };
    let ann: uuid::Uuid = user(&app, "ann").await.parse().expect("uuid");
    let v: uuid::Uuid = evening_venue(&app, "Remote", 10).await.parse().expect("uuid");
    // An agent that held the seats, then died before asking the provider.
    let request = domain::SeatRequest {
        user_id: ann,
        venue_id: v,
        plan_id: None,
        booking_time: in_two_days_at(19).parse().expect("time"),
        party_size: 2,
        duration_minutes: 120,
        group_members: vec![],
        special_requests: None,
    };
    let held = app.app.booking.name_booking(request, "booking_agent");
    let key = store::IdempotencyKey { scope: format!("user:{ann}"), key: "crashed".into(), request: json!({"any": 1}) };
    app.app.store.book(held.clone(), Some(key.clone())).await.expect("hold");
    assert_eq!(app.app.sweep_bookings().await.expect("sweep"), 1);
    assert!(app.app.store.get_booking(held.id).await.is_err(), "the hold is gone");
    assert!(provider.reservations().is_empty());
    // Its key is free again: the same request starts afresh.
    let again =
        app.app.store.book(app.app.booking.name_booking(held.request.clone(), "booking_agent"), Some(key)).await;
    assert!(matches!(again, Ok(store::Idempotent::Fresh(_))), "{again:?}");
    assert!(app.pending_event_types().await.contains(&"booking.released".to_string()));
}

async fn deleting_a_venue_by_force_gives_its_tables_back_at_the_provider(backend: Backend) {
    let Some((app, provider)) = spawn(backend, external(|_| {})).await else { return };
    let ann = user(&app, "ann").await;
    let v = evening_venue(&app, "Closing down", 10).await;
    let body = json!({"venue_id": v, "booking_time": in_two_days_at(19), "party_size": 2});
    let made = expect_json(app.post(&format!("/api/v1/bookings/{ann}/create"), &body).await, StatusCode::CREATED).await;
    let id: uuid::Uuid = made["booking_id"].as_str().expect("id").parse().expect("uuid");
    assert_eq!(provider.reservations(), vec![id]);
    assert_eq!(app.delete(&format!("/venues/{v}?force=true")).await.status(), StatusCode::NO_CONTENT);
    assert!(provider.reservations().is_empty(), "the provider still holds {:?}", provider.reservations());
}

/// The provider said yes, but the local confirmation failed (a group member deleted their
/// account meanwhile): the remote table is cancelled, and the hold and the key are given back at
/// once, not left pending until the janitor finds them stale.
async fn a_confirmation_that_fails_after_the_provider_said_yes_gives_the_seats_back_at_once(backend: Backend) {
    let Some((app, provider, ann, ben, v)) = slow_provider(backend, 500, 4).await else { return };
    let body = json!({"venue_id": v, "booking_time": in_two_days_at(19), "party_size": 2, "group_members": [ben]});
    let path = format!("/api/v1/bookings/{ann}/create");
    let first = {
        let (app, path, body) = (app.clone(), path.clone(), body.clone());
        tokio::spawn(async move { app.post_with_key(&path, "k", &body).await.status() })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(app.delete(&format!("/api/v1/users/{ben}")).await.status(), StatusCode::NO_CONTENT);
    let status = first.await.expect("first request");
    assert!(status.is_client_error(), "{status}");
    assert_eq!(app.counts().await.bookings, 0, "the hold was given back");
    assert!(provider.reservations().is_empty());
    // The seats are free again: the same table without the deleted member is booked at once.
    let alone = json!({"venue_id": v, "booking_time": in_two_days_at(19), "party_size": 4});
    expect_json(app.post(&path, &alone).await, StatusCode::CREATED).await;
}
