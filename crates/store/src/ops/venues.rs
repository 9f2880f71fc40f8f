//! Venues: row struct, conversion, and the use cases including search by text, category,
//! price and radius. A venue's text is written in Unicode NFC and searched in it.

use domain::geo::{KM_PER_DEG_LAT, bounding_box};
use domain::{
    Booking, Category, DomainEvent, NewVenue, OpeningHours, Page, PageRequest, PlanStatus, Timestamp, Venue, VenueId,
    VenuePatch,
};
use sqlx::types::Json;
use unicode_normalization::{UnicodeNormalization, is_nfc};
use uuid::Uuid;

use super::{fetch_one, push_page, record};
use crate::sql::{Arg, Conn, Sql, SqlBuilder, now};
use crate::{Backend, StoreError, StoreResult, VenueQuery, Written};

/// The condition that keeps deleted venues out of a read: [`delete_venue`] marks a venue's row
/// instead of removing it, so the bookings and plans people made there stay in their history.
pub(crate) const LIVE_VENUE: &str = "deleted_at IS NULL";

/// The condition that keeps only deleted venues: their rows stay, so their ids stay taken.
pub(crate) const DELETED_VENUE: &str = "deleted_at IS NOT NULL";

/// The columns of [`VenueRow`], in order.
macro_rules! venue_columns {
    () => {
        "id, name, description, category, cuisine, address, city, lat, lng, price_level, rating, capacity, tags, \
         opening_hours, timezone, created_at, updated_at"
    };
}
pub(crate) use venue_columns;

/// One row of `venues`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct VenueRow {
    id: Uuid,
    name: String,
    description: Option<String>,
    category: String,
    cuisine: Option<String>,
    address: Option<String>,
    city: Option<String>,
    lat: f64,
    lng: f64,
    price_level: Option<i16>,
    rating: Option<f64>,
    capacity: i32,
    tags: Json<Vec<String>>,
    opening_hours: Option<Json<OpeningHours>>,
    timezone: String,
    created_at: domain::Timestamp,
    updated_at: domain::Timestamp,
}

impl VenueRow {
    pub(crate) fn into_domain(self) -> StoreResult<Venue> {
        let category =
            Category::parse(&self.category).ok_or_else(|| StoreError::corrupt("category", &self.category))?;
        Ok(Venue {
            id: self.id,
            name: self.name,
            description: self.description,
            category,
            cuisine: self.cuisine,
            address: self.address,
            city: self.city,
            lat: self.lat,
            lng: self.lng,
            price_level: self.price_level,
            rating: self.rating,
            capacity: self.capacity,
            tags: self.tags.0,
            opening_hours: self.opening_hours.map(|h| h.0),
            timezone: self.timezone,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The binds of one `venues` row, in [`venue_columns!`] order.
pub(crate) fn venue_args(v: &Venue) -> StoreResult<[Arg; 17]> {
    Ok([
        v.id.into(),
        v.name.as_str().into(),
        v.description.as_deref().into(),
        v.category.as_str().into(),
        v.cuisine.as_deref().into(),
        v.address.as_deref().into(),
        v.city.as_deref().into(),
        v.lat.into(),
        v.lng.into(),
        v.price_level.into(),
        v.rating.into(),
        v.capacity.into(),
        Arg::json(&v.tags)?,
        Arg::opt_json(v.opening_hours.as_ref())?,
        v.timezone.as_str().into(),
        v.created_at.into(),
        v.updated_at.into(),
    ])
}

/// `s` in Unicode NFC: an "é" sent as e + U+0301 (NFD, as some keyboards and clients send it)
/// is written as the one code point, so that a search typed in either form finds it.
fn nfc(s: String) -> String {
    if is_nfc(&s) { s } else { s.nfc().collect() }
}

/// A venue's text (name, description, cuisine, address, city, tags) in NFC, as every write
/// stores it: [`create_venue`], [`update_venue`] and the bulk inserts.
pub(crate) fn text_in_nfc(mut v: Venue) -> Venue {
    v.name = nfc(v.name);
    for field in [&mut v.description, &mut v.cuisine, &mut v.address, &mut v.city] {
        *field = field.take().map(nfc);
    }
    v.tags = v.tags.into_iter().map(nfc).collect();
    v
}

pub(crate) async fn create_venue<C: Conn>(c: &mut C, new: NewVenue) -> StoreResult<Venue> {
    let at = now();
    let venue = text_in_nfc(Venue {
        id: new.id,
        name: new.name,
        description: new.description,
        category: new.category,
        cuisine: new.cuisine,
        address: new.address,
        city: new.city,
        lat: new.lat,
        lng: new.lng,
        price_level: new.price_level,
        rating: new.rating,
        capacity: new.capacity,
        tags: new.tags,
        opening_hours: new.opening_hours,
        timezone: new.timezone,
        created_at: at,
        updated_at: at,
    });
    let mut sql = Sql::new(concat!(
        "INSERT INTO venues (",
        venue_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING ",
        venue_columns!()
    ));
    sql.args.extend(venue_args(&venue)?);
    let venue = fetch_one::<_, VenueRow>(c, sql).await?.into_domain()?;
    record(c, &DomainEvent::VenueCreated(venue.clone())).await?;
    Ok(venue)
}

/// `SELECT columns` of the venue `id` unless it is deleted, then `lock` (a `Conn` locking
/// clause, or nothing).
pub(crate) fn select_live_venue(columns: &str, id: VenueId, lock: &str) -> Sql {
    let mut b = SqlBuilder::new("SELECT ");
    b.push(columns).push(" FROM venues").and().push(LIVE_VENUE).and().push("id = ").bind(id).push(lock);
    b.finish()
}

/// `NotFound` unless the venue exists and is not deleted. A write about to reference it (an
/// interaction, an interest, a plan) passes `C::FOR_KEY_SHARE`, locking it as the foreign key
/// would, so a deletion committing meanwhile is seen and the write cannot land on a venue just
/// deleted; a read passes nothing.
pub(crate) async fn require_venue<C: Conn>(c: &mut C, id: VenueId, lock: &str) -> StoreResult<()> {
    let row: Option<(i32,)> = c.fetch_optional(select_live_venue("1", id, lock)).await?;
    row.map(|_| ()).ok_or_else(|| StoreError::not_found("venue", id))
}

pub(crate) async fn get_venue<C: Conn>(c: &mut C, id: VenueId) -> StoreResult<Venue> {
    let row: Option<VenueRow> = c.fetch_optional(select_live_venue(venue_columns!(), id, "")).await?;
    row.ok_or_else(|| StoreError::not_found("venue", id))?.into_domain()
}

/// Of `ids`, those of venues that exist and are not deleted, in no order.
pub(crate) async fn live_venues<C: Conn>(c: &mut C, ids: &[VenueId]) -> StoreResult<Vec<VenueId>> {
    venues_among(c, LIVE_VENUE, ids).await
}

/// Of `ids`, those of venues that were deleted, in no order.
pub(crate) async fn deleted_venues<C: Conn>(c: &mut C, ids: &[VenueId]) -> StoreResult<Vec<VenueId>> {
    venues_among(c, DELETED_VENUE, ids).await
}

/// Of `ids`, those of venues whose row meets `condition`, in no order. Asked in chunks, so any
/// number of ids stays within every backend's limit of bound parameters.
async fn venues_among<C: Conn>(c: &mut C, condition: &str, ids: &[VenueId]) -> StoreResult<Vec<VenueId>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(1000) {
        let mut b = SqlBuilder::new("SELECT id FROM venues WHERE ");
        b.push(condition).push(" AND id IN (");
        for (i, id) in chunk.iter().enumerate() {
            b.push(if i > 0 { ", " } else { "" }).bind(*id);
        }
        b.push(")");
        let rows: Vec<(Uuid,)> = c.fetch_all(b.finish()).await?;
        found.extend(rows.into_iter().map(|(id,)| id));
    }
    Ok(found)
}

pub(crate) async fn list_venues<C: Conn>(c: &mut C, query: &VenueQuery, page: PageRequest) -> StoreResult<Page<Venue>> {
    let mut b = SqlBuilder::new(concat!("SELECT ", venue_columns!(), " FROM venues"));
    push_filters(&mut b, query, C::BACKEND);
    push_page(&mut b, "id", page);
    let rows: Vec<VenueRow> = c.fetch_all(b.finish()).await?;
    let venues = rows.into_iter().map(VenueRow::into_domain).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(venues, page.limit, |v| v.id))
}

/// The `WHERE` conditions of a venue query. Text matches any of name, description, cuisine and
/// tags, case-insensitively in any alphabet, in whichever Unicode form it is typed and literally
/// (no wildcards). The radius test is a
/// bounding box (which can use the `(lat, lng)` index) then an equirectangular distance in plain
/// arithmetic, within about 0.5% of the great-circle distance at city scale.
fn push_filters(b: &mut SqlBuilder, query: &VenueQuery, backend: Backend) {
    b.and().push(LIVE_VENUE);
    if let Some(text) = query.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let columns = ["name", "description", "cuisine", "CAST(tags AS TEXT)"];
        // In NFC, as venues are written; and in NFD as well where that differs, for text
        // written before venues were normalised (a string mixing both forms is not found).
        let composed: String = text.nfc().collect();
        let decomposed: String = text.nfd().collect();
        let forms = if decomposed == composed { vec![composed] } else { vec![composed, decomposed] };
        let mut tests = Vec::new();
        for form in &forms {
            // Each letter as the class of its cases ("[éÉ]"): case-insensitive in any alphabet
            // and whatever the database's locale (SQLite's lower() and LIKE fold ASCII only,
            // and PostgreSQL's lower() follows the cluster's locale).
            match backend {
                Backend::Sqlite => {
                    let p = b.param(format!("*{}*", glob_any_case(form)));
                    tests.extend(columns.map(|c| format!("{c} GLOB {p}")));
                }
                Backend::Postgres => {
                    let p = b.param(regex_any_case(form));
                    tests.extend(columns.map(|c| format!("{c} ~ {p}")));
                }
            }
        }
        let cond = tests.join(" OR ");
        b.and().push("(").push(&cond).push(")");
    }
    if let Some(category) = query.category {
        b.and().push("category = ").bind(category.as_str());
    }
    if let Some(min) = query.price_min {
        b.and().push("price_level >= ").bind(min);
    }
    if let Some(max) = query.price_max {
        b.and().push("price_level <= ").bind(max);
    }
    if let Some((center, radius_km)) = query.near {
        let (min_lat, min_lng, max_lat, max_lng) = bounding_box(center, radius_km.max(0.0));
        b.and().push("lat BETWEEN ").bind(min_lat).push(" AND ").bind(max_lat);
        b.and().push("lng BETWEEN ").bind(min_lng).push(" AND ").bind(max_lng);
        let lat0 = b.param(center.lat);
        let lng0 = b.param(center.lng);
        let cos = b.param(center.lat.to_radians().cos());
        let r_deg = radius_km / KM_PER_DEG_LAT;
        let dx = format!("((lng - {lng0}) * {cos})");
        let dy = format!("(lat - {lat0})");
        b.and().push(&format!("{dx} * {dx} + {dy} * {dy} <= ")).bind(r_deg * r_deg);
    }
}

/// `text` with each letter that has a one-letter lower and upper case written as the class of
/// its cases (`[éÉ]`), and every other character as `other` writes it.
fn any_case(text: &str, other: impl Fn(char, &mut String)) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for ch in text.chars() {
        let (mut lower, mut upper) = (ch.to_lowercase(), ch.to_uppercase());
        match (lower.next(), lower.next(), upper.next(), upper.next()) {
            // Greek sigma has two lower cases, final ς and σ, both Σ upper.
            (Some('σ' | 'ς'), None, Some('Σ'), None) => out.push_str("[σςΣ]"),
            (Some(l), None, Some(u), None) if l != u => {
                out.push('[');
                out.extend([l, u]);
                if ch != l && ch != u {
                    out.push(ch);
                }
                out.push(']');
            }
            _ => other(ch, &mut out),
        }
    }
    out
}

/// A SQLite GLOB pattern (without the surrounding `*`) matching `text` literally in any letter
/// case: GLOB's own `*`, `?` and `[` are bracketed.
fn glob_any_case(text: &str) -> String {
    any_case(text, |ch, out| match ch {
        '*' | '?' | '[' => out.extend(['[', ch, ']']),
        _ => out.push(ch),
    })
}

/// A PostgreSQL regular expression (unanchored) matching `text` literally in any letter case:
/// every ASCII character other than a letter or digit is escaped.
fn regex_any_case(text: &str) -> String {
    any_case(text, |ch, out| {
        if ch.is_ascii() && !ch.is_ascii_alphanumeric() {
            out.push('\\');
        }
        out.push(ch);
    })
}

pub(crate) async fn update_venue<C: Conn>(c: &mut C, id: VenueId, patch: VenuePatch) -> StoreResult<Written<Venue>> {
    if let Some(capacity) = patch.capacity {
        check_capacity(c, id, capacity).await?;
    }
    fn set(b: &mut SqlBuilder, column: &str, value: Arg) {
        b.push(", ").push(column).push(" = ").bind(value);
    }
    let patch = VenuePatch {
        name: patch.name.map(nfc),
        description: patch.description.map(|d| d.map(nfc)),
        cuisine: patch.cuisine.map(|d| d.map(nfc)),
        address: patch.address.map(|d| d.map(nfc)),
        city: patch.city.map(|d| d.map(nfc)),
        tags: patch.tags.map(|t| t.into_iter().map(nfc).collect()),
        ..patch
    };
    let mut b = SqlBuilder::new("UPDATE venues SET updated_at = ");
    b.bind(now());
    if let Some(v) = patch.name {
        set(&mut b, "name", v.into());
    }
    if let Some(v) = patch.description {
        set(&mut b, "description", v.into());
    }
    if let Some(v) = patch.category {
        set(&mut b, "category", v.as_str().into());
    }
    if let Some(v) = patch.cuisine {
        set(&mut b, "cuisine", v.into());
    }
    if let Some(v) = patch.address {
        set(&mut b, "address", v.into());
    }
    if let Some(v) = patch.city {
        set(&mut b, "city", v.into());
    }
    if let Some((lat, lng)) = patch.location {
        set(&mut b, "lat", lat.into());
        set(&mut b, "lng", lng.into());
    }
    if let Some(v) = patch.price_level {
        set(&mut b, "price_level", v.into());
    }
    if let Some(v) = patch.rating {
        set(&mut b, "rating", v.into());
    }
    if let Some(v) = patch.capacity {
        set(&mut b, "capacity", v.into());
    }
    if let Some(v) = &patch.tags {
        set(&mut b, "tags", Arg::json(v)?);
    }
    if let Some(v) = &patch.opening_hours {
        set(&mut b, "opening_hours", Arg::opt_json(v.as_ref())?);
    }
    if let Some(v) = patch.timezone {
        set(&mut b, "timezone", v.into());
    } else if let (Some((lat, lng)), Some(zone)) = (patch.location, patch.zone_if_moved) {
        // Moved (SET reads the row as it was): its new place's zone; its place sent again: its own.
        b.push(", timezone = CASE WHEN lat = ").bind(lat).push(" AND lng = ").bind(lng);
        b.push(" THEN timezone ELSE ").bind(zone).push(" END");
    }
    b.push(" WHERE ").push(LIVE_VENUE).push(" AND id = ").bind(id).push(concat!(" RETURNING ", venue_columns!()));
    let row: Option<VenueRow> = c.fetch_optional(b.finish()).await?;
    let venue = row.ok_or_else(|| StoreError::not_found("venue", id))?.into_domain()?;
    let event_id = record(c, &DomainEvent::VenueUpdated(venue.clone())).await?;
    Ok(Written { value: venue, event_id })
}

/// A venue's capacity may not go below the seats its bookings hold at the busiest moment from
/// now on, nor below the party of a plan being organised there whose time has not passed
/// (`Conflict` naming `capacity`): those people have tables, or would never get one. Under the
/// venue's lock, so no booking slips in between, nor an acceptance (`plans::answer` takes the
/// venue's lock before it adds to a party).
async fn check_capacity<C: Conn>(c: &mut C, id: VenueId, capacity: i32) -> StoreResult<()> {
    let current = super::seats::lock_venue(c, id).await?;
    if capacity >= current {
        return Ok(());
    }
    let from = now();
    // Every booking ahead (a simulation books by its own clock, which may run ahead of this one).
    let far = from + chrono::Duration::days(36_500);
    let bookings = super::bookings::holding(c, id, from, far).await?;
    let holds: Vec<_> = bookings.iter().map(super::bookings::hold_of).collect();
    let peak = domain::inventory::peak_seats(&holds, from, far);
    if peak > capacity {
        let message = format!(
            "bookings hold {peak} seats at the busiest moment ahead: the capacity cannot go below that (cancel \
             bookings first)"
        );
        return Err(StoreError::conflict(message, Some("capacity")));
    }
    if let Some((plan_id, party)) = super::plans::largest_party_ahead(c, id, from).await?
        && party > capacity
    {
        let message = format!(
            "plan {plan_id}, being organised here, needs {party} seats for its party: the capacity cannot go \
             below {party} until the plan has passed or needs fewer"
        );
        return Err(StoreError::conflict(message, Some("capacity")));
    }
    Ok(())
}

/// Deletes a venue, as of `now`. Bookings that have not started yet and plans still being
/// organised there are people's evenings: with any, `Conflict` unless `force`, which cancels
/// each first (the booking's and plan's own events tell their people); returns the bookings so
/// cancelled. Plans whose time passed undecided are cancelled too, and holds under way (a
/// provider still answering) given back. The row is marked deleted, not removed: every booking
/// and plan made there stays in its people's history (cancelled, or as it went). The venue's
/// interactions and interests go with it, and reads no longer find it (`NotFound`).
pub(crate) async fn delete_venue<C: Conn>(
    c: &mut C,
    id: VenueId,
    now: Timestamp,
    force: bool,
) -> StoreResult<Vec<Booking>> {
    // Under the venue's lock no booking can be taken meanwhile.
    super::seats::lock_venue(c, id).await?;
    let far = now + chrono::Duration::days(2 * domain::booking::MAX_DAYS_AHEAD);
    // Bookings under way stay as they are: their time has come, so they cannot be cancelled.
    // Holds under way (a provider still answering) are given back: none can be confirmed after.
    // Locked, as a user's deletion does: a cancellation or a janitor ending one meanwhile is
    // waited for, and it is then read as it became (not ended twice).
    let holding = super::bookings::holding_locked(c, id, now, far, C::FOR_UPDATE).await?;
    let (bookings, under_way): (Vec<Booking>, Vec<Booking>) = holding.into_iter().partition(|b| b.booking_time > now);
    // Plans still being organised, the upcoming ones and those whose time passed undecided.
    let mut sql = SqlBuilder::new("SELECT id, start_time FROM plans WHERE venue_id = ");
    sql.bind(id).push(" AND status = ").bind(PlanStatus::Draft.as_str()).push(" ORDER BY id").push(C::FOR_UPDATE);
    let plans: Vec<(Uuid, Timestamp)> = c.fetch_all(sql.finish()).await?;
    let upcoming_plans = plans.iter().filter(|(_, start)| *start > now).count();
    if (!bookings.is_empty() || upcoming_plans > 0) && !force {
        let (b, p) = (bookings.len(), upcoming_plans);
        let message = format!(
            "the venue has {b} upcoming booking{} and {p} plan{} being organised; delete with force=true to cancel \
             them (the people who made them are told)",
            if b == 1 { "" } else { "s" },
            if p == 1 { "" } else { "s" },
        );
        return Err(StoreError::conflict(message, Some("venue_id")));
    }
    let holding = bookings.into_iter().chain(under_way).collect();
    let cancelled = super::bookings::end_for_deletion(c, holding, now, "the venue was deleted").await?;
    for (plan_id, _) in plans {
        super::plans::move_plan(c, plan_id, PlanStatus::Draft, PlanStatus::Cancelled).await?;
    }
    let at = crate::sql::now();
    let mark = Sql::new("UPDATE venues SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL");
    if c.execute(mark.bind(at).bind(id)).await? == 0 {
        return Err(StoreError::not_found("venue", id));
    }
    c.execute(Sql::new("DELETE FROM interactions WHERE venue_id = $1").bind(id)).await?;
    c.execute(Sql::new("DELETE FROM venue_interests WHERE venue_id = $1").bind(id)).await?;
    record(c, &DomainEvent::VenueDeleted { venue_id: id }).await?;
    Ok(cancelled)
}

#[cfg(test)]
mod tests {
    use super::glob_any_case;

    #[test]
    fn a_regex_takes_every_case_of_each_letter_and_nothing_as_an_operator() {
        assert_eq!(super::regex_any_case("Éc 1.*"), "[éÉ][cC]\\ 1\\.\\*");
        assert_eq!(super::regex_any_case("a\\(b|"), "[aA]\\\\\\([bB]\\|");
    }

    #[test]
    fn a_glob_pattern_takes_every_case_of_each_letter_and_nothing_as_a_wildcard() {
        assert_eq!(glob_any_case("Éc 1"), "[éÉ][cC] 1");
        assert_eq!(glob_any_case("a*?[]"), "[aA][*][?][[]]");
        // Letters without a one-letter other case stay as they are.
        assert_eq!(glob_any_case("ß漢"), "ß漢");
        assert_eq!(glob_any_case("ǅ"), "[ǆǄǅ]");
        // Every sigma matches every other: "ΟΔΟΣ" finds "οδος" (final ς) and "σ" finds "Σ".
        for sigma in ["σ", "ς", "Σ"] {
            assert_eq!(glob_any_case(sigma), "[σςΣ]");
        }
    }
}
