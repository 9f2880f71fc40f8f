//! Breakdowns for the admin stats: bookings per status and users with a persona.

use domain::BookingStatus;

use crate::sql::{Conn, Sql};
use crate::{StatusCounts, StoreResult};

pub(crate) async fn status_counts<C: Conn>(c: &mut C) -> StoreResult<StatusCounts> {
    let rows: Vec<(String, i64)> =
        c.fetch_all(Sql::new("SELECT status, COUNT(*) FROM bookings GROUP BY status ORDER BY status")).await?;
    let bookings = BookingStatus::ALL
        .into_iter()
        .map(|s| (s, rows.iter().find(|(name, _)| name == s.as_str()).map_or(0, |(_, n)| *n as u64)))
        .collect();
    let personas: Option<(i64,)> =
        c.fetch_optional(Sql::new("SELECT COUNT(*) FROM users WHERE persona IS NOT NULL")).await?;
    Ok(StatusCounts { bookings, users_with_persona: personas.map_or(0, |(n,)| n as u64) })
}
