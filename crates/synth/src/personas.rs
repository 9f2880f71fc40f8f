//! The behaviour profile of each of the seven personas of the first seed document, as data.
//!
//! The city generator draws users, tastes, social ties and interaction logs from these
//! numbers; the simulator reuses them to decide when and how simulated users act. Every
//! number is a documented, tunable fact, not code: change it here and both follow.
//!
//! Conventions: hour-of-day and day-of-week weights are relative (any positive scale) in the
//! city's local time, hour 0 = midnight, day 0 = Monday. Mixes sum to 1.

use domain::Persona;

/// The mix of logged interaction types (what the interaction log records). Sums to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionMix {
    /// Looked at the venue's page.
    pub view: f64,
    /// Found the venue through a search.
    pub search: f64,
    /// Saved it to a list.
    pub save: f64,
    /// Liked it.
    pub like: f64,
    /// Said they want to go.
    pub interest: f64,
    /// Went there.
    pub visit: f64,
}

impl ActionMix {
    /// The shares in the order of [`domain::InteractionType::ALL`]
    /// (view, interest, like, save, search, visit).
    pub fn as_array(&self) -> [f64; 6] {
        [self.view, self.interest, self.like, self.save, self.search, self.visit]
    }
}

/// What a simulated user does in the app when active, and how they react. The session mix
/// (`browse` .. `book`) sums to 1; the reaction fields are independent probabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AppBehaviour {
    /// Scroll venue lists and open venue pages.
    pub browse: f64,
    /// Search venues by text or filter.
    pub search: f64,
    /// Ask for recommendations.
    pub ask_recommendations: f64,
    /// Look at friends and who wants to go where.
    pub check_friends: f64,
    /// Express interest in a venue (to be invited later).
    pub express_interest: f64,
    /// Create a plan and invite friends.
    pub invite_friends: f64,
    /// Answer a pending invitation.
    pub respond_invitation: f64,
    /// Book a table directly.
    pub book: f64,
    /// Chance of acting on (clicking) a shown recommendation, scaled by how good it is.
    pub accept_recommendation: f64,
    /// Chance of accepting an invitation.
    pub accept_invitation: f64,
    /// Chance of cancelling a booking before the day.
    pub cancel_booking: f64,
    /// Chance of not showing up to a confirmed booking.
    pub no_show: f64,
}

/// Everything the generator and the simulator know about one persona.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersonaProfile {
    /// Which persona this profile describes.
    pub persona: Persona,
    /// Share of the population.
    pub share: f64,
    /// One line on who they are.
    pub description: &'static str,
    /// Relative activity by local hour (0 to 23).
    pub hourly_activity: [f64; 24],
    /// Relative activity by weekday, Monday first.
    pub weekday_activity: [f64; 7],
    /// Relative volume of interactions (the population mean is about 1).
    pub activity: f64,
    /// Mean and spread of `User::activity_score` (0 to 1).
    pub activity_score: (f64, f64),
    /// Mean and spread of `User::social_score` (0 to 1).
    pub social_score: (f64, f64),
    /// How much friends and groups drive their choices, 0 to 1.
    pub sociability: f64,
    /// Mean number of social ties.
    pub mean_degree: f64,
    /// Mix of logged interaction types.
    pub action_mix: ActionMix,
    /// In-app behaviour for the simulator.
    pub app: AppBehaviour,
    /// Relative taste for each category, in the order of `Category::ALL`
    /// (restaurant, bar, cafe, music, comedy, karaoke, sports).
    pub category_bias: [f64; 7],
    /// Price level they gravitate to (1 to 4).
    pub price_ideal: f64,
    /// How strongly they avoid prices away from the ideal (0 = indifferent).
    pub price_sensitivity: f64,
    /// Number of cuisines they state (min, max).
    pub cuisine_breadth: (usize, usize),
    /// How widely they spread over venues, 0 (same few places) to 1 (always somewhere new).
    pub exploration: f64,
    /// Distance in km at which a venue's appeal has fallen by about two thirds.
    pub distance_km: f64,
    /// Openness to new people, 0 to 1.
    pub openness: f64,
    /// Usual party size (min, max).
    pub group_size: (i16, i16),
    /// Share of them with an upcoming plan they organise.
    pub plan_rate: f64,
    /// Number of open venue interests (min, max).
    pub interests: (u32, u32),
    /// Age mean and spread.
    pub age: (f64, f64),
}

/// The seven profiles, in the order of [`Persona::ALL`].
pub const PROFILES: [PersonaProfile; 7] = [
    PersonaProfile {
        persona: Persona::SocialButterfly,
        share: 0.14,
        description: "Out most nights with a crowd; bars, karaoke and shows; many friends.",
        hourly_activity: [
            1.5, 0.8, 0.3, 0.1, 0.05, 0.05, 0.1, 0.3, 0.5, 0.6, 0.7, 0.9, 1.5, 1.3, 0.9, 1.0, 1.3, 2.0, 2.8, 3.2, 3.4,
            3.2, 2.8, 2.2,
        ],
        weekday_activity: [0.7, 0.8, 0.9, 1.2, 1.6, 1.7, 1.1],
        activity: 1.3,
        activity_score: (0.78, 0.1),
        social_score: (0.88, 0.07),
        sociability: 0.9,
        mean_degree: 24.0,
        action_mix: ActionMix { view: 0.38, search: 0.08, save: 0.08, like: 0.14, interest: 0.14, visit: 0.18 },
        app: AppBehaviour {
            browse: 0.30,
            search: 0.06,
            ask_recommendations: 0.10,
            check_friends: 0.20,
            express_interest: 0.12,
            invite_friends: 0.10,
            respond_invitation: 0.08,
            book: 0.04,
            accept_recommendation: 0.35,
            accept_invitation: 0.80,
            cancel_booking: 0.08,
            no_show: 0.04,
        },
        category_bias: [1.0, 1.6, 0.6, 1.3, 1.1, 1.5, 0.8],
        price_ideal: 2.5,
        price_sensitivity: 0.5,
        cuisine_breadth: (3, 5),
        exploration: 0.7,
        distance_km: 5.0,
        openness: 0.85,
        group_size: (4, 8),
        plan_rate: 0.25,
        interests: (2, 5),
        age: (27.0, 5.0),
    },
    PersonaProfile {
        persona: Persona::FoodieExplorer,
        share: 0.16,
        description: "Hunts new restaurants and cuisines; reads menus, saves lists, travels for food.",
        hourly_activity: [
            0.3, 0.1, 0.05, 0.0, 0.0, 0.05, 0.1, 0.4, 0.8, 1.0, 1.4, 2.2, 2.8, 2.0, 1.2, 1.0, 1.3, 2.0, 2.8, 3.0, 2.6,
            2.0, 1.2, 0.6,
        ],
        weekday_activity: [0.8, 0.8, 0.9, 1.0, 1.3, 1.5, 1.4],
        activity: 1.2,
        activity_score: (0.72, 0.1),
        social_score: (0.55, 0.12),
        sociability: 0.55,
        mean_degree: 14.0,
        action_mix: ActionMix { view: 0.40, search: 0.14, save: 0.12, like: 0.14, interest: 0.06, visit: 0.14 },
        app: AppBehaviour {
            browse: 0.34,
            search: 0.18,
            ask_recommendations: 0.16,
            check_friends: 0.06,
            express_interest: 0.10,
            invite_friends: 0.05,
            respond_invitation: 0.04,
            book: 0.07,
            accept_recommendation: 0.30,
            accept_invitation: 0.60,
            cancel_booking: 0.06,
            no_show: 0.02,
        },
        category_bias: [2.2, 0.7, 1.3, 0.5, 0.5, 0.4, 0.3],
        price_ideal: 2.7,
        price_sensitivity: 0.35,
        cuisine_breadth: (5, 8),
        exploration: 0.95,
        distance_km: 7.0,
        openness: 0.6,
        group_size: (2, 4),
        plan_rate: 0.10,
        interests: (2, 6),
        age: (31.0, 7.0),
    },
    PersonaProfile {
        persona: Persona::RoutineRegular,
        share: 0.15,
        description: "Same cafe every morning, same few places every week, close to home.",
        hourly_activity: [
            0.05, 0.0, 0.0, 0.0, 0.0, 0.1, 0.8, 2.5, 2.8, 1.2, 0.6, 0.9, 2.2, 1.6, 0.5, 0.4, 0.6, 1.2, 2.2, 2.4, 1.4,
            0.6, 0.2, 0.1,
        ],
        weekday_activity: [1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.9],
        activity: 0.8,
        activity_score: (0.55, 0.1),
        social_score: (0.35, 0.1),
        sociability: 0.35,
        mean_degree: 9.0,
        action_mix: ActionMix { view: 0.30, search: 0.04, save: 0.04, like: 0.12, interest: 0.04, visit: 0.46 },
        app: AppBehaviour {
            browse: 0.30,
            search: 0.06,
            ask_recommendations: 0.06,
            check_friends: 0.08,
            express_interest: 0.06,
            invite_friends: 0.03,
            respond_invitation: 0.06,
            book: 0.35,
            accept_recommendation: 0.10,
            accept_invitation: 0.45,
            cancel_booking: 0.02,
            no_show: 0.01,
        },
        category_bias: [1.4, 0.9, 1.6, 0.4, 0.4, 0.3, 1.0],
        price_ideal: 2.0,
        price_sensitivity: 0.8,
        cuisine_breadth: (1, 3),
        exploration: 0.15,
        distance_km: 2.5,
        openness: 0.25,
        group_size: (1, 3),
        plan_rate: 0.04,
        interests: (1, 2),
        age: (40.0, 10.0),
    },
    PersonaProfile {
        persona: Persona::EventOrganizer,
        share: 0.08,
        description: "Plans outings for groups: shows, comedy, karaoke nights; invites many.",
        hourly_activity: [
            0.6, 0.3, 0.1, 0.05, 0.0, 0.05, 0.1, 0.4, 0.8, 1.0, 1.2, 1.4, 2.0, 1.6, 1.2, 1.2, 1.4, 1.8, 2.4, 2.8, 3.0,
            2.8, 2.0, 1.2,
        ],
        weekday_activity: [1.2, 1.2, 1.2, 1.1, 1.1, 1.0, 0.9],
        activity: 1.25,
        activity_score: (0.8, 0.08),
        social_score: (0.85, 0.08),
        sociability: 0.85,
        mean_degree: 20.0,
        action_mix: ActionMix { view: 0.36, search: 0.12, save: 0.12, like: 0.10, interest: 0.18, visit: 0.12 },
        app: AppBehaviour {
            browse: 0.22,
            search: 0.12,
            ask_recommendations: 0.12,
            check_friends: 0.14,
            express_interest: 0.08,
            invite_friends: 0.22,
            respond_invitation: 0.04,
            book: 0.06,
            accept_recommendation: 0.30,
            accept_invitation: 0.70,
            cancel_booking: 0.05,
            no_show: 0.02,
        },
        category_bias: [1.1, 1.2, 0.5, 1.6, 1.6, 1.3, 1.0],
        price_ideal: 2.5,
        price_sensitivity: 0.5,
        cuisine_breadth: (2, 4),
        exploration: 0.6,
        distance_km: 6.0,
        openness: 0.75,
        group_size: (6, 12),
        plan_rate: 0.55,
        interests: (3, 6),
        age: (30.0, 6.0),
    },
    PersonaProfile {
        persona: Persona::SpontaneousDiner,
        share: 0.15,
        description: "Decides at the last minute, walks in nearby, often late.",
        hourly_activity: [
            1.2, 0.8, 0.4, 0.1, 0.05, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.2, 1.8, 1.4, 1.0, 1.0, 1.4, 2.0, 2.6, 2.8, 2.6,
            2.4, 2.0, 1.6,
        ],
        weekday_activity: [0.8, 0.8, 0.9, 1.0, 1.3, 1.5, 1.2],
        activity: 1.0,
        activity_score: (0.6, 0.14),
        social_score: (0.6, 0.12),
        sociability: 0.6,
        mean_degree: 12.0,
        action_mix: ActionMix { view: 0.46, search: 0.06, save: 0.03, like: 0.12, interest: 0.05, visit: 0.28 },
        app: AppBehaviour {
            browse: 0.40,
            search: 0.08,
            ask_recommendations: 0.18,
            check_friends: 0.10,
            express_interest: 0.06,
            invite_friends: 0.04,
            respond_invitation: 0.06,
            book: 0.08,
            accept_recommendation: 0.40,
            accept_invitation: 0.65,
            cancel_booking: 0.12,
            no_show: 0.06,
        },
        category_bias: [1.3, 1.3, 1.0, 0.8, 0.8, 1.0, 0.7],
        price_ideal: 2.2,
        price_sensitivity: 0.5,
        cuisine_breadth: (2, 4),
        exploration: 0.75,
        distance_km: 3.5,
        openness: 0.65,
        group_size: (1, 4),
        plan_rate: 0.05,
        interests: (0, 2),
        age: (26.0, 5.0),
    },
    PersonaProfile {
        persona: Persona::BusyProfessional,
        share: 0.18,
        description: "Short on time: quick lunches near the office, dinners booked ahead, pays for convenience.",
        hourly_activity: [
            0.2, 0.05, 0.0, 0.0, 0.0, 0.1, 0.5, 1.5, 1.8, 1.0, 0.8, 2.0, 3.0, 1.8, 0.6, 0.5, 0.7, 1.2, 1.8, 2.2, 2.0,
            1.6, 1.0, 0.5,
        ],
        weekday_activity: [1.2, 1.2, 1.2, 1.2, 1.1, 0.7, 0.6],
        activity: 0.8,
        activity_score: (0.5, 0.12),
        social_score: (0.4, 0.12),
        sociability: 0.4,
        mean_degree: 9.0,
        action_mix: ActionMix { view: 0.34, search: 0.14, save: 0.14, like: 0.10, interest: 0.06, visit: 0.22 },
        app: AppBehaviour {
            browse: 0.22,
            search: 0.20,
            ask_recommendations: 0.20,
            check_friends: 0.04,
            express_interest: 0.04,
            invite_friends: 0.04,
            respond_invitation: 0.06,
            book: 0.20,
            accept_recommendation: 0.35,
            accept_invitation: 0.40,
            cancel_booking: 0.10,
            no_show: 0.03,
        },
        category_bias: [1.6, 1.1, 1.5, 0.5, 0.5, 0.3, 0.6],
        price_ideal: 3.0,
        price_sensitivity: 0.4,
        cuisine_breadth: (2, 4),
        exploration: 0.35,
        distance_km: 2.0,
        openness: 0.35,
        group_size: (1, 4),
        plan_rate: 0.06,
        interests: (1, 3),
        age: (35.0, 7.0),
    },
    PersonaProfile {
        persona: Persona::BudgetConscious,
        share: 0.14,
        description: "Watches every dollar: cheap eats, happy hours, deals; browses a lot before going.",
        hourly_activity: [
            0.6, 0.3, 0.1, 0.05, 0.0, 0.05, 0.1, 0.3, 0.6, 0.8, 1.0, 1.4, 2.0, 1.6, 1.4, 1.5, 1.8, 2.4, 2.6, 2.6, 2.4,
            2.0, 1.6, 1.0,
        ],
        weekday_activity: [0.9, 1.0, 1.0, 1.1, 1.2, 1.2, 1.0],
        activity: 0.95,
        activity_score: (0.6, 0.12),
        social_score: (0.55, 0.12),
        sociability: 0.55,
        mean_degree: 11.0,
        action_mix: ActionMix { view: 0.46, search: 0.16, save: 0.12, like: 0.10, interest: 0.06, visit: 0.10 },
        app: AppBehaviour {
            browse: 0.38,
            search: 0.20,
            ask_recommendations: 0.14,
            check_friends: 0.08,
            express_interest: 0.08,
            invite_friends: 0.04,
            respond_invitation: 0.05,
            book: 0.03,
            accept_recommendation: 0.25,
            accept_invitation: 0.55,
            cancel_booking: 0.07,
            no_show: 0.03,
        },
        category_bias: [1.3, 0.9, 1.4, 0.7, 0.7, 1.0, 1.0],
        price_ideal: 1.3,
        price_sensitivity: 1.4,
        cuisine_breadth: (2, 4),
        exploration: 0.5,
        distance_km: 4.0,
        openness: 0.55,
        group_size: (2, 5),
        plan_rate: 0.07,
        interests: (1, 3),
        age: (24.0, 4.0),
    },
];

/// Position of a persona in [`Persona::ALL`] and [`PROFILES`].
pub fn persona_index(p: Persona) -> usize {
    match p {
        Persona::SocialButterfly => 0,
        Persona::FoodieExplorer => 1,
        Persona::RoutineRegular => 2,
        Persona::EventOrganizer => 3,
        Persona::SpontaneousDiner => 4,
        Persona::BusyProfessional => 5,
        Persona::BudgetConscious => 6,
    }
}

/// The behaviour profile of a persona.
pub fn profile(p: Persona) -> &'static PersonaProfile {
    &PROFILES[persona_index(p)]
}

/// The population-weighted mean of [`PersonaProfile::activity`] (used to keep the mean
/// number of interactions per user at the configured value).
pub fn mean_activity() -> f64 {
    PROFILES.iter().map(|p| p.share * p.activity).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_in_persona_order_and_mixes_sum_to_one() {
        let total: f64 = PROFILES.iter().map(|p| p.share).sum();
        assert!((total - 1.0).abs() < 1e-9);
        for (p, prof) in Persona::ALL.iter().zip(PROFILES.iter()) {
            assert_eq!(*p, prof.persona);
            let mix: f64 = prof.action_mix.as_array().iter().sum();
            assert!((mix - 1.0).abs() < 1e-9, "{p:?} action mix {mix}");
            let a = prof.app;
            let app = a.browse
                + a.search
                + a.ask_recommendations
                + a.check_friends
                + a.express_interest
                + a.invite_friends
                + a.respond_invitation
                + a.book;
            assert!((app - 1.0).abs() < 1e-9, "{p:?} app mix {app}");
        }
    }
}
