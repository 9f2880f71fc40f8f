//! Group recommendations: venues fair to 2 to 20 people. Each member scores every candidate
//! from their own location, with the default ranker unless the query names another (`seed2`:
//! the second seed's formula, which needs every member's location; `popularity`; `learned`);
//! hard constraints (every member's dietary
//! needs, a price level inside every member's range, no member farther than the maximum
//! distance) drop venues; the strategy aggregates member scores (average, least misery, or
//! fairness = mean minus half the spread).

use chrono::Utc;
use domain::LatLng;

use crate::error::EngineError;
use crate::settings::EngineSettings;
use crate::state::State;
use crate::types::{
    GroupQuery, GroupRecommendations, GroupStrategy, GroupVenue, MemberScore, Ranker, VenueQuery, check_time_window,
};
use crate::util::FastMap;
use crate::venues::{
    Filter, MAX_LIMIT, ScoreCtx, Scored, live_or_home, seed2_score, seed2_sentence, single_signal, summary,
};

/// Answers a group query.
pub(crate) fn recommend(st: &State, s: &EngineSettings, q: &GroupQuery) -> Result<GroupRecommendations, EngineError> {
    if !(2..=20).contains(&q.user_ids.len()) {
        return Err(EngineError::invalid("user_ids", "a group has 2 to 20 members"));
    }
    if q.limit == 0 || q.limit > MAX_LIMIT {
        return Err(EngineError::invalid("limit", "limit must be between 1 and 100"));
    }
    if q.max_distance_km.is_some_and(|d| d.is_nan() || d <= 0.0) {
        return Err(EngineError::invalid("max_distance_km", "max_distance_km must be above 0"));
    }
    let mut members = Vec::with_capacity(q.user_ids.len());
    for id in &q.user_ids {
        let u = st.user_idx(id).filter(|&u| st.live_user(u).is_some()).ok_or(EngineError::UnknownUser(*id))?;
        if members.contains(&u) {
            return Err(EngineError::invalid("user_ids", "members must be distinct"));
        }
        members.push(u);
    }
    let now = q.now.unwrap_or_else(Utc::now);
    check_time_window("time", q.time, now)?;
    let time = q.time.unwrap_or(now);
    let rows: Vec<_> = members.iter().filter_map(|&u| st.live_user(u)).collect();
    let locs: Vec<Option<(f64, f64)>> = rows.iter().map(|r| live_or_home(s, r, now.timestamp())).collect();
    // A distance limit is a promise about every member: it needs where each one is.
    if q.max_distance_km.is_some()
        && let Some(i) = locs.iter().position(Option::is_none)
    {
        return Err(EngineError::invalid(
            "max_distance_km",
            format!(
                "max_distance_km needs every member's location: {} has no home and no fresh live location",
                q.user_ids[i]
            ),
        ));
    }
    // The second seed's formula scores by distance, and has no score without a point.
    if q.ranker == Ranker::Seed2
        && let Some(i) = locs.iter().position(Option::is_none)
    {
        return Err(EngineError::invalid(
            "ranker",
            format!(
                "ranker=seed2 scores by each member's distance: {} has no home and no fresh live location",
                q.user_ids[i]
            ),
        ));
    }
    let known: Vec<(f64, f64)> = locs.iter().flatten().copied().collect();
    let centroid = middle_of(&known);
    // Budget: the price range every member accepts, a hard constraint like the others.
    let ranges: Vec<(usize, i16, i16)> =
        rows.iter().enumerate().filter_map(|(i, r)| r.prefs.as_ref().map(|p| (i, p.price_min, p.price_max))).collect();
    let lo = ranges.iter().max_by_key(|r| (r.1, std::cmp::Reverse(r.0)));
    let hi = ranges.iter().min_by_key(|r| (r.2, r.0));
    let (pmin, pmax) = match (lo, hi) {
        (Some(a), Some(b)) if a.1 <= b.2 => (Some(a.1), Some(b.2)),
        (Some(a), Some(b)) => {
            return Err(EngineError::invalid(
                "user_ids",
                format!(
                    "the members' budgets do not overlap: {} accepts price levels {} to {}, {} only {} to {}",
                    q.user_ids[a.0], a.1, a.2, q.user_ids[b.0], b.1, b.2
                ),
            ));
        }
        _ => (None, None),
    };
    let mut base = VenueQuery::new(q.user_ids[0], q.limit, Ranker::Default);
    base.category = q.category;
    base.price_min = pmin;
    base.price_max = pmax;
    base.open_at = q.time;
    base.party_size = Some(q.user_ids.len() as u32);
    base.radius_km = q.max_distance_km.map(|d| d * 1.5);
    // The budget comes from stated preferences, not from a range asked for: a venue of unknown
    // price stays in.
    let budget_filter = |origin: Option<(f64, f64)>| {
        let mut f = Filter::from_query(st, &base, origin);
        f.unpriced_passes = true;
        f
    };
    // Candidates: near the centroid, plus each member's own candidates.
    let mut cands: Vec<u32> = Vec::new();
    let first_friends = crate::venues::friend_signal(st, rows[0]);
    cands.extend(crate::venues::candidates(
        st,
        s,
        rows[0],
        &budget_filter(centroid),
        &first_friends,
        &FastMap::default(),
        (s.candidates.spatial * 2).max(q.limit),
    ));
    let per_member_spatial = (s.candidates.spatial / rows.len()).max(20);
    let mut per_member = s.clone();
    per_member.candidates.history = 20;
    per_member.candidates.friends = 10;
    per_member.candidates.neighbours = 10;
    // Each member's item-neighbour scores: a few candidates each, then a feature of their score.
    let mut neighbours: Vec<FastMap<u32, f64>> = rows
        .iter()
        .map(|r| st.model.as_ref().map_or_else(FastMap::default, |m| m.neighbours.scores(st, &r.history)))
        .collect();
    for ((r, loc), nb) in rows.iter().zip(&locs).zip(&neighbours) {
        let friends = crate::venues::friend_signal(st, r);
        cands.extend(crate::venues::candidates(
            st,
            &per_member,
            r,
            &budget_filter(*loc),
            &friends,
            nb,
            per_member_spatial,
        ));
    }
    cands.sort_unstable();
    cands.dedup();
    // Each member scores every candidate from their own location.
    let mut strict = s.clone();
    strict.ranker.dietary_hard = true;
    let mut ctxs: Vec<ScoreCtx<'_>> = Vec::with_capacity(rows.len());
    let mut scores: Vec<FastMap<u32, Scored>> = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let mut f = budget_filter(locs[i]);
        f.radius_km = None;
        let mut ctx = ScoreCtx::new(st, &strict, members[i], r, f, now, time);
        ctx.neighbours = std::mem::take(&mut neighbours[i]);
        let scored = match q.ranker {
            Ranker::Seed2 => seed2_all(st, &ctx, &cands),
            ranker => ctx.score_all(&cands, ranker),
        };
        let m: FastMap<u32, Scored> = scored.into_iter().map(|c| (c.v, c)).collect();
        scores.push(m);
        ctxs.push(ctx);
    }
    let mut out: Vec<(f64, u32)> = Vec::new();
    'venues: for &v in &cands {
        let mut xs = Vec::with_capacity(rows.len());
        for m in &scores {
            let Some(c) = m.get(&v) else { continue 'venues };
            if let (Some(max), Some(d)) = (q.max_distance_km, c.distance_km)
                && d > max
            {
                continue 'venues;
            }
            xs.push(c.score);
        }
        out.push((aggregate(q.strategy, &xs), v));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    out.truncate(q.limit);
    let venues = out
        .into_iter()
        .filter_map(|(score, v)| {
            let row = st.venue(v)?;
            let mut ms = Vec::with_capacity(rows.len());
            let mut farthest: Option<f64> = None;
            for (i, r) in rows.iter().enumerate() {
                let c = scores[i].get(&v)?;
                let sentence = match q.ranker {
                    Ranker::Default => ctxs[i].explain(c, row).1,
                    Ranker::Seed2 => seed2_score(st, r, v, &ctxs[i].filter, st.delta.max_pos)
                        .map_or_else(String::new, |p| seed2_sentence(&p)),
                    Ranker::Popularity | Ranker::Learned => single_signal(q.ranker, c).1,
                };
                if let Some(d) = c.distance_km {
                    farthest = Some(farthest.map_or(d, |f: f64| f.max(d)));
                }
                ms.push(MemberScore {
                    user_id: r.id,
                    score: c.score,
                    distance_km: c.distance_km,
                    explanation: sentence,
                });
            }
            let low = ms.iter().map(|m| m.score).fold(f64::INFINITY, f64::min);
            let high = ms.iter().map(|m| m.score).fold(f64::NEG_INFINITY, f64::max);
            let distance_km = centroid.map(|(lat, lng)| domain::haversine_km(lat, lng, row.lat, row.lng));
            let who = match rows.len() {
                2 => "both of you".to_string(),
                n => format!("all {n} of you"),
            };
            // Only members whose location is known travel a known distance; when some are not
            // located, the sentence vouches for the others only.
            let who_travels =
                if ms.iter().all(|m| m.distance_km.is_some()) { "nobody" } else { "nobody with a known location" };
            let travel = farthest.map_or_else(String::new, |d| format!(", {who_travels} travels more than {d:.1} km"));
            let explanation = format!("Good for {who}: member scores {low:.2} to {high:.2}{travel}");
            Some(GroupVenue {
                venue_id: row.id,
                venue_name: row.name.clone(),
                score,
                venue: summary(row),
                distance_km,
                members: ms,
                explanation,
            })
        })
        .collect();
    let centroid = centroid.map(|(lat, lng)| LatLng { lat, lng });
    Ok(GroupRecommendations { strategy: q.strategy, centroid, venues })
}

/// A member's seed2 scores of the candidates (from the member's own location, which the filter
/// holds), keeping only venues that meet their dietary needs: a group's hard constraint, whatever
/// the ranker.
fn seed2_all(st: &State, ctx: &ScoreCtx<'_>, cands: &[u32]) -> Vec<Scored> {
    let max_pos = st.delta.max_pos;
    cands
        .iter()
        .filter_map(|&v| {
            let row = st.live_venue(v)?;
            if !ctx.dietary_ok(row) {
                return None;
            }
            let p = seed2_score(st, ctx.user, v, &ctx.filter, max_pos)?;
            Some(Scored { v, score: p.score, distance_km: Some(p.distance_km), f: Default::default(), shown: p.score })
        })
        .collect()
}

/// Combines member scores under a strategy.
pub(crate) fn aggregate(strategy: GroupStrategy, xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match strategy {
        GroupStrategy::Average => mean,
        GroupStrategy::LeastMisery => min,
        GroupStrategy::Fairness => mean - 0.5 * (max - min),
    }
}

/// The middle of the members' locations (degrees): the mean of their points on the sphere, so
/// a group on both sides of the antimeridian is centred between them, not across the globe.
fn middle_of(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    match points {
        [] => return None,
        [one] => return Some(*one),
        _ => {}
    }
    let mut sum = [0.0; 3];
    for &(lat, lng) in points {
        let p = crate::util::to_xyz(lat, lng);
        sum.iter_mut().zip(p).for_each(|(s, x)| *s += x);
    }
    let [x, y, z] = sum;
    let flat = x.hypot(y);
    if flat.hypot(z) < 1e-9 {
        // Members spread evenly around the globe have no middle: the first one's place stands in.
        return Some(points[0]);
    }
    Some((z.atan2(flat).to_degrees(), y.atan2(x).to_degrees()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_combine_scores_as_documented() {
        let xs = [0.2, 0.6, 0.7];
        assert!((aggregate(GroupStrategy::Average, &xs) - 0.5).abs() < 1e-12);
        assert_eq!(aggregate(GroupStrategy::LeastMisery, &xs), 0.2);
        assert!((aggregate(GroupStrategy::Fairness, &xs) - (0.5 - 0.25)).abs() < 1e-12);
    }
}
