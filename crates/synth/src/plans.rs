//! The near future: venue interests (places a user wants to go, with a preferred time in
//! the coming days) and plans (an organizer, a venue, a time after `now`, and invited
//! friends), drawn from the same tastes as the history so they can be held out and predicted.

use domain::{ParticipantStatus, Plan, PlanParticipant, PlanStatus, RelationshipType, VenueInterest};
use rand::RngExt;

use crate::City;
use crate::behaviour::Candidates;
use crate::catalog;
use crate::personas;
use crate::rng::{EntityRng, uuid_v7};
use crate::social::Friend;
use crate::users::UserCore;

use crate::clock::{DAY_MS, HOUR_MS};

fn ts(ms: i64) -> domain::Timestamp {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl City {
    /// A local time on one of the next `days` days, on the hour or half hour, when venue `v`
    /// is open for a whole visit and people usually go to such places.
    fn future_slot(&self, rng: &mut EntityRng, v: u32, days: usize) -> Option<i64> {
        let today = self.clock.day_of(self.now_ms);
        let p = &self.hot[v as usize];
        let hours = &self.hours.hours[p.hours as usize];
        let turn = p.category().turn_minutes().min(90);
        let visit = catalog::visit_hours(p.category as usize);
        for _ in 0..12 {
            let day = today + rng.random_range(1..=days.max(1));
            if day >= self.clock.days() {
                continue;
            }
            let wd = self.clock.weekday(day);
            let open = self.hours.masks[p.hours as usize][wd];
            let w: Vec<f64> = (0..24).map(|h| if open & (1 << h) != 0 { visit[h] } else { 0.0 }).collect();
            if w.iter().all(|&x| x <= 0.0) {
                continue;
            }
            let h = crate::hoods::pick(rng, &w) as i64;
            let local = self.clock.midnight(day) + h * HOUR_MS + if rng.random_bool(0.5) { 30 * 60_000 } else { 0 };
            let naive = chrono::DateTime::from_timestamp_millis(local).unwrap_or_default().naive_utc();
            if !hours.is_open_for(&naive, turn) {
                continue;
            }
            match self.clock.to_utc(local) {
                Some(at) if at > self.now_ms => return Some(at),
                _ => continue,
            }
        }
        None
    }

    /// Venue interests of user `i`: a few distinct venues drawn from their tastes.
    pub(crate) fn interests_into(
        &self,
        rng: &mut EntityRng,
        core: &UserCore,
        cands: &Candidates,
        out: &mut Vec<VenueInterest>,
    ) {
        let prof = personas::profile(core.persona);
        let (lo, hi) = prof.interests;
        let k = rng.random_range(lo..=hi) as usize;
        let mut chosen: Vec<u32> = Vec::with_capacity(k);
        for _ in 0..k * 4 {
            if chosen.len() == k {
                break;
            }
            let Some(c) = cands.sample(rng) else { break };
            let v = cands.venues[c];
            if !chosen.contains(&v) {
                chosen.push(v);
            }
        }
        for v in chosen {
            let since = core.created_ms.max(self.now_ms - 7 * DAY_MS);
            let created_ms = since + rng.random_range(0..(self.now_ms - since).max(1));
            let preferred = if rng.random_bool(0.7) { self.future_slot(rng, v, 10) } else { None };
            out.push(VenueInterest {
                user_id: core.id,
                venue_id: self.venue_ids[v as usize],
                preferred_time: preferred.map(ts),
                // As the API derives it: the part of the day at the venue (the city's zone).
                preferred_time_slot: preferred.map(|t| domain::TimeOfDay::at(ts(t), self.tz)),
                open_to_invites: true,
                created_at: ts(created_ms),
            });
        }
    }

    /// The upcoming plan user `i` organises, if any: friends with lower indices are invited
    /// (so a plan only references users generated before or with its organizer).
    pub(crate) fn plan_into(
        &self,
        rng: &mut EntityRng,
        i: usize,
        core: &UserCore,
        cands: &Candidates,
        friends: &[Friend],
        out: &mut Vec<Plan>,
    ) {
        let prof = personas::profile(core.persona);
        if !rng.random_bool(prof.plan_rate) {
            return;
        }
        let Some(c) = cands.sample(rng) else { return };
        let v = cands.venues[c];
        let Some(start) = self.future_slot(rng, v, 14) else { return };
        let mut invitees: Vec<&Friend> = friends
            .iter()
            .filter(|f| (f.index as usize) < i && f.relationship != RelationshipType::Suggested)
            .collect();
        // Closest friends first, with some chance in who gets asked.
        invitees.sort_by(|a, b| b.strength.total_cmp(&a.strength).then(a.index.cmp(&b.index)));
        let (g_lo, g_hi) = prof.group_size;
        let want = rng.random_range(g_lo.max(2)..=g_hi.max(2)) as usize - 1;
        invitees.truncate(want);
        if invitees.is_empty() {
            return;
        }
        let since = core.created_ms.max(self.now_ms - 5 * DAY_MS);
        let created_ms = since + rng.random_range(0..(self.now_ms - since).max(1));
        let status = match rng.random::<f64>() {
            x if x < 0.6 => PlanStatus::Draft,
            x if x < 0.95 => PlanStatus::Confirmed,
            _ => PlanStatus::Cancelled,
        };
        let id = uuid_v7(created_ms, rng.random());
        let mut participants = vec![PlanParticipant {
            plan_id: id,
            user_id: core.id,
            status: ParticipantStatus::Accepted,
            invited_at: ts(created_ms),
            responded_at: Some(ts(created_ms)),
        }];
        for f in invitees {
            let x = rng.random::<f64>();
            let accept = if status == PlanStatus::Confirmed { 0.75 } else { 0.5 };
            let answer = if x < accept {
                ParticipantStatus::Accepted
            } else if x < accept + 0.15 {
                ParticipantStatus::Declined
            } else {
                ParticipantStatus::Invited
            };
            let invited_ms = created_ms + rng.random_range(0..HOUR_MS).min((self.now_ms - created_ms).max(0));
            let responded = (answer != ParticipantStatus::Invited)
                .then(|| invited_ms + rng.random_range(0..(self.now_ms - invited_ms).max(1)));
            participants.push(PlanParticipant {
                plan_id: id,
                user_id: self.user_id(f.index as usize),
                status: answer,
                invited_at: ts(invited_ms),
                responded_at: responded.map(ts),
            });
        }
        // No party larger than the venue seats (the store refuses one): the last asked, the
        // least close, who have not declined are left out. After every draw, so the other plans
        // and the rest of the plan stay as they were.
        let seats = self.venues[v as usize].capacity.max(1) as usize;
        let coming = |p: &PlanParticipant| p.status != ParticipantStatus::Declined;
        while participants.iter().filter(|p| coming(p)).count() > seats {
            let Some(last) = participants.iter().rposition(coming) else { break };
            participants.remove(last);
        }
        let party = participants.iter().filter(|p| coming(p)).count();
        out.push(Plan {
            id,
            organizer_id: Some(core.id),
            venue_id: self.venue_ids[v as usize],
            start_time: ts(start),
            party_size: Some(party as i32),
            status,
            created_at: ts(created_ms),
            participants,
        });
    }
}
