//! Auto-booking's grouping rule: people who want to go to the same venue at compatible times
//! become one party. Interests are taken in time order; a group starts at the earliest open
//! interest and takes the next ones while they fall within `window` of its first and it has
//! room. A group goes at the mean of its members' times, rounded to the nearest `step`.
//! People who gave only a part of the day ([`Flexible`]) never start a group (they have no
//! date); [`fill_flexible`] seats them in the groups of those who gave a time.

use chrono::Duration;
use uuid::Uuid;

use crate::{TimeOfDay, Timestamp};

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

/// Someone who would go in a part of the day (at the venue's local time) on any day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flexible {
    pub user_id: Uuid,
    pub slot: TimeOfDay,
    /// When they said so: who said so first gets the first seat.
    pub created_at: Timestamp,
}

/// Seats flexible people in existing groups: in order of `created_at` (then user id), each joins
/// the earliest group whose time falls in their part of the day in `tz` and that has fewer than
/// `room[i]` members (group `i`'s limit: the caller counts the seats free at its time, so a
/// flexible member never costs the group its table), or stays out. A group without a `room`
/// entry takes nobody. Nobody already in a group is seated twice. Returns who was seated.
pub fn fill_flexible(
    groups: &mut [InterestGroup],
    flexible: &[Flexible],
    tz: chrono_tz::Tz,
    room: &[usize],
) -> Vec<Uuid> {
    let mut people = flexible.to_vec();
    people.sort_by_key(|f| (f.created_at, f.user_id));
    people.dedup_by_key(|f| f.user_id);
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&i| groups[i].at);
    let slots: Vec<TimeOfDay> = groups.iter().map(|g| TimeOfDay::at(g.at, tz)).collect();
    let mut seated = Vec::new();
    for f in people {
        if groups.iter().any(|g| g.members.contains(&f.user_id)) {
            continue;
        }
        if let Some(&i) =
            order.iter().find(|&&i| slots[i] == f.slot && groups[i].members.len() < room.get(i).copied().unwrap_or(0))
        {
            groups[i].members.push(f.user_id);
            seated.push(f.user_id);
        }
    }
    seated
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

    fn flexible(slot: TimeOfDay, minute: u32) -> Flexible {
        Flexible { user_id: crate::new_id(), slot, created_at: at(8, minute) }
    }

    #[test]
    fn flexible_people_join_the_earliest_group_in_their_part_of_the_day_with_room() {
        let ids: Vec<Uuid> = (0..3).map(|_| crate::new_id()).collect();
        let exact = [(ids[0], at(12, 0)), (ids[1], at(19, 0)), (ids[2], at(20, 30))];
        let mut groups = group_by_time(&exact, Duration::minutes(60), 1, 2, Duration::minutes(30));
        assert_eq!(groups.len(), 3);
        // In order of when they said so: the first two evening people fill 19:00 then 20:30,
        // the third finds no room, the morning one no morning group; lunch stays alone.
        let (e1, e2, e3, m) = (
            flexible(TimeOfDay::Evening, 1),
            flexible(TimeOfDay::Evening, 2),
            flexible(TimeOfDay::Evening, 3),
            flexible(TimeOfDay::Morning, 0),
        );
        let seated = fill_flexible(&mut groups, &[e3, e2, m, e1], chrono_tz::UTC, &[2, 2, 2]);
        assert_eq!(seated, vec![e1.user_id, e2.user_id]);
        assert_eq!(groups[0].members, vec![ids[0]]);
        assert_eq!(groups[1].members, vec![ids[1], e1.user_id]);
        assert_eq!(groups[2].members, vec![ids[2], e2.user_id]);
        assert_eq!((groups[1].at, groups[2].at), (at(19, 0), at(20, 30)), "a flexible member moves no group");
    }

    #[test]
    fn a_part_of_the_day_is_read_at_the_venues_local_time() {
        let id = crate::new_id();
        // 23:00 UTC is 18:00 in New York: night in UTC, evening there.
        let mut groups = vec![InterestGroup { members: vec![id], at: at(23, 0) }];
        let evening = flexible(TimeOfDay::Evening, 0);
        assert!(fill_flexible(&mut groups.clone(), &[evening], chrono_tz::UTC, &[4]).is_empty());
        assert_eq!(fill_flexible(&mut groups, &[evening], chrono_tz::America::New_York, &[4]), vec![evening.user_id]);
        assert_eq!(groups[0].members, vec![id, evening.user_id]);
    }

    #[test]
    fn flexible_people_start_no_group_and_are_seated_once() {
        let mut none: Vec<InterestGroup> = Vec::new();
        assert!(fill_flexible(&mut none, &[flexible(TimeOfDay::Evening, 0)], chrono_tz::UTC, &[]).is_empty());
        let id = crate::new_id();
        let mut groups = vec![
            InterestGroup { members: vec![id], at: at(19, 0) },
            InterestGroup { members: vec![crate::new_id()], at: at(20, 0) },
        ];
        let twice = Flexible { user_id: id, slot: TimeOfDay::Evening, created_at: at(8, 0) };
        let dup = flexible(TimeOfDay::Evening, 1);
        let seated = fill_flexible(
            &mut groups,
            &[twice, dup, Flexible { created_at: at(8, 2), ..dup }],
            chrono_tz::UTC,
            &[4, 4],
        );
        assert_eq!(seated, vec![dup.user_id]);
        assert_eq!(groups[0].members, vec![id, dup.user_id]);
        assert_eq!(groups[1].members.len(), 1);
    }

    #[test]
    fn a_group_takes_flexible_people_only_up_to_its_own_room() {
        let ids: Vec<Uuid> = (0..2).map(|_| crate::new_id()).collect();
        let mut groups = vec![
            InterestGroup { members: vec![ids[0], ids[1]], at: at(19, 0) },
            InterestGroup { members: vec![crate::new_id()], at: at(20, 0) },
        ];
        let (a, b) = (flexible(TimeOfDay::Evening, 0), flexible(TimeOfDay::Evening, 1));
        // 19:00 has seats for three, 20:00 for two: one each.
        assert_eq!(fill_flexible(&mut groups, &[a, b], chrono_tz::UTC, &[3, 2]), vec![a.user_id, b.user_id]);
        assert_eq!(groups[0].members, vec![ids[0], ids[1], a.user_id]);
        assert_eq!(groups[1].members.len(), 2);
    }
}
