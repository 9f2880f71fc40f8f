//! Pulling users and everything that hangs off them for a range of user indices, one range
//! at a time or in parallel. Each user is generated from their own generators, so a range's
//! output does not depend on how the user indices were split into ranges.

use std::ops::Range;

use domain::{Interaction, Plan, SocialEdge, User, UserId, UserPreferences, VenueInterest};

use crate::City;
use crate::behaviour::{Candidates, InteractionRecord};
use crate::rng::{Kind, entity_rng};
use crate::social::Friend;
use crate::taste::{Taste, affinity_of_utility};
use crate::users::UserCore;

/// Everything generated for a range of users, in user order. References only venues and
/// users with indices below `range.end` (see [`City::edges`] and [`City::plans`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    /// The user indices covered.
    pub range: Range<usize>,
    /// The users, in index order.
    pub users: Vec<User>,
    /// Stated preferences, one per user.
    pub preferences: Vec<(UserId, UserPreferences)>,
    /// Social edges emitted by these users (see [`City::edges`]).
    pub edges: Vec<SocialEdge>,
    /// Interaction history, by user then time.
    pub interactions: Vec<Interaction>,
    /// Venue interests, by user.
    pub interests: Vec<VenueInterest>,
    /// Upcoming plans organised by these users, with their participants.
    pub plans: Vec<Plan>,
}

/// Reusable buffers for generating one user after another.
#[derive(Default)]
struct Scratch {
    cands: Candidates,
    friends: Vec<Friend>,
    records: Vec<InteractionRecord>,
}

impl City {
    fn clamp(&self, range: Range<usize>) -> Range<usize> {
        let end = range.end.min(self.config.users);
        range.start.min(end)..end
    }

    pub(crate) fn user_candidates(&self, i: usize, taste: &Taste, cands: &mut Candidates) {
        let mut rng = entity_rng(self.config.seed, Kind::Candidates, i as u64);
        self.candidates(&mut rng, taste, cands);
    }

    fn records_of(&self, i: usize, core: &UserCore, taste: &Taste, s: &mut Scratch) {
        let mut rng = entity_rng(self.config.seed, Kind::Interactions, i as u64);
        self.interactions_into(&mut rng, i, core, taste, &s.cands, &mut s.records);
    }

    /// Everything for the users in `range` (clamped to the user count).
    pub fn chunk(&self, range: Range<usize>) -> Chunk {
        let range = self.clamp(range);
        let n = range.len();
        let mut c = Chunk {
            range: range.clone(),
            users: Vec::with_capacity(n),
            preferences: Vec::with_capacity(n),
            edges: Vec::with_capacity(n * 16),
            interactions: Vec::with_capacity(n * (self.config.interactions_per_user as usize + 2)),
            interests: Vec::with_capacity(n * 3),
            plans: Vec::new(),
        };
        let mut s = Scratch::default();
        let seed = self.config.seed;
        for i in range {
            let core = self.core(i);
            let taste = self.taste_with(i, &core);
            c.users.push(self.user_with(i, &core, &taste));
            c.preferences.push((core.id, self.preferences_with(i, &core, &taste)));
            self.friends_into(i, &core, &mut s.friends);
            self.push_edges(i, &core, &s.friends, &mut c.edges);
            self.user_candidates(i, &taste, &mut s.cands);
            s.records.clear();
            self.records_of(i, &core, &taste, &mut s);
            c.interactions
                .extend(s.records.iter().map(|r| r.to_interaction(core.id, self.venue_ids[r.venue as usize])));
            self.interests_into(&mut entity_rng(seed, Kind::Interests, i as u64), &core, &s.cands, &mut c.interests);
            self.plan_into(&mut entity_rng(seed, Kind::Plans, i as u64), i, &core, &s.cands, &s.friends, &mut c.plans);
        }
        c
    }

    /// Consecutive chunks of `size` users (at least 1) covering every user.
    pub fn chunks(&self, size: usize) -> impl Iterator<Item = Chunk> + '_ {
        let size = size.max(1);
        (0..self.config.users).step_by(size).map(move |a| self.chunk(a..a + size))
    }

    /// Calls `f` with consecutive chunks of `size` users, in order, on the calling thread,
    /// while the chunks are generated ahead on all cores (at most two per core in flight,
    /// so memory stays bounded). The same chunks as [`City::chunks`], faster.
    pub fn for_each_chunk<F: FnMut(Chunk)>(&self, size: usize, mut f: F) {
        use std::sync::mpsc::sync_channel;
        let size = size.max(1);
        let count = self.config.users.div_ceil(size);
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).clamp(1, count.max(1));
        std::thread::scope(|scope| {
            let receivers: Vec<_> = (0..threads)
                .map(|k| {
                    let (tx, rx) = sync_channel::<Chunk>(1);
                    scope.spawn(move || {
                        for c in (k..count).step_by(threads) {
                            if tx.send(self.chunk(c * size..(c + 1) * size)).is_err() {
                                break;
                            }
                        }
                    });
                    rx
                })
                .collect();
            for c in 0..count {
                match receivers[c % threads].recv() {
                    Ok(chunk) => f(chunk),
                    Err(_) => break,
                }
            }
        });
    }

    /// Stated preferences of the users in `range`.
    pub fn preferences_range(&self, range: Range<usize>) -> Vec<(UserId, UserPreferences)> {
        self.clamp(range)
            .map(|i| {
                let core = self.core(i);
                let taste = self.taste_with(i, &core);
                (core.id, self.preferences_with(i, &core, &taste))
            })
            .collect()
    }

    /// The interaction history of the users in `range`, compact (indices, no strings). The
    /// cheapest way to get the log: what benchmarks and offline evaluation should use.
    pub fn interaction_records(&self, range: Range<usize>) -> Vec<InteractionRecord> {
        let range = self.clamp(range);
        let mut out = Vec::with_capacity(range.len() * (self.config.interactions_per_user as usize + 2));
        let mut s = Scratch::default();
        for i in range {
            let core = self.core(i);
            let taste = self.taste_with(i, &core);
            self.user_candidates(i, &taste, &mut s.cands);
            s.records.clear();
            self.records_of(i, &core, &taste, &mut s);
            out.extend_from_slice(&s.records);
        }
        out
    }

    /// The interaction history of the users in `range`, by user then time.
    pub fn interactions(&self, range: Range<usize>) -> Vec<Interaction> {
        self.interaction_records(range)
            .iter()
            .map(|r| r.to_interaction(self.user_id(r.user as usize), self.venue_ids[r.venue as usize]))
            .collect()
    }

    /// Venue interests of the users in `range` (preferred times after `now`).
    pub fn interests(&self, range: Range<usize>) -> Vec<VenueInterest> {
        let mut out = vec![];
        let mut cands = Candidates::default();
        for i in self.clamp(range) {
            let core = self.core(i);
            let taste = self.taste_with(i, &core);
            self.user_candidates(i, &taste, &mut cands);
            self.interests_into(&mut entity_rng(self.config.seed, Kind::Interests, i as u64), &core, &cands, &mut out);
        }
        out
    }

    /// Upcoming plans organised by the users in `range`. Invitees are friends of the
    /// organizer with lower indices, so a plan never references a later user.
    pub fn plans(&self, range: Range<usize>) -> Vec<Plan> {
        let mut out = vec![];
        let mut s = Scratch::default();
        for i in self.clamp(range) {
            let core = self.core(i);
            let taste = self.taste_with(i, &core);
            self.friends_into(i, &core, &mut s.friends);
            self.user_candidates(i, &taste, &mut s.cands);
            self.plan_into(
                &mut entity_rng(self.config.seed, Kind::Plans, i as u64),
                i,
                &core,
                &s.cands,
                &s.friends,
                &mut out,
            );
        }
        out
    }

    /// Ground truth: how much user `user` likes venue `venue`, in (0, 1), from taste alone
    /// (categories, cuisines, ambiance, price, dietary needs, hidden factors, community
    /// favourites), before distance and popularity. For many venues, get the [`Taste`]
    /// once and call [`City::affinity_for`].
    pub fn affinity(&self, user: usize, venue: usize) -> f64 {
        self.affinity_for(&self.taste(user), venue)
    }

    /// [`City::affinity`] for a taste already in hand.
    pub fn affinity_for(&self, taste: &Taste, venue: usize) -> f64 {
        affinity_of_utility(taste.utility(&self.hot[venue], venue as u32))
    }

    /// The pull of venue `venue` on a user in a choice: taste, popularity and distance from
    /// home together (the unnormalised weight the generator samples venues with).
    pub fn choice_weight(&self, taste: &Taste, venue: usize) -> f64 {
        self.pull(taste, venue, taste.utility(&self.hot[venue], venue as u32))
    }

    /// Runs `f` on consecutive ranges of `size` users on all cores and returns the results
    /// in range order (so the output is deterministic).
    pub fn par_map_ranges<T, F>(&self, size: usize, f: F) -> Vec<T>
    where
        T: Send,
        F: Fn(Range<usize>) -> T + Sync,
    {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let size = size.max(1);
        let n = self.config.users;
        let ranges: Vec<Range<usize>> = (0..n).step_by(size).map(|a| a..(a + size).min(n)).collect();
        let next = AtomicUsize::new(0);
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(ranges.len().max(1));
        let mut parts: Vec<(usize, T)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = vec![];
                        loop {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            let Some(r) = ranges.get(k) else { break };
                            done.push((k, f(r.clone())));
                        }
                        done
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        });
        parts.sort_by_key(|p| p.0);
        parts.into_iter().map(|p| p.1).collect()
    }
}
