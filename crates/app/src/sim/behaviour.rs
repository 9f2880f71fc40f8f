//! Personas as behaviour models. The shared table [`synth::personas::PROFILES`] gives when a
//! persona is active (hour of day, day of week), what they open the app for (the session mix),
//! their taste in categories and prices, sociability, and how they answer recommendations,
//! invitations, bookings (cancel, no-show). [`REACTIONS`] adds, as documented data, what the
//! simulator needs beyond it: what follows a venue view, a recommendation click or a friend
//! request. Every number here is a probability or a count per session, tunable in one place.

use synth::personas::{AppBehaviour, PersonaProfile};

use super::scenario::Surge;

/// Mean app sessions per user per day for a persona of activity 1 at an average hour and
/// weekday (the persona's `activity` and the user's `activity_score` scale it).
pub const SESSIONS_PER_DAY: f64 = 8.0;

/// Why a user opened the app: the session mix of [`AppBehaviour`], in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Browse,
    Search,
    AskRecommendations,
    CheckFriends,
    ExpressInterest,
    InviteFriends,
    RespondInvitation,
    Book,
}

impl Intent {
    pub const ALL: [Intent; 8] = [
        Intent::Browse,
        Intent::Search,
        Intent::AskRecommendations,
        Intent::CheckFriends,
        Intent::ExpressInterest,
        Intent::InviteFriends,
        Intent::RespondInvitation,
        Intent::Book,
    ];

    /// The persona's weights, in the order of [`Intent::ALL`].
    pub fn weights(app: &AppBehaviour) -> [f64; 8] {
        [
            app.browse,
            app.search,
            app.ask_recommendations,
            app.check_friends,
            app.express_interest,
            app.invite_friends,
            app.respond_invitation,
            app.book,
        ]
    }
}

/// What a persona does after the first step of a session. Independent probabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reactions {
    /// Venue pages opened per browsing session (min, max).
    pub views_per_browse: (u8, u8),
    /// Likes a venue after viewing it.
    pub like_after_view: f64,
    /// Saves a venue after viewing it.
    pub save_after_view: f64,
    /// Walks into a viewed venue that is open right now (logged as a `visit`).
    pub walk_in: f64,
    /// After clicking a recommendation, acts on it (books or says they want to go). Scaled by
    /// how well the venue fits them, so a better recommender converts more.
    pub convert_after_click: f64,
    /// Share of those conversions that are booking attempts (the rest express interest).
    pub book_on_convert: f64,
    /// Sends a friend request to a friend of a friend while looking at friends (times openness).
    pub send_friend_request: f64,
    /// Accepts a friend request addressed to them.
    pub accept_friend_request: f64,
    /// Deals with a pending request or invitation first when they open the app.
    pub answer_inbox: f64,
    /// How far ahead a stated interest or plan is, in hours (min, max).
    pub lead_hours: (u32, u32),
    /// When the venue is full, tries one of the alternatives the refusal proposed (another
    /// time there, or a similar venue nearby) instead of giving up.
    pub take_alternative: f64,
}

/// The reactions of the seven personas, in the order of `PROFILES` (social butterfly, foodie,
/// routine regular, event organizer, spontaneous diner, busy professional, budget conscious).
pub const REACTIONS: [Reactions; 7] = [
    Reactions {
        views_per_browse: (1, 3),
        like_after_view: 0.25,
        save_after_view: 0.10,
        walk_in: 0.06,
        convert_after_click: 0.45,
        book_on_convert: 0.35,
        send_friend_request: 0.30,
        accept_friend_request: 0.90,
        answer_inbox: 0.85,
        lead_hours: (2, 48),
        take_alternative: 0.70,
    },
    Reactions {
        views_per_browse: (2, 4),
        like_after_view: 0.20,
        save_after_view: 0.25,
        walk_in: 0.03,
        convert_after_click: 0.40,
        book_on_convert: 0.55,
        send_friend_request: 0.08,
        accept_friend_request: 0.70,
        answer_inbox: 0.60,
        lead_hours: (6, 96),
        take_alternative: 0.45,
    },
    Reactions {
        views_per_browse: (1, 2),
        like_after_view: 0.15,
        save_after_view: 0.05,
        walk_in: 0.12,
        convert_after_click: 0.20,
        book_on_convert: 0.70,
        send_friend_request: 0.03,
        accept_friend_request: 0.50,
        answer_inbox: 0.70,
        lead_hours: (12, 72),
        take_alternative: 0.35,
    },
    Reactions {
        views_per_browse: (1, 3),
        like_after_view: 0.15,
        save_after_view: 0.20,
        walk_in: 0.02,
        convert_after_click: 0.45,
        book_on_convert: 0.60,
        send_friend_request: 0.20,
        accept_friend_request: 0.85,
        answer_inbox: 0.90,
        lead_hours: (24, 168),
        take_alternative: 0.75,
    },
    Reactions {
        views_per_browse: (1, 3),
        like_after_view: 0.15,
        save_after_view: 0.04,
        walk_in: 0.15,
        convert_after_click: 0.50,
        book_on_convert: 0.25,
        send_friend_request: 0.12,
        accept_friend_request: 0.75,
        answer_inbox: 0.55,
        lead_hours: (1, 6),
        take_alternative: 0.80,
    },
    Reactions {
        views_per_browse: (1, 2),
        like_after_view: 0.10,
        save_after_view: 0.15,
        walk_in: 0.05,
        convert_after_click: 0.40,
        book_on_convert: 0.75,
        send_friend_request: 0.04,
        accept_friend_request: 0.55,
        answer_inbox: 0.50,
        lead_hours: (2, 48),
        take_alternative: 0.60,
    },
    Reactions {
        views_per_browse: (2, 4),
        like_after_view: 0.12,
        save_after_view: 0.20,
        walk_in: 0.05,
        convert_after_click: 0.30,
        book_on_convert: 0.30,
        send_friend_request: 0.08,
        accept_friend_request: 0.70,
        answer_inbox: 0.60,
        lead_hours: (4, 72),
        take_alternative: 0.55,
    },
];

/// Relative activity normalised so the mean over the array is 1.
fn normalised<const N: usize>(values: &[f64; N], i: usize) -> f64 {
    let mean = values.iter().sum::<f64>() / N as f64;
    if mean > 0.0 { values[i] / mean } else { 1.0 }
}

/// The chance that a user opens the app during one tick of `tick_seconds` at local `weekday`
/// (Monday 0) and `hour`, given their `activity_score` and the scenario's surge.
pub fn session_chance(
    profile: &PersonaProfile,
    persona: usize,
    activity_score: f64,
    weekday: usize,
    hour: usize,
    surge: &Surge,
    tick_seconds: i64,
) -> f64 {
    let per_day = SESSIONS_PER_DAY
        * profile.activity
        * (0.5 + activity_score)
        * normalised(&profile.hourly_activity, hour)
        * normalised(&profile.weekday_activity, weekday)
        * surge.arrival
        * surge.personas[persona];
    (per_day * tick_seconds as f64 / 86_400.0).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use synth::personas::PROFILES;

    #[test]
    fn reactions_are_probabilities_and_counts_are_ordered() {
        for r in REACTIONS {
            let p = [
                r.like_after_view,
                r.save_after_view,
                r.walk_in,
                r.convert_after_click,
                r.book_on_convert,
                r.send_friend_request,
                r.accept_friend_request,
                r.answer_inbox,
                r.take_alternative,
            ];
            assert!(p.iter().all(|x| (0.0..=1.0).contains(x)));
            assert!(r.views_per_browse.0 >= 1 && r.views_per_browse.0 <= r.views_per_browse.1);
            assert!(r.lead_hours.0 <= r.lead_hours.1);
        }
    }

    #[test]
    fn people_open_the_app_more_in_the_evening_than_at_night() {
        let neutral = Surge::NEUTRAL;
        let butterfly = &PROFILES[0];
        let evening = session_chance(butterfly, 0, 0.5, 4, 20, &neutral, 60);
        let night = session_chance(butterfly, 0, 0.5, 4, 4, &neutral, 60);
        assert!(evening > 10.0 * night, "{evening} vs {night}");
    }
}
