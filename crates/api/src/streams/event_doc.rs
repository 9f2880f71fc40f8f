//! The event schema in the OpenAPI document: the envelope `Event` (`id`, `source_id`, `channel`,
//! `type`, `timestamp`, `data`) and `EventPayload`, one `{type, data}` shape per event type, whose
//! `data` is the domain entity the event carries. [`EventPayload`] mirrors
//! [`domain::DomainEvent`] for the document only; the match in the tests has no `_` arm, so a
//! new domain event does not compile until it is documented here.

use domain::{
    Booking, Channel, FriendRequest, Interaction, Invitation, Plan, PlanParticipant, SlotFull, User, UserPreferences,
    Venue, VenueInterest,
};
use serde::Serialize;
use utoipa::openapi::OpenApi;
use utoipa::{OpenApi as _, ToSchema};
use uuid::Uuid;

use app::reco_service::{LOCATION_EVENT, LocationUpdate, RecommendationServed, SERVED_EVENT};
use app::sim::{MetricsSnapshot, ScenarioId, SimEvent, SimState};
use app::telemetry::ServerMetrics;

/// Every event type, with the channel it is published on. The tests check it against the
/// sources of truth: [`domain::DomainEvent`] and [`SimEvent::ALL`].
pub const EVENT_TYPES: [(&str, Channel); 37] = [
    ("user.created", Channel::UserActions),
    ("user.updated", Channel::UserActions),
    ("user.deleted", Channel::UserActions),
    ("user.preferences_updated", Channel::UserActions),
    ("interaction.recorded", Channel::UserActions),
    (LOCATION_EVENT, Channel::UserActions),
    (SERVED_EVENT, Channel::Recommendations),
    ("friend.requested", Channel::Social),
    ("friend.request_answered", Channel::Social),
    ("friend.removed", Channel::Social),
    ("interest.expressed", Channel::Social),
    ("plan.created", Channel::Social),
    ("plan.participant_updated", Channel::Social),
    ("invitation.sent", Channel::Social),
    ("plan.rescheduled", Channel::Social),
    ("plan.confirmed", Channel::Bookings),
    ("plan.cancelled", Channel::Bookings),
    ("booking.held", Channel::Bookings),
    ("booking.created", Channel::Bookings),
    ("booking.released", Channel::Bookings),
    ("booking.refused", Channel::Bookings),
    ("booking.status_changed", Channel::Bookings),
    ("venue.created", Channel::System),
    ("venue.updated", Channel::System),
    ("venue.deleted", Channel::System),
    ("data.seeded", Channel::System),
    ("data.reset", Channel::System),
    (app::reco::training::MODEL_TRAINED, Channel::System),
    ("metrics.snapshot", Channel::Metrics),
    (SimEvent::Started.as_str(), Channel::Simulation),
    (SimEvent::Paused.as_str(), Channel::Simulation),
    (SimEvent::Resumed.as_str(), Channel::Simulation),
    (SimEvent::SpeedChanged.as_str(), Channel::Simulation),
    (SimEvent::ScenarioTriggered.as_str(), Channel::Simulation),
    (SimEvent::Stopped.as_str(), Channel::Simulation),
    (SimEvent::Finished.as_str(), Channel::Simulation),
    (SimEvent::Reset.as_str(), Channel::Simulation),
];

/// What a channel carries.
pub fn describe(c: Channel) -> &'static str {
    match c {
        Channel::UserActions => {
            "What users do: sign-ups, profile and preference changes, interactions with venues, live locations"
        }
        Channel::Recommendations => {
            "Recommendations served: who saw which venues or people, from which ranker, with their scores"
        }
        Channel::Bookings => {
            "Plans confirmed or cancelled; seats held, bookings created, released, refused (slot full) or changed"
        }
        Channel::Social => {
            "Friend requests and friendships, venue interests, plans, their participants and invitations"
        }
        Channel::System => {
            "Venues created, changed or deleted; data seeded or reset; the learned model trained and put to use"
        }
        Channel::Metrics => "A metrics.snapshot from every server every few seconds",
        Channel::Simulation => {
            "Simulator control: a run started, paused, resumed, sped up or slowed, a scenario triggered, the run stopped (on request, by a data reset or forced reseed, or by itself at the booking horizon; its `stop_reason` says which), finished or reset"
        }
    }
}

/// An event's `type` and `data`: the `data` schema of each event type.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", content = "data")]
#[allow(dead_code)] // documentation only
pub enum EventPayload {
    #[serde(rename = "user.created")]
    UserCreated(User),
    #[serde(rename = "user.updated")]
    UserUpdated(User),
    #[serde(rename = "user.deleted")]
    UserDeleted { user_id: Uuid },
    #[serde(rename = "user.preferences_updated")]
    PreferencesUpdated { user_id: Uuid, preferences: UserPreferences },
    #[serde(rename = "venue.created")]
    VenueCreated(Venue),
    #[serde(rename = "venue.updated")]
    VenueUpdated(Venue),
    #[serde(rename = "venue.deleted")]
    VenueDeleted { venue_id: Uuid },
    #[serde(rename = "interaction.recorded")]
    InteractionRecorded(Interaction),
    #[serde(rename = "friend.requested")]
    FriendRequested(FriendRequest),
    #[serde(rename = "friend.request_answered")]
    FriendRequestAnswered(FriendRequest),
    #[serde(rename = "friend.removed")]
    FriendRemoved { user_id: Uuid, other_user_id: Uuid },
    #[serde(rename = "interest.expressed")]
    InterestExpressed(VenueInterest),
    #[serde(rename = "plan.created")]
    PlanCreated(Plan),
    #[serde(rename = "plan.participant_updated")]
    ParticipantUpdated(PlanParticipant),
    #[serde(rename = "plan.rescheduled")]
    PlanRescheduled(Plan),
    #[serde(rename = "plan.confirmed")]
    PlanConfirmed(Plan),
    #[serde(rename = "plan.cancelled")]
    PlanCancelled(Plan),
    #[serde(rename = "invitation.sent")]
    InvitationSent(Invitation),
    #[serde(rename = "booking.held")]
    BookingHeld(Booking),
    #[serde(rename = "booking.created")]
    BookingCreated(Booking),
    #[serde(rename = "booking.released")]
    BookingReleased { booking: Booking, reason: String },
    #[serde(rename = "booking.refused")]
    BookingRefused(SlotFull),
    #[serde(rename = "booking.status_changed")]
    BookingStatusChanged(Booking),
    #[serde(rename = "data.seeded")]
    DataSeeded { users: u64, venues: u64, interactions: u64, edges: u64, plans: u64 },
    #[serde(rename = "data.reset")]
    DataReset,
    /// Published straight on the bus (not stored) when a training put a new learned model to
    /// use (`POST /api/v1/admin/model/train`, or after a seed under `luna serve --demo`).
    #[serde(rename = "model.trained")]
    ModelTrained(app::reco::training::TrainingResult),
    /// Published straight on the bus by every server every few seconds.
    #[serde(rename = "metrics.snapshot")]
    MetricsSnapshot(ServerMetrics),
    /// Published straight on the bus (not stored) when a user shares where they are.
    #[serde(rename = "user.location_updated")]
    LocationUpdated(LocationUpdate),
    /// Published straight on the bus (not stored) with every recommendation answer, and with the
    /// venues proposed when a booking is refused.
    #[serde(rename = "recommendation.served")]
    RecommendationServed(RecommendationServed),
    /// Published straight on the bus by the simulator (as are the other `simulation.*`), with
    /// the run's state as the control endpoint answered it.
    #[serde(rename = "simulation.started")]
    SimulationStarted(SimState),
    #[serde(rename = "simulation.paused")]
    SimulationPaused(SimState),
    #[serde(rename = "simulation.resumed")]
    SimulationResumed(SimState),
    #[serde(rename = "simulation.speed_changed")]
    SimulationSpeedChanged(SimState),
    #[serde(rename = "simulation.scenario_triggered")]
    SimulationScenarioTriggered(SimState),
    /// The run stopped before the end of its duration: on request (`POST /api/v1/simulation/stop`),
    /// by a data reset or a forced reseed, by itself when, run without a duration, its clock
    /// reached the booking horizon (366 days past the wall clock at its start), as its server
    /// shut down, or because it broke down (the server's log says why). Its state's
    /// `stop_reason` says which: `requested`, `data_reset`, `booking_horizon`, `shutdown` or
    /// `failed`.
    #[serde(rename = "simulation.stopped")]
    SimulationStopped(SimState),
    /// The run reached the end of its duration.
    #[serde(rename = "simulation.finished")]
    SimulationFinished(SimulationFinished),
    /// The simulator was reset to idle (`data` is `{}`).
    #[serde(rename = "simulation.reset")]
    SimulationReset {},
}

/// The `data` of `simulation.finished`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // documentation only
pub struct SimulationFinished {
    /// Simulated minutes run.
    pub ticks: u64,
    #[schema(value_type = String, format = DateTime)]
    #[serde(serialize_with = "domain::time::micros")]
    pub simulation_time: domain::Timestamp,
    pub scenario: ScenarioId,
    pub action_log_hash: String,
    pub metrics: MetricsSnapshot,
}

#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(domain::Event, EventPayload)))]
struct EventSchemas;

/// Adds `Event` and `EventPayload` (with every entity they reference) to the document.
pub fn document(api: &mut OpenApi) {
    api.merge(EventSchemas::openapi());
}

#[cfg(test)]
mod tests {
    use app::sim::StopReason;
    use domain::DomainEvent;

    use super::*;

    /// No `_` arm: a new `DomainEvent` fails to compile here until `EventPayload` and
    /// `EVENT_TYPES` document it.
    fn documented(e: &DomainEvent) -> (&'static str, Channel) {
        use DomainEvent::*;
        let name = match e {
            UserCreated(_) => "user.created",
            UserUpdated(_) => "user.updated",
            UserDeleted { .. } => "user.deleted",
            PreferencesUpdated { .. } => "user.preferences_updated",
            VenueCreated(_) => "venue.created",
            VenueUpdated(_) => "venue.updated",
            VenueDeleted { .. } => "venue.deleted",
            InteractionRecorded(_) => "interaction.recorded",
            FriendRequested(_) => "friend.requested",
            FriendRequestAnswered(_) => "friend.request_answered",
            FriendRemoved { .. } => "friend.removed",
            InterestExpressed(_) => "interest.expressed",
            PlanCreated(_) => "plan.created",
            ParticipantUpdated(_) => "plan.participant_updated",
            PlanRescheduled(_) => "plan.rescheduled",
            PlanConfirmed(_) => "plan.confirmed",
            PlanCancelled(_) => "plan.cancelled",
            InvitationSent(_) => "invitation.sent",
            BookingHeld(_) => "booking.held",
            BookingCreated(_) => "booking.created",
            BookingReleased { .. } => "booking.released",
            BookingRefused(_) => "booking.refused",
            BookingStatusChanged(_) => "booking.status_changed",
            DataSeeded { .. } => "data.seeded",
            DataReset => "data.reset",
        };
        let channel = EVENT_TYPES.iter().find(|(t, _)| *t == name).map(|(_, c)| *c).expect("listed");
        (name, channel)
    }

    #[test]
    fn documented_names_and_channels_are_the_domains() {
        let id = domain::new_id();
        for e in [DomainEvent::DataReset, DomainEvent::FriendRemoved { user_id: id, other_user_id: id }] {
            assert_eq!(documented(&e), (e.event_type().as_str(), e.channel()));
        }
    }

    #[test]
    fn every_simulation_event_the_simulator_publishes_is_listed_on_its_channel() {
        for e in SimEvent::ALL {
            let listed: Vec<_> = EVENT_TYPES.iter().filter(|(t, _)| *t == e.as_str()).map(|(_, c)| *c).collect();
            assert_eq!(listed, [Channel::Simulation], "{}", e.as_str());
        }
        let on_channel = EVENT_TYPES.iter().filter(|(_, c)| *c == Channel::Simulation).count();
        assert_eq!(on_channel, SimEvent::ALL.len(), "only the simulator's events are on its channel");
    }

    #[test]
    fn every_channel_lists_an_event_type_and_no_type_is_listed_twice() {
        for c in Channel::ALL {
            assert!(EVENT_TYPES.iter().any(|(_, on)| *on == c), "{} lists no event type", c.as_str());
        }
        let mut names: Vec<_> = EVENT_TYPES.iter().map(|(t, _)| *t).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EVENT_TYPES.len());
    }

    #[test]
    fn every_event_type_has_a_payload_schema() {
        let mut api = OpenApi::default();
        document(&mut api);
        let doc = serde_json::to_string(&api).unwrap_or_default();
        for (name, _) in EVENT_TYPES {
            assert!(doc.contains(&format!("\"{name}\"")), "{name} is not in the document");
        }
        assert!(doc.contains("\"EventPayload\"") && doc.contains("\"Event\"") && doc.contains("\"Booking\""));
    }

    /// No `_` arm: a new `StopReason` fails to compile here until the `simulation.stopped`
    /// documentation names it.
    fn documented_stop_reason(r: StopReason) -> &'static str {
        match r {
            StopReason::Requested => "requested",
            StopReason::DataReset => "data_reset",
            StopReason::BookingHorizon => "booking_horizon",
            StopReason::Shutdown => "shutdown",
            StopReason::Failed => "failed",
        }
    }

    #[test]
    fn the_stopped_events_documentation_names_its_stop_reason_and_every_reason() {
        let mut api = OpenApi::default();
        document(&mut api);
        let doc = serde_json::to_value(&api).unwrap_or_default();
        let payloads = doc["components"]["schemas"]["EventPayload"]["oneOf"].as_array().cloned().unwrap_or_default();
        let stopped = payloads.iter().find(|p| p.to_string().contains("\"simulation.stopped\""));
        let description = stopped.and_then(|p| p["description"].as_str()).unwrap_or_default();
        assert!(description.contains("`stop_reason`"), "{stopped:?}");
        for r in [
            StopReason::Requested,
            StopReason::DataReset,
            StopReason::BookingHorizon,
            StopReason::Shutdown,
            StopReason::Failed,
        ] {
            let name = documented_stop_reason(r);
            assert_eq!(serde_json::to_value(r).ok(), Some(serde_json::json!(name)));
            assert!(description.contains(&format!("`{name}`")), "{name} is not in {description:?}");
        }
        assert!(describe(Channel::Simulation).contains("booking horizon"));
    }
}
