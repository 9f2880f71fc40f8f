//! `luna import`: loads users, venues, social ties and an interaction log from CSV (header
//! row) or JSON lines files into the store, so `luna eval` and `luna train` run on data Luna
//! did not generate. Formats: `docs/import-format.md`. External ids that are not UUIDs map to
//! stable UUIDs, so files can use their own keys. Every record is checked first (as the API
//! checks what it is sent, within its file, across the files and against what is stored), then
//! everything goes in one transaction: an import is stored whole or not at all.

mod read;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, SubsecRound, Utc};
use domain::interaction::{InteractionInput, NewInteraction};
use domain::user::UserInput;
use domain::venue::VenueInput;
use domain::{Category, Interaction, InteractionType, NewUser, NewVenue, RelationshipType, SocialEdge, User, Venue};
use read::{Record, Row, read_records};
use store::{Batch, StoreError};
use uuid::Uuid;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Users: id, handle, name, home_lat, home_lng, age, city, created_at.
    #[arg(long)]
    pub users: Option<PathBuf>,
    /// Venues: id, name, category, lat, lng, cuisine, price_level, rating, capacity, tags, timezone,
    /// description, city, created_at.
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

/// Rows read per page when the ids already stored are gathered.
const PAGE: u32 = 10_000;

pub async fn run(mut settings: Settings, args: ImportArgs) -> anyhow::Result<()> {
    args.store.apply(&mut settings);
    if [&args.users, &args.venues, &args.edges, &args.interactions].iter().all(|f| f.is_none()) {
        bail!("nothing to import: name at least one file with --users, --venues, --edges or --interactions");
    }
    crate::logging::init_batch();
    // Every file is read before the database is opened, so an unreadable or malformed file
    // leaves no database behind (not even an empty one).
    let files = read_files(&args)?;
    // A SQLite database file that does not exist yet holds nothing: the records are checked
    // against nothing stored before it is created, so a bad record leaves no new empty database
    // behind either. (Should another process create it meanwhile, its rows clash at the write,
    // where the records are checked again against what it holds then.)
    let url = settings.database_url();
    let early = if new_sqlite_file(&url) { Some(check(None, &args, &files).await?) } else { None };
    let store = super::open_store(&settings).await?;
    let (batch, repeats) = match early {
        Some(checked) => checked,
        None => check(Some(&store), &args, &files).await?,
    };
    // The batch holds what the records say: they are read again only if the write fails.
    drop(files);
    let n = batch.len();
    eprintln!("storing {} in one transaction", count(n, "row"));
    let started = Instant::now();
    // Every 2 seconds at most: how many rows are written and how long it has taken.
    let last = std::sync::Mutex::new(started);
    let progress = |done: usize| {
        let mut last = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.elapsed().as_secs_f64() >= 2.0 {
            *last = Instant::now();
            let pct = if n == 0 { 100.0 } else { 100.0 * done as f64 / n as f64 };
            eprintln!("  {done} of {} written ({pct:.0}%, {:.0} s)", count(n, "row"), started.elapsed().as_secs_f64());
        }
    };
    if let Err(e) = store.insert_batch_reporting(batch, &progress).await {
        // The transaction took nothing. The checks passed, so the store changed under the import
        // (another writer): checking again names the record that clashes now.
        let again = async { check(Some(&store), &args, &read_files(&args)?).await };
        let cause = match again.await {
            Err(clash) => format!("{clash:#}"),
            Ok(_) => refusal(&e),
        };
        bail!("the database refused the import, so nothing was stored: {cause}");
    }
    eprintln!("stored in {:.1} s", started.elapsed().as_secs_f64());
    // On SQLite the one transaction went to the write-ahead log whole: move it into the
    // database file now rather than leave a log the size of the import for the next start.
    if let Err(e) = store.finish_bulk_load().await {
        eprintln!("warning: the import is stored, but tidying the database after it failed: {e}");
    }
    let skipped =
        if repeats > 0 { format!(" ({} skipped)", count(repeats, "duplicate interaction")) } else { String::new() };
    println!("Imported {} into {}{skipped}", count(n, "row"), crate::settings::redact_url(&settings.database_url()));
    Ok(())
}

/// Whether `url` names a SQLite database file that does not exist yet (opening it creates it).
fn new_sqlite_file(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else { return false };
    let path = rest.split('?').next().unwrap_or_default();
    !path.is_empty() && !url.contains(":memory:") && !url.contains("mode=memory") && !Path::new(path).exists()
}

/// A database refusal in words, after the records passed their check again; a foreign key
/// refused on SQLite names neither column nor id.
fn refusal(e: &StoreError) -> String {
    match e {
        StoreError::NotFound { entity, id } if id.is_empty() => {
            let what = if *entity == "referenced row" { "user or venue" } else { entity };
            format!("a row names a {what} that is not stored")
        }
        other => other.to_string(),
    }
}

/// `n` and the noun, singular for one: "1 row", "2 rows", "0 rows".
fn count(n: usize, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// The kinds of rows, in the order they are checked (users and venues before what refers to
/// them).
const KINDS: [&str; 4] = ["users", "venues", "edges", "interactions"];

/// The file named for each of [`KINDS`], if any.
fn named_files(args: &ImportArgs) -> [Option<&Path>; 4] {
    [&args.users, &args.venues, &args.edges, &args.interactions].map(|p| p.as_deref())
}

/// Reads and parses every named file, in [`KINDS`] order. A file that cannot be read or parsed,
/// or that holds no records, is an error naming it.
fn read_files(args: &ImportArgs) -> anyhow::Result<[Option<Vec<Record>>; 4]> {
    let mut out: [Option<Vec<Record>>; 4] = Default::default();
    for ((path, kind), slot) in named_files(args).into_iter().zip(KINDS).zip(&mut out) {
        let Some(path) = path else { continue };
        // Reading and parsing a large file takes a while: say which one is under way.
        eprintln!("{kind}: reading {}", path.display());
        let records = read_records(path)?;
        // A file named but empty (or a header only) is a wrong or truncated file, not an import
        // of nothing: a kind of rows that is not imported is left out by leaving out its flag.
        if records.is_empty() {
            bail!(
                "{}: holds no records (it is empty, or holds only a header or blank lines), so nothing was \
                 stored: name the right file, or leave out --{kind} to import no {kind}",
                path.display()
            );
        }
        *slot = Some(records);
    }
    Ok(out)
}

/// Checks every record of the files read, into one batch; writes nothing. Without a store
/// (a database not created yet), nothing is stored. A bad record is an error naming its file,
/// record and line. Rows without a `created_at` are dated at the log's
/// start, so they existed all through it (`luna eval` leaves out what was created after its
/// split).
async fn check(
    store: Option<&store::DynStore>,
    args: &ImportArgs,
    read: &[Option<Vec<Record>>; 4],
) -> anyhow::Result<(Batch, usize)> {
    let log = read[3].as_ref();
    let start =
        log.into_iter().flatten().filter_map(|r| r.row.get("timestamp")).filter_map(|t| super::rfc3339(t)).min();
    let now = Utc::now();
    let undated = start.unwrap_or(now);
    let stored = Stored::load(store, args, log, now).await?;
    let mut files =
        InFiles { has_users: args.users.is_some(), has_venues: args.venues.is_some(), ..InFiles::default() };
    let mut batch = Batch::default();
    for ((path, kind), records) in named_files(args).into_iter().zip(KINDS).zip(read) {
        let (Some(path), Some(records)) = (path, records) else { continue };
        let mut maybe_stored_ties = Vec::new();
        let place = |i: usize, line: usize| format!("{} record {} (line {line})", path.display(), i + 1);
        for (i, Record { line, row }) in records.iter().enumerate() {
            let place = || place(i, *line);
            // One line: the file, record and line, then what is wrong with it.
            let at = |e: anyhow::Error| anyhow::anyhow!("{}: {e:#}", place());
            match kind {
                "users" => batch.users.push(files.user(&stored, row, i + 1, undated).map_err(at)?),
                "venues" => batch.venues.push(files.venue(&stored, row, i + 1, undated).map_err(at)?),
                "edges" => {
                    let pair = files.tie(&stored, row, i + 1, undated).map_err(at)?;
                    if pair.iter().all(|e| stored.users.contains(&e.user_id)) {
                        maybe_stored_ties.push((place(), row));
                    }
                    batch.edges.extend(pair);
                }
                _ => {
                    let i = files.interaction(&stored, row, now).map_err(at)?;
                    // A repeat of a stored interaction or of one earlier in the file (an import
                    // run again) is skipped, and counted, so the log is not doubled.
                    let key = InteractionKey::of(&i);
                    if stored.interactions.contains(&key) || !files.interactions.insert(key) {
                        files.repeats += 1;
                    } else {
                        batch.interactions.push(i);
                    }
                }
            }
        }
        // A deleted venue keeps its id, which no venue may take; the stored venues read before
        // are the live ones, so the deleted ones among the file's ids are asked for here.
        if let Some(store) = store.filter(|_| kind == "venues") {
            let ids: Vec<Uuid> = batch.venues.iter().map(|v| v.id).collect();
            let deleted: HashSet<Uuid> =
                store.deleted_venues(&ids).await.context("reading the deleted venues")?.into_iter().collect();
            if let Some(i) = batch.venues.iter().position(|v| deleted.contains(&v.id)) {
                let Record { line, row } = &records[i];
                bail!(
                    "{}: venue `{}` has the id of a venue deleted before (a deleted venue keeps its id, which no \
                     other venue may take): give the venue another id",
                    place(i, *line),
                    req(row, "id")?
                );
            }
        }
        if let Some(store) = store.filter(|_| !maybe_stored_ties.is_empty() && stored.has_ties) {
            let ties = stored_ties(store).await?;
            for (at, row) in maybe_stored_ties {
                let (a, b) = (req(row, "user_id")?, req(row, "other_user_id")?);
                if ties.contains(&(external_id("user", a), external_id("user", b))) {
                    bail!("{at}: the tie between `{a}` and `{b}` is already stored");
                }
            }
        }
        eprintln!("{kind}: {} checked in {}", count(records.len(), "record"), path.display());
        if kind == "interactions" && files.repeats > 0 {
            eprintln!(
                "interactions: {} skipped (the same user, venue, type and timestamp as one stored or earlier in \
                 the file)",
                count(files.repeats, "duplicate")
            );
        }
    }
    Ok((batch, files.repeats))
}

/// What the store already holds, as far as the files can clash with it or refer to it; read
/// only when the store holds rows of that kind and the import involves them.
#[derive(Default)]
struct Stored {
    users: HashSet<Uuid>,
    handles: HashSet<String>,
    venues: HashSet<Uuid>,
    has_ties: bool,
    interactions: HashSet<InteractionKey>,
}

/// What makes two interactions the same: user, venue, type and time to the microsecond (what
/// the databases keep).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct InteractionKey(Uuid, Uuid, InteractionType, i64);

impl InteractionKey {
    fn of(i: &Interaction) -> Self {
        Self(i.user_id, i.venue_id, i.interaction_type, i.occurred_at.timestamp_micros())
    }
}

impl Stored {
    async fn load(
        store: Option<&store::DynStore>,
        args: &ImportArgs,
        log: Option<&Vec<Record>>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Self> {
        let Some(store) = store else { return Ok(Self::default()) };
        let counts = store.counts().await.context("counting what the store holds")?;
        let mut stored = Self { has_ties: counts.social_edges > 0, ..Self::default() };
        let refers = args.edges.is_some() || args.interactions.is_some();
        if counts.users > 0 && (args.users.is_some() || refers) {
            let mut after = None;
            loop {
                let page = store.scan_users(after, PAGE).await.context("reading the stored users")?;
                after = page.last().map(|(u, _)| u.id);
                for (u, _) in &page {
                    stored.users.insert(u.id);
                    stored.handles.insert(u.handle.clone());
                }
                if page.len() < PAGE as usize {
                    break;
                }
            }
        }
        if counts.venues > 0 && (args.venues.is_some() || args.interactions.is_some()) {
            let mut after = None;
            loop {
                let page = store.scan_venues(after, PAGE).await.context("reading the stored venues")?;
                after = page.last().map(|v| v.id);
                stored.venues.extend(page.iter().map(|v| v.id));
                if page.len() < PAGE as usize {
                    break;
                }
            }
        }
        // One paged read of the stored log (no query per row), to skip what is imported again.
        // Only what the file could repeat is kept: memory as the file's, not the stored log's
        // (millions of rows: gigabytes to import a few lines).
        let in_file: HashSet<InteractionKey> = log
            .into_iter()
            .flatten()
            .filter_map(|r| interaction(&r.row, now).ok())
            .map(|i| InteractionKey::of(&i))
            .collect();
        if counts.interactions > 0 && !in_file.is_empty() {
            let mut after = None;
            loop {
                let page = store.scan_interactions(after, PAGE).await.context("reading the stored interactions")?;
                after = page.last().map(|i| i.id);
                stored.interactions.extend(page.iter().map(InteractionKey::of).filter(|k| in_file.contains(k)));
                if page.len() < PAGE as usize {
                    break;
                }
            }
        }
        Ok(stored)
    }
}

/// The stored ties (each direction), read only when an imported tie joins two stored users.
async fn stored_ties(store: &store::DynStore) -> anyhow::Result<HashSet<(Uuid, Uuid)>> {
    let (mut ties, mut after) = (HashSet::new(), None);
    loop {
        let page = store.scan_edges(after, PAGE).await.context("reading the stored ties")?;
        after = page.last().map(|e| (e.user_id, e.other_user_id));
        ties.extend(page.iter().map(|e| (e.user_id, e.other_user_id)));
        if page.len() < PAGE as usize {
            return Ok(ties);
        }
    }
}

/// The ids, handles and ties of the records checked so far, each with its record number, so a
/// repeat names the record it repeats.
#[derive(Default)]
struct InFiles {
    has_users: bool,
    has_venues: bool,
    users: HashMap<Uuid, usize>,
    handles: HashMap<String, usize>,
    venues: HashMap<Uuid, usize>,
    ties: HashMap<(Uuid, Uuid), usize>,
    interactions: HashSet<InteractionKey>,
    /// Interactions skipped as repeats.
    repeats: usize,
}

impl InFiles {
    fn user(&mut self, stored: &Stored, row: &Row, record: usize, undated: DateTime<Utc>) -> anyhow::Result<User> {
        let u = user(row, undated)?;
        let raw = req(row, "id")?;
        if let Some(first) = self.users.insert(u.id, record) {
            bail!("id `{raw}` is already used by record {first}");
        }
        if stored.users.contains(&u.id) {
            bail!("user `{raw}` is already stored (imported before?)");
        }
        if let Some(first) = self.handles.insert(u.handle.clone(), record) {
            bail!("handle `{}` is already used by record {first}", u.handle);
        }
        if stored.handles.contains(&u.handle) {
            bail!("handle `{}` is taken by a stored user", u.handle);
        }
        Ok(u)
    }

    fn venue(&mut self, stored: &Stored, row: &Row, record: usize, undated: DateTime<Utc>) -> anyhow::Result<Venue> {
        let v = venue(row, undated)?;
        let raw = req(row, "id")?;
        if let Some(first) = self.venues.insert(v.id, record) {
            bail!("id `{raw}` is already used by record {first}");
        }
        if stored.venues.contains(&v.id) {
            bail!("venue `{raw}` is already stored (imported before?)");
        }
        Ok(v)
    }

    fn tie(
        &mut self,
        stored: &Stored,
        row: &Row,
        record: usize,
        undated: DateTime<Utc>,
    ) -> anyhow::Result<[SocialEdge; 2]> {
        let pair = edges(row, undated)?;
        let (a, b) = (req(row, "user_id")?, req(row, "other_user_id")?);
        self.known_user(stored, "user_id", a)?;
        self.known_user(stored, "other_user_id", b)?;
        let (x, y) = (pair[0].user_id, pair[0].other_user_id);
        if let Some(first) = self.ties.insert((x.min(y), x.max(y)), record) {
            bail!(
                "the tie between `{a}` and `{b}` is already in record {first} (a row is a friendship, stored both \
                 ways: list each once)"
            );
        }
        Ok(pair)
    }

    fn interaction(&self, stored: &Stored, row: &Row, now: DateTime<Utc>) -> anyhow::Result<Interaction> {
        let i = interaction(row, now)?;
        self.known_user(stored, "user_id", req(row, "user_id")?)?;
        let raw = req(row, "venue_id")?;
        if !self.venues.contains_key(&i.venue_id) && !stored.venues.contains(&i.venue_id) {
            let file = if self.has_venues { "the venues file" } else { "a venues file (none is imported)" };
            bail!("`venue_id` `{raw}` is neither in {file} nor stored");
        }
        Ok(i)
    }

    fn known_user(&self, stored: &Stored, column: &str, raw: &str) -> anyhow::Result<()> {
        let id = external_id("user", raw);
        if !self.users.contains_key(&id) && !stored.users.contains(&id) {
            let file = if self.has_users { "the users file" } else { "a users file (none is imported)" };
            bail!("`{column}` `{raw}` is neither in {file} nor stored");
        }
        Ok(())
    }
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

/// A required column, trimmed as a CSV cell is: a JSON `""` or `" "` is as missing as an empty
/// cell (else every blank id would be one more user or venue, and `" u1"` another than `u1`).
fn req<'a>(row: &'a Row, key: &str) -> anyhow::Result<&'a str> {
    row.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()).with_context(|| format!("missing `{key}`"))
}

fn num(row: &Row, key: &str) -> anyhow::Result<Option<f64>> {
    row.get(key).map(|v| v.parse().map_err(|_| anyhow::anyhow!("`{key}` is not a number: {v}"))).transpose()
}

/// A whole-number column, written as an integer (digits, with an optional sign) in CSV and
/// JSON alike: `2.0` or `1e3` is refused rather than rounded. A number beyond what `T` holds
/// becomes `T`'s nearest bound, so the field's own check (the domain's, the same as the API's)
/// refuses it with the field's range instead of calling it "not a number".
fn whole<T: TryFrom<i64>>(row: &Row, key: &str, (min, max): (T, T)) -> anyhow::Result<Option<T>> {
    let Some(v) = row.get(key) else { return Ok(None) };
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        if v.parse::<f64>().is_ok_and(|f| !f.is_nan()) {
            bail!("`{key}` must be a whole number, written without a decimal point or an exponent: {v}");
        }
        bail!("`{key}` is not a number: {v}");
    }
    // Saturating: digits past i64's range land on its bound.
    let n = v.parse::<i64>().unwrap_or(if v.starts_with('-') { i64::MIN } else { i64::MAX });
    Ok(Some(T::try_from(n).unwrap_or(if n < 0 { min } else { max })))
}

/// One of the names of an enum, exactly as the API takes it (lower case).
fn one_of<T: Copy>(key: &str, v: &str, all: &[T], name: impl Fn(T) -> &'static str) -> anyhow::Result<T> {
    all.iter().copied().find(|t| name(*t) == v).with_context(|| {
        let names: Vec<_> = all.iter().map(|t| name(*t)).collect();
        format!("`{key}` has an unknown value: {v} (one of {})", names.join(", "))
    })
}

/// The optional `created_at` column (RFC 3339), else `undated`: the start of the imported log, or
/// the time of the import when no log comes with it. Not in the future (a minute of clock skew
/// allowed, as for an interaction's `timestamp`): a tie or venue dated ahead would quietly drop
/// out of every past `luna eval` trains on.
fn created(row: &Row, undated: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let Some(t) = row.get("created_at") else { return Ok(undated) };
    let at = super::rfc3339(t).with_context(|| format!("`created_at` {}: {t}", super::not_an_instant(t)))?;
    let now = Utc::now();
    anyhow::ensure!(
        at <= now + chrono::Duration::minutes(1),
        "`created_at` is in the future (later than now, {}, plus a minute of clock skew): {t}",
        domain::time::written(&now)
    );
    Ok(at)
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
        age: whole(row, "age", (i32::MIN, i32::MAX))?,
        home_lat: num(row, "home_lat")?,
        home_lng: num(row, "home_lng")?,
        city: row.get("city").cloned(),
        ..UserInput::default()
    };
    let new = NewUser::parse(input).map_err(|e| with_values(e, row))?;
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

/// The domain's refusal with each field's value as the record gave it, quoted (escapes show
/// control characters) and cut to 60 characters: `invalid input: home_lat: must be between -90
/// and 90 (got "91")`. A field the record left out (a default that failed) names no value.
fn with_values(e: domain::ValidationError, row: &Row) -> anyhow::Error {
    let value = |field: &str| -> Option<String> {
        // `tags[2]`: the third of the `;`-separated tags.
        if let Some((base, rest)) = field.split_once('[') {
            let i: usize = rest.strip_suffix(']')?.parse().ok()?;
            return row.get(base)?.split(';').nth(i).map(str::to_string);
        }
        row.get(field).cloned()
    };
    let shown = |v: String| {
        let mut cut: String = v.chars().take(60).collect();
        if cut.len() < v.len() {
            cut.push('…');
        }
        format!("{cut:?}")
    };
    let fields: Vec<String> =
        e.0.iter()
            .map(|f| match value(&f.field) {
                Some(v) => format!("{}: {} (got {})", f.field, f.message, shown(v)),
                None => format!("{}: {}", f.field, f.message),
            })
            .collect();
    anyhow::anyhow!("invalid input: {}", fields.join("; "))
}

/// A venue, checked as `POST /venues/` checks one (time zone `UTC` and 50 seats unless given).
fn venue(row: &Row, undated: DateTime<Utc>) -> anyhow::Result<Venue> {
    let category = one_of("category", req(row, "category")?, &Category::ALL, Category::as_str)?;
    let (Some(lat), Some(lng)) = (num(row, "lat")?, num(row, "lng")?) else { bail!("missing `lat` or `lng`") };
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
        price_level: whole(row, "price_level", (i16::MIN, i16::MAX))?,
        rating: num(row, "rating")?,
        capacity: Some(whole(row, "capacity", (i32::MIN, i32::MAX))?.unwrap_or(50)),
        tags: row.get("tags").map(|t| t.split(';').map(str::to_string).collect()).unwrap_or_default(),
        opening_hours: None,
        timezone: row.get("timezone").cloned(),
    };
    let new = NewVenue::parse(input).map_err(|e| with_values(e, row))?;
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
    if a == b {
        bail!("`user_id` and `other_user_id` are the same user: {}", req(row, "user_id")?);
    }
    let strength = num(row, "strength")?.unwrap_or(0.5);
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

/// An interaction, checked as `POST /venues/{id}/interactions` checks one (`NewInteraction::parse`,
/// in UTC, so the part of day is the timestamp's UTC hour), at `now`: a `timestamp` more than a
/// minute ahead of it is refused as the API refuses it, and one before the year 2000
/// (`NewInteraction::earliest`, a wrong column or a unit mistake: seconds read as milliseconds, a
/// zero date) too, each with its own message.
fn interaction(row: &Row, now: DateTime<Utc>) -> anyhow::Result<Interaction> {
    let kind =
        one_of("interaction_type", req(row, "interaction_type")?, &InteractionType::ALL, InteractionType::as_str)?;
    let ts = req(row, "timestamp")?;
    // To the microsecond, as the databases keep it (PostgreSQL would round the rest) and as
    // duplicates are found.
    let at = super::rfc3339(ts)
        .with_context(|| format!("`timestamp` {}: {ts}", super::not_an_instant(ts)))?
        .trunc_subsecs(6);
    let earliest = NewInteraction::earliest();
    if at < earliest {
        bail!(
            "`timestamp` is before {}, too old to be an interaction (a wrong column or unit?): {ts}",
            domain::time::written(&earliest)
        );
    }
    let dwell = match whole(row, "dwell_time_seconds", (i32::MIN, i32::MAX))?.unwrap_or(0) {
        // The API's range (`NewInteraction::parse`), which the schema also holds.
        d if !(0..=86_400).contains(&d) => {
            bail!("`dwell_time_seconds` must be between 0 and 86400: {}", req(row, "dwell_time_seconds")?)
        }
        d => d,
    };
    let input = InteractionInput {
        user_id: external_id("user", req(row, "user_id")?),
        interaction_type: kind,
        dwell_time_seconds: Some(dwell),
        occurred_at: Some(at),
    };
    let utc = "UTC".parse().ok().context("the UTC time zone")?;
    let new = NewInteraction::parse(input, external_id("venue", req(row, "venue_id")?), now, utc).map_err(|e| {
        if e.0.iter().any(|f| f.field == "occurred_at") {
            anyhow::anyhow!(
                "`timestamp` is in the future (later than now, {}, plus a minute of clock skew, which the API \
                 refuses too): {ts}",
                domain::time::written(&now)
            )
        } else {
            e.into()
        }
    })?;
    // Ids in time order of the log, as the store's own ids are in time order of their writing.
    let stamp = uuid::Timestamp::from_unix(uuid::NoContext, at.timestamp().max(0) as u64, at.timestamp_subsec_nanos());
    Ok(Interaction { id: Uuid::new_v7(stamp), ..new.into_interaction() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review of afed6de: the whole stored log was read into memory to find repeats, so
    /// importing a few lines into a database of millions of interactions took gigabytes. Only
    /// the stored interactions the file could repeat are kept.
    #[tokio::test]
    async fn only_the_stored_interactions_the_file_could_repeat_are_kept_in_memory() {
        for backend in [testdb::Backend::Sqlite, testdb::Backend::Postgres] {
            let Some(db) = testdb::TestDatabase::create(backend).await else { continue };
            let store = store::connect(&db.url).await.expect("connect the test database");
            let args = ImportArgs {
                users: Some("users.csv".into()),
                venues: Some("venues.csv".into()),
                edges: None,
                interactions: Some("inter.jsonl".into()),
                store: crate::cmd::StoreArgs { data_dir: None, database_url: None },
            };
            let record = |line: usize, pairs: &[(&str, &str)]| Record { line, row: row(pairs) };
            let seen = |line, ts| {
                record(line, &[("user_id", "b1"), ("venue_id", "v1"), ("interaction_type", "view"), ("timestamp", ts)])
            };
            let users = vec![record(2, &[("id", "b1"), ("handle", "bob1")])];
            let venues = vec![record(
                2,
                &[("id", "v1"), ("name", "Bar"), ("category", "bar"), ("lat", "40.7"), ("lng", "-73.9")],
            )];
            let stored_log: Vec<Record> = ["2026-10-01T12:00:00Z", "2026-10-01T13:00:00Z", "2026-10-01T14:00:00Z"]
                .iter()
                .enumerate()
                .map(|(i, ts)| seen(i + 1, ts))
                .collect();
            let (batch, _) =
                check(None, &args, &[Some(users), Some(venues), None, Some(stored_log)]).await.expect("checked");
            store.insert_batch(batch).await.expect("stored");

            // A file repeating one of the three, and one new.
            let file = vec![seen(1, "2026-10-01T13:00:00Z"), seen(2, "2026-10-01T15:00:00Z")];
            let stored = Stored::load(Some(&store), &args, Some(&file), Utc::now()).await.expect("read");
            assert_eq!(stored.interactions.len(), 1, "{backend:?}: only the one the file repeats");
            let (batch, repeats) = check(Some(&store), &args, &[None, None, None, Some(file)]).await.expect("checked");
            assert_eq!((batch.interactions.len(), repeats), (1, 1), "{backend:?}");
        }
    }

    fn row(pairs: &[(&str, &str)]) -> Row {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// QA: `invalid input: home_lat: must be between -90 and 90` named the field but not the
    /// value, though the import format promises the offending value.
    #[test]
    fn a_refused_field_is_named_with_its_value_quoted_and_cut() {
        let now = DateTime::parse_from_rfc3339("2026-09-01T00:00:00Z").unwrap().to_utc();
        let bad = row(&[("id", "u1"), ("handle", "zoë_1"), ("home_lat", "91"), ("home_lng", "0")]);
        let err = format!("{:#}", user(&bad, now).unwrap_err());
        assert!(err.starts_with("invalid input: "), "{err}");
        assert!(err.contains("home_lat: must be between -90 and 90 (got \"91\")"), "{err}");
        assert!(err.contains("handle: must be 3 to 30 ASCII letters") && err.contains("(got \"zoë_1\")"), "{err}");
        let long = "x".repeat(300);
        let tags = format!("ok;{long}");
        let base = [("id", "v1"), ("name", "Bar"), ("category", "bar"), ("lat", "40.7"), ("lng", "-74.0")];
        let err = format!("{:#}", venue(&row(&[&base[..], &[("tags", tags.as_str())]].concat()), now).unwrap_err());
        assert!(
            err.contains("tags[1]: must be 1 to 40 characters") && err.contains(&format!("(got \"{}…\")", &long[..60])),
            "{err}"
        );
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
        // QA: a leap second was read, stored and written back by the API as `...:60Z`.
        let leap = row(&[("id", "u1"), ("created_at", "2026-06-30T23:59:60Z")]);
        let err = format!("{:#}", user(&leap, now).unwrap_err());
        assert!(err.contains("`created_at` is in a leap second (:60), which is not taken"), "{err}");
        let err = crate::cmd::parse_instant("2026-12-02T23:59:60Z").unwrap_err();
        assert!(err.contains("leap second"), "{err}");
    }

    #[test]
    fn a_created_at_in_the_future_is_refused_for_users_venues_and_ties() {
        let now = Utc::now();
        let ahead = "2099-01-01T00:00:00Z";
        let venue_row = [("id", "v1"), ("name", "Bar"), ("category", "bar"), ("lat", "40.7"), ("lng", "-74.0")];
        let errors = [
            format!("{:#}", user(&row(&[("id", "u1"), ("created_at", ahead)]), now).unwrap_err()),
            format!("{:#}", venue(&row(&[&venue_row[..], &[("created_at", ahead)]].concat()), now).unwrap_err()),
            format!(
                "{:#}",
                edges(&row(&[("user_id", "a"), ("other_user_id", "b"), ("created_at", ahead)]), now).unwrap_err()
            ),
        ];
        for err in errors {
            assert!(err.starts_with("`created_at` is in the future") && err.ends_with(ahead), "{err}");
        }
        // An old venue keeps its date.
        let old = venue(&row(&[&venue_row[..], &[("created_at", "1854-01-01T00:00:00Z")]].concat()), now);
        assert_eq!(old.unwrap().created_at.to_rfc3339(), "1854-01-01T00:00:00+00:00");
    }

    /// `luna import --help` lists every column the import reads (docs/import-format.md).
    #[test]
    fn the_help_names_every_column_read() {
        use clap::CommandFactory;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: ImportArgs,
        }
        let help = Cli::command().render_help().to_string();
        for column in ["description, city, created_at", "home_lng, age, city, created_at", "dwell_time_seconds"] {
            assert!(help.contains(column), "{column}: {help}");
        }
    }

    #[test]
    fn a_blank_required_value_is_missing_and_one_with_spaces_is_trimmed_as_in_csv() {
        let now = Utc::now();
        for blank in ["", "  "] {
            let err = format!("{:#}", user(&row(&[("id", blank), ("handle", "alice")]), now).unwrap_err());
            assert_eq!(err, "missing `id`", "{blank:?}");
            let tie = row(&[("user_id", "u1"), ("other_user_id", blank)]);
            assert_eq!(format!("{:#}", edges(&tie, now).unwrap_err()), "missing `other_user_id`", "{blank:?}");
        }
        let spaced = user(&row(&[("id", " u1 "), ("handle", "alice")]), now).unwrap();
        assert_eq!(spaced.id, external_id("user", "u1"));
    }

    /// A whole-number field takes an integer as written: `1e3` and `2.0` (a JSON float, or the
    /// same text in CSV) are refused, not rounded; digits past the type's range reach the range check.
    #[test]
    fn a_whole_number_field_is_refused_unless_written_as_an_integer() {
        let base = [("id", "v1"), ("name", "Bar"), ("category", "bar"), ("lat", "40.7"), ("lng", "-74.0")];
        let now = Utc::now();
        let with = |k: &str, v: &str| venue(&row(&[&base[..], &[(k, v)]].concat()), now);
        assert_eq!(with("capacity", "1000").unwrap().capacity, 1000);
        assert_eq!(with("price_level", "+2").unwrap().price_level, Some(2));
        for (k, v, says) in [
            (
                "capacity",
                "1e3",
                "`capacity` must be a whole number, written without a decimal point or an exponent: 1e3",
            ),
            (
                "price_level",
                "2.0",
                "`price_level` must be a whole number, written without a decimal point or an exponent: 2.0",
            ),
            ("capacity", "NaN", "`capacity` is not a number: NaN"),
            ("capacity", "-", "`capacity` is not a number: -"),
            ("capacity", "99999999999999999999", "capacity: must be between 1 and 100000"),
        ] {
            let err = format!("{:#}", with(k, v).unwrap_err());
            assert!(err.contains(says), "{k}={v}: {err}");
        }
    }

    /// The API refuses an interaction more than a minute ahead of now; the import refuses it
    /// too, and one before 2000. The part of day is still the timestamp's UTC hour.
    #[test]
    fn an_interaction_in_the_future_or_before_2000_is_refused_naming_the_timestamp() {
        let now = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap().to_utc();
        let at = |ts: &str| {
            let base = [("user_id", "u1"), ("venue_id", "v1"), ("interaction_type", "view")];
            interaction(&row(&[&base[..], &[("timestamp", ts)]].concat()), now)
        };
        let ok = at("2026-12-04T12:00:59Z").unwrap();
        assert_eq!((ok.time_of_day, ok.user_id), (domain::TimeOfDay::Afternoon, external_id("user", "u1")));
        assert_eq!(at("2000-01-01T00:00:00Z").unwrap().time_of_day, domain::TimeOfDay::Night);
        for (ts, says) in [
            (
                "2026-12-04T12:01:01Z",
                "`timestamp` is in the future (later than now, 2026-12-04T12:00:00Z, plus a minute",
            ),
            ("2027-01-01T00:00:00Z", "`timestamp` is in the future"),
            ("1999-12-31T23:59:59Z", "`timestamp` is before 2000-01-01T00:00:00Z, too old"),
            ("1970-01-01T00:00:00Z", "`timestamp` is before 2000-01-01T00:00:00Z"),
        ] {
            let err = format!("{:#}", at(ts).unwrap_err());
            assert!(err.contains(says) && err.ends_with(ts), "{ts}: {err}");
        }
    }
}
