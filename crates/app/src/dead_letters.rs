//! The outbox's dead letters for operators (the admin API and `luna outbox`): the rows the relay
//! set aside because it could not publish them at all (their payload not JSON, their channel
//! unknown), listed as stored, and sent back to the relay once the cause is gone, as when a row
//! of a channel only a newer version knows was set aside by an older server during a rolling
//! upgrade and every server now runs the newer one. A row sent back that still cannot be
//! published is set aside again at the relay's next pass, with its reason.

use domain::{Id, Page, PageRequest, ValidationError};
use store::DeadLetter;

use crate::{App, AppResult};

/// The most ids one redrive may name; more are sent back with [`Redrive::All`].
pub const MAX_REDRIVE_IDS: usize = 1000;

/// Which dead letters to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redrive {
    All,
    /// These (1 to [`MAX_REDRIVE_IDS`]); ids of rows not set aside are passed over.
    Ids(Vec<Id>),
}

impl Redrive {
    /// Exactly one of a list of ids or `all: true`.
    pub fn parse(ids: Option<Vec<Id>>, all: Option<bool>) -> Result<Self, ValidationError> {
        match (ids, all.unwrap_or(false)) {
            (Some(_), true) => Err(ValidationError::field("all", "give either `ids` or `all`, not both")),
            (None, true) => Ok(Self::All),
            (None, false) => Err(ValidationError::field("ids", "give the ids to send back, or `\"all\": true`")),
            (Some(ids), false) if ids.is_empty() || ids.len() > MAX_REDRIVE_IDS => {
                Err(ValidationError::field("ids", format!("must hold 1 to {MAX_REDRIVE_IDS} ids (or send `all`)")))
            }
            (Some(ids), false) => Ok(Self::Ids(ids)),
        }
    }
}

impl App {
    /// The dead letters in id order, a page at a time.
    #[tracing::instrument(skip_all, fields(limit = page.limit), err(level = "debug"))]
    pub async fn dead_letters(&self, page: PageRequest) -> AppResult<Page<DeadLetter>> {
        Ok(self.store.dead_letters(page).await?)
    }

    /// Sends dead letters back to the relay (pending again, tried in id order) and wakes it;
    /// how many were sent back.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn redrive_dead_letters(&self, which: Redrive) -> AppResult<u64> {
        let ids = match &which {
            Redrive::All => None,
            Redrive::Ids(ids) => Some(ids.as_slice()),
        };
        let redriven = self.store.redrive_dead_letters(ids).await?;
        tracing::info!(redriven, all = matches!(which, Redrive::All), "outbox: dead letters sent back to the relay");
        if redriven > 0 {
            self.wrote();
        }
        Ok(redriven)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redrive_names_either_ids_or_all() {
        let id = domain::new_id();
        assert_eq!(Redrive::parse(None, Some(true)), Ok(Redrive::All));
        assert_eq!(Redrive::parse(Some(vec![id]), None), Ok(Redrive::Ids(vec![id])));
        assert_eq!(Redrive::parse(Some(vec![id]), Some(false)), Ok(Redrive::Ids(vec![id])));
        let field = |r: Result<Redrive, ValidationError>| r.unwrap_err().0[0].field.clone();
        assert_eq!(field(Redrive::parse(Some(vec![id]), Some(true))), "all");
        assert_eq!(field(Redrive::parse(None, None)), "ids");
        assert_eq!(field(Redrive::parse(None, Some(false))), "ids");
        assert_eq!(field(Redrive::parse(Some(vec![]), None)), "ids");
        assert_eq!(field(Redrive::parse(Some(vec![id; MAX_REDRIVE_IDS + 1]), None)), "ids");
    }
}
