//! The API's behaviour, end to end: the real server on a fresh database per test (SQLite
//! always, PostgreSQL too when `TEST_POSTGRES_URL` is set), plus cheap in-process router tests.

mod helpers;

mod admin;
mod admin_map;
mod admin_stats;
mod auth;
mod bad_input;
mod booking_concurrency;
mod booking_providers;
mod bookings;
mod dashboard;
mod faults;
mod interactions;
mod limits;
mod model;
mod ops;
mod outbox_delivery;
mod plans;
mod reco;
mod reco_two_servers;
mod routing;
mod simulation;
mod social;
mod stream_bench;
mod stream_support;
mod streams;
mod two_servers;
mod user_streams;
mod users;
mod venues;
