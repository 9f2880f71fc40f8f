//! The default venue ranker (and the `popularity` and `learned` rankers, which share its
//! candidates). Every feature is scaled to 0..1 and weighted by [`RankerSettings`]:
//! proximity, the user's own engagement (relative to their most engaged venue, with venues
//! they only looked at weighted apart), explicit preferences (stated cuisine by rank, price
//! closeness, ambiance overlap), implicit taste (share of past engagement on the venue's
//! cuisine and category), context (time of day and weekday against category, opening hours),
//! trending (decayed interaction velocity), social proof (friends who engaged, weighted by edge
//! strength), the learned model (matrix factorisation, and the item neighbours of the venues the
//! user engaged with, which also bring candidates), popularity and rating. Dietary needs filter
//! (or demote) food venues; venues visited in the last days are demoted; an MMR-style pass keeps
//! cuisines varied. The default weights were tuned by coordinate ascent on a validation split of a
//! generated city with its test period removed (`examples/tune_default.rs`).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use domain::Category;

use crate::model::LoadedModel;
use crate::settings::{EngineSettings, RankerSettings};
use crate::state::{State, UserRow, VenueRow};
use crate::types::{Ranker, Reason, VenueQuery, VenueRecommendation};
use crate::util::FastMap;
use crate::util::{TagSet, TagVocab};
use crate::venues::explain::{plural, sentence};
use crate::venues::{Filter, FriendSignal, LocalClock, candidates, friend_signal, summary};

/// Raw features of one candidate (before per-query normalisation of trend and model).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Features {
    pub proximity: f64,
    pub history: f64,
    /// Relative engagement with a venue the user only looked at (no like, save or visit).
    pub viewed: f64,
    pub preference: f64,
    pub cuisine_match: bool,
    pub taste: f64,
    pub context: f64,
    pub open: bool,
    pub trending: f64,
    pub social: f64,
    /// Friends who liked it.
    pub friends: u32,
    /// Friends who only looked at it.
    pub friends_looked: u32,
    pub learned: Option<f64>,
    /// Item-neighbour score (normalised over the candidates).
    pub neighbours: f64,
    pub popularity: f64,
    pub rating: f64,
    pub just_visited: bool,
    pub dietary_ok: bool,
}

/// A venue's numbers read in the first pass over the candidates: its decayed trend and positive
/// count (counters), the learned model's raw score (the model's tables) and the rating feature
/// (the second cache line of its row).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct VenueNumbers {
    trend: f64,
    pos: u32,
    learned: Option<f64>,
    rating: f64,
}

/// A scored candidate.
#[derive(Debug, Clone)]
pub(crate) struct Scored {
    pub v: u32,
    pub score: f64,
    pub distance_km: Option<f64>,
    pub f: Features,
    /// The score the answer reports: `score`, less what diversification took off to rank it
    /// where it is.
    pub shown: f64,
}

/// Everything needed to score venues for one user and one query.
pub(crate) struct ScoreCtx<'a> {
    pub st: &'a State,
    pub s: &'a RankerSettings,
    pub user: &'a UserRow,
    pub filter: Filter,
    pub now: i64,
    clock: LocalClock,
    pub friends: FastMap<u32, FriendSignal>,
    /// The user's item-neighbour score per venue (empty without a model, or until
    /// [`ScoreCtx::load_neighbours`]).
    pub neighbours: FastMap<u32, f64>,
    taste_cuisine: FastMap<u64, f64>,
    taste_category: [f64; Category::ALL.len()],
    /// Masks of the user's stated cuisines, ambiance and each dietary need's tags.
    cuisine_tags: TagSet,
    ambiance_tags: TagSet,
    dietary_tags: Vec<TagSet>,
    model: Option<&'a LoadedModel>,
    model_user: Option<Vec<f32>>,
    /// Proximity scale for this user, km.
    distance_scale: f64,
    /// `ln(1 + e)` of the user's largest engagement with one venue (at least 1e-9): the scale
    /// of the history feature.
    engagement_scale: f64,
    /// Whether the query is about now (no time, or one within a quarter hour of now): opening
    /// hours are then said as "open now", else "open then".
    about_now: bool,
}

fn cat_index(c: Category) -> usize {
    Category::ALL.iter().position(|&x| x == c).unwrap_or(0)
}

impl<'a> ScoreCtx<'a> {
    pub fn new(
        st: &'a State,
        s: &'a EngineSettings,
        u: u32,
        user: &'a UserRow,
        filter: Filter,
        now: DateTime<Utc>,
        time: DateTime<Utc>,
    ) -> Self {
        let mut taste_cuisine: FastMap<u64, f64> = FastMap::default();
        let mut taste_category = [0.0; Category::ALL.len()];
        for a in &user.history {
            let Some(row) = st.live_venue(a.venue) else { continue };
            let w = a.engagement();
            if let Some(c) = row.cuisine_h {
                *taste_cuisine.entry(c).or_default() += w;
            }
            taste_category[cat_index(row.category)] += w;
        }
        let max_c = taste_cuisine.values().copied().fold(0.0, f64::max);
        if max_c > 0.0 {
            taste_cuisine.values_mut().for_each(|x| *x /= max_c);
        }
        let max_k = taste_category.iter().copied().fold(0.0, f64::max);
        if max_k > 0.0 {
            taste_category.iter_mut().for_each(|x| *x /= max_k);
        }
        let model = st.model.as_deref();
        let model_user = model.and_then(|m| m.user_vector(st, u));
        let distance_scale = personal_distance(st, &s.ranker, user, &filter);
        let prefs = user.prefs.as_ref();
        let vocab = &st.delta.tag_vocab;
        Self {
            st,
            s: &s.ranker,
            user,
            filter,
            now: now.timestamp(),
            clock: LocalClock::new(time, st.delta.tzs.len()),
            friends: friend_signal(st, user),
            neighbours: FastMap::default(),
            taste_cuisine,
            taste_category,
            cuisine_tags: prefs.map_or_else(TagSet::default, |p| vocab.mask(&p.cuisines)),
            ambiance_tags: prefs.map_or_else(TagSet::default, |p| vocab.mask(&p.ambiance)),
            dietary_tags: prefs.map_or_else(Vec::new, |p| p.dietary.iter().map(|need| vocab.mask(need)).collect()),
            model,
            model_user,
            distance_scale,
            engagement_scale: (1.0 + user.history.iter().map(|a| a.raw_engagement()).fold(0.0, f64::max))
                .ln()
                .max(1e-9),
            about_now: (time - now).num_minutes().abs() <= 15,
        }
    }

    /// Scores the user's item neighbours, when a model is loaded and they are weighted or bring
    /// candidates (`budget`).
    pub fn load_neighbours(&mut self, budget: usize) {
        if let Some(m) = self.model
            && (self.s.w_neighbours > 0.0 || budget > 0)
        {
            self.neighbours = m.neighbours.scores(self.st, &self.user.history);
        }
    }

    /// `pop_scale` is `ln(1 + the largest positive count)`, 0 when no venue has any.
    fn features(&mut self, v: u32, row: &VenueRow, d: Option<f64>, pop_scale: f64, dynamic: VenueNumbers) -> Features {
        let s = self.s;
        let st = self.st;
        let mut f = Features {
            proximity: d.map_or(0.0, |d| (-d / self.distance_scale).exp()),
            dietary_ok: true,
            ..Features::default()
        };
        if let Some(a) = self.user.agg(v) {
            let rel = ((1.0 + a.raw_engagement()).ln() / self.engagement_scale).min(1.0);
            if a.positive() {
                f.history = s.history_floor + (1.0 - s.history_floor) * rel;
            } else {
                f.viewed = rel;
            }
            let days = (self.now - i64::from(a.last_visit)) as f64 / 86_400.0;
            f.just_visited = a.last_visit > 0 && days >= 0.0 && days <= s.just_visited_days;
        }
        if let Some(p) = &self.user.prefs {
            // Up to three parts (cuisine, price, ambiance), averaged over those the user stated.
            let (mut sum, mut parts) = (0.0, 0u32);
            let mut part = |x: f64| {
                sum += x;
                parts += 1;
            };
            if !p.cuisines.is_empty() {
                // Stated cuisines come favourite first: a match counts less further down.
                let rank = row.cuisine_h.and_then(|c| p.cuisines_ranked.iter().position(|&x| x == c));
                f.cuisine_match =
                    rank.is_some() || TagVocab::any(self.cuisine_tags, &p.cuisines, row.tags, &row.tags_h);
                part(match rank {
                    Some(r) => (1.0 - 0.12 * r as f64).max(0.4),
                    None if f.cuisine_match => 0.5,
                    None => 0.0,
                });
            }
            if let Some(price) = row.price {
                // Closeness to the middle of the stated range, in units of its half width.
                let mid = f64::from(p.price_min + p.price_max) / 2.0;
                let half = f64::from(p.price_max - p.price_min) / 2.0 + 0.5;
                part((-0.5 * ((f64::from(price) - mid) / half).powi(2)).exp());
            }
            if !p.ambiance.is_empty() {
                let shared = TagVocab::count(self.ambiance_tags, &p.ambiance, row.tags, &row.tags_h);
                part(shared as f64 / p.ambiance.len() as f64);
            }
            if parts > 0 {
                f.preference = sum / f64::from(parts);
            }
            f.dietary_ok = self.dietary_ok(row);
        }
        let tc = row.cuisine_h.and_then(|c| self.taste_cuisine.get(&c)).copied().unwrap_or(0.0);
        f.taste = 0.6 * tc + 0.4 * self.taste_category[cat_index(row.category)];
        f.open = self.clock.is_open(st, row);
        f.context = self.clock.fit(st, row) * if f.open { 1.0 } else { 0.3 };
        f.trending = dynamic.trend;
        if let Some(x) = self.friends.get(&v) {
            f.friends = x.liked;
            f.friends_looked = x.looked;
            f.social = 1.0 - (-x.weight / s.social_scale.max(1e-6)).exp();
        }
        f.learned = dynamic.learned;
        f.neighbours = self.neighbours.get(&v).copied().unwrap_or(0.0);
        let pos = dynamic.pos;
        f.popularity = if pop_scale > 0.0 { (1.0 + f64::from(pos)).ln() / pop_scale } else { 0.0 };
        f.rating = dynamic.rating;
        f
    }

    /// Whether a venue serves every dietary need of the user (only places to eat and drink can
    /// fail).
    pub(crate) fn dietary_ok(&self, row: &VenueRow) -> bool {
        let Some(p) = &self.user.prefs else { return true };
        !matches!(row.category, Category::Restaurant | Category::Cafe | Category::Bar)
            || p.dietary
                .iter()
                .zip(&self.dietary_tags)
                .all(|(need, &tags)| TagVocab::any(tags, need, row.tags, &row.tags_h))
    }

    /// Scores candidates under a ranker (normalising trend and model over the set).
    pub fn score_all(&mut self, cands: &[u32], ranker: Ranker) -> Vec<Scored> {
        let st = self.st;
        let max_pos = st.delta.max_pos;
        let pop_scale = if max_pos > 0 { (1.0 + f64::from(max_pos)).ln() } else { 0.0 };
        let mut out: Vec<Scored> = Vec::with_capacity(cands.len());
        // Each candidate's row (its first cache line; the rating is in the second), counters and
        // model vector live in separate allocations, a cache miss each: fetch them all first in a
        // tight loop of independent loads, where the CPU overlaps the misses, rather than one at
        // a time between the other features.
        let decay = st.trend_decay(self.now);
        let model = self.model.zip(self.model_user.as_deref());
        let fetched: Vec<(u32, &VenueRow, Option<f64>, VenueNumbers)> = cands
            .iter()
            .filter_map(|&v| {
                let row = st.live_venue(v)?;
                let distance_km = self.filter.distance(row);
                let (trend, pos) = st.trend_pos(v);
                let trend = trend * decay;
                let learned = model.and_then(|(m, uv)| m.score(uv, v));
                let rating = row.rating.map_or(0.0, |r| ((r - 3.0) / 2.0).clamp(0.0, 1.0));
                Some((v, row, distance_km, VenueNumbers { trend, pos, learned, rating }))
            })
            .collect();
        for (v, row, distance_km, dynamic) in fetched {
            let f = self.features(v, row, distance_km, pop_scale, dynamic);
            if !f.dietary_ok && self.s.dietary_hard {
                continue;
            }
            out.push(Scored { v, score: 0.0, distance_km, f, shown: 0.0 });
        }
        let max_trend = out.iter().map(|c| c.f.trending).fold(0.0, f64::max);
        let max_nb = out.iter().map(|c| c.f.neighbours).fold(0.0, f64::max);
        let (lo, hi) = out
            .iter()
            .filter_map(|c| c.f.learned)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
        for c in &mut out {
            c.f.trending = if max_trend > 0.0 { c.f.trending / max_trend } else { 0.0 };
            c.f.neighbours = if max_nb > 0.0 { c.f.neighbours / max_nb } else { 0.0 };
            c.f.learned = c.f.learned.map(|x| if hi > lo { (x - lo) / (hi - lo) } else { 0.5 });
            c.score = match ranker {
                // Popularity breaks ties; the sum is scaled back to 0..1 (the top model score
                // of a popular venue was 1.000001), which keeps the order.
                Ranker::Learned => (c.f.learned.unwrap_or(0.0) + 1e-6 * c.f.popularity) / (1.0 + 1e-6),
                Ranker::Popularity => c.f.popularity,
                Ranker::Default | Ranker::Seed2 => self.blend(&c.f),
            };
            c.shown = c.score;
        }
        out
    }

    fn blend(&self, f: &Features) -> f64 {
        self.demote(self.weighted(f), f).0
    }

    /// The weighted sum of the features, before any demotion.
    fn weighted(&self, f: &Features) -> f64 {
        let s = self.s;
        s.w_proximity * f.proximity
            + s.w_history * f.history
            + s.w_viewed * f.viewed
            + s.w_preference * f.preference
            + s.w_taste * f.taste
            + s.w_context * f.context
            + s.w_trending * f.trending
            + s.w_social * f.social
            + s.w_learned * f.learned.unwrap_or(0.0)
            + s.w_neighbours * f.neighbours
            + s.w_popularity * f.popularity
            + s.w_rating * f.rating
    }

    /// Applies the demotions to the weighted sum `x`, in order: visited just now, a dietary need
    /// not met (when needs only demote), closed at the time. Returns the score and what each
    /// demotion took away, so the reasons add up to the score.
    fn demote(&self, mut x: f64, f: &Features) -> (f64, [f64; 3]) {
        let s = self.s;
        let mut lost = [0.0; 3];
        let demotions = [
            (f.just_visited, s.just_visited_factor),
            (!f.dietary_ok, s.dietary_soft_factor),
            (!f.open, s.closed_factor),
        ];
        for (i, (applies, factor)) in demotions.into_iter().enumerate() {
            if applies {
                lost[i] = x - x * factor;
                x *= factor;
            }
        }
        (x, lost)
    }

    /// Reasons with their contributions and the human sentence. Fixed labels and phrases are
    /// borrowed constants; only those with numbers or names in them are formatted.
    pub fn explain(&self, c: &Scored, row: &VenueRow) -> (Vec<Reason>, String) {
        type Text = Cow<'static, str>;
        let s = self.s;
        let f = &c.f;
        // Cuisines are stored as tags ("middle_eastern"); sentences say them as words.
        let cuisine_words = row.cuisine.as_deref().map(|c| c.replace('_', " "));
        let cuisine = cuisine_words.as_deref().unwrap_or(row.category.as_str());
        let hist_label = match self.user.agg(c.v) {
            Some(a) if a.likes > 0 => "you liked it before",
            Some(a) if a.visits > 0 => "you have been here before",
            Some(a) if a.saves > 0 => "you saved it",
            _ => "you looked at it before",
        };
        let love = || -> Text { format!("matches your love of {cuisine}").into() };
        let mut rs: Vec<(Reason, Text)> = Vec::with_capacity(13);
        let mut add = |code: &'static str, label: Text, contribution: f64, phrase: Text| {
            if contribution.abs() >= 0.005 {
                rs.push((Reason { code: code.into(), label, contribution }, phrase));
            }
        };
        let away = c.distance_km.map(|d| -> Text { format!("{d:.1} km away").into() });
        if let Some(away) = &away {
            add("proximity", away.clone(), s.w_proximity * f.proximity, "".into());
        }
        add("history", hist_label.into(), s.w_history * f.history + s.w_viewed * f.viewed, hist_label.into());
        let pref_phrase = if f.cuisine_match { love() } else { "fits your budget and style".into() };
        add("preference_match", pref_phrase.clone(), s.w_preference * f.preference, pref_phrase);
        // Said apart from a stated cuisine's "love": this one is learned from where they go.
        let taste_phrase: Text = match &cuisine_words {
            Some(c) if f.taste >= 0.6 => format!("you often go for {c}").into(),
            _ => format!("like the {} you enjoy", row.category.places()).into(),
        };
        add("taste_match", taste_phrase.clone(), s.w_taste * f.taste, taste_phrase);
        let ctx_phrase: Text = match (f.open, self.about_now) {
            (true, true) => "open now".into(),
            (true, false) => "open then".into(),
            (false, true) => "closed now".into(),
            (false, false) => "closed at that time".into(),
        };
        add("context", ctx_phrase.clone(), s.w_context * f.context, ctx_phrase);
        add("trending", "trending now".into(), s.w_trending * f.trending, "trending now".into());
        // Friends who only looked count for less, and are not said to have liked it.
        let friends: Text = match (f.friends, f.friends_looked) {
            (0, n) => format!("{} looked at it", plural(n, "friend", "friends")).into(),
            (n, _) => format!("{} liked it", plural(n, "friend", "friends")).into(),
        };
        add("friends_liked", friends.clone(), s.w_social * f.social, friends);
        let learned: Text = "people with similar taste love it".into();
        add("learned", learned.clone(), s.w_learned * f.learned.unwrap_or(0.0), learned);
        let went: Text = "popular with people who share your places".into();
        add("neighbours", went.clone(), s.w_neighbours * f.neighbours, went);
        add("popularity", "popular".into(), s.w_popularity * f.popularity, "popular".into());
        let rated: Text = row.rating.map_or("".into(), |r| format!("rated {r:.1}").into());
        add("rating", rated.clone(), s.w_rating * f.rating, rated);
        let (_, lost) = self.demote(self.weighted(f), f);
        add("just_visited", "you were just here".into(), -lost[0], "".into());
        add("dietary", "may not suit your dietary needs".into(), -lost[1], "".into());
        let closed = if self.about_now { "ranked lower: closed now" } else { "ranked lower: closed at that time" };
        add("closed", closed.into(), -lost[2], "".into());
        add("diversity", "varied from the picks above".into(), c.shown - c.score, "".into());
        let mut ranked: Vec<&(Reason, Text)> =
            rs.iter().filter(|(r, p)| r.contribution > 0.0 && !p.is_empty()).collect();
        ranked.sort_by(|a, b| b.0.contribution.total_cmp(&a.0.contribution));
        let mut parts: Vec<&str> = away.as_deref().into_iter().collect();
        for (_, p) in ranked.into_iter() {
            if parts.len() >= 4 {
                break;
            }
            if !parts.contains(&&**p) {
                parts.push(p);
            }
        }
        let sentence = sentence(&parts);
        (rs.into_iter().map(|(r, _)| r).collect(), sentence)
    }
}

/// The proximity scale of a user: the mean distance from the origin of the venues they engaged
/// with (times a factor, within 0.3 to 3 times the default), or the default scale.
fn personal_distance(st: &State, s: &RankerSettings, user: &UserRow, filter: &Filter) -> f64 {
    let default = s.proximity_scale_km.max(0.01);
    if filter.origin.is_none() || s.personal_distance_factor <= 0.0 {
        return default;
    }
    let (mut sum, mut n) = (0.0, 0usize);
    for a in &user.history {
        if let Some(d) = st.live_venue(a.venue).and_then(|row| filter.distance(row)) {
            sum += d;
            n += 1;
        }
    }
    if n < 3 {
        return default;
    }
    (s.personal_distance_factor * sum / n as f64).clamp(0.3 * default, 3.0 * default)
}

/// Keeps the `n` best-scored candidates, best first (ties by venue index): a linear selection,
/// then a sort of those only. Both run on small (score, venue, position) keys, and only the kept
/// candidates are copied, rather than moving whole candidates about.
fn keep_best(pool: &mut Vec<Scored>, n: usize) {
    let by_score = |a: &(f64, u32, u32), b: &(f64, u32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    let mut keys: Vec<(f64, u32, u32)> = pool.iter().zip(0u32..).map(|(c, i)| (c.score, c.v, i)).collect();
    if keys.len() > n {
        keys.select_nth_unstable_by(n, by_score);
        keys.truncate(n);
    }
    keys.sort_unstable_by(by_score);
    *pool = keys.iter().map(|&(_, _, i)| pool[i as usize].clone()).collect();
}

/// Greedy MMR-style re-rank: each earlier pick of the same category or cuisine costs a
/// penalty, and at most `max_per_cuisine` results share a cuisine while others remain. Each
/// pick's `shown` score is its penalised score, capped at the one shown before it, so the answer
/// is sorted by the score it shows.
pub(crate) fn diversify(st: &State, s: &RankerSettings, mut pool: Vec<Scored>, limit: usize) -> Vec<Scored> {
    keep_best(&mut pool, limit.saturating_mul(5).max(limit + 20));
    // Each candidate's (category, cuisine), read once; picks are marked, not removed, so the
    // pool keeps its order (ties go to the earlier, better one) without shifting it per pick.
    let keys: Vec<Option<(Category, Option<u64>)>> =
        pool.iter().map(|c| st.venue(c.v).map(|r| (r.category, r.cuisine_h))).collect();
    let mut taken = vec![false; pool.len()];
    let mut cat_n = [0usize; Category::ALL.len()];
    let mut cui_n: FastMap<u64, usize> = FastMap::default();
    let mut out: Vec<Scored> = Vec::with_capacity(limit);
    while out.len() < limit && out.len() < pool.len() {
        let mut best: Option<(usize, f64)> = None;
        for (i, c) in pool.iter().enumerate() {
            let Some((cat, cui)) = keys[i].filter(|_| !taken[i]) else { continue };
            let nc = cui.map_or(0, |h| cui_n.get(&h).copied().unwrap_or(0));
            if s.max_per_cuisine > 0 && nc >= s.max_per_cuisine {
                continue;
            }
            let adj = c.score - s.diversity_category * cat_n[cat_index(cat)] as f64 - s.diversity_cuisine * nc as f64;
            if best.is_none_or(|(_, b)| adj > b) {
                best = Some((i, adj));
            }
        }
        let (i, adj) = match best {
            Some(pick) => pick,
            // Only capped cuisines remain: take the best of them (the loop's condition leaves
            // at least one untaken, so the `break` is only a guard).
            None => match taken.iter().position(|t| !t) {
                Some(i) => (i, pool[i].score),
                None => break,
            },
        };
        taken[i] = true;
        let mut c = pool[i].clone();
        c.shown = out.last().map_or(adj, |p: &Scored| adj.min(p.shown));
        if let Some((cat, cui)) = keys[i] {
            cat_n[cat_index(cat)] += 1;
            if let Some(h) = cui {
                *cui_n.entry(h).or_default() += 1;
            }
        }
        out.push(c);
    }
    out
}

/// The default, popularity and learned rankers, for user `u` (`user`) searching from `origin`
/// at `now`.
pub(crate) fn recommend(
    st: &State,
    s: &EngineSettings,
    (u, user): (u32, &UserRow),
    origin: Option<(f64, f64)>,
    now: DateTime<Utc>,
    q: &VenueQuery,
) -> Vec<VenueRecommendation> {
    let time = q.going_at(now);
    let filter = Filter::for_user(st, q, user, origin);
    let mut ctx = ScoreCtx::new(st, s, u, user, filter, now, time);
    let cands = if q.ranker == Ranker::Popularity {
        popular_candidates(st, s, &ctx, q.limit)
    } else {
        ctx.load_neighbours(s.candidates.neighbours);
        candidates(st, s, user, &ctx.filter, &ctx.friends, &ctx.neighbours, s.candidates.spatial.max(q.limit))
    };
    let scored = ctx.score_all(&cands, q.ranker);
    let picked = if q.ranker == Ranker::Default {
        diversify(st, &s.ranker, scored, q.limit)
    } else {
        let mut v = scored;
        keep_best(&mut v, q.limit);
        v
    };
    picked
        .into_iter()
        .filter_map(|c| {
            let row = st.venue(c.v)?;
            let (reasons, explanation) = match q.ranker {
                Ranker::Popularity | Ranker::Learned => single_signal(q.ranker, &c),
                Ranker::Default | Ranker::Seed2 => ctx.explain(&c, row),
            };
            Some(VenueRecommendation {
                venue_id: row.id,
                venue_name: row.name.clone(),
                score: c.shown,
                distance_km: c.distance_km,
                venue: summary(row),
                reasons,
                explanation,
            })
        })
        .collect()
}

/// The one reason of a single-signal ranker (its score is that signal alone), so an inspector
/// never shows the blend's reasons next to a score they did not make.
pub(crate) fn single_signal(ranker: Ranker, c: &Scored) -> (Vec<Reason>, String) {
    let (code, label) = match ranker {
        Ranker::Learned if c.f.learned.is_some() => ("learned", "people with similar taste love it"),
        Ranker::Learned => ("popularity", "popular (no learned model for you yet)"),
        _ => ("popularity", "popular"),
    };
    let mut parts: Vec<String> = c.distance_km.map(|d| format!("{d:.1} km away")).into_iter().collect();
    parts.push(label.to_string());
    (vec![Reason { code: code.into(), label: label.into(), contribution: c.score }], sentence(&parts))
}

/// The most popular venues passing the filters within reach (radius, or the default radius),
/// and the user's dietary needs when those are a hard filter (scoring would drop them, leaving
/// fewer than `limit`). Without a radius in the query, when fewer than `limit` pass within the
/// default radius (a user far from every venue), the nearest that pass beyond it fill the list.
fn popular_candidates(st: &State, s: &EngineSettings, ctx: &ScoreCtx<'_>, limit: usize) -> Vec<u32> {
    let f = &ctx.filter;
    let radius = f.radius_km.or(f.origin.map(|_| s.candidates.default_radius_km));
    let ok = |v: u32| {
        st.live_venue(v).is_some_and(|row| {
            f.passes(st, v, row)
                && radius.is_none_or(|r| f.distance(row).is_none_or(|d| d <= r))
                && (!ctx.s.dietary_hard || ctx.dietary_ok(row))
        })
    };
    let mut out: Vec<u32> = st.delta.venues.keys().copied().filter(|&v| ok(v)).collect();
    let want = limit * 2;
    out.extend(st.delta.dirty_pop.iter().map(|&(_, v)| v).filter(|&v| ok(v)).take(want));
    out.extend(st.snap.pop_order.iter().copied().filter(|&v| !st.pos_dirty(v) && ok(v)).take(want));
    out.sort_unstable();
    out.dedup();
    if let (None, Some((lat, lng))) = (f.radius_km, f.origin_deg)
        && out.len() < limit
    {
        let fits = |v: u32| {
            st.live_venue(v).is_some_and(|row| f.passes(st, v, row) && (!ctx.s.dietary_hard || ctx.dietary_ok(row)))
        };
        let mut near = st.snap.spatial.nearest(lat, lng, f64::INFINITY);
        let mut group = Vec::new();
        while out.len() < limit && near.next_group(&mut group) {
            group.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            for &(v, _) in &group {
                // A venue changed since the snapshot may have moved: the list above judged it.
                let moved = st.delta.venues.contains_key(&v);
                if out.len() < limit && !moved && out.binary_search(&v).is_err() && fits(v) {
                    let at = out.partition_point(|&x| x < v);
                    out.insert(at, v);
                }
            }
            group.clear();
        }
    }
    out
}
