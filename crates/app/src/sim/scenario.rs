//! Scenarios: a named change to arrival rates and behaviour during a window of local time
//! (Lunch Rush: weekdays 11:30 to 13:30; Friday Night: Friday 18:00 to 02:00; ...). Outside
//! its window a scenario is a normal day. Triggered during a run outside its window, a
//! scenario's surge starts at once and lasts the window's length. All numbers are data.

use chrono::{Datelike, TimeZone, Timelike};
use domain::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The seven scenarios (the five of the first seed document and the two extra of its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioId {
    Normal,
    LunchRush,
    FridayNight,
    WeekendBrunch,
    ConcertNight,
    HappyHourRush,
    NewUserOnboarding,
}

impl ScenarioId {
    pub const ALL: [ScenarioId; 7] = [
        Self::Normal,
        Self::LunchRush,
        Self::FridayNight,
        Self::WeekendBrunch,
        Self::ConcertNight,
        Self::HappyHourRush,
        Self::NewUserOnboarding,
    ];

    pub fn as_str(self) -> &'static str {
        scenario(self).key
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|id| id.as_str() == s)
    }

    /// A scenario by its id or its display name (`Lunch Rush`, `Friday Night Out`), case,
    /// spaces, `-` and `_` aside: the dashboard and `/simulation/scenarios` show the names. A run
    /// of separators (`Lunch  Rush`, `lunch - rush`, a tab) counts as one. What `luna simulate
    /// --scenario` and the API's simulation bodies take; unknown: a message listing every id
    /// with its name.
    pub fn find(s: &str) -> Result<Self, String> {
        let plain = |t: &str| {
            let lower = t.to_lowercase();
            let words: Vec<&str> =
                lower.split(|c: char| c.is_whitespace() || c == '-' || c == '_').filter(|w| !w.is_empty()).collect();
            words.join("_")
        };
        let wanted = plain(s);
        let found = SCENARIOS.iter().find(|c| plain(c.key) == wanted || plain(c.name) == wanted);
        found.map(|c| c.id).ok_or_else(|| {
            let known: Vec<_> = SCENARIOS.iter().map(|c| format!("{} ({})", c.key, c.name)).collect();
            format!("unknown scenario {s:?}; one of {}", known.join(", "))
        })
    }
}

/// Reads a scenario as [`ScenarioId::find`] takes it (an id or a display name), for a
/// `deserialize_with`.
pub fn scenario_by_id_or_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ScenarioId, D::Error> {
    let s = String::deserialize(d)?;
    ScenarioId::find(&s).map_err(serde::de::Error::custom)
}

/// [`scenario_by_id_or_name`] for an optional field (`null` or absent: `None`; give the field
/// `#[serde(default)]`).
pub fn scenario_by_id_or_name_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ScenarioId>, D::Error> {
    match Option::<String>::deserialize(d)? {
        Some(s) => ScenarioId::find(&s).map(Some).map_err(serde::de::Error::custom),
        None => Ok(None),
    }
}

/// Multipliers a scenario applies while it is on. [`Surge::NEUTRAL`] changes nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Surge {
    /// On every user's chance to open the app.
    pub arrival: f64,
    /// On arrival, per persona (order of `synth::personas::PROFILES`).
    pub personas: [f64; 7],
    /// On the session mix (order of `Intent::ALL`: browse, search, ask for recommendations,
    /// check friends, express interest, invite friends, respond to invitations, book).
    pub intents: [f64; 8],
    /// On venue appeal per category (restaurant, bar, cafe, music, comedy, karaoke, sports).
    pub category: [f64; 7],
    /// Added to the price level people aim at (premium nights up, happy hour down).
    pub price_shift: f64,
    /// Added to party sizes (groups form).
    pub party_bonus: u8,
    /// Venues with this tag are this much more appealing.
    pub tag: Option<(&'static str, f64)>,
    /// Chance that a venue choice is drawn from around the event (concert night).
    pub event_pull: f64,
}

impl Surge {
    pub const NEUTRAL: Surge = Surge {
        arrival: 1.0,
        personas: [1.0; 7],
        intents: [1.0; 8],
        category: [1.0; 7],
        price_shift: 0.0,
        party_bonus: 0,
        tag: None,
        event_pull: 0.0,
    };
}

/// Local time in the city: weekday (Monday 0), hour and minute of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub weekday: usize,
    pub hour: usize,
    pub minute: u16,
}

impl LocalTime {
    pub fn at(t: Timestamp, tz: chrono_tz::Tz) -> Self {
        let l = t.with_timezone(&tz);
        let minute = (l.hour() * 60 + l.minute()) as u16;
        Self { weekday: l.weekday().num_days_from_monday() as usize, hour: l.hour() as usize, minute }
    }
}

/// When a scenario is on: from `from` (minutes after local midnight) for `len` minutes, on the
/// days it starts (Monday first); windows may run past midnight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub days: [bool; 7],
    pub from: u16,
    pub len: u16,
}

const WEEKDAYS: [bool; 7] = [true, true, true, true, true, false, false];
const EVERY_DAY: [bool; 7] = [true; 7];

impl Window {
    pub fn contains(&self, t: LocalTime) -> bool {
        let (from, to) = (u32::from(self.from), u32::from(self.from) + u32::from(self.len));
        let m = u32::from(t.minute);
        (self.days[t.weekday] && (from..to).contains(&m))
            || (self.days[(t.weekday + 6) % 7] && (from..to).contains(&(m + 1440)))
    }
}

/// A scenario: its id, names, window, usual start and surge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scenario {
    pub id: ScenarioId,
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// `None` for a normal day.
    pub window: Option<Window>,
    /// Where a run of this scenario starts by default: days and local minute.
    pub start: ([bool; 7], u16),
    pub surge: Surge,
}

/// `base` with the values at the given indices replaced.
const fn with<T: Copy, const N: usize>(mut base: [T; N], pairs: &[(usize, T)]) -> [T; N] {
    let mut i = 0;
    while i < pairs.len() {
        base[pairs[i].0] = pairs[i].1;
        i += 1;
    }
    base
}

pub const SCENARIOS: [Scenario; 7] = [
    Scenario {
        id: ScenarioId::Normal,
        key: "normal",
        name: "Normal Day",
        description: "Regular day-to-day activity patterns",
        window: None,
        start: (EVERY_DAY, 0),
        surge: Surge::NEUTRAL,
    },
    Scenario {
        id: ScenarioId::LunchRush,
        key: "lunch_rush",
        name: "Lunch Rush",
        description: "11:30 AM - 1:30 PM high activity, office workers seeking spots and booking",
        window: Some(Window { days: WEEKDAYS, from: 11 * 60 + 30, len: 120 }),
        start: (WEEKDAYS, 10 * 60 + 30),
        surge: Surge {
            arrival: 2.0,
            personas: with([1.0; 7], &[(1, 1.3), (2, 1.5), (5, 2.0)]),
            intents: with([1.0; 8], &[(0, 0.8), (1, 1.5), (2, 1.5), (5, 0.5), (7, 4.0)]),
            category: [2.0, 0.3, 1.8, 0.1, 0.1, 0.1, 0.5],
            price_shift: -0.3,
            ..Surge::NEUTRAL
        },
    },
    Scenario {
        id: ScenarioId::FridayNight,
        key: "friday_night",
        name: "Friday Night Out",
        description: "High social interaction, group formations, premium venues (Friday 6 PM - 2 AM)",
        window: Some(Window { days: with([false; 7], &[(4, true)]), from: 18 * 60, len: 480 }),
        start: (with([false; 7], &[(4, true)]), 17 * 60),
        surge: Surge {
            arrival: 1.8,
            personas: with([1.0; 7], &[(0, 1.6), (3, 1.5), (4, 1.4), (5, 0.8)]),
            intents: with([1.0; 8], &[(3, 2.5), (4, 1.5), (5, 3.5), (6, 2.5), (7, 1.5)]),
            category: [1.1, 1.8, 0.2, 1.6, 1.4, 1.8, 1.0],
            price_shift: 0.5,
            party_bonus: 2,
            ..Surge::NEUTRAL
        },
    },
    Scenario {
        id: ScenarioId::WeekendBrunch,
        key: "weekend_brunch",
        name: "Weekend Brunch",
        description: "Leisurely browsing, larger groups, brunch spots (Saturday and Sunday 9:30 AM - 2 PM)",
        window: Some(Window { days: with([false; 7], &[(5, true), (6, true)]), from: 9 * 60 + 30, len: 270 }),
        start: (with([false; 7], &[(5, true), (6, true)]), 9 * 60),
        surge: Surge {
            arrival: 1.5,
            personas: with([1.0; 7], &[(0, 1.3), (1, 1.4)]),
            intents: with([1.0; 8], &[(0, 1.5), (4, 1.5), (5, 2.5), (6, 2.0), (7, 1.5)]),
            category: [1.6, 0.3, 2.0, 0.2, 0.1, 0.1, 0.4],
            party_bonus: 2,
            tag: Some(("brunch", 3.0)),
            ..Surge::NEUTRAL
        },
    },
    Scenario {
        id: ScenarioId::ConcertNight,
        key: "concert_night",
        name: "Concert Night",
        description: "Event-driven dining: a concert near a cluster of venues pulls pre/post event demand (5 PM - 11:30 PM)",
        window: Some(Window { days: EVERY_DAY, from: 17 * 60, len: 390 }),
        start: (EVERY_DAY, 16 * 60),
        surge: Surge {
            arrival: 1.5,
            personas: with([1.0; 7], &[(0, 1.4), (3, 1.3), (4, 1.3)]),
            intents: with([1.0; 8], &[(2, 1.8), (4, 1.5), (5, 1.8), (7, 2.0)]),
            category: [1.3, 1.5, 0.5, 2.5, 1.0, 1.0, 0.8],
            event_pull: 0.6,
            ..Surge::NEUTRAL
        },
    },
    Scenario {
        id: ScenarioId::HappyHourRush,
        key: "happy_hour_rush",
        name: "Happy Hour Rush",
        description: "After-work drinks rush, 4-7 PM high activity, social gatherings at bars",
        window: Some(Window { days: WEEKDAYS, from: 16 * 60, len: 180 }),
        start: (WEEKDAYS, 15 * 60),
        surge: Surge {
            arrival: 1.7,
            personas: with([1.0; 7], &[(0, 1.4), (5, 1.3), (6, 1.6)]),
            intents: with([1.0; 8], &[(3, 1.5), (5, 2.0), (7, 1.5)]),
            category: [0.9, 2.5, 0.3, 1.0, 1.0, 1.3, 1.5],
            price_shift: -0.6,
            party_bonus: 1,
            tag: Some(("happy_hour", 2.5)),
            ..Surge::NEUTRAL
        },
    },
    Scenario {
        id: ScenarioId::NewUserOnboarding,
        key: "new_user_onboarding",
        name: "New User Onboarding",
        description: "Cold start: people explore, ask for recommendations and look for friends all day",
        window: Some(Window { days: EVERY_DAY, from: 0, len: 1440 }),
        start: (EVERY_DAY, 8 * 60),
        surge: Surge {
            arrival: 1.2,
            intents: with([1.0; 8], &[(0, 1.4), (1, 1.5), (2, 2.5), (3, 1.8), (7, 0.6)]),
            ..Surge::NEUTRAL
        },
    },
];

/// The scenario of an id.
pub fn scenario(id: ScenarioId) -> &'static Scenario {
    &SCENARIOS[ScenarioId::ALL.iter().position(|s| *s == id).unwrap_or(0)]
}

/// The default start of a run: the first time at or after `anchor` (the end of the seeded
/// history) that the scenario usually starts; `anchor` itself for a normal day.
pub fn default_start(id: ScenarioId, anchor: Timestamp, tz: chrono_tz::Tz) -> Timestamp {
    let s = scenario(id);
    if s.window.is_none() {
        return anchor;
    }
    let (days, minute) = s.start;
    let first = anchor.with_timezone(&tz).date_naive();
    (0..8)
        .filter_map(|d| {
            let date = first + chrono::Duration::days(d);
            let naive = date.and_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0)?;
            let at = tz.from_local_datetime(&naive).earliest()?.with_timezone(&chrono::Utc);
            (days[date.weekday().num_days_from_monday() as usize] && at >= anchor).then_some(at)
        })
        .next()
        .unwrap_or(anchor)
}

/// Which scenario is on at a given time: the run's scenario during its window, or after a
/// trigger outside the window, for the window's length from the trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub current: ScenarioId,
    forced_until: Option<Timestamp>,
}

impl Schedule {
    pub fn new(id: ScenarioId) -> Self {
        Self { current: id, forced_until: None }
    }

    /// Switches to `id` at `at`.
    pub fn trigger(&mut self, id: ScenarioId, at: Timestamp, local: LocalTime) {
        self.current = id;
        self.forced_until = match scenario(id).window {
            Some(w) if !w.contains(local) => Some(at + chrono::Duration::minutes(i64::from(w.len))),
            _ => None,
        };
    }

    /// The surge in force at `at`.
    pub fn surge(&self, at: Timestamp, local: LocalTime) -> &'static Surge {
        let s = scenario(self.current);
        match s.window {
            Some(w) if w.contains(local) || self.forced_until.is_some_and(|until| at < until) => &s.surge,
            _ => &SCENARIOS[0].surge,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NY: chrono_tz::Tz = chrono_tz::America::New_York;

    #[test]
    /// Moved from `luna simulate` (review: "Lunch  Rush" was refused, each space becoming its own
    /// `_`), now shared with the API: runs of spaces, tabs, `-` and `_` count as one.
    fn a_scenario_is_found_by_its_id_or_its_name_in_any_case_and_spacing() {
        for name in ["Lunch  Rush", " lunch \t RUSH ", "lunch - rush", "LUNCH__RUSH", "Lunch Rush", "lunch_rush"] {
            assert_eq!(ScenarioId::find(name), Ok(ScenarioId::LunchRush), "{name:?}");
        }
        assert_eq!(ScenarioId::find("friday   night-out"), Ok(ScenarioId::FridayNight));
        assert!(ScenarioId::find("lunchrush").is_err());
        let err = ScenarioId::find("  ").unwrap_err();
        assert!(err.contains("lunch_rush (Lunch Rush)") && err.contains("normal (Normal Day)"), "{err}");
    }

    #[test]
    fn scenario_ids_round_trip_and_match_the_table() {
        for (i, id) in ScenarioId::ALL.into_iter().enumerate() {
            assert_eq!(SCENARIOS[i].id, id);
            assert_eq!(ScenarioId::parse(id.as_str()), Some(id));
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
        }
    }

    #[test]
    fn runs_start_at_the_scenarios_usual_time_after_the_seeded_history() {
        let anchor = synth::default_now(); // Friday 2026-11-20, 07:00 in New York
        let at = |id| LocalTime::at(default_start(id, anchor, NY), NY);
        assert_eq!(at(ScenarioId::LunchRush), LocalTime { weekday: 4, hour: 10, minute: 630 });
        assert_eq!(at(ScenarioId::FridayNight), LocalTime { weekday: 4, hour: 17, minute: 1020 });
        assert_eq!(at(ScenarioId::WeekendBrunch).weekday, 5);
        assert_eq!(default_start(ScenarioId::Normal, anchor, NY), anchor);
    }

    #[test]
    fn a_surge_is_on_in_its_window_and_for_a_while_after_a_trigger_outside_it() {
        let lunch = |weekday, minute| LocalTime { weekday, hour: usize::from(minute / 60), minute };
        let mut s = Schedule::new(ScenarioId::LunchRush);
        let t = synth::default_now();
        assert_eq!(s.surge(t, lunch(0, 12 * 60)).arrival, 2.0);
        assert_eq!(s.surge(t, lunch(0, 15 * 60)).arrival, 1.0);
        assert_eq!(s.surge(t, lunch(5, 12 * 60)).arrival, 1.0);
        s.trigger(ScenarioId::LunchRush, t, lunch(0, 15 * 60));
        assert_eq!(s.surge(t + chrono::Duration::minutes(119), lunch(0, 16 * 60 + 59)).arrival, 2.0);
        assert_eq!(s.surge(t + chrono::Duration::minutes(121), lunch(0, 17 * 60 + 1)).arrival, 1.0);
        let night = Window { days: with([false; 7], &[(4, true)]), from: 18 * 60, len: 480 };
        assert!(night.contains(lunch(5, 60)) && !night.contains(lunch(5, 3 * 60)));
    }
}
