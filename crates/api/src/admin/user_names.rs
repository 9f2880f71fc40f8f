//! `GET /api/v1/admin/users/names?ids=...`: many users' handles and names in one request, for
//! the dashboard's live feed, whose events name users by id only. Admin only (`auth::rules`).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use app::App;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AppJson, AppQuery};

/// Most ids one request resolves.
pub const MAX_IDS: usize = 100;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(user_names))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserNamesQuery {
    /// User ids, comma-separated: 1 to 100 UUIDs (repeats count once).
    pub ids: String,
}

/// One user's public names.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserName {
    pub id: Uuid,
    pub handle: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserNames {
    /// The users found, in the order asked; an id of no user (never one, or deleted) is left out.
    pub users: Vec<UserName>,
}

/// The ids of `ids`, each once in the order given, or a 422 naming the field.
fn parse_ids(ids: &str) -> ApiResult<Vec<Uuid>> {
    let bad = |message: String| ApiError::Validation(vec![domain::FieldError { field: "ids".into(), message }]);
    let mut out: Vec<Uuid> = Vec::new();
    for part in ids.split(',') {
        let part = part.trim();
        let id = Uuid::parse_str(part).map_err(|_| {
            let shown: String = part.chars().take(40).collect();
            bad(format!("`{}` is not a UUID: give 1 to {MAX_IDS} user ids, comma-separated", shown.escape_debug()))
        })?;
        if !out.contains(&id) {
            out.push(id);
        }
        if out.len() > MAX_IDS {
            return Err(bad(format!("at most {MAX_IDS} ids in one request")));
        }
    }
    Ok(out)
}

/// The handles and names of up to 100 users by id, for showing who did what (the live feed's
/// events carry user ids only). Ids of no user are left out of the answer, not an error.
#[utoipa::path(get, path = "/api/v1/admin/users/names", tag = "admin", params(UserNamesQuery),
    responses(
        (status = 200, description = "The users found, in the order asked", body = UserNames),
        (status = 422, description = "`ids` missing, empty, not all UUIDs, or more than 100 of them", body = ErrorBody),
    ))]
async fn user_names(State(app): State<App>, AppQuery(q): AppQuery<UserNamesQuery>) -> ApiResult<AppJson<UserNames>> {
    let ids = parse_ids(&q.ids)?;
    let users = app.users_by_ids(&ids).await?;
    let users = users.into_iter().map(|u| UserName { id: u.id, handle: u.handle, name: u.name }).collect();
    Ok(AppJson(UserNames { users }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_each_once_and_at_most_a_hundred() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        assert_eq!(parse_ids(&format!("{a}, {b},{a}")).unwrap(), vec![a, b]);
        assert!(parse_ids("").is_err());
        assert!(parse_ids(&format!("{a},nope")).is_err());
        assert!(parse_ids(&format!("{a},")).is_err());
        let many: Vec<String> = (0..=MAX_IDS).map(|_| Uuid::new_v4().to_string()).collect();
        assert!(parse_ids(&many[..MAX_IDS].join(",")).is_ok());
        assert!(parse_ids(&many.join(",")).is_err());
    }
}
