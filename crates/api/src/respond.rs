//! Success responses with headers: [`Created`] (201 and `Location`), [`Paginated`] (a plain
//! JSON array, as the seed documents show lists, with the next page in a `Link` header that
//! keeps the request's other query parameters) and [`Replayable`] (an answer that may be the
//! replay of the first request with the same `Idempotency-Key`, then marked
//! `Idempotent-Replayed: true`); and [`page_request`], the paging parameters of a list.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use domain::{Id, Page, PageRequest};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::AppJson;

/// A 201 with `Location: <collection path>/<id>`, relative to the path the request came in on
/// (so `POST /users/` answers `/users/<id>` and `POST /api/v1/users` `/api/v1/users/<id>`).
pub struct Created<T> {
    location: String,
    body: T,
}

impl<T> Created<T> {
    pub fn under(collection: &Uri, id: Id, body: T) -> Self {
        Self { location: format!("{}/{id}", collection.path().trim_end_matches('/')), body }
    }

    /// A 201 with this `Location`.
    pub fn at(location: String, body: T) -> Self {
        Self { location, body }
    }
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        let mut res = (StatusCode::CREATED, AppJson(self.body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&self.location) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        res
    }
}

/// One page of a list: the items as a JSON array, plus `Link: <...>; rel="next"` when more follow.
pub struct Paginated<T> {
    items: Vec<T>,
    next_link: Option<String>,
}

impl<T> Paginated<T> {
    pub fn new(page: Page<T>, uri: &Uri, limit: u32) -> Self {
        let next_link = page.next.map(|after| next_link(uri, after, limit));
        Self { items: page.items, next_link }
    }
}

/// The page a list request asks for: `limit` and `after` as [`PageRequest::parse`] reads them,
/// and the first seed's offset `skip`, which its clients send. Lists page by id (keyset), so
/// `skip=0` (the first page) is taken and any other offset is a 422 saying how to page, rather
/// than being ignored (which would answer the first page again and again).
pub fn page_request(limit: Option<i64>, after: Option<Id>, skip: Option<u64>) -> ApiResult<PageRequest> {
    if skip.is_some_and(|s| s > 0) {
        return Err(ApiError::field(
            "skip",
            "offset paging is not supported: leave out skip (or give 0) for the first page, then follow \
             the Link header's rel=\"next\" address, which continues with after=<last id>",
        ));
    }
    Ok(PageRequest::parse(limit, after)?)
}

/// `<path?after=ID&limit=N&other=params>; rel="next"`, keeping the other parameters verbatim.
fn next_link(uri: &Uri, after: Id, limit: u32) -> String {
    let kept: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            !pair.is_empty() && key != "after" && key != "limit"
        })
        .collect();
    let mut target = format!("{}?after={after}&limit={limit}", uri.path());
    for pair in kept {
        target.push('&');
        target.push_str(pair);
    }
    format!("<{target}>; rel=\"next\"")
}

impl<T: Serialize> IntoResponse for Paginated<T> {
    fn into_response(self) -> Response {
        let mut res = AppJson(self.items).into_response();
        if let Some(v) = self.next_link.and_then(|l| HeaderValue::from_str(&l).ok()) {
            res.headers_mut().insert(header::LINK, v);
        }
        res
    }
}

/// The header marking a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";

/// An answer, marked `Idempotent-Replayed: true` when it replays an earlier request's.
pub struct Replayable<R> {
    pub response: R,
    pub replayed: bool,
}

impl<R> Replayable<R> {
    /// Builds the answer from a service result with `make`.
    pub fn of<T>(answer: store::Idempotent<T>, make: impl FnOnce(T) -> R) -> Self {
        let replayed = answer.is_replayed();
        Self { response: make(answer.into_inner()), replayed }
    }
}

impl<R: IntoResponse> IntoResponse for Replayable<R> {
    fn into_response(self) -> Response {
        let mut res = self.response.into_response();
        if self.replayed {
            res.headers_mut().insert(REPLAYED, HeaderValue::from_static("true"));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_link_keeps_other_parameters_and_replaces_the_cursor() {
        let uri: Uri = "/venues/?q=ramen&after=x&category=bar&limit=2".parse().unwrap();
        let id = uuid::Uuid::nil();
        assert_eq!(next_link(&uri, id, 2), format!("</venues/?after={id}&limit=2&q=ramen&category=bar>; rel=\"next\""));
    }

    #[test]
    fn created_points_below_the_collection_path() {
        let uri: Uri = "/api/v1/users/".parse().unwrap();
        let id = uuid::Uuid::nil();
        assert_eq!(Created::under(&uri, id, ()).location, format!("/api/v1/users/{id}"));
    }
}
