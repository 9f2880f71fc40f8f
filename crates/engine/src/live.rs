//! Live updates. A writer (one at a time, behind a mutex readers never touch) copies the
//! current [`State`] shallowly, replaces the few rows an event changes in the sharded delta,
//! and swaps the new state in with one atomic store. When the delta grows past
//! `LiveSettings::merge_after` rows it is folded into a fresh snapshot (row `Arc`s re-shared,
//! spatial indexes rebuilt only if venues changed) in the same swap.

use std::sync::Arc;

use domain::{Booking, BookingStatus, DomainEvent, FriendRequestStatus, RelationshipType, Timestamp, UserId};
use uuid::Uuid;

use crate::builder::{assemble, tz_index};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::ingest;
use crate::model::{LoadedModel, MfModel};
use crate::state::{Delta, Edge, InterestMark, State, UserRow, VenueDyn, VenueRow, upsert_mark};
use crate::util::FastMap;

impl Engine {
    /// Applies one committed write. Unknown or irrelevant events are ignored. Returns whether
    /// the engine changed.
    pub fn apply(&self, event: &DomainEvent) -> bool {
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = (**self.state.load()).clone();
        let changed = apply_to(&mut st, event, self.settings.people.new_friend_strength);
        if changed {
            self.publish(st);
        }
        changed
    }

    /// Applies a user's or venue's creation (with the events that follow it, such as the user's
    /// preferences), or a user's interest in a venue, only if the engine does not know that user,
    /// venue or interest yet: a row read from the store to catch up, or an interest the store
    /// adds only where there was none, must not overwrite what the follower applied meanwhile.
    /// Returns whether it applied them.
    pub fn apply_if_unknown(&self, events: &[DomainEvent]) -> bool {
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let known = match events.first() {
            Some(DomainEvent::UserCreated(u)) => self.state.load().user_idx(&u.id).is_some(),
            Some(DomainEvent::VenueCreated(v)) => self.state.load().venue_idx(&v.id).is_some(),
            Some(DomainEvent::InterestExpressed(i)) => {
                let st = self.state.load();
                let marked = |u, v| st.user(u).is_some_and(|r| r.interests.binary_search_by_key(&v, |m| m.key).is_ok());
                st.user_idx(&i.user_id).zip(st.venue_idx(&i.venue_id)).is_some_and(|(u, v)| marked(u, v))
            }
            _ => return false,
        };
        if known {
            return false;
        }
        let mut st = (**self.state.load()).clone();
        for e in events {
            apply_to(&mut st, e, self.settings.people.new_friend_strength);
        }
        self.publish(st);
        true
    }

    /// Applies several events with one swap at the end (cheaper for bursts).
    pub fn apply_all<'a>(&self, events: impl IntoIterator<Item = &'a DomainEvent>) -> usize {
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = (**self.state.load()).clone();
        let n = events.into_iter().filter(|e| apply_to(&mut st, e, self.settings.people.new_friend_strength)).count();
        if n > 0 {
            self.publish(st);
        }
        n
    }

    /// Records a user's live location; it is used instead of home while fresh. One sent before
    /// the location the engine holds (delivered late, or replayed) changes nothing.
    pub fn set_location(&self, user_id: UserId, lat: f64, lng: f64, at: Timestamp) -> Result<(), EngineError> {
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = (**self.state.load()).clone();
        let u = st.user_idx(&user_id).ok_or(EngineError::UnknownUser(user_id))?;
        let mut row = st.user(u).cloned().unwrap_or_default();
        if row.live.is_some_and(|(_, _, t)| t > at.timestamp()) {
            return Ok(());
        }
        row.live = Some((lat, lng, at.timestamp()));
        st.delta.users.insert(u, Arc::new(row));
        self.publish(st);
        Ok(())
    }

    /// Loads a learned model (swapped in atomically; the next query uses it).
    pub fn set_model(&self, model: &MfModel) {
        // Mapping the model and finding its item neighbours takes seconds at a million users:
        // done on the state as it stands, outside the writers' lock, so writes go on meanwhile.
        // Users and venues added meanwhile keep their indices; a data reset meanwhile does not,
        // so then the model is mapped again onto the state after it.
        let _m = self.model_writer.lock().unwrap_or_else(|e| e.into_inner());
        let (loaded, generation) = {
            let st = self.state.load();
            (Arc::new(LoadedModel::new(model, &st)), st.generation)
        };
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = (**self.state.load()).clone();
        st.model = Some(if st.generation == generation { loaded } else { Arc::new(LoadedModel::new(model, &st)) });
        self.state.store(Arc::new(st));
    }

    /// Folds the delta into a fresh snapshot now.
    pub fn merge(&self) {
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let st = (**self.state.load()).clone();
        self.state.store(Arc::new(merge(st)));
    }

    fn publish(&self, st: State) {
        let rows = st.delta.users.len() + st.delta.vdyn.len() + st.delta.venues.len();
        let st = if rows >= self.settings.live.merge_after { merge(st) } else { st };
        self.state.store(Arc::new(st));
    }
}

/// The index of a user, allocated if new.
fn ensure_user(st: &mut State, id: Uuid) -> u32 {
    if let Some(u) = st.user_idx(&id) {
        return u;
    }
    let u = st.delta.n_users;
    st.delta.n_users += 1;
    Arc::make_mut(&mut st.delta.new_user_ix).insert(id, u);
    st.delta.users.insert(u, Arc::new(UserRow { id, ..UserRow::default() }));
    u
}

/// The index of a venue, allocated if new (as a dead row until created).
fn ensure_venue(st: &mut State, id: Uuid) -> u32 {
    if let Some(v) = st.venue_idx(&id) {
        return v;
    }
    let v = st.delta.n_venues;
    st.delta.n_venues += 1;
    Arc::make_mut(&mut st.delta.new_venue_ix).insert(id, v);
    st.delta.vdyn.insert(v, Arc::new(VenueDyn::default()));
    v
}

fn update_user(st: &mut State, u: u32, f: impl FnOnce(&mut UserRow)) {
    let mut row = st.user(u).cloned().unwrap_or_default();
    f(&mut row);
    st.delta.users.insert(u, Arc::new(row));
}

fn update_vdyn(st: &mut State, v: u32, f: impl FnOnce(&mut VenueDyn)) {
    let mut d = st.vdyn(v).cloned().unwrap_or_default();
    let before = d.pos;
    f(&mut d);
    if d.pos != before {
        if d.pos > st.delta.max_pos {
            st.delta.max_pos = d.pos;
        }
        let base = st.base_pos(v);
        let list = Arc::make_mut(&mut st.delta.dirty_pop);
        list.retain(|&(_, x)| x != v);
        if d.pos != base {
            let key = (std::cmp::Reverse(d.pos), v);
            let at = list.partition_point(|&(p, x)| (std::cmp::Reverse(p), x) < key);
            list.insert(at, (d.pos, v));
        }
    }
    st.delta.vdyn.insert(v, Arc::new(d));
}

fn put_venue(st: &mut State, v: u32, row: VenueRow) {
    Arc::make_mut(&mut st.delta.venues).insert(v, Arc::new(row));
}

fn recompute_max_pos(st: &mut State) {
    st.delta.max_pos = (0..st.n_venues()).map(|v| st.trend_pos(v).1).max().unwrap_or(0);
}

/// Applies an event to a state; returns whether anything changed.
fn apply_to(st: &mut State, event: &DomainEvent, new_friend_strength: f64) -> bool {
    use DomainEvent as E;
    match event {
        E::UserCreated(u) | E::UserUpdated(u) => {
            let ix = ensure_user(st, u.id);
            update_user(st, ix, |r| ingest::set_profile(r, u));
        }
        E::UserDeleted { user_id } => delete_user(st, *user_id),
        E::PreferencesUpdated { user_id, preferences } => {
            let ix = ensure_user(st, *user_id);
            update_user(st, ix, |r| r.prefs = Some(ingest::prefs_from(preferences)));
        }
        E::VenueCreated(v) | E::VenueUpdated(v) => {
            let ix = ensure_venue(st, v.id);
            let tzs = Arc::make_mut(&mut st.delta.tzs);
            let mut names: std::collections::HashMap<String, u16> =
                tzs.iter().enumerate().map(|(i, t)| (t.name().to_string(), i as u16)).collect();
            let tz = tz_index(tzs, &mut names, &v.timezone);
            let row = ingest::venue_row(v, tz, Arc::make_mut(&mut st.delta.tag_vocab));
            put_venue(st, ix, row);
        }
        E::VenueDeleted { venue_id } => {
            let Some(ix) = st.venue_idx(venue_id) else { return false };
            let Some(mut row) = st.venue(ix).cloned() else { return false };
            row.alive = false;
            put_venue(st, ix, row);
            // The store removes its interactions and interests: its counts leave the
            // popularity scale (seed2's popularity / max) as a reload would.
            update_vdyn(st, ix, |d| {
                d.pos = 0;
                d.total = 0;
                d.interested.clear();
            });
            recompute_max_pos(st);
        }
        E::InteractionRecorded(i) => {
            let u = ensure_user(st, i.user_id);
            let v = ensure_venue(st, i.venue_id);
            let (t0, hl) = (st.snap.trend_t0, st.snap.half_life_secs);
            update_user(st, u, |r| ingest::record_on_user(r, v, i));
            update_vdyn(st, v, |d| ingest::record_on_venue(d, u, i, t0, hl));
        }
        E::FriendRequestAnswered(fr) if fr.status == FriendRequestStatus::Accepted => {
            let a = ensure_user(st, fr.from_user_id);
            let b = ensure_user(st, fr.to_user_id);
            for (x, y) in [(a, b), (b, a)] {
                update_user(st, x, |r| {
                    if r.edge(y).is_none_or(|e| e.rel != RelationshipType::Friend) {
                        r.set_edge(Edge { other: y, rel: RelationshipType::Friend, strength: new_friend_strength });
                    }
                });
            }
        }
        E::FriendRemoved { user_id, other_user_id } => {
            let (Some(a), Some(b)) = (st.user_idx(user_id), st.user_idx(other_user_id)) else { return false };
            update_user(st, a, |r| r.remove_edge(b));
            update_user(st, b, |r| r.remove_edge(a));
        }
        E::InterestExpressed(i) => {
            let u = ensure_user(st, i.user_id);
            let v = ensure_venue(st, i.venue_id);
            update_user(st, u, |r| upsert_mark(&mut r.interests, InterestMark::of(v, i)));
            update_vdyn(st, v, |d| upsert_mark(&mut d.interested, InterestMark::of(u, i)));
        }
        E::BookingCreated(b) => apply_booking(st, b, false),
        E::BookingStatusChanged(b) if b.status == BookingStatus::Completed => apply_booking(st, b, true),
        E::DataReset => {
            let empty = crate::EngineBuilder::new(crate::EngineSettings::default()).build();
            let fresh = (**empty.state.load()).clone();
            *st = State { model: None, generation: st.generation + 1, ..fresh };
        }
        _ => return false,
    }
    true
}

fn apply_booking(st: &mut State, b: &Booking, completed: bool) {
    let v = ensure_venue(st, b.venue_id);
    if !completed {
        update_vdyn(st, v, |d| d.bookings += 1);
    }
    let at = ingest::booking_signal_at(b, completed);
    for m in ingest::booking_members(b) {
        let u = ensure_user(st, m);
        update_user(st, u, |r| ingest::record_booking_on_user(r, v, b, completed));
        update_vdyn(st, v, |d| d.push_recent(u, at));
    }
}

fn delete_user(st: &mut State, id: Uuid) {
    let Some(u) = st.user_idx(&id) else { return };
    let Some(row) = st.user(u).cloned() else { return };
    for a in &row.history {
        let likes = u32::from(a.likes);
        let n = u32::from(a.n);
        update_vdyn(st, a.venue, |d| {
            d.pos = d.pos.saturating_sub(likes);
            d.total = d.total.saturating_sub(n);
            d.recent.retain(|&(x, _)| x != u);
        });
    }
    for m in &row.interests {
        update_vdyn(st, m.key, |d| d.interested.retain(|p| p.key != u));
    }
    // The store removes edges both ways; every edge is stored both ways (a friendship, an
    // import, the generated city), so the user's own edges name everyone who holds one back.
    for e in &row.edges {
        if st.user(e.other).is_some_and(|r| r.edge(u).is_some()) {
            update_user(st, e.other, |r| r.remove_edge(u));
        }
    }
    update_user(st, u, |r| {
        r.alive = false;
        r.history.clear();
        r.edges.clear();
        r.interests.clear();
    });
    recompute_max_pos(st);
}

/// Half-lives past the trend origin at which a merge moves the origin to now, so that the
/// stored `trend` (a sum of `w * 2^((t - t0) / half-life)`) stays far below `f64`'s range
/// however long a server runs.
const TREND_REBASE_HALF_LIVES: f64 = 200.0;

/// Folds a state's delta into a fresh snapshot.
pub(crate) fn merge(st: State) -> State {
    let snap = &st.snap;
    let d = &st.delta;
    let now = chrono::Utc::now().timestamp();
    let rebase = (now - snap.trend_t0) as f64 / snap.half_life_secs > TREND_REBASE_HALF_LIVES;
    let mut users = (*snap.users).clone();
    users.resize_with(d.n_users as usize, || Arc::new(UserRow::default()));
    for (k, row) in d.users.iter() {
        users[k as usize] = row.clone();
    }
    let mut vdyn = (*snap.vdyn).clone();
    vdyn.resize_with(d.n_venues as usize, || Arc::new(VenueDyn::default()));
    for (k, row) in d.vdyn.iter() {
        vdyn[k as usize] = row.clone();
    }
    let trend_t0 = if rebase {
        let scale = ((snap.trend_t0 - now) as f64 / snap.half_life_secs).exp2();
        for row in vdyn.iter_mut().filter(|r| r.trend != 0.0) {
            Arc::make_mut(row).trend *= scale;
        }
        now
    } else {
        snap.trend_t0
    };
    let venues_changed = !(d.venues.is_empty() && d.new_venue_ix.is_empty());
    let venues = if !venues_changed {
        snap.venues.clone()
    } else {
        let mut venues = (*snap.venues).clone();
        for v in venues.len() as u32..d.n_venues {
            let id = d.new_venue_ix.iter().find(|(_, i)| **i == v).map(|(id, _)| *id).unwrap_or_default();
            venues.push(Arc::new(crate::builder::dead_venue(id)));
        }
        for (&k, row) in d.venues.iter() {
            venues[k as usize] = row.clone();
        }
        Arc::new(venues)
    };
    let user_ix = extend_ix(&snap.user_ix, &d.new_user_ix);
    let venue_ix = extend_ix(&snap.venue_ix, &d.new_venue_ix);
    let fresh = assemble(
        Arc::new(users),
        venues,
        Arc::new(vdyn),
        user_ix,
        venue_ix,
        trend_t0,
        snap.half_life_secs,
        (!venues_changed).then(|| snap.spatial.clone()),
    );
    let delta = Delta {
        n_users: d.n_users,
        n_venues: d.n_venues,
        max_pos: d.max_pos,
        tzs: d.tzs.clone(),
        tag_vocab: d.tag_vocab.clone(),
        ..Delta::default()
    };
    State { snap: Arc::new(fresh), delta, model: st.model, generation: st.generation }
}

fn extend_ix(base: &Arc<FastMap<Uuid, u32>>, new: &Arc<FastMap<Uuid, u32>>) -> Arc<FastMap<Uuid, u32>> {
    if new.is_empty() {
        return base.clone();
    }
    let mut m = (**base).clone();
    m.extend(new.iter().map(|(k, v)| (*k, *v)));
    Arc::new(m)
}
