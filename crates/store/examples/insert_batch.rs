//! Measures the seeding path: inserts synthetic interactions through `Store::insert_batch` the
//! way `luna seed` does (users in order, interaction ids that are UUIDv7 over a year of history,
//! so in random id order within a batch) and prints rows per second.
//!
//! ```text
//! cargo run -p store --release --example insert_batch -- [ROWS] [DATABASE_URL] [plain]
//! ```
//! ROWS defaults to 1,000,000; DATABASE_URL to a SQLite file in a temp directory. The load runs
//! between `begin_bulk_load` and `finish_bulk_load` (as seeding does) unless `plain` is given.

use std::time::Instant;

use domain::{Category, Interaction, InteractionType, TimeOfDay, User, Venue};
use store::Batch;

const USERS: usize = 50_000;
const VENUES: usize = 10_000;
const BATCH_ROWS: usize = 100_000;
const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;

/// A tiny deterministic generator (splitmix64), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A UUIDv7 at `ms` since the epoch.
    fn id_at(&mut self, ms: u64) -> uuid::Uuid {
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&self.next().to_le_bytes());
        random[8..].copy_from_slice(&self.next().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid()
    }
}

fn user(rng: &mut Rng, i: usize, now: domain::Timestamp) -> User {
    User {
        id: rng.id_at(now.timestamp_millis() as u64 - YEAR_MS + i as u64),
        handle: format!("user{i:07}"),
        name: format!("User {i}"),
        email: None,
        age: Some(20 + (i % 50) as i32),
        avatar_url: None,
        home_lat: Some(40.7),
        home_lng: Some(-73.9),
        city: Some("New York".into()),
        persona: None,
        activity_score: 0.5,
        social_score: 0.5,
        created_at: now,
        updated_at: now,
    }
}

fn venue(rng: &mut Rng, i: usize, now: domain::Timestamp) -> Venue {
    Venue {
        id: rng.id_at(now.timestamp_millis() as u64 - YEAR_MS + i as u64),
        name: format!("Venue {i}"),
        description: None,
        category: Category::ALL[i % Category::ALL.len()],
        cuisine: None,
        address: None,
        city: Some("New York".into()),
        lat: 40.6 + (i % 1000) as f64 * 0.0002,
        lng: -74.0 + (i / 1000) as f64 * 0.002,
        price_level: Some(2),
        rating: Some(4.0),
        capacity: 60,
        tags: vec!["cozy".into()],
        opening_hours: None,
        timezone: domain::venue::DEFAULT_TIMEZONE.into(),
        created_at: now,
        updated_at: now,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rows: usize = args.get(1).map(|s| s.replace('_', "").parse()).transpose()?.unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let url = args
        .get(2)
        .cloned()
        .filter(|u| u != "-")
        .unwrap_or_else(|| format!("sqlite://{}/luna.db", dir.path().display()));
    let bulk = args.get(3).is_none_or(|a| a != "plain");
    let store = store::connect(&url).await?;
    if store.counts().await?.users > 0 {
        store.reset().await?;
    }
    let now = chrono::Utc::now();
    let mut rng = Rng(42);
    let users: Vec<User> = (0..USERS).map(|i| user(&mut rng, i, now)).collect();
    let venues: Vec<Venue> = (0..VENUES).map(|i| venue(&mut rng, i, now)).collect();
    let (user_ids, venue_ids): (Vec<_>, Vec<_>) =
        (users.iter().map(|u| u.id).collect(), venues.iter().map(|v| v.id).collect());
    let started = Instant::now();
    store.insert_batch(Batch { users, venues, ..Batch::default() }).await?;
    println!("{USERS} users + {VENUES} venues in {:.2?}", started.elapsed());

    let per_user = rows.div_ceil(USERS);
    let started = Instant::now();
    if bulk {
        store.begin_bulk_load().await?;
    }
    let mut written = 0;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    for (u, user_id) in user_ids.iter().enumerate() {
        for _ in 0..per_user {
            if written + batch.len() == rows {
                break;
            }
            let at = now.timestamp_millis() as u64 - (rng.next() % YEAR_MS);
            batch.push(Interaction {
                id: rng.id_at(at),
                user_id: *user_id,
                venue_id: venue_ids[rng.below(VENUES)],
                interaction_type: InteractionType::ALL[rng.below(InteractionType::ALL.len())],
                dwell_time_seconds: rng.below(600) as i32,
                time_of_day: TimeOfDay::ALL[u % 4],
                occurred_at: chrono::DateTime::from_timestamp_millis(at as i64).unwrap_or_default(),
            });
        }
        if batch.len() >= BATCH_ROWS || (u + 1 == USERS && !batch.is_empty()) || written + batch.len() == rows {
            let n = batch.len();
            let t = Instant::now();
            store.insert_batch(Batch { interactions: std::mem::take(&mut batch), ..Batch::default() }).await?;
            written += n;
            println!("  {written:>9} rows, this batch {:>8.0} rows/s", n as f64 / t.elapsed().as_secs_f64());
            if written == rows {
                break;
            }
        }
    }
    let loaded = started.elapsed().as_secs_f64();
    if bulk {
        let t = Instant::now();
        store.finish_bulk_load().await?;
        println!("indexes rebuilt in {:.2?}", t.elapsed());
    }
    let secs = started.elapsed().as_secs_f64();
    let backend = store.backend().as_str();
    println!(
        "{written} interactions loaded in {loaded:.2} s, {secs:.2} s with indexes: {:.0} rows/s ({backend})",
        written as f64 / secs
    );
    Ok(())
}
