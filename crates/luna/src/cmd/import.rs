//! `luna import`: loads users, venues, social ties and an interaction log from CSV (header
//! row) or JSON lines files into the store through `insert_batch`, so `luna eval` and
//! `luna train` run on data Luna did not generate. Formats: `docs/import-format.md`. External
//! ids that are not UUIDs map to stable UUIDs, so files can use their own keys.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Timelike, Utc};
use domain::user::UserInput;
use domain::venue::VenueInput;
use domain::{
    Category, Interaction, InteractionType, NewUser, NewVenue, RelationshipType, SocialEdge, TimeOfDay, User, Venue,
};
use store::Batch;
use uuid::Uuid;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Users: id, handle, name, home_lat, home_lng, age, city, created_at.
    #[arg(long)]
    pub users: Option<PathBuf>,
    /// Venues: id, name, category, lat, lng, cuisine, price_level, rating, capacity, tags, timezone,
    /// created_at.
    #[arg(long)]
    pub venues: Option<PathBuf>,
    /// Social ties (inserted both ways): user_id, other_user_id, strength, created_at.
    #[arg(long)]
    pub edges: Option<PathBuf>,
    /// Interactions: user_id, venue_id, interaction_type, timestamp, dwell_time_seconds.
    #[arg(long)]
    pub interactions: Option<PathBuf>,
    #[command(flatten)]
    pub store: super::StoreArgs,
}

/// One record: column name to text (CSV cell or JSON value).
type Row = HashMap<String, String>;

const BATCH: usize = 10_000;

pub async fn run(mut settings: Settings, args: ImportArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    crate::logging::init_batch();
    let store = super::open_store(&settings).await?;
    // The log is read first: rows without a `created_at` are dated at its start, so they existed
    // all through it (`luna eval` leaves out what was created after its split).
    let log = args.interactions.as_deref().map(read_rows).transpose()?;
    let start = log.iter().flatten().filter_map(|r| r.get("timestamp")).filter_map(|t| super::rfc3339(t)).min();
    let undated = start.unwrap_or_else(Utc::now);
    // Every record of every file is read and checked (as the API checks what it is sent)
    // before anything is written: a bad record stops the import with nothing stored.
    let mut parts: Vec<(&'static str, &Path, Vec<Batch>)> = Vec::new();
    for (path, kind) in
        [(&args.users, "users"), (&args.venues, "venues"), (&args.edges, "edges"), (&args.interactions, "interactions")]
    {
        let Some(path) = path else { continue };
        let rows = match (&log, kind) {
            (Some(log), "interactions") => log,
            _ => &read_rows(path)?,
        };
        let (mut chunks, mut batch) = (Vec::new(), Batch::default());
        let mut handles = std::collections::HashSet::new();
        for (i, row) in rows.iter().enumerate() {
            if batch.len() >= BATCH {
                chunks.push(std::mem::take(&mut batch));
            }
            let at = || format!("{} record {}", path.display(), i + 1);
            match kind {
                "users" => {
                    let u = user(row, undated).with_context(at)?;
                    if !handles.insert(u.handle.clone()) {
                        return Err(anyhow::anyhow!("handle {:?} is taken by an earlier record", u.handle))
                            .with_context(at);
                    }
                    batch.users.push(u);
                }
                "venues" => batch.venues.push(venue(row, undated).with_context(at)?),
                "edges" => batch.edges.extend(edges(row, undated).with_context(at)?),
                _ => batch.interactions.push(interaction(row).with_context(at)?),
            }
        }
        chunks.push(batch);
        eprintln!("{kind}: {} records checked in {}", rows.len(), path.display());
        parts.push((kind, path, chunks));
    }
    let mut total = 0usize;
    for (kind, path, chunks) in parts {
        total += store_in_chunks(&store, kind, path, chunks, total).await?;
    }
    println!("Imported {total} rows into {}", crate::settings::redact_url(&settings.database_url()));
    Ok(())
}

/// Stores one file's records, a chunk (one transaction) at a time, saying how far it got.
/// `before`: rows stored from the files before it, for the message if the database refuses one.
async fn store_in_chunks(
    store: &store::DynStore,
    kind: &str,
    path: &Path,
    chunks: Vec<Batch>,
    before: usize,
) -> anyhow::Result<usize> {
    let n: usize = chunks.iter().map(Batch::len).sum();
    let mut stored = 0usize;
    for chunk in chunks {
        let len = chunk.len();
        store.insert_batch(chunk).await.map_err(|e| {
            anyhow::anyhow!(
                "the database refused {kind} rows {}..{} (of {n}) from {}: {e}. {} rows were stored before \
                 these; checked records are refused only when they clash with data already stored, such as an \
                 id or handle imported before",
                stored + 1,
                stored + len,
                path.display(),
                before + stored,
            )
        })?;
        stored += len;
        if n > BATCH {
            eprintln!("{kind}: {stored}/{n} rows stored");
        }
    }
    Ok(n)
}

/// Reads a `.csv` file (header row) or a JSON lines file (any other extension).
pub fn read_rows(path: &Path) -> anyhow::Result<Vec<Row>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header = split_csv(lines.next().unwrap_or_default());
        return Ok(lines
            .map(|l| header.iter().cloned().zip(split_csv(l)).filter(|(_, v)| !v.is_empty()).collect())
            .collect());
    }
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not a JSON object", path.display(), i + 1))?;
        rows.push(obj.into_iter().filter_map(|(k, v)| json_text(v).map(|v| (k, v))).collect());
    }
    Ok(rows)
}

fn json_text(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Array(a) => Some(a.into_iter().filter_map(json_text).collect::<Vec<_>>().join(";")),
        other => Some(other.to_string()),
    }
}

/// Splits one CSV line: commas, double-quoted cells with `""` for a quote.
fn split_csv(line: &str) -> Vec<String> {
    let (mut out, mut cell, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cell).trim().to_string()),
            _ => cell.push(c),
        }
    }
    out.push(cell.trim().to_string());
    out
}

/// A UUID for an external id: itself when it is one, else a stable hash of kind and id.
pub fn external_id(kind: &str, raw: &str) -> Uuid {
    if let Ok(id) = Uuid::parse_str(raw) {
        return id;
    }
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in kind.bytes().chain([b':']).chain(raw.bytes()) {
        h = (h ^ u128::from(b)).wrapping_mul(0x0000000001000000000000000000013B);
    }
    // Version 8 (custom), RFC 4122 variant.
    let h = (h & !(0xF << 76)) | (0x8 << 76);
    Uuid::from_u128((h & !(0x3 << 62)) | (0x2 << 62))
}

fn req<'a>(row: &'a Row, key: &str) -> anyhow::Result<&'a str> {
    row.get(key).map(String::as_str).with_context(|| format!("missing `{key}`"))
}

fn num<T: std::str::FromStr>(row: &Row, key: &str) -> anyhow::Result<Option<T>> {
    row.get(key).map(|v| v.parse::<T>().map_err(|_| anyhow::anyhow!("`{key}` is not a number: {v}"))).transpose()
}

fn enum_of<T: serde::de::DeserializeOwned>(key: &str, v: &str) -> anyhow::Result<T> {
    serde_json::from_value(serde_json::Value::String(v.to_lowercase()))
        .map_err(|_| anyhow::anyhow!("`{key}` has an unknown value: {v}"))
}

/// The optional `created_at` column (RFC 3339), else `undated`: the start of the imported log, or
/// the time of the import when no log comes with it.
fn created(row: &Row, undated: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    row.get("created_at")
        .map_or(Ok(undated), |t| super::rfc3339(t).with_context(|| format!("`created_at` is not RFC 3339: {t}")))
}

/// A user, checked as `POST /users/` checks one.
fn user(row: &Row, undated: DateTime<Utc>) -> anyhow::Result<User> {
    let created_at = created(row, undated)?;
    let id = external_id("user", req(row, "id")?);
    // `u_` and the id's first 28 hex digits: within the 30 characters a handle may have.
    let handle = row.get("handle").cloned().unwrap_or_else(|| format!("u_{}", &id.simple().to_string()[..28]));
    let input = UserInput {
        name: row.get("name").cloned().unwrap_or_else(|| handle.clone()),
        handle,
        age: num(row, "age")?,
        home_lat: num(row, "home_lat")?,
        home_lng: num(row, "home_lng")?,
        city: row.get("city").cloned(),
        ..UserInput::default()
    };
    let new = NewUser::parse(input)?;
    Ok(User {
        id,
        handle: new.handle,
        name: new.name,
        email: None,
        age: new.age,
        avatar_url: None,
        home_lat: new.home_lat,
        home_lng: new.home_lng,
        city: new.city,
        persona: None,
        activity_score: 0.5,
        social_score: 0.5,
        created_at,
        updated_at: created_at,
    })
}

/// A venue, checked as `POST /venues/` checks one (time zone `UTC` and 50 seats unless given).
fn venue(row: &Row, undated: DateTime<Utc>) -> anyhow::Result<Venue> {
    let category: Category = enum_of("category", req(row, "category")?)?;
    let (Some(lat), Some(lng)) = (num::<f64>(row, "lat")?, num::<f64>(row, "lng")?) else {
        bail!("missing `lat` or `lng`")
    };
    let created_at = created(row, undated)?;
    let input = VenueInput {
        name: req(row, "name")?.to_string(),
        description: row.get("description").cloned(),
        category,
        cuisine: row.get("cuisine").cloned(),
        address: None,
        city: row.get("city").cloned(),
        lat,
        lng,
        price_level: num(row, "price_level")?,
        rating: num(row, "rating")?,
        capacity: Some(num(row, "capacity")?.unwrap_or(50)),
        tags: row.get("tags").map(|t| t.split(';').map(str::to_string).collect()).unwrap_or_default(),
        opening_hours: None,
        timezone: Some(row.get("timezone").cloned().unwrap_or_else(|| "UTC".into())),
    };
    let new = NewVenue::parse(input)?;
    Ok(Venue {
        id: external_id("venue", req(row, "id")?),
        name: new.name,
        description: new.description,
        category,
        cuisine: new.cuisine,
        address: None,
        city: new.city,
        lat,
        lng,
        price_level: new.price_level,
        rating: new.rating,
        capacity: new.capacity,
        tags: new.tags,
        opening_hours: None,
        timezone: new.timezone,
        created_at,
        updated_at: created_at,
    })
}

fn edges(row: &Row, undated: DateTime<Utc>) -> anyhow::Result<[SocialEdge; 2]> {
    let a = external_id("user", req(row, "user_id")?);
    let b = external_id("user", req(row, "other_user_id")?);
    let strength = num::<f64>(row, "strength")?.unwrap_or(0.5);
    if !(0.0..=1.0).contains(&strength) {
        bail!("`strength` must be between 0 and 1: {strength}");
    }
    let created_at = created(row, undated)?;
    let edge = |user_id, other_user_id| SocialEdge {
        user_id,
        other_user_id,
        relationship_type: RelationshipType::Friend,
        strength,
        created_at,
    };
    Ok([edge(a, b), edge(b, a)])
}

fn interaction(row: &Row) -> anyhow::Result<Interaction> {
    let kind: InteractionType = enum_of("interaction_type", req(row, "interaction_type")?)?;
    let ts = req(row, "timestamp")?;
    let at = super::rfc3339(ts).with_context(|| format!("`timestamp` is not RFC 3339: {ts}"))?;
    let stamp = uuid::Timestamp::from_unix(uuid::NoContext, at.timestamp().max(0) as u64, at.timestamp_subsec_nanos());
    Ok(Interaction {
        id: Uuid::new_v7(stamp),
        user_id: external_id("user", req(row, "user_id")?),
        venue_id: external_id("venue", req(row, "venue_id")?),
        interaction_type: kind,
        dwell_time_seconds: match num(row, "dwell_time_seconds")?.unwrap_or(0) {
            d if d < 0 => bail!("`dwell_time_seconds` must not be negative: {d}"),
            d => d,
        },
        time_of_day: TimeOfDay::from_hour(at.hour()),
        occurred_at: at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_created_at_column_dates_the_row_and_without_one_it_takes_the_default() {
        let now = DateTime::parse_from_rfc3339("2026-09-01T00:00:00Z").unwrap().to_utc();
        let base = [("id", "v1"), ("name", "Bar"), ("category", "bar"), ("lat", "40.7"), ("lng", "-74.0")];
        assert_eq!(venue(&row(&base), now).unwrap().created_at, now);
        let dated = row(&[&base[..], &[("created_at", "2026-10-01T20:06:00Z")]].concat());
        let at = DateTime::parse_from_rfc3339("2026-10-01T20:06:00Z").unwrap().to_utc();
        assert_eq!(venue(&dated, now).unwrap().created_at, at);
        let tie = row(&[("user_id", "a"), ("other_user_id", "b"), ("created_at", "2026-10-01T20:06:00Z")]);
        assert!(edges(&tie, now).unwrap().iter().all(|e| e.created_at == at));
        let bad = row(&[("id", "u1"), ("created_at", "yesterday")]);
        let err = format!("{:#}", user(&bad, now).unwrap_err());
        assert!(err.contains("`created_at` is not RFC 3339: yesterday"), "{err}");
    }
}
