//! Auto-booking's grouping rule: people who want to go to the same venue at compatible times
//! become one party. Interests are taken in time order; a group starts at the earliest open
//! interest and takes the next ones while they fall within `window` of its first and it has
//! room. A group goes at the mean of its members' times, rounded to the nearest `step`.

use chrono::Duration;
use uuid::Uuid;

use crate::Timestamp;

/// People who go together, in the order they joined, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct InterestGroup {
    pub members: Vec<Uuid>,
    pub at: Timestamp,
}

/// Groups `(user, preferred time)` pairs. Groups smaller than `min` are dropped; none is larger
/// than `max`. Deterministic: ties in time are broken by user id.
pub fn group_by_time(
    interests: &[(Uuid, Timestamp)],
    window: Duration,
    min: usize,
    max: usize,
    step: Duration,
) -> Vec<InterestGroup> {
    let mut sorted = interests.to_vec();
    sorted.sort_by_key(|&(u, t)| (t, u));
    sorted.dedup_by_key(|p| p.0);
    let mut groups = Vec::new();
    let mut current: Vec<(Uuid, Timestamp)> = Vec::new();
    for (user, at) in sorted {
        let fits = current.first().is_some_and(|&(_, first)| at - first <= window) && current.len() < max.max(1);
        if !fits && !current.is_empty() {
            groups.push(std::mem::take(&mut current));
        }
        current.push((user, at));
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
        .into_iter()
        .filter(|g| g.len() >= min.max(1))
        .map(|g| InterestGroup { members: g.iter().map(|p| p.0).collect(), at: rounded_mean(&g, step) })
        .collect()
}

fn rounded_mean(group: &[(Uuid, Timestamp)], step: Duration) -> Timestamp {
    let first = group[0].1;
    let offset: i64 = group.iter().map(|(_, t)| (*t - first).num_seconds()).sum::<i64>() / group.len() as i64;
    let mean = first + Duration::seconds(offset);
    let step = step.num_seconds().max(60);
    let secs = mean.timestamp();
    let rounded = (secs + step / 2).div_euclid(step) * step;
    chrono::DateTime::from_timestamp(rounded, 0).unwrap_or(mean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(h: u32, m: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 12, 4, h, m, 0).unwrap()
    }

    #[test]
    fn compatible_times_form_groups_within_the_size_limits() {
        let ids: Vec<Uuid> = (0..7).map(|_| crate::new_id()).collect();
        let interests = [
            (ids[0], at(19, 0)),
            (ids[1], at(19, 20)),
            (ids[2], at(19, 50)),
            (ids[3], at(19, 10)),
            (ids[4], at(12, 0)), // alone at lunch: no group
            (ids[5], at(21, 0)),
            (ids[6], at(21, 30)),
        ];
        let groups = group_by_time(&interests, Duration::minutes(60), 2, 3, Duration::minutes(30));
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].members, vec![ids[0], ids[3], ids[1]]);
        assert_eq!(groups[0].at, at(19, 0));
        // 19:50 did not fit the full first group and is alone: dropped.
        assert_eq!(groups[1].members, vec![ids[5], ids[6]]);
        assert_eq!(groups[1].at, at(21, 30));
    }
}
