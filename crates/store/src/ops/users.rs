//! Users and their preferences: row structs, conversions and use cases.

use domain::{
    Booking, DomainEvent, NewUser, Page, PageRequest, ParticipantStatus, Persona, PlanStatus, Timestamp, User, UserId,
    UserPatch, UserPreferences,
};
use sqlx::types::Json;
use uuid::Uuid;

use super::{fetch_one, push_page, record, require};
use crate::sql::{Arg, Conn, Sql, SqlBuilder, escape_like, now};
use crate::{StoreError, StoreResult, UserQuery, Written};

/// The columns of [`UserRow`], in order (a macro so it can be `concat!`ed into static SQL).
macro_rules! user_columns {
    () => {
        "id, handle, name, email, age, avatar_url, home_lat, home_lng, city, persona, activity_score, social_score, \
         created_at, updated_at"
    };
}
pub(crate) use user_columns;

/// One row of `users`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    id: Uuid,
    handle: String,
    name: String,
    email: Option<String>,
    age: Option<i32>,
    avatar_url: Option<String>,
    home_lat: Option<f64>,
    home_lng: Option<f64>,
    city: Option<String>,
    persona: Option<String>,
    activity_score: f64,
    social_score: f64,
    created_at: domain::Timestamp,
    updated_at: domain::Timestamp,
}

impl UserRow {
    pub(crate) fn into_domain(self) -> StoreResult<User> {
        let persona = match self.persona {
            Some(p) => Some(Persona::parse(&p).ok_or_else(|| StoreError::corrupt("persona", &p))?),
            None => None,
        };
        Ok(User {
            id: self.id,
            handle: self.handle,
            name: self.name,
            email: self.email,
            age: self.age,
            avatar_url: self.avatar_url,
            home_lat: self.home_lat,
            home_lng: self.home_lng,
            city: self.city,
            persona,
            activity_score: self.activity_score,
            social_score: self.social_score,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// One row of `user_preferences` (all optional, so it also reads a `LEFT JOIN`).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PreferencesRow {
    cuisines: Option<Json<Vec<String>>>,
    price_min: Option<i16>,
    price_max: Option<i16>,
    ambiance: Option<Json<Vec<String>>>,
    dietary: Option<Json<Vec<String>>>,
    preferred_group_size: Option<i16>,
    openness: Option<f64>,
}

impl PreferencesRow {
    /// The preferences, or `None` when the row was absent (every column null).
    pub(crate) fn into_domain(self) -> Option<UserPreferences> {
        Some(UserPreferences {
            cuisines: self.cuisines?.0,
            price_min: self.price_min?,
            price_max: self.price_max?,
            ambiance: self.ambiance?.0,
            dietary: self.dietary?.0,
            preferred_group_size: self.preferred_group_size?,
            openness: self.openness?,
        })
    }
}

/// The binds of one `users` row, in [`user_columns!`] order.
pub(crate) fn user_args(u: &User) -> [Arg; 14] {
    [
        u.id.into(),
        u.handle.as_str().into(),
        u.name.as_str().into(),
        u.email.as_deref().into(),
        u.age.into(),
        u.avatar_url.as_deref().into(),
        u.home_lat.into(),
        u.home_lng.into(),
        u.city.as_deref().into(),
        u.persona.map(Persona::as_str).into(),
        u.activity_score.into(),
        u.social_score.into(),
        u.created_at.into(),
        u.updated_at.into(),
    ]
}

/// The binds of one `user_preferences` row: user_id, cuisines, price_min, price_max, ambiance,
/// dietary, preferred_group_size, openness, updated_at.
pub(crate) fn preferences_args(user_id: UserId, p: &UserPreferences) -> StoreResult<[Arg; 9]> {
    Ok([
        user_id.into(),
        Arg::json(&p.cuisines)?,
        p.price_min.into(),
        p.price_max.into(),
        Arg::json(&p.ambiance)?,
        Arg::json(&p.dietary)?,
        p.preferred_group_size.into(),
        p.openness.into(),
        now().into(),
    ])
}

pub(crate) async fn create_user<C: Conn>(c: &mut C, new: NewUser) -> StoreResult<User> {
    let at = now();
    let user = User {
        id: new.id,
        handle: new.handle,
        name: new.name,
        email: new.email,
        age: new.age,
        avatar_url: new.avatar_url,
        home_lat: new.home_lat,
        home_lng: new.home_lng,
        city: new.city,
        persona: new.persona,
        activity_score: new.activity_score,
        social_score: new.social_score,
        created_at: at,
        updated_at: at,
    };
    // Named first on both backends when the email is taken too (each database checks its
    // unique indexes in its own order); the index still settles a race.
    let taken: Option<(i32,)> =
        c.fetch_optional(Sql::new("SELECT 1 FROM users WHERE handle = $1").bind(user.handle.as_str())).await?;
    if taken.is_some() {
        return Err(StoreError::conflict("handle is already taken", Some("handle")));
    }
    let mut sql = Sql::new(concat!(
        "INSERT INTO users (",
        user_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ",
        user_columns!()
    ));
    sql.args.extend(user_args(&user));
    let user = fetch_one::<_, UserRow>(c, sql).await?.into_domain()?;
    if let Some(hash) = new.password_hash.as_deref() {
        super::auth::set_password(c, user.id, hash).await?;
    }
    record(c, &DomainEvent::UserCreated(user.clone())).await?;
    if let Some(prefs) = new.preferences {
        let preferences = upsert_preferences(c, user.id, prefs).await?;
        record(c, &DomainEvent::PreferencesUpdated { user_id: user.id, preferences }).await?;
    }
    Ok(user)
}

pub(crate) async fn get_user<C: Conn>(c: &mut C, id: UserId) -> StoreResult<User> {
    let sql = Sql::new(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1")).bind(id);
    let row: Option<UserRow> = c.fetch_optional(sql).await?;
    row.ok_or_else(|| StoreError::not_found("user", id))?.into_domain()
}

/// Of `ids`, the users that exist, in the order asked, each once (a repeated id counts at its
/// first place); an id of no user (never one, or deleted) is left out. One statement per
/// thousand distinct ids, so any number stays within every backend's limit of bound parameters.
pub(crate) async fn users_by_ids<C: Conn>(c: &mut C, ids: &[UserId]) -> StoreResult<Vec<User>> {
    let mut asked: Vec<UserId> = Vec::with_capacity(ids.len());
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    asked.extend(ids.iter().copied().filter(|id| seen.insert(*id)));
    let mut found: std::collections::HashMap<UserId, User> = std::collections::HashMap::with_capacity(asked.len());
    for chunk in asked.chunks(1000) {
        let mut b = SqlBuilder::new(concat!("SELECT ", user_columns!(), " FROM users WHERE id IN ("));
        for (i, id) in chunk.iter().enumerate() {
            b.push(if i > 0 { ", " } else { "" }).bind(*id);
        }
        b.push(")");
        let rows: Vec<UserRow> = c.fetch_all(b.finish()).await?;
        for row in rows {
            let user = row.into_domain()?;
            found.insert(user.id, user);
        }
    }
    Ok(asked.iter().filter_map(|id| found.remove(id)).collect())
}

pub(crate) async fn get_user_by_handle<C: Conn>(c: &mut C, handle: &str) -> StoreResult<User> {
    let handle = handle.trim().to_lowercase();
    let sql = Sql::new(concat!("SELECT ", user_columns!(), " FROM users WHERE handle = $1")).bind(handle.as_str());
    let row: Option<UserRow> = c.fetch_optional(sql).await?;
    row.ok_or_else(|| StoreError::not_found("user", handle))?.into_domain()
}

pub(crate) async fn list_users<C: Conn>(c: &mut C, query: &UserQuery, page: PageRequest) -> StoreResult<Page<User>> {
    let mut b = SqlBuilder::new(concat!("SELECT ", user_columns!(), " FROM users"));
    if let Some(prefix) = query.handle_prefix.as_deref() {
        b.and().push("handle LIKE ").bind(format!("{}%", escape_like(&prefix.trim().to_lowercase())));
        b.push(" ESCAPE '\\'");
    }
    if let Some(persona) = query.persona {
        b.and().push("persona = ").bind(persona.as_str());
    }
    push_page(&mut b, "id", page);
    let rows: Vec<UserRow> = c.fetch_all(b.finish()).await?;
    let users = rows.into_iter().map(UserRow::into_domain).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(users, page.limit, |u| u.id))
}

pub(crate) async fn update_user<C: Conn>(c: &mut C, id: UserId, patch: UserPatch) -> StoreResult<Written<User>> {
    let mut b = SqlBuilder::new("UPDATE users SET updated_at = ");
    b.bind(now());
    fn set(b: &mut SqlBuilder, column: &str, value: Arg) {
        b.push(", ").push(column).push(" = ").bind(value);
    }
    if let Some(v) = patch.handle {
        set(&mut b, "handle", v.into());
    }
    if let Some(v) = patch.name {
        set(&mut b, "name", v.into());
    }
    if let Some(v) = patch.email {
        set(&mut b, "email", v.into());
    }
    if let Some(v) = patch.age {
        set(&mut b, "age", v.into());
    }
    if let Some(v) = patch.avatar_url {
        set(&mut b, "avatar_url", v.into());
    }
    if let Some(home) = patch.home {
        set(&mut b, "home_lat", home.map(|h| h.0).into());
        set(&mut b, "home_lng", home.map(|h| h.1).into());
    }
    if let Some(v) = patch.city {
        set(&mut b, "city", v.into());
    }
    if let Some(v) = patch.persona {
        set(&mut b, "persona", v.map(Persona::as_str).into());
    }
    if let Some(v) = patch.activity_score {
        set(&mut b, "activity_score", v.into());
    }
    if let Some(v) = patch.social_score {
        set(&mut b, "social_score", v.into());
    }
    b.push(" WHERE id = ").bind(id).push(concat!(" RETURNING ", user_columns!()));
    let row: Option<UserRow> = c.fetch_optional(b.finish()).await?;
    let user = row.ok_or_else(|| StoreError::not_found("user", id))?.into_domain()?;
    let event_id = record(c, &DomainEvent::UserUpdated(user.clone())).await?;
    Ok(Written { value: user, event_id })
}

/// Deletes a user and everything that hangs off them. What other people are waiting on is
/// ended first, each with its event: the user's upcoming bookings are cancelled and their holds
/// under way given back, the plans they are organising are cancelled, and their places in
/// others' plans being organised become declines. Returns the bookings cancelled (the caller
/// gives back an outside provider's tables). `Conflict` while a confirmed booking of theirs is
/// under way (its seats are in use), or while a plan they accepted is held for an outside
/// provider (see `plans::answer`). Others' bookings that counted them keep their seats,
/// without them among their group members (not told). The plans they organised stay for the
/// people invited, with no organizer (`ON DELETE SET NULL`, migration 0012): cancelled if they
/// were being organised, otherwise as they were. So do the bookings they made, with no booker
/// (migration 0013), and those bookings' invitations, with no inviter: for their party, their
/// plan, the venue's history and the counts.
pub(crate) async fn delete_user<C: Conn>(c: &mut C, id: UserId, now: Timestamp) -> StoreResult<Vec<Booking>> {
    // The user's row is locked first: a booking or plan of theirs made meanwhile waits for the
    // deletion (its foreign key does) and then fails, instead of vanishing in the cascade untold.
    super::require_locked(c, "users", "user", id, C::FOR_UPDATE).await?;
    let holding = super::bookings::made_by(c, id).await?;
    // A table in use stays: deleting it with the user would free seats people are sitting in.
    if let Some(b) = holding
        .iter()
        .find(|b| b.status == domain::BookingStatus::Confirmed && b.booking_time <= now && b.ends_at() > now)
    {
        let message = format!(
            "the user holds booking {} under way until {}; delete them once it ends",
            b.id,
            b.ends_at().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        return Err(StoreError::conflict(message, None));
    }
    let cancelled = super::bookings::end_for_deletion(c, holding, now, "the user was deleted").await?;
    let draft = PlanStatus::Draft.as_str();
    // Locked, as the bookings: an organiser confirming meanwhile is waited for, and the plan
    // then read as it became.
    let mut organising = SqlBuilder::new("SELECT id FROM plans WHERE organizer_id = ");
    organising.bind(id).push(" AND status = ").bind(draft).push(" ORDER BY id").push(C::FOR_UPDATE);
    let organising: Vec<(Uuid,)> = c.fetch_all(organising.finish()).await?;
    for (plan_id,) in organising {
        super::plans::move_plan(c, plan_id, PlanStatus::Draft, PlanStatus::Cancelled).await?;
    }
    let mut invited = SqlBuilder::new("SELECT p.id FROM plans p JOIN plan_participants pp ON pp.plan_id = p.id");
    invited.and().push("p.organizer_id <> pp.user_id AND pp.user_id = ").bind(id).push(" AND p.status = ").bind(draft);
    invited.push(" AND pp.status <> ").bind(ParticipantStatus::Declined.as_str());
    invited.push(" ORDER BY p.id").push(C::FOR_UPDATE);
    let invited: Vec<(Uuid,)> = c.fetch_all(invited.finish()).await?;
    for (plan_id,) in invited {
        super::plans::answer(c, plan_id, id, false).await?;
    }
    // After the plans' locks: a plan's booking that listed them and committed meanwhile is seen.
    super::bookings::forget_member(c, id).await?;
    c.execute(Sql::new("DELETE FROM users WHERE id = $1").bind(id)).await?;
    record(c, &DomainEvent::UserDeleted { user_id: id }).await?;
    Ok(cancelled)
}

pub(crate) async fn get_preferences<C: Conn>(c: &mut C, id: UserId) -> StoreResult<UserPreferences> {
    require(c, "users", "user", id).await?;
    let sql = Sql::new(
        "SELECT cuisines, price_min, price_max, ambiance, dietary, preferred_group_size, openness \
         FROM user_preferences WHERE user_id = $1",
    )
    .bind(id);
    let row: Option<PreferencesRow> = c.fetch_optional(sql).await?;
    Ok(row.and_then(PreferencesRow::into_domain).unwrap_or_default())
}

pub(crate) async fn put_preferences<C: Conn>(
    c: &mut C,
    id: UserId,
    prefs: UserPreferences,
) -> StoreResult<Written<UserPreferences>> {
    require(c, "users", "user", id).await?;
    let preferences = upsert_preferences(c, id, prefs).await?;
    let event_id =
        record(c, &DomainEvent::PreferencesUpdated { user_id: id, preferences: preferences.clone() }).await?;
    Ok(Written { value: preferences, event_id })
}

async fn upsert_preferences<C: Conn>(c: &mut C, id: UserId, prefs: UserPreferences) -> StoreResult<UserPreferences> {
    let mut sql = Sql::new(
        "INSERT INTO user_preferences (user_id, cuisines, price_min, price_max, ambiance, dietary, \
         preferred_group_size, openness, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (user_id) DO UPDATE SET cuisines = excluded.cuisines, price_min = excluded.price_min, \
         price_max = excluded.price_max, ambiance = excluded.ambiance, dietary = excluded.dietary, \
         preferred_group_size = excluded.preferred_group_size, openness = excluded.openness, \
         updated_at = excluded.updated_at",
    );
    sql.args.extend(preferences_args(id, &prefs)?);
    c.execute(sql).await?;
    Ok(prefs)
}

/// One row of `user_locations`.
#[derive(Debug, sqlx::FromRow)]
struct LocationRow {
    user_id: Uuid,
    lat: f64,
    lng: f64,
    updated_at: domain::Timestamp,
}

impl LocationRow {
    fn into_location(self) -> crate::LiveLocation {
        crate::LiveLocation { user_id: self.user_id, lat: self.lat, lng: self.lng, at: self.updated_at }
    }
}

/// Keeps a user's live location unless a later one is kept already (two servers may store a
/// user's updates out of order).
pub(crate) async fn set_live_location<C: Conn>(c: &mut C, l: &crate::LiveLocation) -> StoreResult<()> {
    require(c, "users", "user", l.user_id).await?;
    let sql = Sql::new(
        "INSERT INTO user_locations (user_id, lat, lng, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id) DO UPDATE SET lat = excluded.lat, lng = excluded.lng, updated_at = excluded.updated_at \
         WHERE user_locations.updated_at <= excluded.updated_at",
    )
    .bind(l.user_id)
    .bind(l.lat)
    .bind(l.lng)
    .bind(l.at);
    c.execute(sql).await?;
    Ok(())
}

pub(crate) async fn get_live_location<C: Conn>(c: &mut C, user_id: UserId) -> StoreResult<Option<crate::LiveLocation>> {
    let sql = Sql::new("SELECT user_id, lat, lng, updated_at FROM user_locations WHERE user_id = $1").bind(user_id);
    let row: Option<LocationRow> = c.fetch_optional(sql).await?;
    Ok(row.map(LocationRow::into_location))
}

pub(crate) async fn scan_live_locations<C: Conn>(
    c: &mut C,
    since: domain::Timestamp,
    after: Option<UserId>,
    limit: u32,
) -> StoreResult<Vec<crate::LiveLocation>> {
    let mut b = SqlBuilder::new("SELECT user_id, lat, lng, updated_at FROM user_locations");
    b.and().push("updated_at >= ").bind(since);
    if let Some(after) = after {
        b.and().push("user_id > ").bind(after);
    }
    b.push(" ORDER BY user_id LIMIT ").bind(i64::from(limit));
    let rows: Vec<LocationRow> = c.fetch_all(b.finish()).await?;
    Ok(rows.into_iter().map(LocationRow::into_location).collect())
}
