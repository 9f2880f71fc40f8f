//! Which events concern one user: what their own event stream carries. A user hears of their own
//! account, of friend requests and friendships they are part of, of their interests, and of
//! every plan they organise or are invited to (the plan's changes, others' answers and its
//! booking), of invitations they sent or got, and of bookings they made or are in the party
//! of. Nothing else: others' profiles, interactions, venues and the operators' system events
//! are not theirs.
//!
//! A plan's later events (an invitee's answer, its booking) do not name every member, so the
//! filter remembers the plans it has seen the user in, starting from those the user was already
//! part of when the stream opened. Of those, the events from before the user joined (a stream
//! resumed from before their invitation) are not theirs, as a live stream did not send them: the
//! filter knows when they joined each. A plan's booking is not told to an invitee who declined
//! it, as `GET /bookings/{plan_id}` refuses it to them: the filter remembers their answers too.

use std::collections::{HashMap, HashSet};

use crate::{DomainEvent, ParticipantStatus, Payload, PlanId, Timestamp, UserId};

/// What one user's stream lets through.
#[derive(Debug, Clone)]
pub struct Concern {
    user: UserId,
    /// The user's id as it appears in event data, to skip events that cannot concern them
    /// without parsing them.
    user_text: String,
    plans: HashSet<PlanId>,
    /// The plans' ids as text, for the same check.
    plan_texts: Vec<String>,
    /// The plans among `plans` the user declined: their booking is not the user's to hear of.
    declined: HashSet<PlanId>,
    /// When the user joined plans among `plans` known at the start: their earlier events are not
    /// the user's.
    joined: HashMap<PlanId, Timestamp>,
}

impl Concern {
    /// For `user`, who is part of `plans` (organising or invited) as the stream opens.
    pub fn new(user: UserId, plans: impl IntoIterator<Item = PlanId>) -> Self {
        let plans: HashSet<PlanId> = plans.into_iter().collect();
        let plan_texts = plans.iter().map(PlanId::to_string).collect();
        let (declined, joined) = (HashSet::new(), HashMap::new());
        Self { user, user_text: user.to_string(), plans, plan_texts, declined, joined }
    }

    /// The same, knowing that the user declined `plans` (among those they are part of).
    pub fn declined(mut self, plans: impl IntoIterator<Item = PlanId>) -> Self {
        self.declined.extend(plans);
        self
    }

    /// The same, knowing when the user joined `plans` (invited, or proposing it): a plan's events
    /// from before then that do not name the user are not theirs.
    pub fn joined(mut self, plans: impl IntoIterator<Item = (PlanId, Timestamp)>) -> Self {
        self.joined.extend(plans);
        self
    }

    pub fn user(&self) -> UserId {
        self.user
    }

    /// Whether an event of `event_type` with `data`, published `at`, concerns the user, learning
    /// the plans it shows them joining. An event this version cannot read (a newer type) does not.
    pub fn admits(&mut self, event_type: &str, data: &Payload, at: Timestamp) -> bool {
        // Every event that concerns the user names them or one of their plans.
        let text = data.get();
        if !text.contains(&self.user_text) && !self.plan_texts.iter().any(|p| text.contains(p.as_str())) {
            return false;
        }
        match DomainEvent::from_parts(event_type, data) {
            Ok(event) => self.admits_event(&event, at),
            Err(_) => false,
        }
    }

    /// Whether `event`, published `at`, concerns the user (see the module's documentation),
    /// learning the plans it shows them joining.
    pub fn admits_event(&mut self, event: &DomainEvent, at: Timestamp) -> bool {
        use DomainEvent::*;
        let me = self.user;
        match event {
            UserCreated(u) | UserUpdated(u) => u.id == me,
            UserDeleted { user_id } | PreferencesUpdated { user_id, .. } => *user_id == me,
            InteractionRecorded(_) => false,
            FriendRequested(r) | FriendRequestAnswered(r) => r.from_user_id == me || r.to_user_id == me,
            FriendRemoved { user_id, other_user_id } => *user_id == me || *other_user_id == me,
            InterestExpressed(i) => i.user_id == me,
            // The organiser takes part in their own plan: they are among its participants.
            PlanCreated(p) | PlanRescheduled(p) | PlanConfirmed(p) | PlanCancelled(p) => {
                let mine = p.participants.iter().find(|pp| pp.user_id == me);
                if let Some(pp) = mine {
                    self.answered(p.id, pp.status);
                }
                self.plan(p.id, mine.is_some(), at)
            }
            ParticipantUpdated(pp) => {
                if pp.user_id == me {
                    self.answered(pp.plan_id, pp.status);
                }
                self.plan(pp.plan_id, pp.user_id == me, at)
            }
            // Only its two people: an invitation of someone else to a plan the user is in would
            // reach them or not depending on the order the invitees were listed in.
            InvitationSent(inv) => {
                let named = inv.invitee_id == me || inv.inviter_id == me;
                if let (true, Some(plan)) = (named, inv.plan_id) {
                    self.plan(plan, true, at);
                }
                named
            }
            BookingHeld(b) | BookingCreated(b) | BookingStatusChanged(b) | BookingReleased { booking: b, .. } => {
                b.includes(me) || b.plan_id.is_some_and(|p| self.in_plan(p, at) && !self.declined.contains(&p))
            }
            BookingRefused(full) => full.user_id == me,
            VenueCreated(_) | VenueUpdated(_) | VenueDeleted { .. } | DataSeeded { .. } | DataReset => false,
        }
    }

    /// Remembers the user's answer to `plan` as an event shows it.
    fn answered(&mut self, plan: PlanId, status: ParticipantStatus) {
        if status == ParticipantStatus::Declined {
            self.declined.insert(plan);
        } else {
            self.declined.remove(&plan);
        }
    }

    /// Whether the user is in `plan`: named as a member now (remembered from then on), or seen
    /// in it before.
    fn plan(&mut self, plan: PlanId, named: bool, at: Timestamp) -> bool {
        if named {
            if self.plans.insert(plan) {
                self.plan_texts.push(plan.to_string());
            }
            return true;
        }
        self.in_plan(plan, at)
    }

    /// Whether the user was in `plan` `at` an event's time, as far as the filter knows: a plan it
    /// has seen them in, unless they joined it later. (The events of the transaction that made
    /// them join are stamped after it: the store reads the clock for them after its row.)
    fn in_plan(&self, plan: PlanId, at: Timestamp) -> bool {
        self.plans.contains(&plan) && self.joined.get(&plan).is_none_or(|joined| at >= *joined)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::booking::{Booking, BookingStatus, Invitation};
    use serde_json::json;

    use crate::{FriendRequest, FriendRequestStatus, ParticipantStatus, Plan, PlanParticipant};

    fn at() -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, 19, 0, 0).unwrap()
    }

    /// A plan as the store shows it: the organiser takes part (accepted), the invitees invited.
    fn plan(organizer: UserId, invitees: &[UserId]) -> Plan {
        let id = Uuid::now_v7();
        let participant = |user: &UserId, status: &str| json!({"plan_id": id, "user_id": user, "status": status, "invited_at": at(), "responded_at": null});
        let mut participants = vec![participant(&organizer, "accepted")];
        participants.extend(invitees.iter().map(|u| participant(u, "invited")));
        let plan = json!({"id": id, "organizer_id": organizer, "venue_id": Uuid::now_v7(), "start_time": at(),
            "party_size": null, "status": "pending", "created_at": at(), "participants": participants});
        serde_json::from_value(plan).expect("a plan")
    }

    fn booking(maker: UserId, plan_id: Option<PlanId>) -> Booking {
        Booking {
            id: Uuid::now_v7(),
            user_id: Some(maker),
            venue_id: Uuid::now_v7(),
            plan_id,
            booking_time: at(),
            party_size: 2,
            duration_minutes: 90,
            status: BookingStatus::Confirmed,
            confirmation_code: "LUNA-TEST01".into(),
            provider: "house".into(),
            agent: "test".into(),
            group_members: Vec::new(),
            special_requests: None,
            created_at: at(),
            updated_at: at(),
        }
    }

    /// Through `admits`, as the stream calls it: the event as type and data.
    fn admits(c: &mut Concern, e: &DomainEvent) -> bool {
        let (t, data) = e.into_parts();
        c.admits(&t, &data, at())
    }

    #[test]
    fn a_friend_request_concerns_its_two_users_only() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let r = FriendRequest {
            id: Uuid::now_v7(),
            from_user_id: a,
            to_user_id: b,
            status: FriendRequestStatus::Pending,
            created_at: at(),
            responded_at: None,
        };
        let e = DomainEvent::FriendRequested(r);
        assert!(admits(&mut Concern::new(a, []), &e));
        assert!(admits(&mut Concern::new(b, []), &e));
        assert!(!admits(&mut Concern::new(c, []), &e));
        let removed = DomainEvent::FriendRemoved { user_id: b, other_user_id: a };
        assert!(admits(&mut Concern::new(a, []), &removed));
        assert!(!admits(&mut Concern::new(c, []), &removed));
    }

    #[test]
    fn a_plan_the_user_was_invited_to_brings_its_later_answers_and_booking() {
        let (organizer, me, other, stranger) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let p = plan(organizer, &[me, other]);
        let mut mine = Concern::new(me, []);
        let mut theirs = Concern::new(stranger, []);
        let created = DomainEvent::PlanCreated(p.clone());
        assert!(admits(&mut mine, &created), "invited in it");
        assert!(!admits(&mut theirs, &created));
        // Another invitee's answer names only them and the plan.
        let answer = DomainEvent::ParticipantUpdated(PlanParticipant {
            plan_id: p.id,
            user_id: other,
            status: ParticipantStatus::Accepted,
            invited_at: at(),
            responded_at: Some(at()),
        });
        assert!(admits(&mut mine, &answer), "an answer in a plan the user is in");
        assert!(!admits(&mut theirs, &answer));
        // The plan's booking is made by the organiser, without the user in its group yet.
        let booked = DomainEvent::BookingCreated(booking(organizer, Some(p.id)));
        assert!(admits(&mut mine, &booked), "the booking of a plan the user is in");
        assert!(!admits(&mut theirs, &booked));
        assert!(!admits(&mut Concern::new(me, []), &answer), "without having seen the plan, not theirs");
    }

    #[test]
    fn plans_known_when_the_stream_opens_and_invitations_count_as_membership() {
        let (organizer, me) = (Uuid::now_v7(), Uuid::now_v7());
        let p = plan(organizer, &[]);
        let confirmed = DomainEvent::PlanConfirmed(p.clone());
        assert!(admits(&mut Concern::new(me, [p.id]), &confirmed), "a plan the user was in at the start");
        assert!(!admits(&mut Concern::new(me, []), &confirmed));
        let mut mine = Concern::new(me, []);
        let invitation = Invitation {
            inviter_id: organizer,
            invitee_id: me,
            venue_id: p.venue_id,
            plan_id: Some(p.id),
            booking_id: None,
            created_at: at(),
        };
        let invited = DomainEvent::InvitationSent(invitation.clone());
        assert!(admits(&mut mine, &invited));
        assert!(admits(&mut mine, &confirmed), "the invitation made the plan theirs");
        assert!(admits(&mut Concern::new(organizer, []), &invited), "the inviter hears of it too");
        let theirs = DomainEvent::InvitationSent(Invitation { invitee_id: Uuid::now_v7(), ..invitation });
        assert!(!admits(&mut mine, &theirs), "another's invitation, even to a plan the user is in");
    }

    /// A stream resumed from before the user was invited to a plan replayed the plan's earlier
    /// events (its proposal without them, others' answers, its booking): known at the start, the
    /// plan let through all of them. Those from before the user joined are not theirs, as a live
    /// stream did not send them; from when they joined on, they are.
    #[test]
    fn a_plan_known_at_the_start_brings_only_its_events_from_when_the_user_joined_it() {
        let (organizer, other, me) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let p = plan(organizer, &[other]);
        let joined = at() + chrono::TimeDelta::hours(1);
        let mine = || Concern::new(me, [p.id]).joined([(p.id, joined)]);
        let answer = DomainEvent::ParticipantUpdated(PlanParticipant {
            plan_id: p.id,
            user_id: other,
            status: ParticipantStatus::Accepted,
            invited_at: at(),
            responded_at: Some(at()),
        });
        let booked = DomainEvent::BookingCreated(booking(organizer, Some(p.id)));
        for event in [DomainEvent::PlanCreated(p.clone()), answer, booked] {
            let (t, data) = event.into_parts();
            assert!(!mine().admits(&t, &data, at()), "{t} before the user joined");
            assert!(!mine().admits(&t, &data, joined - chrono::TimeDelta::microseconds(1)), "{t} just before");
            assert!(mine().admits(&t, &data, joined), "{t} as they joined");
            assert!(mine().admits(&t, &data, joined + chrono::TimeDelta::seconds(1)), "{t} after");
            assert!(Concern::new(me, [p.id]).admits(&t, &data, at()), "{t}: joining unknown, as before");
        }
        // Named in it, the user is party to the event whenever it was.
        let mut named = p.clone();
        named.participants[1].user_id = me;
        let (t, data) = DomainEvent::PlanRescheduled(named).into_parts();
        assert!(mine().admits(&t, &data, at()), "an event naming the user");
    }

    /// `GET /bookings/{plan_id}` refuses a plan's booking to an invitee who declined it (403):
    /// their stream sent it to them all the same (its confirmation code, group, requests).
    #[test]
    fn a_plan_the_user_declined_does_not_bring_its_booking() {
        let (organizer, me) = (Uuid::now_v7(), Uuid::now_v7());
        let p = plan(organizer, &[me]);
        let answer = |status| {
            DomainEvent::ParticipantUpdated(PlanParticipant {
                plan_id: p.id,
                user_id: me,
                status,
                invited_at: at(),
                responded_at: Some(at()),
            })
        };
        let booked = DomainEvent::BookingCreated(booking(organizer, Some(p.id)));
        let mut mine = Concern::new(me, []);
        assert!(admits(&mut mine, &DomainEvent::PlanCreated(p.clone())));
        assert!(admits(&mut mine, &answer(ParticipantStatus::Declined)), "their own answer");
        let mut confirmed = p.clone();
        confirmed
            .participants
            .iter_mut()
            .filter(|pp| pp.user_id == me)
            .for_each(|pp| pp.status = ParticipantStatus::Declined);
        assert!(admits(&mut mine, &DomainEvent::PlanConfirmed(confirmed)), "the plan itself stays theirs");
        assert!(!admits(&mut mine, &booked), "declined: the booking is not theirs");
        assert!(admits(&mut mine, &answer(ParticipantStatus::Accepted)), "changed their mind");
        assert!(admits(&mut mine, &booked));
        let mut declined_before = Concern::new(me, [p.id]).declined([p.id]);
        assert!(!admits(&mut declined_before, &booked), "declined before the stream opened");
        let mut in_party = booking(organizer, Some(p.id));
        in_party.group_members.push(me);
        assert!(admits(&mut declined_before, &DomainEvent::BookingCreated(in_party)), "in its party after all");
    }

    #[test]
    fn own_account_events_concern_the_user_and_others_and_system_events_do_not() {
        let (me, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut mine = Concern::new(me, []);
        assert!(admits(&mut mine, &DomainEvent::UserDeleted { user_id: me }));
        assert!(!admits(&mut mine, &DomainEvent::UserDeleted { user_id: other }));
        let mut party = booking(other, None);
        party.group_members.push(me);
        assert!(admits(&mut mine, &DomainEvent::BookingCreated(party)), "in the party");
        assert!(!admits(&mut mine, &DomainEvent::BookingCreated(booking(other, None))));
        assert!(!admits(&mut mine, &DomainEvent::DataReset));
        assert!(!mine.admits("some.future_type", &Payload::of(&serde_json::json!({"user_id": me})).unwrap(), at()));
    }
}
