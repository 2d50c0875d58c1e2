//! An aggressive merge: a vehicle comes down an on-ramp on the ego's way and forces its way
//! into the ego's lane from the acceleration lane, close in front of the ego.
//!
//! Where the ego's way passes an acceleration lane on its kerb side (the lane beside the
//! ego's, ending in a taper; nobody held up on it), between [`MIN_AHEAD_S`] and
//! [`MAX_AHEAD_S`] away, the merger is a vehicle on the ramp (within [`RAMP_BACK_M`] of the
//! acceleration lane, nobody within [`AHEAD_CLEAR_M`] ahead of it) that can make the meeting,
//! taken over, or else a car brought in on the ramp where the ego cannot see it. On the ramp
//! it cruises at the speed that, speeding up at the end, brings it onto the acceleration lane
//! at the ego's speed plus the asked relative speed just as the ego comes up to where the
//! cut-in wants it (re-reckoned every step, never into its own leader). On the acceleration
//! lane it is a cut-in from the kerb side ([`World::cut_in_control`]) that gives no sign (no
//! indicator, nobody makes room): it lines up at the asked gap and relative speed and moves
//! over in [`MERGE_LATERAL_S`], at once where its lane is running out, and gives up where
//! the ego moves over first (the event then tries the next on-ramp).

use super::World;
use super::events::Script;
use crate::lanes::LaneId;
use roadworld_spec::ActorKind;
use roadworld_spec::events::AggressiveMerge;

/// Time the merger takes to move over (an aggressive merge is quick).
pub const MERGE_LATERAL_S: f64 = 2.0;
/// How far along the ego's way the acceleration lane is looked for.
const LOOK_AHEAD_M: f64 = 900.0;
/// Least time the ego needs to reach the acceleration lane for a merger to be picked.
const MIN_AHEAD_S: f64 = 10.0;
/// Most time the ego may need to come up to the merger's place for a merger to be picked.
const MAX_AHEAD_S: f64 = 22.0;
/// How far back up the ramp from the acceleration lane a merger is looked for or brought in.
const RAMP_BACK_M: f64 = 400.0;
/// Room kept clear behind a car brought in on the ramp.
const SPAWN_CLEAR_M: f64 = 40.0;
/// Room a merger needs ahead of it on the ramp (anyone closer would hold it up).
const AHEAD_CLEAR_M: f64 = 80.0;
/// How long the merger is to drift onto its mark on the acceleration lane (at the relative
/// speed), within bounds.
const ARRIVE_DRIFT_S: f64 = 3.0;
const ARRIVE_BEYOND_M: [f64; 2] = [2.0, 10.0];
/// Slowest a merger goes on its way down the ramp.
const RAMP_MIN_MPS: f64 = 6.0;
/// Below this speed a vehicle on the acceleration lane is held up there.
const HELD_UP_MPS: f64 = 5.0;
/// Share of its driver's acceleration a merger plans to speed up with onto the motorway.
const MERGE_ACCEL_SHARE: f64 = 0.75;

/// What a merger on its way down the ramp aims at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RampMerge {
    pub ego: u32,
    /// The acceleration lane, and the ego's way's lane beside it (they start together).
    pub accel: LaneId,
    pub beside: LaneId,
    pub gap_m: f64,
    pub rel_speed_mps: f64,
    /// Whether the acceleration lane is on the ego's left.
    pub from_left: bool,
}

impl World {
    /// Picks the merger: where the ego's way (within [`LOOK_AHEAD_M`], at least
    /// [`MIN_AHEAD_S`] away) passes an acceleration lane right beside it, the vehicle that
    /// will be first onto it from the ramp (within [`RAMP_BACK_M`]), or a car brought in on
    /// the ramp out of the ego's sight.
    pub(super) fn stage_aggressive_merge(&mut self, p: &AggressiveMerge) -> Option<Vec<u32>> {
        let e = self.ego?;
        let ego = &self.actors[e as usize];
        if !ego.alive || ego.speed_mps < 8.0 || ego.lane_change.is_some() {
            return None;
        }
        let right_hand = self.net.traffic_side == roadworld_road::TrafficSide::Right;
        let (v, ego_len) = (ego.speed_mps, ego.body.length_m);
        // The ego's way ahead: its lane, its plan, then the main route.
        let way: Vec<(LaneId, f64)> = self.lanes_ahead(e, LOOK_AHEAD_M, false).collect();
        for (lane, dist) in way {
            let l = self.map.lane(lane);
            let kerb = if right_hand { l.right } else { l.left };
            let Some(accel) = kerb else { continue };
            let r = self.map.lane(accel);
            // An acceleration lane: fed from a ramp, ending beside this lane.
            let fed = r.prev.iter().any(|&q| self.map.lane(q).junction.is_some());
            if l.junction.is_some() || !r.dead_end || !fed || dist < MIN_AHEAD_S * v {
                continue;
            }
            // Nobody held up on the acceleration lane (others will have moved over by the
            // time the merger gets there).
            let occupied = std::iter::successors(Some(accel), |&x| {
                let n = &self.map.lane(x).next;
                (n.len() == 1 && self.map.lane(n[0]).junction.is_none()).then(|| n[0])
            })
            .any(|x| {
                self.lists[x.index()]
                    .iter()
                    .any(|&j| self.actors[j as usize].speed_mps < HELD_UP_MPS)
            });
            // When the merger is to be on it: as the ego comes up to where the cut-in wants
            // the merger (about a car length and the gap, and a bit, behind it).
            let behind = ego_len + p.gap_m.mean() + arrive_beyond_m(p.rel_speed_mps.mean());
            let t_meet = (dist - behind) / v;
            if occupied || t_meet > MAX_AHEAD_S {
                continue;
            }
            let v_end = (v + p.rel_speed_mps.mean()).max(RAMP_MIN_MPS);
            let Some((j, plan)) = self.merger_for(accel, t_meet, v_end) else {
                continue;
            };
            let a = &mut self.actors[j as usize];
            a.plan = plan.into_iter().collect();
            a.want = None;
            a.script = Some(Script::RampMerge(RampMerge {
                ego: e,
                accel,
                beside: lane,
                gap_m: p.gap_m.mean(),
                rel_speed_mps: p.rel_speed_mps.mean(),
                from_left: !right_hand,
            }));
            return Some(vec![j]);
        }
        None
    }

    /// The merger for acceleration lane `accel`, with the lanes it takes to get there (and
    /// `accel`), able to get there in `t_meet` with nobody close ahead of it on the ramp
    /// ([`AHEAD_CLEAR_M`]: it would hold it up): a vehicle on the lanes leading there (within
    /// [`RAMP_BACK_M`]) free to be taken over (the one whose speed is nearest to what it
    /// needs), or else a car brought in as near as the ego cannot see it.
    fn merger_for(&mut self, accel: LaneId, t_meet: f64, v_end: f64) -> Option<(u32, Vec<LaneId>)> {
        // The ramp's lanes: (lane, distance from its start to the acceleration lane's, the
        // lanes after it up to `accel`).
        let mut lanes: Vec<(LaneId, f64, Vec<LaneId>)> = Vec::new();
        let mut todo: Vec<(LaneId, f64, Vec<LaneId>)> = self
            .map
            .lane(accel)
            .prev
            .iter()
            .map(|&q| (q, self.map.lane(q).length_m, vec![accel]))
            .collect();
        while let Some((l, to_accel, route)) = todo.pop() {
            if to_accel < RAMP_BACK_M {
                for &q in &self.map.lane(l).prev {
                    let mut further = vec![l];
                    further.extend(route.iter().copied());
                    todo.push((q, to_accel + self.map.lane(q).length_m, further));
                }
            }
            lanes.push((l, to_accel, route));
        }
        // Everyone on them and on the acceleration lane, by distance to it (negative: on it).
        let mut on_ramp: Vec<(f64, u32)> = self.lists[accel.index()]
            .iter()
            .map(|&j| (-self.actors[j as usize].d_m, j))
            .collect();
        for (l, to_accel, _) in &lanes {
            for &j in &self.lists[l.index()] {
                on_ramp.push((to_accel - self.actors[j as usize].d_m, j));
            }
        }
        let room = |x: f64| {
            let ahead = on_ramp.iter().filter(|v| v.0 < x - 0.1).map(|v| x - v.0);
            let behind = on_ramp.iter().filter(|v| v.0 > x + 0.1).map(|v| v.0 - x);
            (
                ahead.fold(f64::MAX, f64::min),
                behind.fold(f64::MAX, f64::min),
            )
        };
        let mut found: Option<(f64, u32, &Vec<LaneId>)> = None;
        let mut spots: Vec<(f64, LaneId, f64, &Vec<LaneId>)> = Vec::new();
        for (l, to_accel, route) in &lanes {
            for &j in &self.lists[l.index()] {
                let o = &self.actors[j as usize];
                let x = to_accel - o.d_m;
                let fit = self.free_to_script(j, 8.0)
                    && x < RAMP_BACK_M
                    && room(x).0 > AHEAD_CLEAR_M
                    && can_meet(x, o.speed_mps, t_meet, v_end, merge_accel(o));
                let off = (x / t_meet.max(0.1) - o.speed_mps).abs();
                if fit && found.is_none_or(|f| off < f.0) {
                    found = Some((off, j, route));
                }
            }
            // Spots to bring a car in, every 10 m back from this lane's end.
            let lane = self.map.lane(*l);
            let mut d = lane.length_m - 10.0;
            while lane.junction.is_none() && d > 10.0 && to_accel - d < RAMP_BACK_M {
                spots.push((to_accel - d, *l, d, route));
                d -= 10.0;
            }
        }
        if let Some((_, j, route)) = found {
            return Some((j, route.clone()));
        }
        spots.sort_by(|a, b| a.0.total_cmp(&b.0));
        // A car brought in is an eager driver: it speeds up as hard as a car can.
        let car_accel = crate::kinds::kind_info(ActorKind::Car).max_accel_mps2;
        let (x, lane, d, route) = spots.into_iter().find(|&(x, l, d, _)| {
            let p = self.map.lane(l).at(d);
            let c = cruise_speed(x, t_meet, v_end, MERGE_ACCEL_SHARE * car_accel);
            let (ahead, behind) = room(x);
            can_meet(x, c, t_meet, v_end, MERGE_ACCEL_SHARE * car_accel)
                && ahead > AHEAD_CLEAR_M
                && behind > SPAWN_CLEAR_M
                && !self.in_ego_sight(p.x_m, p.y_m)
        })?;
        let route = route.clone();
        let dist = std::sync::Arc::clone(&self.driver_dist);
        let j = self.new_actor(ActorKind::Car, lane, d, false, &dist);
        let a = &mut self.actors[j as usize];
        a.driver.max_accel_mps2 = car_accel;
        a.speed_mps = cruise_speed(x, t_meet, v_end, MERGE_ACCEL_SHARE * car_accel);
        self.count_density();
        Some((j, route))
    }

    /// The merger's acceleration on its way down the ramp: the speed that brings it onto the
    /// acceleration lane as the ego comes up to where the cut-in wants it (the ego keeping
    /// its speed). `None` once it is on the acceleration lane (the cut-in takes over) or the
    /// ego no longer comes this way.
    pub(super) fn ramp_merge_accel(&self, idx: u32, m: &RampMerge) -> Option<f64> {
        let a = &self.actors[idx as usize];
        let e = &self.actors[m.ego as usize];
        if !e.alive || a.lane == m.accel {
            return None;
        }
        // The merger's distance to the acceleration lane's start, along its plan.
        let mut to_accel = self.map.lane(a.lane).length_m - a.d_m;
        for &l in &a.plan {
            if l == m.accel {
                break;
            }
            to_accel += self.map.lane(l).length_m;
        }
        // The ego's, to the start of the lane beside it (or any lane of that stretch).
        let stretch = self.map.lane(m.beside).lane;
        let (_, to_beside) =
            self.lanes_ahead(m.ego, 2.0 * LOOK_AHEAD_M, false)
                .find(|&(l, _)| {
                    let l = self.map.lane(l).lane;
                    l.road == stretch.road && l.section == stretch.section
                })?;
        // Where the cut-in wants it: its centre this far ahead of the ego's, a little
        // beyond the mark on the side it drifts from; so the ego is that far short of the
        // acceleration lane's start when the merger gets there.
        let mark = 0.5 * e.body.length_m + m.gap_m + 0.5 * a.body.length_m;
        let beyond = arrive_beyond_m(m.rel_speed_mps);
        let ego_to = to_beside - mark - beyond;
        // It gets there at the cut-in speed: cruising down the ramp, then speeding up.
        let v_end = (e.speed_mps + m.rel_speed_mps).max(RAMP_MIN_MPS);
        let accel = merge_accel(a);
        let x = to_accel.max(0.0);
        let v = a.speed_mps;
        let speed_up_m = (v_end * v_end - v * v).max(0.0) / (2.0 * accel);
        if ego_to <= 0.0 || x <= speed_up_m + 1.0 {
            // Late, or time to speed up (all it has where it is late).
            let late = ego_to / e.speed_mps.max(1.0) < 2.0 * x / (v + v_end).max(1.0);
            let most = if late {
                accel / MERGE_ACCEL_SHARE
            } else {
                accel
            };
            return Some(((v_end - v) / 0.5).clamp(-3.0, most));
        }
        let t_want = ego_to / e.speed_mps.max(1.0);
        let v_want = cruise_speed(x, t_want, v_end, accel).clamp(RAMP_MIN_MPS.min(v_end), v_end);
        Some((v_want - v).clamp(-3.0, accel))
    }
}

/// How far beyond its mark (slower than the ego) or short of it (faster) the merger aims to
/// come onto the acceleration lane, so that the cut-in controller drifts onto the mark from
/// that side in about [`ARRIVE_DRIFT_S`].
fn arrive_beyond_m(rel_speed_mps: f64) -> f64 {
    let m = (rel_speed_mps.abs() * ARRIVE_DRIFT_S).clamp(ARRIVE_BEYOND_M[0], ARRIVE_BEYOND_M[1]);
    if rel_speed_mps < 0.0 { m } else { -m }
}

/// The acceleration a merger plans to speed up onto the motorway with.
fn merge_accel(a: &crate::world::Actor) -> f64 {
    MERGE_ACCEL_SHARE
        * a.driver
            .max_accel_mps2
            .min(crate::kinds::kind_info(a.body.kind).max_accel_mps2)
}

/// The speed to cruise at so as to cover `x_m` in `t_s`, speeding up at the end (at
/// `accel_mps2`) to arrive at `v_end_mps`: below [`RAMP_MIN_MPS`] where even that is too
/// soon, above `v_end_mps` where it cannot make it.
fn cruise_speed(x_m: f64, t_s: f64, v_end_mps: f64, accel_mps2: f64) -> f64 {
    // The time it takes cruising at `c` (falls as `c` rises).
    let time_at = |c: f64| {
        let up = ((v_end_mps * v_end_mps - c * c).max(0.0) / (2.0 * accel_mps2)).min(x_m);
        (x_m - up) / c.max(0.1) + (v_end_mps - c).max(0.0) / accel_mps2
    };
    let (mut lo, mut hi) = (RAMP_MIN_MPS.min(v_end_mps), v_end_mps);
    if time_at(hi) > t_s {
        return v_end_mps + 1.0;
    }
    if time_at(lo) < t_s {
        return lo - 1.0;
    }
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        if time_at(mid) > t_s {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Whether a merger `x_m` from the acceleration lane at `v_mps`, speeding up at `accel_mps2`,
/// can get there in `t_s` at `v_end_mps`: there is a speed to cruise at on the way, within
/// reach of its speed now (slowing down at 3 m/s^2, or speeding up, over a fifth of the way),
/// and the speed-up from there fits.
fn can_meet(x_m: f64, v_mps: f64, t_s: f64, v_end_mps: f64, accel_mps2: f64) -> bool {
    let c = cruise_speed(x_m, t_s, v_end_mps, accel_mps2);
    let reach_m = 0.2 * x_m;
    let change_m = if c < v_mps {
        (v_mps * v_mps - c * c) / 6.0
    } else {
        (c * c - v_mps * v_mps) / (2.0 * accel_mps2)
    };
    x_m > 0.0 && (RAMP_MIN_MPS.min(v_end_mps)..=v_end_mps).contains(&c) && change_m <= reach_m
}
