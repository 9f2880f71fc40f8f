//! Keyset pagination: lists are ordered by id (UUIDv7, so by creation time) and a page
//! continues after the last id of the previous one.

use serde::Deserialize;

use uuid::Uuid;

use crate::{Id, ValidationError};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// A validated page request: at most `limit` items with ids greater than `after`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Uuid>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, after: None }
    }
}

/// The raw query parameters of a page (`?limit=&after=`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 500 (default 50).
    #[param(value_type = Option<crate::limits::PageLimitRange>, inline)]
    pub limit: Option<i64>,
    /// Continue after this id (from the `Link: <...>; rel="next"` header).
    pub after: Option<Uuid>,
}

impl PageRequest {
    pub fn parse(limit: Option<i64>, after: Option<Id>) -> Result<Self, ValidationError> {
        let limit = limit.unwrap_or(i64::from(DEFAULT_LIMIT));
        let range = crate::limits::PAGE_LIMIT;
        if !range.contains(limit) {
            return Err(ValidationError::field("limit", range.message()));
        }
        Ok(Self { limit: limit as u32, after })
    }
}

/// One page of results; `next` is the cursor for the following page when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Uuid>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in id order.
    pub fn from_rows(mut rows: Vec<T>, limit: u32, id: impl Fn(&T) -> Id) -> Self {
        let next = if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            rows.last().map(&id)
        } else {
            None
        };
        Self { items: rows, next }
    }
}
