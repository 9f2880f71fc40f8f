//! User-venue interactions: row struct, conversion, recording and listing.

use chrono::SubsecRound;
use domain::{DomainEvent, Interaction, InteractionType, NewInteraction, Page, PageRequest, TimeOfDay, UserId};
use uuid::Uuid;

use super::social::{InterestRow, interest_columns};
use super::{fetch_one, push_page, record, require};
use crate::sql::{Arg, Conn, Sql, SqlBuilder, now};
use crate::{RecordedInteraction, StoreError, StoreResult};

/// The columns of [`InteractionRow`], in order.
macro_rules! interaction_columns {
    () => {
        "id, user_id, venue_id, interaction_type, dwell_time_seconds, time_of_day, occurred_at"
    };
}
pub(crate) use interaction_columns;

/// One row of `interactions`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct InteractionRow {
    id: Uuid,
    user_id: Uuid,
    venue_id: Uuid,
    interaction_type: String,
    dwell_time_seconds: i32,
    time_of_day: String,
    occurred_at: domain::Timestamp,
}

impl InteractionRow {
    pub(crate) fn into_domain(self) -> StoreResult<Interaction> {
        let t = &self.interaction_type;
        let interaction_type = InteractionType::parse(t).ok_or_else(|| StoreError::corrupt("interaction_type", t))?;
        let d = &self.time_of_day;
        let time_of_day = TimeOfDay::parse(d).ok_or_else(|| StoreError::corrupt("time_of_day", d))?;
        Ok(Interaction {
            id: self.id,
            user_id: self.user_id,
            venue_id: self.venue_id,
            interaction_type,
            dwell_time_seconds: self.dwell_time_seconds,
            time_of_day,
            occurred_at: self.occurred_at,
        })
    }
}

/// The binds of one `interactions` row, in [`interaction_columns!`] order.
pub(crate) fn interaction_args(i: &Interaction) -> [Arg; 7] {
    [
        i.id.into(),
        i.user_id.into(),
        i.venue_id.into(),
        i.interaction_type.as_str().into(),
        i.dwell_time_seconds.into(),
        i.time_of_day.as_str().into(),
        i.occurred_at.into(),
    ]
}

pub(crate) async fn record_interaction<C: Conn>(c: &mut C, new: NewInteraction) -> StoreResult<RecordedInteraction> {
    require(c, "users", "user", new.user_id).await?;
    super::venues::require_venue(c, new.venue_id, C::FOR_KEY_SHARE).await?;
    let mut interaction = new.into_interaction();
    interaction.occurred_at = interaction.occurred_at.trunc_subsecs(6);
    let mut sql = Sql::new(concat!(
        "INSERT INTO interactions (",
        interaction_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
        interaction_columns!()
    ));
    sql.args.extend(interaction_args(&interaction));
    let interaction = fetch_one::<_, InteractionRow>(c, sql).await?.into_domain()?;
    record(c, &DomainEvent::InteractionRecorded(interaction.clone())).await?;
    // An `interest` logged as an interaction (the second seed's way) says the same as expressing
    // interest (the first seed's): the user shows among those who want to go. A time they gave
    // that way is kept.
    let mut interest = None;
    if interaction.interaction_type == InteractionType::Interest {
        let sql = Sql::new(concat!(
            "INSERT INTO venue_interests (user_id, venue_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, venue_id) DO NOTHING RETURNING ",
            interest_columns!()
        ));
        let sql = sql.bind(interaction.user_id).bind(interaction.venue_id).bind(now());
        if let Some(row) = c.fetch_optional::<InterestRow>(sql).await? {
            let added = row.into_domain()?;
            record(c, &DomainEvent::InterestExpressed(added.clone())).await?;
            interest = Some(added);
        }
    }
    Ok(RecordedInteraction { interaction, interest })
}

/// A user's interactions in id (= time) order; `NotFound` for an unknown user.
pub(crate) async fn list_user_interactions<C: Conn>(
    c: &mut C,
    user_id: UserId,
    page: PageRequest,
) -> StoreResult<Page<Interaction>> {
    let mut b = SqlBuilder::new(concat!("SELECT ", interaction_columns!(), " FROM interactions"));
    b.and().push("user_id = ").bind(user_id);
    push_page(&mut b, "id", page);
    let rows: Vec<InteractionRow> = c.fetch_all(b.finish()).await?;
    if rows.is_empty() {
        require(c, "users", "user", user_id).await?;
    }
    let items = rows.into_iter().map(InteractionRow::into_domain).collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |i| i.id))
}
