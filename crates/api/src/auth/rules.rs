//! THE access table: one [`Entry`] per operation, saying who may call it. The enforcing
//! middleware (`enforce.rs`) reads only this table, a test checks that every operation of the
//! OpenAPI document has exactly one entry, and `docs/security.md` is generated from it, so the
//! rules, the code and the document cannot drift apart.
//!
//! "The user" of a rule is the caller of a user token (`POST /api/v1/auth/token`). The admin
//! credential passes every rule: operators and tools act for anyone. On a `--dev` server bound
//! to loopback a request without a token passes every user rule, never [`Rule::Admin`].

use axum::http::Method;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, without a token.
    Public,
    /// Anyone; the private fields of users (email, home location) are shown only to the user
    /// themself and the admin, and omitted (`null`) for every other caller.
    PublicProfile,
    /// Any user with a valid token.
    Authenticated,
    /// Only the user named by this path parameter.
    SelfUser(&'static str),
    /// Only the user named by this field of the JSON body.
    SelfUserInBody(&'static str),
    /// Only the user named by this query parameter; without it, only the admin (the list
    /// spans every user), or anyone under `--dev`.
    SelfUserInQuery(&'static str),
    /// Only the user named by this query parameter, which the operation requires: without it,
    /// any signed-in caller goes on to the handler's 422.
    SelfUserInRequiredQuery(&'static str),
    /// Only one of the users listed (comma-separated) in this path parameter, and only with
    /// friends (a `friend` or `mutual` tie) as the others.
    OneOfUsers(&'static str),
    /// The plan's organizer or someone invited to it (plan id in this path parameter).
    PlanMember(&'static str),
    /// The plan's organizer or an invitee who has not declined (plan id in this path
    /// parameter): those who may still come, for what only concerns them (the plan's booking).
    PlanAttendee(&'static str),
    /// Only the plan's organizer (plan id in this path parameter).
    PlanOrganizer(&'static str),
    /// The booking's maker, a member of its group, or the organizer or an invitee of its plan
    /// who has not declined (booking id in this path parameter).
    BookingMember(&'static str),
    /// Only the booking's maker, or the organizer of its plan (booking id in this path
    /// parameter): its group and the plan's invitees may read it, not undo it for everyone.
    BookingOwner(&'static str),
    /// Only the admin credential.
    Admin,
}

impl Rule {
    /// Whether a user token or `--dev` can ever pass it (everything but [`Rule::Admin`] and
    /// the public rules).
    pub fn is_user_rule(self) -> bool {
        !matches!(self, Rule::Public | Rule::PublicProfile | Rule::Admin)
    }

    /// The rule in words, for `docs/security.md`.
    pub fn describe(self) -> String {
        match self {
            Rule::Public => "public".into(),
            Rule::PublicProfile => "public; email and home location only for the user themself".into(),
            Rule::Authenticated => "any signed-in user".into(),
            Rule::SelfUser(p) => format!("the user `{{{p}}}`"),
            Rule::SelfUserInBody(f) => format!("the user in the body's `{f}`"),
            Rule::SelfUserInQuery(q) => format!("the user in `?{q}=`; without it, admin (or `--dev`)"),
            Rule::SelfUserInRequiredQuery(q) => format!("the user in `?{q}=` (required: without it, a 422)"),
            Rule::OneOfUsers(p) => format!("one of the users in `{{{p}}}`, the others their friends"),
            Rule::PlanMember(p) => format!("the organizer or an invitee of plan `{{{p}}}`"),
            Rule::PlanAttendee(p) => format!("the organizer or an invitee who has not declined of plan `{{{p}}}`"),
            Rule::PlanOrganizer(p) => format!("the organizer of plan `{{{p}}}`"),
            Rule::BookingMember(p) => {
                format!(
                    "the maker of booking `{{{p}}}`, a member of its group, or its plan's organizer or an invitee who has not declined"
                )
            }
            Rule::BookingOwner(p) => {
                format!("the maker of booking `{{{p}}}` (for a plan's booking, the plan's organizer)")
            }
            Rule::Admin => "**admin**".into(),
        }
    }
}

/// Where an entry's path is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mount {
    /// At `path` exactly.
    Exact,
    /// Under `/api/v1` and at the root (the seed documents' resources).
    V1AndRoot,
}

/// One operation's rule.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub method: &'static str,
    pub path: &'static str,
    pub mount: Mount,
    pub rule: Rule,
    /// An SSE stream: the token may also come as `?access_token=` (EventSource cannot set
    /// headers). Nowhere else is a token in a URL accepted.
    pub sse: bool,
    /// Whether it hashes a password (Argon2, costly by design): the requests that do are limited
    /// per IP by the password bucket (`rate_limit.password_*`) on top of the general one.
    pub password: Hashing,
}

/// Whether an operation hashes a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashing {
    Never,
    /// Every request (sign-in): the password bucket is checked before the handler runs.
    Always,
    /// Only a request whose body carries a `password` (sign-up): the handler checks the bucket
    /// through the [`crate::rate_limit::PasswordGate`] it is given, once it has read the body.
    WhenGiven,
}

impl Entry {
    const fn both(method: &'static str, path: &'static str, rule: Rule) -> Self {
        Self { method, path, mount: Mount::V1AndRoot, rule, sse: false, password: Hashing::Never }
    }

    const fn at(method: &'static str, path: &'static str, rule: Rule) -> Self {
        Self { method, path, mount: Mount::Exact, rule, sse: false, password: Hashing::Never }
    }

    const fn sse(self) -> Self {
        Self { sse: true, ..self }
    }

    const fn password(self) -> Self {
        Self { password: Hashing::Always, ..self }
    }

    const fn password_when_given(self) -> Self {
        Self { password: Hashing::WhenGiven, ..self }
    }

    /// The full paths this entry covers.
    pub fn paths(&self) -> Vec<String> {
        match self.mount {
            Mount::Exact => vec![self.path.to_string()],
            Mount::V1AndRoot => vec![format!("/api/v1{}", self.path), self.path.to_string()],
        }
    }

    pub fn method(&self) -> Method {
        Method::from_bytes(self.method.as_bytes()).unwrap_or(Method::GET)
    }
}

use Rule::*;

const U: &str = "user_id";

/// Every operation and its rule.
pub const RULES: &[Entry] = &[
    // Users (the seed's `/users/`): sign-up is open; profiles are public without private fields.
    Entry::both("GET", "/users", PublicProfile),
    Entry::both("POST", "/users", Public).password_when_given(),
    Entry::both("GET", "/users/{user_id}", PublicProfile),
    Entry::both("PATCH", "/users/{user_id}", SelfUser(U)),
    Entry::both("DELETE", "/users/{user_id}", SelfUser(U)),
    Entry::both("GET", "/users/{user_id}/preferences", SelfUser(U)),
    Entry::both("PUT", "/users/{user_id}/preferences", SelfUser(U)),
    // Venues: the catalogue is public; any user may add a venue (the seed's `POST /venues/`),
    // changing or removing one is an operator's job.
    Entry::both("GET", "/venues", Public),
    Entry::both("POST", "/venues", Authenticated),
    Entry::both("GET", "/venues/{venue_id}", Public),
    Entry::both("PATCH", "/venues/{venue_id}", Admin),
    Entry::both("DELETE", "/venues/{venue_id}", Admin),
    // Interactions: written as the user in the body; a user's history is private.
    Entry::both("POST", "/venues/{venue_id}/interactions", SelfUserInBody(U)),
    Entry::both("POST", "/venues/{venue_id}/interact", SelfUserInBody(U)),
    Entry::both("GET", "/users/{user_id}/interactions", SelfUser(U)),
    // Friends: only the user themself sees and changes their friends and requests.
    Entry::both("GET", "/users/{user_id}/friends", SelfUser(U)),
    Entry::both("DELETE", "/users/{user_id}/friends/{other_user_id}", SelfUser(U)),
    Entry::both("POST", "/users/{user_id}/friend-requests", SelfUser(U)),
    Entry::both("GET", "/users/{user_id}/friend-requests", SelfUser(U)),
    Entry::both("POST", "/users/{user_id}/friend-requests/{request_id}/accept", SelfUser(U)),
    Entry::both("POST", "/users/{user_id}/friend-requests/{request_id}/decline", SelfUser(U)),
    // Plans: the organizer proposes, invites and confirms; invitees read and answer.
    Entry::both("POST", "/plans", SelfUserInBody("organizer_id")),
    Entry::both("GET", "/plans/{plan_id}", PlanMember("plan_id")),
    Entry::both("PATCH", "/plans/{plan_id}", PlanOrganizer("plan_id")),
    Entry::both("POST", "/plans/{plan_id}/participants", PlanOrganizer("plan_id")),
    Entry::both("POST", "/plans/{plan_id}/participants/{user_id}/accept", SelfUser(U)),
    Entry::both("POST", "/plans/{plan_id}/participants/{user_id}/decline", SelfUser(U)),
    Entry::both("POST", "/plans/{plan_id}/confirm", PlanOrganizer("plan_id")),
    Entry::both("POST", "/plans/{plan_id}/cancel", PlanOrganizer("plan_id")),
    Entry::both("GET", "/users/{user_id}/plans", SelfUser(U)),
    // Recommendations: for oneself (or a group one is part of).
    Entry::at("GET", "/api/v1/recommendations/{user_id}", SelfUser(U)),
    Entry::at("GET", "/api/v1/recommendations/{user_id}/venues", SelfUser(U)),
    Entry::at("GET", "/api/v1/recommendations/{user_id}/people", SelfUser(U)),
    Entry::at("POST", "/api/v1/recommendations/{user_id}/interest", SelfUser(U)),
    Entry::at("GET", "/api/v1/recommendations/group/{user_ids}", OneOfUsers("user_ids")),
    Entry::at("GET", "/api/v1/venues/{venue_id}/interested", SelfUserInRequiredQuery("viewer")),
    Entry::at("PUT", "/api/v1/users/{user_id}/location", SelfUser(U)),
    // A user's own events: only theirs, and only while the token it was opened with is valid.
    Entry::at("GET", "/api/v1/users/{user_id}/events", SelfUser(U)).sse(),
    Entry::at("GET", "/reco/venues/{user_id}", SelfUser(U)),
    Entry::at("GET", "/reco/people/{user_id}", SelfUser(U)),
    // Bookings.
    Entry::at("GET", "/api/v1/bookings", SelfUserInQuery(U)),
    Entry::at("GET", "/bookings", SelfUserInQuery(U)),
    Entry::at("GET", "/bookings/{plan_id}", PlanAttendee("plan_id")),
    Entry::at("GET", "/api/v1/bookings/{booking_id}", BookingMember("booking_id")),
    Entry::at("GET", "/api/v1/bookings/user/{user_id}", SelfUser(U)),
    Entry::at("POST", "/api/v1/bookings/{user_id}/create", SelfUser(U)),
    Entry::at("POST", "/api/v1/bookings/{booking_id}/cancel", BookingOwner("booking_id")),
    Entry::at("POST", "/api/v1/bookings/{booking_id}/complete", Admin),
    Entry::at("POST", "/api/v1/bookings/{booking_id}/no-show", Admin),
    Entry::at("POST", "/api/v1/bookings/{booking_id}/status", Admin),
    Entry::at("POST", "/api/v1/bookings/venue/{venue_id}/auto-book", Admin),
    Entry::at("GET", "/api/v1/venues/{venue_id}/availability", Public),
    // Tokens.
    Entry::at("POST", "/api/v1/auth/token", Public).password(),
    Entry::at("POST", "/api/v1/auth/refresh", Public),
    Entry::at("POST", "/api/v1/auth/logout", Public),
    // Operations: data, the outbox's dead letters, simulation, streams of every user's events, figures.
    Entry::at("POST", "/api/v1/admin/data/seed", Admin),
    Entry::at("POST", "/api/v1/admin/data/reset", Admin),
    Entry::at("GET", "/api/v1/admin/model", Admin),
    Entry::at("POST", "/api/v1/admin/model/train", Admin),
    Entry::at("GET", "/api/v1/admin/map", Admin),
    Entry::at("GET", "/api/v1/admin/stats", Admin),
    Entry::at("GET", "/api/v1/admin/check", Admin),
    Entry::at("GET", "/api/v1/admin/users/names", Admin),
    Entry::at("GET", "/api/v1/admin/outbox/dead", Admin),
    Entry::at("POST", "/api/v1/admin/outbox/dead/redrive", Admin),
    Entry::at("GET", "/api/v1/admin/streams/subscribe/{channel}", Admin).sse(),
    Entry::at("GET", "/api/v1/admin/streams/subscribe-all", Admin).sse(),
    Entry::at("GET", "/api/v1/admin/streams/history/{channel}", Admin),
    Entry::at("GET", "/api/v1/admin/streams/channels", Admin),
    Entry::at("POST", "/api/v1/simulation/start", Admin),
    Entry::at("POST", "/api/v1/simulation/pause", Admin),
    Entry::at("POST", "/api/v1/simulation/resume", Admin),
    Entry::at("POST", "/api/v1/simulation/stop", Admin),
    Entry::at("POST", "/api/v1/simulation/reset", Admin),
    Entry::at("POST", "/api/v1/simulation/speed", Admin),
    Entry::at("POST", "/api/v1/simulation/scenario", Admin),
    Entry::at("GET", "/api/v1/simulation/scenarios", Admin),
    Entry::at("GET", "/api/v1/simulation/state", Admin),
    Entry::at("GET", "/api/v1/simulation/metrics", Admin),
    Entry::at("GET", "/metrics", Admin),
    Entry::at("GET", "/health", Public),
    // Not in the OpenAPI document: the document itself (and, outside the router, `/docs`,
    // `/redoc` and the dashboard's static files, which are public).
    Entry::at("GET", "/openapi.json", Public),
];

/// The entry for a matched route template (as axum reports it: no trailing slash).
pub fn find(method: &Method, path: &str) -> Option<&'static Entry> {
    for_path(path)?.iter().find(|e| e.method == method.as_str()).copied()
}

/// The entries of every method of a route template; `None` when the table has none.
pub fn for_path(path: &str) -> Option<&'static [&'static Entry]> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static INDEX: OnceLock<HashMap<String, Vec<&'static Entry>>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut index: HashMap<String, Vec<&'static Entry>> = HashMap::new();
        for entry in RULES {
            for path in entry.paths() {
                index.entry(path).or_default().push(entry);
            }
        }
        index
    });
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    index.get(path).map(Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (method, path) of the OpenAPI document, as axum matches it (no trailing slash).
    fn documented_operations() -> Vec<(String, String)> {
        let api = crate::openapi();
        let mut ops = Vec::new();
        for (path, item) in &api.paths.paths {
            let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
            for (method, op) in [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
                ("HEAD", &item.head),
                ("OPTIONS", &item.options),
                ("TRACE", &item.trace),
            ] {
                if op.is_some() {
                    ops.push((method.to_string(), path.to_string()));
                }
            }
        }
        ops
    }

    #[test]
    fn every_documented_operation_has_a_rule() {
        let ops = documented_operations();
        assert!(ops.len() > 90, "only {} operations documented?", ops.len());
        let missing: Vec<_> =
            ops.iter().filter(|(m, p)| find(&Method::from_bytes(m.as_bytes()).unwrap(), p).is_none()).collect();
        assert!(missing.is_empty(), "operations without an access rule: {missing:?}");
    }

    #[test]
    fn every_rule_names_a_documented_operation_or_the_document() {
        let ops = documented_operations();
        for entry in RULES {
            for path in entry.paths() {
                let known = ops.iter().any(|(m, p)| m == entry.method && *p == path) || path == "/openapi.json";
                assert!(known, "rule for {} {path} matches no operation", entry.method);
            }
        }
    }

    #[test]
    fn admin_reset_seed_simulation_control_and_streams_are_admin_only() {
        for (method, path) in [
            ("POST", "/api/v1/admin/data/reset"),
            ("POST", "/api/v1/admin/data/seed"),
            ("POST", "/api/v1/simulation/start"),
            ("GET", "/api/v1/admin/streams/subscribe-all"),
            ("GET", "/metrics"),
        ] {
            let entry = find(&Method::from_bytes(method.as_bytes()).unwrap(), path).unwrap();
            assert_eq!(entry.rule, Rule::Admin, "{method} {path}");
        }
        assert!(!Rule::Admin.is_user_rule());
    }
}
