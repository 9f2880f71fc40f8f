//! People recommendations ("who to go with") and who is interested in a venue.
//!
//! `seed2` reproduces the second seed's section 8.3 exactly: only the user's own edges are
//! candidates, scored `0.6 * strength + 0.25 * direct + 0.15 * category` with
//! `direct = min(1, likes * 0.5 + dwell / 300)` on the venue and
//! `category = min(1, likes * 0.3 + dwell / 600)` over venues of its category (both 0 without a
//! venue, or when the venue is unknown, as in the published code). Expressed interests are no
//! part of it: the formula reads logged interactions only.
//!
//! The default adds the first seed's social compatibility (mutual friends, Adamic-Adar,
//! preference Jaccard, activity pattern and time-of-day overlap, openness to new people) and
//! looks beyond direct friends: friends of friends and people who engaged with the same venues
//! or are interested in the venue of the query. An interest counts as wanting to go by one rule
//! ([`wants_to_go`]) here and in the venue's interested list: open to invites, and not past its
//! exact preferred time.

use uuid::Uuid;

use crate::error::EngineError;
use crate::settings::{EngineSettings, PeopleSettings};
use crate::state::{InterestMark, State, UserRow};
use crate::types::{
    InterestedInVenue, InterestedPerson, PeopleQuery, PersonRecommendation, Ranker, Reason, Relationship,
};
use crate::util::FastMap;
use crate::util::{jaccard, sorted_intersection};
use crate::venues::MAX_LIMIT;

/// Answers a people query.
pub(crate) fn recommend(
    st: &State,
    s: &EngineSettings,
    q: &PeopleQuery,
) -> Result<Vec<PersonRecommendation>, EngineError> {
    if q.limit == 0 || q.limit > MAX_LIMIT {
        return Err(EngineError::invalid("limit", "limit must be between 1 and 100"));
    }
    let u =
        st.user_idx(&q.user_id).filter(|&u| st.live_user(u).is_some()).ok_or(EngineError::UnknownUser(q.user_id))?;
    // An unknown venue is a 404 under every ranker: ignoring it would answer another question.
    let venue = match q.venue_id {
        Some(id) => {
            Some(st.venue_idx(&id).filter(|&v| st.live_venue(v).is_some()).ok_or(EngineError::UnknownVenue(id))?)
        }
        None => None,
    };
    match q.ranker.for_people() {
        Ranker::Seed2 => Ok(seed2(st, u, venue, q.limit)),
        _ => {
            let now = q.now.unwrap_or_else(chrono::Utc::now).timestamp();
            Ok(default(st, &s.people, u, venue.map(|v| (v, now)), q.limit))
        }
    }
}

/// Whether an interest still tells others that its user wants to go as of `now` (seconds since
/// the epoch): it is open to invites, and its exact preferred time, if it has one, is not before
/// `now` (the evening is over); an interest in only a part of the day stays. A closed or passed
/// interest still counts as its user's own signal.
fn wants_to_go(m: &InterestMark, now: i64) -> bool {
    m.open && m.time.is_none_or(|t| t >= now)
}

/// Whether a candidate's interest in venue `v` still says, as of `now`, that they want to go.
fn wants_to_go_to(cand: &UserRow, v: u32, now: i64) -> bool {
    let i = cand.interests.binary_search_by_key(&v, |m| m.key);
    i.is_ok_and(|i| wants_to_go(&cand.interests[i], now))
}

/// How much a candidate wants to go to venue `v` as of `now`, and whether they said so: 1 when
/// their interest in it still does ([`wants_to_go`]), else how much they engaged with it.
fn venue_feature(cand: &UserRow, v: u32, now: i64) -> (f64, bool) {
    if wants_to_go_to(cand, v, now) { (1.0, true) } else { (cand.agg(v).map_or(0.0, |a| a.engagement()), false) }
}

/// `min(1, likes * a + dwell / b)` over a user's interactions with venues matching `keep`.
fn pref(user: &UserRow, a: f64, b: f64, mut keep: impl FnMut(u32) -> bool) -> f64 {
    let (mut likes, mut dwell) = (0u64, 0u64);
    for x in user.history.iter().filter(|x| keep(x.venue)) {
        likes += u64::from(x.likes);
        dwell += u64::from(x.dwell);
    }
    (likes as f64 * a + dwell as f64 / b).min(1.0)
}

/// The seed2 score of one edge target: (score, direct, category).
pub(crate) fn seed2_score(st: &State, strength: f64, other: &UserRow, venue: Option<u32>) -> (f64, f64, f64) {
    let (mut direct, mut category) = (0.0, 0.0);
    if let Some(v) = venue
        && let Some(target) = st.live_venue(v)
    {
        direct = pref(other, 0.5, 300.0, |x| x == v);
        let cat = target.category;
        category = pref(other, 0.3, 600.0, |x| st.live_venue(x).is_some_and(|r| r.category == cat));
    }
    (0.6 * strength + 0.25 * direct + 0.15 * category, direct, category)
}

fn seed2(st: &State, u: u32, venue: Option<u32>, limit: usize) -> Vec<PersonRecommendation> {
    let Some(user) = st.live_user(u) else { return Vec::new() };
    let mut out: Vec<(f64, u32, PersonRecommendation)> = Vec::new();
    for e in &user.edges {
        let Some(other) = st.live_user(e.other) else { continue };
        let (score, direct, category) = seed2_score(st, e.strength, other, venue);
        // Every edge counts (the seed's formula); its type says what kind.
        let tie = match e.rel {
            domain::RelationshipType::Friend => "your friend",
            domain::RelationshipType::Mutual => "a mutual connection",
            domain::RelationshipType::Suggested => "a suggested connection",
        };
        let mut reasons = vec![Reason {
            code: "strength".into(),
            label: format!("{}, strength {:.2}", tie.trim_start_matches("your ").trim_start_matches("a "), e.strength)
                .into(),
            contribution: 0.6 * e.strength,
        }];
        // The venue parts are the formula's only when a venue was asked about, and are given only
        // when they add something: "likes this venue" at 0 would say what is not so.
        if venue.is_some() {
            let parts = [
                Reason {
                    code: "venue_preference".into(),
                    label: "likes this venue".into(),
                    contribution: 0.25 * direct,
                },
                Reason {
                    code: "category_preference".into(),
                    label: "likes places like it".into(),
                    contribution: 0.15 * category,
                },
            ];
            reasons.extend(parts.into_iter().filter(|r| r.contribution > 0.0));
        }
        let mut parts = vec![format!("{tie} (strength {:.2})", e.strength)];
        if direct > 0.0 {
            parts.push("likes this venue".into());
        }
        if category > 0.0 {
            parts.push("enjoys similar places".into());
        }
        let mutual = sorted_intersection(&others(user), &others(other)) as u32;
        // The score is the seed's for every edge; what the person is to the user is said as the
        // default ranker says it (a suggested connection is no friend).
        let rel = relationship(e.is_tie(), mutual);
        out.push((score, e.other, person(other, score, rel, mutual, reasons, &parts)));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    out.into_iter().take(limit).map(|x| x.2).collect()
}

fn person(
    r: &UserRow,
    score: f64,
    rel: Relationship,
    mutual: u32,
    reasons: Vec<Reason>,
    parts: &[String],
) -> PersonRecommendation {
    PersonRecommendation {
        user_id: r.id,
        score,
        handle: r.handle.clone(),
        name: r.name.clone(),
        relationship: rel,
        mutual_friends: mutual,
        reasons,
        explanation: crate::venues::explain_sentence(parts),
    }
}

/// What a person is to the user: a friend (a tie), a friend of a friend, or someone new.
fn relationship(tie: bool, mutual_friends: u32) -> Relationship {
    match (tie, mutual_friends) {
        (true, _) => Relationship::Friend,
        (false, 0) => Relationship::New,
        (false, _) => Relationship::Mutual,
    }
}

/// The user's friends (ties, not suggested connections), sorted by index.
fn others(u: &UserRow) -> Vec<u32> {
    u.edges.iter().filter(|e| e.is_tie()).map(|e| e.other).collect()
}

/// Overlap of two histograms as distributions (sum of minimum shares), 0 to 1.
fn histogram_overlap(a: &[u32], b: &[u32]) -> f64 {
    let (sa, sb) = (a.iter().sum::<u32>() as f64, b.iter().sum::<u32>() as f64);
    if sa == 0.0 || sb == 0.0 {
        return 0.0;
    }
    a.iter().zip(b).map(|(&x, &y)| (f64::from(x) / sa).min(f64::from(y) / sb)).sum()
}

/// Compatibility features of a candidate for a user (`venue` is 0 until the caller sets it from
/// [`venue_feature`]).
struct Compat {
    strength: f64,
    mutual: u32,
    adamic_adar: f64,
    preference: f64,
    co_visit: f64,
    activity: f64,
    openness: f64,
    venue: f64,
    /// Whether `venue` is 1 because the candidate wants to go ([`wants_to_go`]); else it is
    /// only their engagement with the venue.
    wants: bool,
    relationship: Relationship,
}

fn compat(st: &State, user: &UserRow, mine: &[u32], my_pos: &[u32], c: u32, cand: &UserRow) -> Compat {
    let edge = user.edge(c);
    let theirs = others(cand);
    let (mut mutual, mut aa) = (0u32, 0.0);
    let (mut i, mut j) = (0, 0);
    while i < mine.len() && j < theirs.len() {
        match mine[i].cmp(&theirs[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                mutual += 1;
                let deg = st.user(mine[i]).map_or(2, |z| z.edges.len().max(2));
                aa += 1.0 / (deg as f64).ln();
                i += 1;
                j += 1;
            }
        }
    }
    let preference = match (&user.prefs, &cand.prefs) {
        (Some(a), Some(b)) => 0.5 * jaccard(&a.cuisines, &b.cuisines) + 0.5 * jaccard(&a.ambiance, &b.ambiance),
        _ => 0.0,
    };
    let their_pos: Vec<u32> = cand.history.iter().filter(|a| a.positive()).map(|a| a.venue).collect();
    let co_visit = jaccard(my_pos, &their_pos);
    let activity = 0.6 * histogram_overlap(&user.tod, &cand.tod) + 0.4 * histogram_overlap(&user.week, &cand.week);
    let tie = edge.is_some_and(|e| e.is_tie());
    let relationship = relationship(tie, mutual);
    let openness = if tie { 1.0 } else { cand.prefs.as_ref().map_or(0.5, |p| p.openness) };
    Compat {
        strength: edge.map_or(0.0, |e| e.strength),
        mutual,
        adamic_adar: 1.0 - (-aa / 2.0).exp(),
        preference,
        co_visit,
        activity,
        openness,
        venue: 0.0,
        wants: false,
        relationship,
    }
}

fn compat_score(w: &PeopleSettings, x: &Compat, with_venue: bool) -> f64 {
    w.w_strength * x.strength
        + w.w_mutual * (1.0 - (-f64::from(x.mutual) / 3.0).exp())
        + w.w_adamic_adar * x.adamic_adar
        + w.w_preference * x.preference
        + w.w_co_visit * x.co_visit.sqrt()
        + w.w_activity * x.activity
        + w.w_openness * x.openness
        + if with_venue { w.w_venue * x.venue } else { 0.0 }
}

/// Compatibility normalised to 0..1 (without the venue term).
fn compat_unit(w: &PeopleSettings, x: &Compat) -> f64 {
    let total =
        w.w_strength + w.w_mutual + w.w_adamic_adar + w.w_preference + w.w_co_visit + w.w_activity + w.w_openness;
    if total > 0.0 { (compat_score(w, x, false) / total).clamp(0.0, 1.0) } else { 0.0 }
}

/// Candidates beyond direct friends: friends of friends (by mutual count), co-visitors and
/// people who want to go to the venue as of the instant given with it.
fn people_candidates(st: &State, w: &PeopleSettings, u: u32, user: &UserRow, venue: Option<(u32, i64)>) -> Vec<u32> {
    let mut out: Vec<u32> = user.edges.iter().map(|e| e.other).collect();
    let mut fof: FastMap<u32, u32> = FastMap::default();
    for e in user.edges.iter().filter(|e| e.is_tie()) {
        let Some(f) = st.live_user(e.other) else { continue };
        for g in f.edges.iter().filter(|g| g.is_tie()) {
            if g.other != u && user.edge(g.other).is_none() {
                *fof.entry(g.other).or_default() += 1;
            }
        }
    }
    let mut fof: Vec<(u32, u32)> = fof.into_iter().collect();
    fof.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out.extend(fof.into_iter().take(w.max_fof).map(|x| x.0));
    let mut mine: Vec<_> = user.history.iter().filter(|a| a.positive()).collect();
    mine.sort_unstable_by(|a, b| b.engagement().total_cmp(&a.engagement()));
    for a in mine.into_iter().take(20) {
        if let Some(d) = st.vdyn(a.venue) {
            out.extend(d.recent_users());
        }
    }
    if let Some((v, now)) = venue
        && let Some(d) = st.vdyn(v)
    {
        out.extend(d.interested.iter().filter(|m| wants_to_go(m, now)).map(|m| m.key));
        out.extend(d.recent_users());
    }
    out.sort_unstable();
    out.dedup();
    out.retain(|&c| c != u && st.live_user(c).is_some());
    out
}

/// The default ranker; `venue` is the venue asked about with the current instant (seconds).
fn default(
    st: &State,
    w: &PeopleSettings,
    u: u32,
    venue: Option<(u32, i64)>,
    limit: usize,
) -> Vec<PersonRecommendation> {
    let Some(user) = st.live_user(u) else { return Vec::new() };
    let mine = others(user);
    let my_pos: Vec<u32> = user.history.iter().filter(|a| a.positive()).map(|a| a.venue).collect();
    let mut scored: Vec<(f64, u32, Compat)> = people_candidates(st, w, u, user, venue)
        .into_iter()
        .filter_map(|c| {
            let cand = st.live_user(c)?;
            let mut x = compat(st, user, &mine, &my_pos, c, cand);
            (x.venue, x.wants) = venue.map_or((0.0, false), |(v, now)| venue_feature(cand, v, now));
            Some((compat_score(w, &x, venue.is_some()), c, x))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(limit);
    scored
        .into_iter()
        .filter_map(|(score, c, x)| {
            let cand = st.live_user(c)?;
            let (reasons, parts) = people_reasons(w, &x, venue.is_some());
            Some(person(cand, score, x.relationship, x.mutual, reasons, &parts))
        })
        .collect()
}

fn people_reasons(w: &PeopleSettings, x: &Compat, with_venue: bool) -> (Vec<Reason>, Vec<String>) {
    let mut rs: Vec<(Reason, String)> = Vec::new();
    let mut add = |code: &'static str, label: String, c: f64| {
        if c >= 0.005 {
            rs.push((Reason { code: code.into(), label: label.clone().into(), contribution: c }, label));
        }
    };
    let rel = match x.relationship {
        Relationship::Friend => "your friend".to_string(),
        Relationship::Mutual => "a friend of a friend".to_string(),
        Relationship::New => "someone new".to_string(),
    };
    // A suggested connection's strength is the platform's guess, not a friendship.
    let tie = if x.relationship == Relationship::Friend { "close friend" } else { "suggested for you" };
    add("strength", tie.into(), w.w_strength * x.strength);
    add(
        "mutual_friends",
        crate::venues::plural_of(x.mutual, "mutual friend", "mutual friends"),
        w.w_mutual * (1.0 - (-f64::from(x.mutual) / 3.0).exp()),
    );
    add("adamic_adar", "well connected to your circle".into(), w.w_adamic_adar * x.adamic_adar);
    add("similar_taste", "similar taste".into(), w.w_preference * x.preference);
    add("same_places", "goes to the same places".into(), w.w_co_visit * x.co_visit.sqrt());
    add("activity_overlap", "goes out at the same times".into(), w.w_activity * x.activity);
    // A friend's openness is 1 (a tie is open to the user): part of the score like the others,
    // but not said to be openness to new people.
    let open = if x.relationship == Relationship::Friend {
        "open to going out with you"
    } else {
        "open to meeting new people"
    };
    add("openness", open.into(), w.w_openness * x.openness);
    // Only an interest open to invites and not yet past says they want to go; otherwise the
    // term is their engagement with the venue (views, saves, likes, visits), said as such.
    if with_venue && x.wants {
        add("wants_to_go", "wants to go there too".into(), w.w_venue * x.venue);
    } else if with_venue {
        add("knows_venue", "knows the place".into(), w.w_venue * x.venue);
    }
    let mut ranked: Vec<&(Reason, String)> = rs.iter().collect();
    ranked.sort_by(|a, b| b.0.contribution.total_cmp(&a.0.contribution));
    let mut parts = vec![rel];
    parts.extend(
        ranked
            .into_iter()
            .filter(|r| r.0.code != "strength" && r.0.code != "adamic_adar")
            .filter(|r| r.0.code != "openness" || x.relationship != Relationship::Friend)
            .take(3)
            .map(|r| r.1.clone()),
    );
    (rs.into_iter().map(|r| r.0).collect(), parts)
}

/// Who wants to go to a venue, grouped as friends, mutuals and new people, each with their
/// preferred time and compatibility to the viewer (best first). People not open to invites, and
/// interests whose exact preferred time is before `now` (the evening is over), are left out (of
/// the totals too; the rule is [`wants_to_go`]); an interest in only a part of the day stays. Both still count for the
/// user's own recommendations.
pub(crate) fn interested_in_venue(
    st: &State,
    s: &EngineSettings,
    venue_id: Uuid,
    viewer: Uuid,
    limit: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<InterestedInVenue, EngineError> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(EngineError::invalid("limit", "limit must be between 1 and 100"));
    }
    let u = st.user_idx(&viewer).filter(|&u| st.live_user(u).is_some()).ok_or(EngineError::UnknownUser(viewer))?;
    let v =
        st.venue_idx(&venue_id).filter(|&v| st.live_venue(v).is_some()).ok_or(EngineError::UnknownVenue(venue_id))?;
    let user = st.live_user(u).ok_or(EngineError::UnknownUser(viewer))?;
    let mine = others(user);
    let my_pos: Vec<u32> = user.history.iter().filter(|a| a.positive()).map(|a| a.venue).collect();
    let mut out = InterestedInVenue {
        venue_id,
        friends: vec![],
        mutuals: vec![],
        new_people: vec![],
        friends_total: 0,
        mutuals_total: 0,
        new_people_total: 0,
    };
    // Those not open to invites stay out of other people's lists and totals, and so do those
    // whose time has passed: they no longer want to go then.
    let now = now.timestamp();
    for m in st.vdyn(v).map(|d| &d.interested[..]).unwrap_or(&[]).iter().filter(|m| wants_to_go(m, now)) {
        let c = m.key;
        if c == u {
            continue;
        }
        let Some(cand) = st.live_user(c) else { continue };
        let x = compat(st, user, &mine, &my_pos, c, cand);
        let p = InterestedPerson {
            user_id: cand.id,
            handle: cand.handle.clone(),
            name: cand.name.clone(),
            preferred_time: m.time.and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
            preferred_time_slot: m.slot,
            compatibility: compat_unit(&s.people, &x),
            mutual_friends: x.mutual,
        };
        match x.relationship {
            Relationship::Friend => out.friends.push(p),
            Relationship::Mutual => out.mutuals.push(p),
            Relationship::New => out.new_people.push(p),
        }
    }
    let totals = [&mut out.friends_total, &mut out.mutuals_total, &mut out.new_people_total];
    for (list, total) in [&mut out.friends, &mut out.mutuals, &mut out.new_people].into_iter().zip(totals) {
        *total = list.len();
        list.sort_by(|a, b| b.compatibility.total_cmp(&a.compatibility).then(a.user_id.cmp(&b.user_id)));
        list.truncate(limit);
    }
    Ok(out)
}
