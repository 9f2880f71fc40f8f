//! The social graph: edges, friend requests, friendships, and interest in venues.

use chrono::SubsecRound;
use domain::{
    DomainEvent, FriendRequest, FriendRequestStatus, Id, InterestWish, Page, PageRequest, RelationshipType, SocialEdge,
    TimeOfDay, Timestamp, UserId, VenueId, VenueInterest,
};
use uuid::Uuid;

use super::users::UserRow;
use super::{fetch_one, record, require};
use crate::sql::{Arg, Conn, Sql, SqlBuilder, now};
use crate::{Friend, RequestDirection, StoreError, StoreResult, Written};

/// The strength of a friendship made by an accepted request.
const NEW_FRIEND_STRENGTH: f64 = 0.5;

/// One row of `social_edges`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EdgeRow {
    user_id: Uuid,
    other_user_id: Uuid,
    relationship_type: String,
    strength: f64,
    created_at: Timestamp,
}

fn relationship(s: &str) -> StoreResult<RelationshipType> {
    RelationshipType::parse(s).ok_or_else(|| StoreError::corrupt("relationship_type", s))
}

impl EdgeRow {
    pub(crate) fn into_domain(self) -> StoreResult<SocialEdge> {
        Ok(SocialEdge {
            user_id: self.user_id,
            other_user_id: self.other_user_id,
            relationship_type: relationship(&self.relationship_type)?,
            strength: self.strength,
            created_at: self.created_at,
        })
    }
}

/// The binds of one `social_edges` row: user_id, other_user_id, relationship_type, strength,
/// created_at.
pub(crate) fn edge_args(e: &SocialEdge) -> [Arg; 5] {
    [
        e.user_id.into(),
        e.other_user_id.into(),
        e.relationship_type.as_str().into(),
        e.strength.into(),
        e.created_at.into(),
    ]
}

/// The columns of [`FriendRequestRow`], in order.
macro_rules! request_columns {
    () => {
        "id, from_user_id, to_user_id, status, created_at, responded_at"
    };
}

/// One row of `friend_requests`.
#[derive(Debug, sqlx::FromRow)]
struct FriendRequestRow {
    id: Uuid,
    from_user_id: Uuid,
    to_user_id: Uuid,
    status: String,
    created_at: Timestamp,
    responded_at: Option<Timestamp>,
}

impl FriendRequestRow {
    fn into_domain(self) -> StoreResult<FriendRequest> {
        let status =
            FriendRequestStatus::parse(&self.status).ok_or_else(|| StoreError::corrupt("status", &self.status))?;
        Ok(FriendRequest {
            id: self.id,
            from_user_id: self.from_user_id,
            to_user_id: self.to_user_id,
            status,
            created_at: self.created_at,
            responded_at: self.responded_at,
        })
    }
}

/// One friend: the other user's row joined with the edge.
#[derive(Debug, sqlx::FromRow)]
struct FriendRow {
    #[sqlx(flatten)]
    user: UserRow,
    relationship_type: String,
    strength: f64,
    since: Timestamp,
}

/// The columns of [`InterestRow`], in order (also those of [`interest_args`]).
macro_rules! interest_columns {
    () => {
        "user_id, venue_id, preferred_time, preferred_time_slot, open_to_invites, created_at"
    };
}
pub(crate) use interest_columns;

/// One row of `venue_interests`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct InterestRow {
    user_id: Uuid,
    venue_id: Uuid,
    preferred_time: Option<Timestamp>,
    preferred_time_slot: Option<String>,
    open_to_invites: bool,
    created_at: Timestamp,
}

impl InterestRow {
    pub(crate) fn into_domain(self) -> StoreResult<VenueInterest> {
        let slot = match self.preferred_time_slot {
            Some(s) => Some(TimeOfDay::parse(&s).ok_or_else(|| StoreError::corrupt("preferred_time_slot", &s))?),
            None => None,
        };
        Ok(VenueInterest {
            user_id: self.user_id,
            venue_id: self.venue_id,
            preferred_time: self.preferred_time,
            preferred_time_slot: slot,
            open_to_invites: self.open_to_invites,
            created_at: self.created_at,
        })
    }
}

/// The binds of one `venue_interests` row, in [`interest_columns`] order.
pub(crate) fn interest_args(i: &VenueInterest) -> [Arg; 6] {
    [
        i.user_id.into(),
        i.venue_id.into(),
        i.preferred_time.into(),
        i.preferred_time_slot.map(TimeOfDay::as_str).into(),
        i.open_to_invites.into(),
        i.created_at.into(),
    ]
}

pub(crate) async fn send_friend_request<C: Conn>(c: &mut C, from: UserId, to: UserId) -> StoreResult<FriendRequest> {
    if from == to {
        return Err(StoreError::invalid("to_user_id", "cannot send a friend request to yourself"));
    }
    require(c, "users", "user", from).await?;
    require(c, "users", "user", to).await?;
    let friends = Sql::new(
        "SELECT 1 FROM social_edges WHERE relationship_type = 'friend' \
         AND ((user_id = $1 AND other_user_id = $2) OR (user_id = $2 AND other_user_id = $1))",
    );
    let row: Option<(i32,)> = c.fetch_optional(friends.bind(from).bind(to)).await?;
    if row.is_some() {
        return Err(StoreError::conflict("these users are already friends", Some("to_user_id")));
    }
    let pending = Sql::new(
        "SELECT 1 FROM friend_requests WHERE status = 'pending' \
         AND ((from_user_id = $1 AND to_user_id = $2) OR (from_user_id = $2 AND to_user_id = $1))",
    );
    let row: Option<(i32,)> = c.fetch_optional(pending.bind(from).bind(to)).await?;
    let already_pending =
        || StoreError::conflict("a friend request between these users is pending", Some("to_user_id"));
    if row.is_some() {
        return Err(already_pending());
    }
    // A sender the other declined waits before asking them again (the latest decline counts).
    let declined = Sql::new(
        "SELECT responded_at FROM friend_requests WHERE from_user_id = $1 AND to_user_id = $2 \
         AND status = 'declined' ORDER BY responded_at DESC LIMIT 1",
    );
    let last: Option<(Timestamp,)> = c.fetch_optional(declined.bind(from).bind(to)).await?;
    let at = now();
    if let Some((last,)) = last {
        let again = last + chrono::Duration::days(domain::social::DECLINED_REQUEST_COOLDOWN_DAYS);
        if again > at {
            let message = format!(
                "this user declined your friend request on {}: you may ask them again from {} ({} days after a \
                 decline)",
                domain::time::written(&last),
                domain::time::written(&again),
                domain::social::DECLINED_REQUEST_COOLDOWN_DAYS
            );
            return Err(StoreError::conflict(message, Some("to_user_id")));
        }
    }
    let insert = Sql::new(concat!(
        "INSERT INTO friend_requests (",
        request_columns!(),
        ") VALUES ($1, $2, $3, 'pending', $4, NULL) RETURNING ",
        request_columns!()
    ));
    let sql = insert.bind(domain::new_id()).bind(from).bind(to).bind(at);
    // The unique index on pending pairs settles a race between two opposite requests.
    let row = fetch_one::<_, FriendRequestRow>(c, sql).await.map_err(|e| match e {
        StoreError::Conflict { .. } => already_pending(),
        other => other,
    })?;
    let request = row.into_domain()?;
    record(c, &DomainEvent::FriendRequested(request.clone())).await?;
    Ok(request)
}

pub(crate) async fn answer_friend_request<C: Conn>(
    c: &mut C,
    request_id: Id,
    to: UserId,
    accept: bool,
) -> StoreResult<Written<FriendRequest>> {
    let status = if accept { FriendRequestStatus::Accepted } else { FriendRequestStatus::Declined };
    let at = now();
    let update = Sql::new(concat!(
        "UPDATE friend_requests SET status = $1, responded_at = $2 \
         WHERE id = $3 AND to_user_id = $4 AND status = 'pending' RETURNING ",
        request_columns!()
    ));
    let sql = update.bind(status.as_str()).bind(at).bind(request_id).bind(to);
    let Some(row) = c.fetch_optional::<FriendRequestRow>(sql).await? else {
        let current = Sql::new("SELECT status FROM friend_requests WHERE id = $1 AND to_user_id = $2");
        let row: Option<(String,)> = c.fetch_optional(current.bind(request_id).bind(to)).await?;
        return Err(match row {
            Some((status,)) => StoreError::conflict(format!("this friend request is already {status}"), None),
            None => StoreError::not_found("friend_request", request_id),
        });
    };
    let request = row.into_domain()?;
    if accept {
        let edges = Sql::new(
            "INSERT INTO social_edges (user_id, other_user_id, relationship_type, strength, created_at) \
             VALUES ($1, $2, 'friend', $3, $4), ($2, $1, 'friend', $3, $4) \
             ON CONFLICT (user_id, other_user_id) DO UPDATE SET relationship_type = 'friend'",
        );
        c.execute(edges.bind(request.from_user_id).bind(request.to_user_id).bind(NEW_FRIEND_STRENGTH).bind(at)).await?;
    }
    let event_id = record(c, &DomainEvent::FriendRequestAnswered(request.clone())).await?;
    Ok(Written { value: request, event_id })
}

/// One page of the pending requests to (incoming) or from (outgoing) a user, or both merged
/// when `direction` is `None`, in id order (oldest first) after `page.after`. Each direction is
/// a keyset range of its index (`friend_requests_to_idx`, `friend_requests_from_idx`); both are
/// the two ranges' first `limit + 1` rows merged by id (a request is never both: no request is
/// to oneself).
pub(crate) async fn list_friend_requests<C: Conn>(
    c: &mut C,
    user_id: UserId,
    direction: Option<RequestDirection>,
    page: PageRequest,
) -> StoreResult<Page<FriendRequest>> {
    let fetch = i64::from(page.limit) + 1;
    let mut b = SqlBuilder::new("SELECT ");
    let me = b.param(user_id);
    let after = page.after.map(|a| b.param(a));
    let n = b.param(fetch);
    let after = after.map(|a| format!(" AND id > {a}")).unwrap_or_default();
    let range = |column: &str| {
        format!(
            "SELECT {} FROM friend_requests WHERE {column} = {me} AND status = 'pending'{after} ORDER BY id LIMIT {n}",
            request_columns!()
        )
    };
    b.push(request_columns!()).push(" FROM (");
    match direction {
        Some(RequestDirection::Incoming) => {
            b.push(&range("to_user_id")).push(") AS r");
        }
        Some(RequestDirection::Outgoing) => {
            b.push(&range("from_user_id")).push(") AS r");
        }
        None => {
            b.push(&range("to_user_id")).push(") AS i UNION ALL SELECT ").push(request_columns!());
            b.push(" FROM (").push(&range("from_user_id")).push(") AS o");
        }
    }
    b.push(" ORDER BY id LIMIT ").push(&n);
    let rows: Vec<FriendRequestRow> = c.fetch_all(b.finish()).await?;
    if rows.is_empty() {
        require(c, "users", "user", user_id).await?;
    }
    let requests = rows.into_iter().map(FriendRequestRow::into_domain).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(requests, page.limit, |r| r.id))
}

/// Pending requests in id order after `after`, at most `limit`.
pub(crate) async fn scan_pending_friend_requests<C: Conn>(
    c: &mut C,
    after: Option<Id>,
    limit: u32,
) -> StoreResult<Vec<FriendRequest>> {
    let mut b =
        SqlBuilder::new(concat!("SELECT ", request_columns!(), " FROM friend_requests WHERE status = 'pending'"));
    if let Some(after) = after {
        b.push(" AND id > ").bind(after);
    }
    b.push(" ORDER BY id LIMIT ").bind(i64::from(limit));
    let rows: Vec<FriendRequestRow> = c.fetch_all(b.finish()).await?;
    rows.into_iter().map(FriendRequestRow::into_domain).collect()
}

/// Of `others`, those tied to `user_id` as friends (a `friend` or `mutual` edge, either way),
/// in no order. `suggested` edges are not ties: the people behind them are strangers.
pub(crate) async fn connected<C: Conn>(c: &mut C, user_id: UserId, others: &[UserId]) -> StoreResult<Vec<UserId>> {
    if others.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = SqlBuilder::new("SELECT DISTINCT CASE WHEN user_id = ");
    let me = b.param(user_id);
    let list = |b: &mut SqlBuilder| {
        for (i, id) in others.iter().enumerate() {
            b.push(if i > 0 { ", " } else { "" }).bind(*id);
        }
    };
    b.push(&me)
        .push(" THEN other_user_id ELSE user_id END FROM social_edges WHERE relationship_type IN ('friend', 'mutual')");
    b.push(" AND ((user_id = ").push(&me).push(" AND other_user_id IN (");
    list(&mut b);
    b.push(")) OR (other_user_id = ").push(&me).push(" AND user_id IN (");
    list(&mut b);
    b.push(")))");
    let rows: Vec<(Uuid,)> = c.fetch_all(b.finish()).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The order connections are listed in: friends, then mutual connections, then suggested ones.
const TIE_RANK: &str = "(CASE e.relationship_type WHEN 'friend' THEN 0 WHEN 'mutual' THEN 1 ELSE 2 END)";

fn tie_rank(t: RelationshipType) -> i32 {
    match t {
        RelationshipType::Friend => 0,
        RelationshipType::Mutual => 1,
        RelationshipType::Suggested => 2,
    }
}

/// A user's connections in one order across pages: friends first, then mutual, then suggested
/// connections, each by strength (strongest first), then by id. The cursor is the last one's
/// id; its place in the order is read back from its edge.
pub(crate) async fn list_friends<C: Conn>(c: &mut C, user_id: UserId, page: PageRequest) -> StoreResult<Page<Friend>> {
    let mut b = SqlBuilder::new(
        "SELECT u.id, u.handle, u.name, u.email, u.age, u.avatar_url, u.home_lat, u.home_lng, u.city, u.persona, \
         u.activity_score, u.social_score, u.created_at, u.updated_at, \
         e.relationship_type, e.strength, e.created_at AS since \
         FROM social_edges e JOIN users u ON u.id = e.other_user_id",
    );
    b.and().push("e.user_id = ").bind(user_id);
    if let Some(after) = page.after {
        let sql =
            Sql::new("SELECT relationship_type, strength FROM social_edges WHERE user_id = $1 AND other_user_id = $2");
        let Some((kind, strength)): Option<(String, f64)> = c.fetch_optional(sql.bind(user_id).bind(after)).await?
        else {
            require(c, "users", "user", user_id).await?;
            return Err(StoreError::invalid(
                "after",
                "the connection this page continues from was removed: start again without after",
            ));
        };
        let rank = tie_rank(relationship(&kind)?);
        // After the cursor: a later rank, or the same rank and a weaker tie, or an equal one and a later id.
        b.and().push("(").push(TIE_RANK).push(" > ").bind(rank);
        b.push(" OR (").push(TIE_RANK).push(" = ").bind(rank).push(" AND (e.strength < ").bind(strength);
        b.push(" OR (e.strength = ").bind(strength).push(" AND e.other_user_id > ").bind(after).push("))))");
    }
    b.push(" ORDER BY ")
        .push(TIE_RANK)
        .push(", e.strength DESC, e.other_user_id LIMIT ")
        .bind(i64::from(page.limit) + 1);
    let rows: Vec<FriendRow> = c.fetch_all(b.finish()).await?;
    if rows.is_empty() {
        require(c, "users", "user", user_id).await?;
    }
    let friends = rows
        .into_iter()
        .map(|r| {
            Ok(Friend {
                user: r.user.into_domain()?,
                relationship_type: relationship(&r.relationship_type)?,
                strength: r.strength,
                since: r.since,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(friends, page.limit, |f| f.user.id))
}

pub(crate) async fn remove_friend<C: Conn>(c: &mut C, user_id: UserId, other: UserId) -> StoreResult<Written<()>> {
    let sql = Sql::new(
        "DELETE FROM social_edges \
         WHERE (user_id = $1 AND other_user_id = $2) OR (user_id = $2 AND other_user_id = $1)",
    );
    if c.execute(sql.bind(user_id).bind(other)).await? == 0 {
        return Err(StoreError::not_found("friendship", format!("of {user_id} and {other}")));
    }
    let event_id = record(c, &DomainEvent::FriendRemoved { user_id, other_user_id: other }).await?;
    Ok(Written { value: (), event_id })
}

pub(crate) async fn express_interest<C: Conn>(
    c: &mut C,
    user_id: UserId,
    venue_id: VenueId,
    wish: InterestWish,
) -> StoreResult<Written<VenueInterest>> {
    require(c, "users", "user", user_id).await?;
    super::venues::require_venue(c, venue_id, C::FOR_KEY_SHARE).await?;
    let sql = Sql::new(concat!(
        "INSERT INTO venue_interests (",
        interest_columns!(),
        ") VALUES ($1, $2, $3, $4, COALESCE($5, TRUE), $6) \
         ON CONFLICT (user_id, venue_id) DO UPDATE SET preferred_time = excluded.preferred_time, \
         preferred_time_slot = excluded.preferred_time_slot, \
         open_to_invites = COALESCE($5, venue_interests.open_to_invites) \
         RETURNING ",
        interest_columns!()
    ));
    let sql = sql
        .bind(user_id)
        .bind(venue_id)
        .bind(wish.preferred_time.map(|t| t.trunc_subsecs(6)))
        .bind(wish.preferred_time_slot.map(TimeOfDay::as_str))
        .bind(wish.open_to_invites)
        .bind(now());
    let interest = fetch_one::<_, InterestRow>(c, sql).await?.into_domain()?;
    let event_id = record(c, &DomainEvent::InterestExpressed(interest.clone())).await?;
    Ok(Written { value: interest, event_id })
}
