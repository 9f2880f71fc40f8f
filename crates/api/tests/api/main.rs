//! The API's behaviour, end to end: the real server on a fresh database per test (SQLite
//! always, PostgreSQL too when `TEST_POSTGRES_URL` is set), plus cheap in-process router tests.

mod helpers;

mod admin;
mod bad_input;
mod interactions;
mod ops;
mod routing;
mod social;
mod users;
mod venues;
