//! `docs/security.md`, generated from [`RULES`](super::rules::RULES) (a test checks that the
//! committed file is up to date), and the OpenAPI side of the rules: the bearer scheme and the
//! 401/403 answers of every operation that needs a credential.

use std::fmt::Write;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, ResponseBuilder};

use super::rules::{Hashing, RULES, Rule, find};

const PREAMBLE: &str = "# Security: who may call what

Generated from `crates/api/src/auth/rules.rs` by `cargo test -p api --lib security_doc` (set
`UPDATE_SECURITY_DOC=1` to rewrite it); a test fails when it is stale.

## Credentials

- **User tokens.** A user who signed up with a `password` (8 to 128 characters, stored as an
  Argon2id hash, never returned) gets a pair at `POST /api/v1/auth/token` with
  `{\"login\": handle or email, \"password\"}`: a short-lived access token (an HS256 JWT with `sub`,
  `iat`, `exp`; 15 minutes) and a refresh token (30 days, stored hashed). `POST /api/v1/auth/refresh`
  with `{\"refresh_token\"}` uses the refresh token up and returns a new pair; using it again is a
  401, and more than 30 s after its use (a copy, not a retry) it also revokes every refresh token
  of its user (access tokens already issued run out within 15 minutes). `POST /api/v1/auth/logout`
  with `{\"refresh_token\"}` signs that session out: a 204, and every refresh token of its sign-in
  (its predecessors and successors) is revoked, the user's other sessions untouched. A used token
  of the session signs it out too (a client whose last refresh answer was lost holds one); an
  unknown or expired token, or one of a session already signed out, gets the same 204 and changes
  nothing. The signed-out tokens are deleted, so replaying one later is a plain 401 and no longer
  revokes the user's other sessions. Access tokens are stateless: those
  already issued stay valid until they expire (15 minutes). Send the access token as `Authorization: Bearer <token>`. A wrong password and an unknown
  login get the same 401. An access token stops working as soon as its user is deleted (on the
  server that deleted them at once, on the others once they apply the deletion, normally within a
  second): a **401** \"the user of this token no longer exists\".
- **Password guessing.** The requests that hash a password (marked *password-limited* below:
  sign-in, and sign-up with a `password`; a sign-up without one hashes nothing and does not use
  it) have their own token bucket per IP (IPv6 by /64), whatever token the request carries, on
  top of the general one: `rate_limit.password_per_second` and `password_burst` (5/s,
  burst 10 by default). Sign-in attempts also count per login (the handle or email as sent,
  case-insensitive) and client address (the one the buckets use: IPv6 by /64, behind
  `trusted_proxies` the forwarded client), as OWASP recommends: after `rate_limit.login_failures`
  (10) from one address without a success within `login_failure_window_secs` (300) of the first,
  that address's attempts for that login get a **429** until the window has passed, the right
  password included; a success clears its address's count. One attacker's failures so throttle
  only that attacker: the login's owner still signs in from their own address. To bound guessing
  spread over many addresses, a login also gets a **429** from every address once it has
  `login_failures_all_addresses` (100, a setting of its own) failures from all of them together
  within the window. Those are the residual trade-offs. From many addresses a login can be
  guessed up to 100 times per 300 s window, ten times the 10 allowed before sign-ins were
  counted per address, since one address's limit no longer holds the login. And someone with
  that many guesses to spend can keep a login's owner out, a window at a time: 10 addresses at
  the defaults, where an IPv6 address counts per /64, so a single /56 (a common home
  allocation) holds 256 of them. The answer is the same whether the login names anyone or not.
  At most `max_logins` (100000) counts are tracked, half for logins and half for logins from one
  address, so one kind cannot crowd out the other; when a half is full, a new count takes the
  place of the oldest expired one, else of the oldest one not throttled. So a login's count
  below the ceiling can be pushed out by 50000 attempts on other logins within its window, and
  a throttled login's count only once every tracked login is throttled; a new pair is not
  counted while every tracked pair is throttled (the login's ceiling still is). Both answer `rate_limited` with `Retry-After`, and
  `rate_limit.enabled = false` turns them off with the general limit. At most one password is hashed per core at once; more
  wait their turn without holding a thread.
- **Behind a reverse proxy.** Every request from a load balancer comes from its address, so by
  default all its clients would share one bucket (and one password bucket). Name the proxies in
  `rate_limit.trusted_proxies` (addresses or CIDR blocks): a request from one of them is counted
  against the right-most address in `X-Forwarded-For` that is not itself a trusted proxy. Each
  proxy appends the address it was reached from, so that entry is the client as the outermost
  trusted proxy saw it; entries left of it are the client's own words and are ignored, and so is
  the header from any peer that is not a trusted proxy. An entry that does not parse ends the
  walk at the last trusted hop. Trust only proxies that append to the header (most do: nginx's
  `$proxy_add_x_forwarded_for`, HAProxy's `option forwardfor`, cloud load balancers), and name
  only their own addresses, not a network clients also live in: any host in a trusted block can
  write the address it is counted against. Blocks wider than /8 (IPv6: /32) are refused.
- **The admin credential.** One token per database, stored only as its SHA-256. `LUNA_ADMIN_TOKEN`
  (setting `admin_token`) sets it; otherwise the first `luna serve` on a database generates one
  and prints it once with the dashboard URL (`http://ADDR/?token=...`); `luna admin-token --rotate`
  prints a new one (running servers adopt it within two seconds, and then end the event streams
  opened with the old one). It passes every rule: operators and tools act
  for any user. `luna config` never prints it.
- **The signing secret** of access tokens is generated by the first server on a database and
  stored there, so every server on that database accepts the others' tokens (`signing_secret`
  sets it explicitly). A data reset keeps both secrets: it clears data, not credentials.
- **SSE streams** also take the token as `?access_token=` (EventSource cannot send headers); no
  other route reads a token from the URL. A stream lasts only as long as the credential it was
  opened with: once the server has adopted a rotated admin token, every stream opened with the old
  one gets a last comment (`: the credential this stream was opened with is no longer valid`) and
  ends, before any further event. A user's access token opens only their own stream
  (`/api/v1/users/{user_id}/events`), which ends the same way when the token expires: the app
  reconnects with a fresh token and `Last-Event-ID`. The admin's streams carry every user's
  events, so no user token opens them.

## Answers

- No credential where the rule needs one, or an invalid, tampered or expired token, or one whose
  user was deleted: **401**
  `unauthorized` with `WWW-Authenticate: Bearer`. A bad token is ignored on `Public` routes (the
  answer is the same for everyone, and a client whose access token expired can still sign in,
  refresh or sign up), but not on `PublicProfile` ones, whose answer depends on who asks.
- A valid credential that the rule does not allow: **403** `forbidden`.
- Where a rule needs a resource (a plan, a booking) that does not exist, the request goes on to
  the handler's 404; a path parameter that is not a UUID goes on to its 422. A user who is not on
  a plan at all (neither its organizer nor invited) gets that same 404 from a plan's rule, not a
  403, and so does answering an invitation to it: an outsider cannot tell a plan from no plan.

## `--dev` and binding

`luna serve --dev` on a loopback address relaxes **user** rules: a request without a token may act
as any user (the seed documents' clients send none). Admin rules are never relaxed. `--dev` on any
other address refuses to start. Binding a non-loopback address needs an admin credential that the
operator knows: `LUNA_ADMIN_TOKEN`, or one made earlier by `luna admin-token --rotate`.

## Private data

`GET /users` and `GET /users/{user_id}` are public profiles: `email`, `home_lat` and `home_lng` are
`null` unless the caller is that user or the admin. A user's preferences, interactions, friends,
friend requests, bookings and recommendations are readable only by that user. `/metrics` is for the
admin (route names and rates say what people do).

## System-owned fields

A user's `persona` (which archetype the simulator plays them as), `activity_score` and
`social_score` (which the recommender trusts) are set by seeding, the simulator and the admin.
`POST /users` and `PATCH /users/{user_id}` (both mounts) take them only from the admin
credential: from anyone else a body giving one (its current value, or in a patch `null`, too) is
refused, naming it, and changes nothing: a **403** `forbidden` with a user's token, a **401** without a
credential (`--dev` does not relax it).

## Rules

| Method | Path | Who may call it |
|---|---|---|
";

/// The whole of `docs/security.md`.
pub fn security_markdown() -> String {
    let mut out = PREAMBLE.to_string();
    for entry in RULES {
        let path = match entry.mount {
            super::rules::Mount::Exact => format!("`{}`", entry.path),
            super::rules::Mount::V1AndRoot => format!("`{0}` and `/api/v1{0}`", entry.path),
        };
        let sse = if entry.sse { " (SSE: `?access_token=` too)" } else { "" };
        let password = match entry.password {
            Hashing::Never => "",
            Hashing::Always => " (*password-limited*)",
            Hashing::WhenGiven => " (*password-limited* when it carries a `password`)",
        };
        let _ = writeln!(out, "| {} | {} | {}{}{} |", entry.method, path, entry.rule.describe(), sse, password);
    }
    out
}

/// Adds the bearer scheme, and to each operation that needs a credential its security
/// requirement and its 401/403 answers.
pub fn document(api: &mut OpenApi) {
    let scheme = SecurityScheme::Http(
        HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT or the admin token")
            .description(Some("A user's access token (`POST /api/v1/auth/token`) or the admin token"))
            .build(),
    );
    api.components.get_or_insert_with(Default::default).add_security_scheme("bearer", scheme);
    for (path, item) in api.paths.paths.iter_mut() {
        let ops = [
            ("GET", &mut item.get),
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let method = axum::http::Method::from_bytes(method.as_bytes()).unwrap_or_default();
            let Some(entry) = find(&method, path) else { continue };
            if entry.rule == Rule::Public {
                continue;
            }
            let error = |d: &str| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(d)
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build(),
                )
            };
            let responses = &mut op.responses.responses;
            if entry.rule == Rule::PublicProfile {
                // A token is optional here (it shows the caller's own private fields), but a bad
                // one is refused.
                op.security =
                    Some(vec![SecurityRequirement::default(), SecurityRequirement::new::<_, _, &str>("bearer", [])]);
                responses.entry("401".into()).or_insert_with(|| error("An invalid or expired token (none is fine)"));
                continue;
            }
            op.security = Some(vec![SecurityRequirement::new::<_, _, &str>("bearer", [])]);
            responses.entry("401".into()).or_insert_with(|| error("No credential, or an invalid or expired token"));
            responses.entry("403".into()).or_insert_with(|| {
                error(if entry.rule == Rule::Admin {
                    "A user token where the admin credential is needed"
                } else {
                    "A valid credential that may not do this"
                })
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/security.md")
    }

    #[test]
    fn a_required_query_user_is_not_documented_as_optional() {
        let doc = security_markdown();
        let line = doc.lines().find(|l| l.contains("`/api/v1/venues/{venue_id}/interested`")).unwrap_or_default();
        assert!(line.contains("the user in `?viewer=` (required"), "{line}");
        assert!(!line.contains("without it, admin"), "viewer is required, even of the admin: {line}");
        // The bookings list does take no user: the admin's list of everyone's.
        let line = doc.lines().find(|l| l.contains("| `/api/v1/bookings` |")).unwrap_or_default();
        assert!(line.contains("without it, admin"), "{line}");
    }

    #[test]
    fn security_doc_is_up_to_date() {
        let fresh = security_markdown();
        if std::env::var_os("UPDATE_SECURITY_DOC").is_some() {
            std::fs::write(doc_path(), &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(doc_path()).unwrap_or_default();
        assert!(committed == fresh, "docs/security.md is stale: run with UPDATE_SECURITY_DOC=1");
    }
}
