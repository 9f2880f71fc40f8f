//! The invariant check: what must hold in any committed state, whatever requests ran, crashed
//! or were refused. Used by `luna check`, the admin endpoint, the fuzzer and the load test.
//! Each rule reads with one statement, so under concurrent writes each is consistent with
//! itself; run it on a quiet database for a check across rules.

use std::collections::HashMap;

use domain::inventory::{Hold, peak_seats};
use domain::{ParticipantStatus, PlanStatus, Timestamp};
use uuid::Uuid;

use super::bookings::{BookingRow, booking_columns, decode, hold_of};
use crate::sql::{Conn, Sql, now};
use crate::{StoreResult, Violation};

/// Rows whose reference points at nothing: `(rule, statement counting them)`. Foreign keys
/// should make each count zero (and a venue's deletion, which removes its interactions and
/// interests while its bookings and plans stay); this proves it on data written by any version
/// of the code.
const ORPHANS: &[(&str, &str)] = &[
    (
        "plan_participants.plan_id",
        "SELECT COUNT(*) FROM plan_participants x WHERE NOT EXISTS (SELECT 1 FROM plans p WHERE p.id = x.plan_id)",
    ),
    (
        "plan_participants.user_id",
        "SELECT COUNT(*) FROM plan_participants x WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id)",
    ),
    (
        "plans.organizer_id",
        // A plan outlives its organizer's account (null then, 0012).
        "SELECT COUNT(*) FROM plans x WHERE x.organizer_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.organizer_id)",
    ),
    (
        "plans.venue_id",
        "SELECT COUNT(*) FROM plans x WHERE NOT EXISTS (SELECT 1 FROM venues v WHERE v.id = x.venue_id)",
    ),
    (
        "bookings.user_id",
        // A booking outlives its booker's account (null then, 0013).
        "SELECT COUNT(*) FROM bookings x WHERE x.user_id IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id)",
    ),
    (
        "bookings.venue_id",
        "SELECT COUNT(*) FROM bookings x WHERE NOT EXISTS (SELECT 1 FROM venues v WHERE v.id = x.venue_id)",
    ),
    (
        "bookings.plan_id",
        "SELECT COUNT(*) FROM bookings x WHERE x.plan_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.id = x.plan_id)",
    ),
    (
        "booking_invitations.booking_id",
        "SELECT COUNT(*) FROM booking_invitations x WHERE NOT EXISTS (SELECT 1 FROM bookings b WHERE b.id = x.booking_id)",
    ),
    (
        "interactions.user_id",
        "SELECT COUNT(*) FROM interactions x WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id)",
    ),
    (
        "interactions.venue_id",
        "SELECT COUNT(*) FROM interactions x \
         WHERE NOT EXISTS (SELECT 1 FROM venues v WHERE v.id = x.venue_id AND v.deleted_at IS NULL)",
    ),
    (
        "user_locations.user_id",
        "SELECT COUNT(*) FROM user_locations x WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id)",
    ),
    (
        "venue_interests.user_id",
        "SELECT COUNT(*) FROM venue_interests x WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id)",
    ),
    (
        "venue_interests.venue_id",
        "SELECT COUNT(*) FROM venue_interests x \
         WHERE NOT EXISTS (SELECT 1 FROM venues v WHERE v.id = x.venue_id AND v.deleted_at IS NULL)",
    ),
];

/// Every broken invariant; empty when the data is consistent.
pub(crate) async fn check_invariants<C: Conn>(c: &mut C) -> StoreResult<Vec<Violation>> {
    let mut out = Vec::new();
    for (rule, sql) in ORPHANS {
        let (n,): (i64,) = super::fetch_one(c, Sql::new(sql)).await?;
        if n > 0 {
            out.push(Violation::new(format!("orphan {rule}"), format!("{n} rows reference nothing")));
        }
    }
    out.extend(booking_violations(c).await?);
    out.extend(plan_violations(c, now()).await?);
    Ok(out)
}

/// Holding bookings (pending or confirmed): no venue holds more seats than it has at any
/// instant, and each party counts its organizer and every group member. Stays that ended before
/// the venue's last change are left out of the seat count: its capacity may have been larger
/// then (a venue cannot be made smaller than what is booked ahead, but evenings already over
/// were seated under the old capacity).
async fn booking_violations<C: Conn>(c: &mut C) -> StoreResult<Vec<Violation>> {
    let sql = Sql::new(concat!(
        "SELECT ",
        booking_columns!(),
        " FROM bookings WHERE status IN ('pending', 'confirmed') ORDER BY venue_id, booking_time"
    ));
    let rows: Vec<BookingRow> = c.fetch_all(sql).await?;
    let bookings = decode(rows)?;
    let venues: Vec<(Uuid, i32, domain::Timestamp)> =
        c.fetch_all(Sql::new("SELECT id, capacity, updated_at FROM venues")).await?;
    let capacities: HashMap<Uuid, i32> = venues.iter().map(|&(id, cap, _)| (id, cap)).collect();
    let changed: HashMap<Uuid, domain::Timestamp> = venues.iter().map(|&(id, _, at)| (id, at)).collect();
    let mut out = Vec::new();
    let mut holds: HashMap<Uuid, Vec<Hold>> = HashMap::new();
    for b in &bookings {
        let hold = hold_of(b);
        if changed.get(&b.venue_id).is_none_or(|&at| hold.end > at) {
            holds.entry(b.venue_id).or_default().push(hold);
        }
        if b.party_size <= b.group_members.len() as i32 {
            let detail =
                format!("booking {}: party of {} with {} group members", b.id, b.party_size, b.group_members.len());
            out.push(Violation::new("party_counts_its_members".into(), detail));
        }
    }
    for (venue, holds) in holds {
        let (Some(from), Some(to)) = (holds.iter().map(|h| h.start).min(), holds.iter().map(|h| h.end).max()) else {
            continue;
        };
        let capacity = capacities.get(&venue).copied().unwrap_or(0);
        let peak = peak_seats(&holds, from, to);
        if peak > capacity {
            out.push(Violation::new(
                "overbooked_slot".into(),
                format!("venue {venue}: {peak} seats held, capacity {capacity}"),
            ));
        }
    }
    Ok(out)
}

/// A plan being organised, what its party counts from ([`domain::plan::party_of`]) and what its
/// venue seats.
#[derive(Debug, sqlx::FromRow)]
struct PlanPartyRow {
    id: Uuid,
    venue_id: Uuid,
    party_size: Option<i32>,
    accepted: i64,
    capacity: i32,
}

/// Plans being organised (drafts starting at `from` or later) at a venue not deleted: none has a
/// party ([`domain::Plan::party`]) larger than the venue seats, as such a plan could never be
/// booked. The store refuses one (a plan made too large, an acceptance past the capacity, a
/// capacity lowered under a plan's party); plans already past are left out, as the capacity may
/// have been lowered since, and so are deleted venues, whose plans no booking can take.
async fn plan_violations<C: Conn>(c: &mut C, from: Timestamp) -> StoreResult<Vec<Violation>> {
    let sql = Sql::new(
        "SELECT p.id, p.venue_id, p.party_size, \
         (SELECT COUNT(*) FROM plan_participants pp WHERE pp.plan_id = p.id AND pp.status = $1) AS accepted, \
         v.capacity FROM plans p JOIN venues v ON v.id = p.venue_id \
         WHERE v.deleted_at IS NULL AND p.status = $2 AND p.start_time >= $3 ORDER BY p.start_time, p.id",
    );
    let sql = sql.bind(ParticipantStatus::Accepted.as_str()).bind(PlanStatus::Draft.as_str()).bind(from);
    let rows: Vec<PlanPartyRow> = c.fetch_all(sql).await?;
    let violations = rows.into_iter().filter_map(|r| {
        let party = domain::plan::party_of(i32::try_from(r.accepted).unwrap_or(i32::MAX), r.party_size);
        (party > r.capacity).then(|| {
            let detail = format!("plan {} at venue {}: party of {party}, capacity {}", r.id, r.venue_id, r.capacity);
            Violation::new("plan_over_capacity".into(), detail)
        })
    });
    Ok(violations.collect())
}
