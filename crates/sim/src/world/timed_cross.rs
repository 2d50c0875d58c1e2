//! Timed crossings of the ego's path at a junction ahead: a vehicle waiting at its line goes
//! when the ego is as far from where their paths cross, in time, as the crosser needs to get
//! out of there plus the asked post-encroachment time (or gap).
//!
//! - A **red-light runner** ([`CrossKind::RedLight`]): on a crossing approach under another
//!   light, the first vehicle there, taken over, or where nobody is there, a car brought in to
//!   wait at its stop line while the ego cannot see that spot. It stops at its line whatever
//!   its light says until the ego, cruising on a green that lasts until it is through, is that
//!   far away; then it speeds up as hard as it can to the asked speed, taking its junction
//!   path a second before it enters the conflict area (drivers who have not committed to a
//!   conflicting path by then wait for it; those who have, and the ego on its green, do not
//!   expect it).
//! - An **oncoming left turner** ([`CrossKind::LeftTurn`]): at a crossroads the ego goes
//!   straight through, under lights (the turner on its own green, the same as the ego's) or
//!   without (the turner bound to give way), a vehicle on the oncoming approach whose turn
//!   crosses the ego's path: the one that will be first at that line (on the approach or the
//!   lanes before it, up to 200 m back), taken over and sent there, or a car brought in to
//!   wait there out of the ego's sight. It is sent off (still on its way to its line, or from
//!   a stand) when the ego, cruising or speeding up to its speed, is the asked gap plus the
//!   time the turn takes (at up to 7 m/s) away, and the ego's leader will be out of the
//!   crossing before it gets there; it takes its path once the ego has committed to its own
//!   (so that the ego, on its right of way, does not give way to it), or just before it
//!   enters the crossing. Where the two paths cross is worked out from their centre lines
//!   ([`World::crossing_core`]): the conflict zones drivers keep clear of also take in where
//!   the turner's approach runs beside the ego's way out.
//!
//! - A **pull-out from a side road** ([`CrossKind::PullOut`]): at a crossroads without
//!   lights where the ego has the right of way going straight through, a vehicle on a side
//!   approach bound to give way to it (taken over at its line, or brought in to wait there out
//!   of the ego's sight, as for the runner) waits at its line until the cruising ego is the
//!   asked time from the conflict area, then pulls out straight across as hard as it can up
//!   to the asked speed, taking its junction path a second before the conflict area.
//!
//! Where the ego gets through first (or, for a left turn, stops at a red light before the
//! junction), the crosser drives on as before and the event looks for another junction. Once
//! through, the crosser drives on normally.

use super::World;
use super::events::Script;
use crate::kinds::kind_info;
use crate::lanes::{Control, LaneId};
use roadworld_road::LightState;
use roadworld_spec::ActorKind;
use roadworld_spec::events::{PullOut, RedLightRunner, TurnJunction, UnprotectedLeftTurn};

/// Speed a left turner gets up to through its turn.
const TURN_SPEED_MPS: f64 = 7.0;
/// Deceleration of a crosser coming faster than its speed (see [`World::cross_accel`]).
const SLOW_DOWN_MPS2: f64 = 3.0;
/// Largest heading change of a path counted as straight on, and least of a turn across.
const STRAIGHT_RAD: f64 = 0.5;
const TURN_RAD: f64 = 0.8;
/// Least time, beyond what the runner needs, before the ego reaches the conflict area for a
/// runner to be chosen.
const MIN_LEAD_S: f64 = 3.0;
/// A red-light runner takes its junction path this long before it enters the conflict area:
/// drivers not committed to a conflicting path by then wait for it (the ego on green,
/// committed, does not).
const RUN_CLAIM_S: f64 = 1.0;
/// A left turner takes its junction path once the ego has committed to its own, or at the
/// latest this long before it enters the conflict area (the ego, not yet committed, would
/// otherwise give way to it on its green).
const TURN_CLAIM_S: f64 = 0.3;
/// Least time between the ego's leader leaving the conflict area and a left turner entering
/// it (it turns across the gap behind that leader, which it would otherwise meet first).
const LEADER_CLEAR_S: f64 = 0.5;
/// Room beyond the bodies' half widths counted into where a left turner's path crosses the
/// ego's.
const CROSS_MARGIN_M: f64 = 0.6;
/// An ego standing at a red light within this distance of its junction path has missed its
/// left turner.
const RED_STOP_M: f64 = 80.0;
/// How far back from its stop line a left turner is looked for.
const TURNER_SEARCH_M: f64 = 200.0;
/// Speed a left turner on its way to its line is reckoned to cover the distance at, at least.
const TURNER_APPROACH_MPS: f64 = 6.0;
/// Least time, beyond the asked gap, between a left turner reaching its line and the ego
/// reaching the conflict area for it to be picked.
const TURNER_SPARE_S: f64 = 3.0;
/// Furthest ahead, in the ego's time at its present speed, a left turner is picked.
const TURN_MAX_LEAD_S: f64 = 60.0;
/// Largest acceleration of the ego at which its time to the conflict area is trusted.
const CRUISE_ACCEL_MPS2: f64 = 0.5;
/// The ego's light must stay green this long after it reaches the conflict area.
const GREEN_AFTER_S: f64 = 1.5;
/// Acceleration a runner is expected to manage from its line, when it is chosen.
const RUN_ACCEL_MPS2: f64 = 2.0;
/// How far ahead the ego's way is looked along for the junction.
const LOOK_AHEAD_M: f64 = 400.0;
/// Room kept clear round a car brought in to wait at its line.
const SPAWN_CLEAR_M: f64 = 15.0;
/// Longest a runner may be sent off after its moment (the post-encroachment time is then
/// this much under the asked one; later, it waits for the next chance).
const LAUNCH_LATE_S: f64 = 0.3;

/// Farthest a pull-out's front may stand back from its stop line when it goes.
const PULL_OUT_LINE_M: f64 = 4.0;

/// What a red-light runner aims at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedCross {
    pub ego: u32,
    /// The ego's junction path, and where on its extended path the conflict area begins and
    /// ends.
    pub ego_conn: LaneId,
    pub ego_in_m: f64,
    pub ego_out_m: f64,
    /// The runner's junction path, and where on it the conflict area begins and ends.
    pub conn: LaneId,
    pub in_m: f64,
    pub out_m: f64,
    /// The post-encroachment time (or gap) it aims at; for a pull-out, the ego's time to
    /// the conflict area when it goes.
    pub pet_s: f64,
    /// The speed it gets up to.
    pub speed_mps: f64,
    /// Sent off: it no longer waits at its line.
    pub launched: bool,
    pub kind: CrossKind,
}

/// What a crosser is picked for.
struct CrossAsk {
    kind: CrossKind,
    /// The post-encroachment time (or gap; for a pull-out the ego's time to collision) it
    /// aims at, and the speed it gets up to.
    pet_s: f64,
    speed_mps: f64,
    /// Whether junctions with lights will do, and whether those without.
    lights: [bool; 2],
}

/// Which timed crossing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossKind {
    /// Across the ego's path against its red light.
    RedLight,
    /// Turning across the ego's path from the oncoming approach, on the same green.
    LeftTurn,
    /// Straight across the ego's path from a side road, where it should give way.
    PullOut,
}

impl World {
    /// Distance from actor `idx`'s centre to the start of lane `conn` along its lane and
    /// plan (negative once on it), if its way goes there; for the ego, on along the main
    /// route beyond its plan.
    fn to_lane_start(&self, idx: u32, conn: LaneId, kind: CrossKind) -> Option<f64> {
        self.lanes_ahead(idx, LOOK_AHEAD_M, kind == CrossKind::LeftTurn)
            .find(|&(l, _)| l == conn)
            .map(|(_, dist)| dist)
    }

    /// Gap from actor `idx`'s front to the stop line before junction path `conn` (a large
    /// number if its way does not go there).
    fn stop_gap(&self, idx: u32, conn: LaneId) -> f64 {
        let (Some(p), Some(to_start)) = (
            self.map.lane(conn).path.as_ref(),
            self.to_lane_start(idx, conn, CrossKind::PullOut),
        ) else {
            return f64::MAX;
        };
        let inc = self.map.lane(p.incoming);
        to_start - (inc.length_m - p.stop_d_m) - 0.5 * self.actors[idx as usize].body.length_m
    }

    /// Direction of travel at the end of `lane`.
    fn end_heading(&self, lane: LaneId) -> f64 {
        let l = self.map.lane(lane);
        l.at(l.length_m).heading_rad
    }

    /// Where actor `idx`'s centre is along junction path `conn`'s extended path.
    fn along_path(&self, idx: u32, conn: LaneId, kind: CrossKind) -> Option<f64> {
        let p = self.map.lane(conn).path.as_ref()?;
        Some(p.approach_m - self.to_lane_start(idx, conn, kind)?)
    }

    /// The ego's time to reach the conflict area, and the distance the runner still has to
    /// go until its rear has left it.
    fn cross_timing(&self, idx: u32, r: &TimedCross) -> Option<(f64, f64)> {
        let e = &self.actors[r.ego as usize];
        if !e.alive {
            return None;
        }
        let ego_front = self.along_path(r.ego, r.ego_conn, r.kind)? + 0.5 * e.body.length_m;
        let to_in = (r.ego_in_m - ego_front).max(0.0);
        let t_in = if r.kind == CrossKind::LeftTurn && e.accel_mps2 > CRUISE_ACCEL_MPS2 {
            // Speeding up to its speed.
            let v_des = self.map.lane(e.lane).speed_limit_mps * e.driver.desired_speed_factor;
            ramp_from(e.speed_mps, to_in, v_des, e.accel_mps2)
        } else {
            to_in / e.speed_mps.max(0.5)
        };
        let a = &self.actors[idx as usize];
        let left = r.out_m + 0.5 * a.body.length_m - self.along_path(idx, r.conn, r.kind)?;
        Some((t_in, left))
    }

    /// Picks the red-light runner where the ego's way crosses a signalised junction ahead: on
    /// a crossing approach controlled by another light, the first vehicle there (taken over),
    /// or, where nobody is, a car waiting at its stop line, brought in out of the ego's
    /// sight. It waits at its line until [`World::launch_crosser`] sends it.
    pub(super) fn stage_red_light_runner(&mut self, p: &RedLightRunner) -> Option<Vec<u32>> {
        self.stage_crosser(&CrossAsk {
            kind: CrossKind::RedLight,
            pet_s: p.pet_s.mean(),
            speed_mps: p.speed_mps.mean(),
            lights: [true, false],
        })
    }

    /// Picks the left turner: at a signalised junction the ego goes straight through, on the
    /// oncoming approach, a vehicle turning across the ego's path (taken over, or brought in
    /// to wait at its line as for [`World::stage_red_light_runner`]); on its green it waits
    /// at its line until [`World::launch_crosser`] sends it, misjudging the gap.
    pub(super) fn stage_left_turner(&mut self, p: &UnprotectedLeftTurn) -> Option<Vec<u32>> {
        let lights = match p.junction {
            TurnJunction::Signalised => [true, false],
            TurnJunction::Unsignalised => [false, true],
            TurnJunction::Either => [true, true],
        };
        self.stage_crosser(&CrossAsk {
            kind: CrossKind::LeftTurn,
            pet_s: p.gap_s.mean(),
            speed_mps: TURN_SPEED_MPS,
            lights,
        })
    }

    /// Picks the side-road pull-out: at a junction without lights where the ego goes straight
    /// through with the right of way, on a side approach bound to give way, a vehicle going
    /// straight across (taken over, or brought in to wait at its line as for
    /// [`World::stage_red_light_runner`]); it waits at its line until [`World::launch_crosser`]
    /// sends it, the ego the asked time to collision away.
    pub(super) fn stage_side_pull_out(&mut self, p: &PullOut) -> Option<Vec<u32>> {
        self.stage_crosser(&CrossAsk {
            kind: CrossKind::PullOut,
            pet_s: p.ttc_s.mean(),
            speed_mps: p.speed_mps.mean(),
            lights: [false, true],
        })
    }

    /// [`World::stage_crosser_at`] at the nearest junction on the ego's way where it can be.
    fn stage_crosser(&mut self, ask: &CrossAsk) -> Option<Vec<u32>> {
        let e = self.ego?;
        if !self.actors[e as usize].alive {
            return None;
        }
        // Each junction path on the ego's way ahead, nearest first.
        let ahead: Vec<(LaneId, f64)> = self
            .lanes_ahead(e, LOOK_AHEAD_M, ask.kind == CrossKind::LeftTurn)
            .filter(|&(l, d)| d > 0.0 && self.map.lane(l).junction.is_some())
            .collect();
        ahead
            .into_iter()
            .find_map(|(conn, to_conn)| self.stage_crosser_at(e, conn, to_conn, ask))
            .map(|j| vec![j])
    }

    /// [`World::stage_crosser`] at the ego's junction path `ego_conn`, `to_conn` ahead of its
    /// centre.
    fn stage_crosser_at(
        &mut self,
        e: u32,
        ego_conn: LaneId,
        to_conn: f64,
        ask: &CrossAsk,
    ) -> Option<u32> {
        let &CrossAsk {
            kind,
            pet_s: pet,
            speed_mps: speed,
            lights,
        } = ask;
        let path = self.map.lane(ego_conn).path.as_ref()?;
        // The ego's light; a left turner may also turn across an ego with the right of way
        // at a junction without lights.
        let mine = match self.map.lane(path.incoming).control {
            Control::Signal(c) if lights[0] => Some(c),
            Control::None if lights[1] => None,
            _ => return None,
        };
        // A left turner turns across, and a pull-out crosses, an ego going straight.
        if kind != CrossKind::RedLight && path.turn_rad.abs() > STRAIGHT_RAD {
            return None;
        }
        let ego_heading = self.end_heading(path.incoming);
        let right_hand = self.net.traffic_side == roadworld_road::TrafficSide::Right;
        let ego_v = self.actors[e as usize].speed_mps.max(3.0);
        let (zones, ego_out, ego_approach) = (path.zones.clone(), path.outgoing, path.approach_m);
        for z in &zones {
            let Some(op) = self.map.lane(z.other).path.as_ref() else {
                continue;
            };
            let theirs = match self.map.lane(op.incoming).control {
                Control::Signal(t) => Some(t),
                _ => None,
            };
            // Both under lights, or (a left turn) neither.
            if theirs.is_none() != mine.is_none() {
                continue;
            }
            if op.outgoing.is_some() && op.outgoing == ego_out {
                continue;
            }
            let fits = match kind {
                // A crossing under another light.
                CrossKind::RedLight => theirs != mine,
                // From the oncoming approach, turning across the ego's side of the road, and
                // (without lights) bound to give way to the ego.
                CrossKind::LeftTurn => {
                    let h = self.end_heading(op.incoming);
                    let across = if right_hand {
                        op.turn_rad > TURN_RAD
                    } else {
                        op.turn_rad < -TURN_RAD
                    };
                    across && (h - ego_heading).cos() < -0.7 && (mine.is_some() || !z.yields)
                }
                // From a side approach, straight across, bound to give way to the ego.
                CrossKind::PullOut => {
                    let h = self.end_heading(op.incoming);
                    (h - ego_heading).cos().abs() < 0.5
                        && op.turn_rad.abs() < STRAIGHT_RAD
                        && !z.yields
                }
            };
            if !fits {
                continue;
            }
            // Where the two paths really cross: a zone also takes in where a left turner's
            // approach runs beside the ego's way out, which nobody has to wait for.
            let (ego_in_m, ego_out_m, in_m, out_m) = match kind {
                CrossKind::RedLight | CrossKind::PullOut => {
                    (z.in_m, z.out_m, z.other_in_m, z.other_out_m)
                }
                CrossKind::LeftTurn => {
                    match self.crossing_core(ego_conn, z.other, e, CROSS_MARGIN_M) {
                        Some(c) => c,
                        None => continue,
                    }
                }
            };
            let (inc, stop_d) = (op.incoming, op.stop_d_m);
            // Time enough for it to get out from its line before the ego gets there.
            let left = out_m - (op.approach_m - (self.map.lane(inc).length_m - stop_d));
            let t_out = ramp_from(0.0, left, speed, RUN_ACCEL_MPS2);
            let ego_t = (to_conn + ego_in_m - ego_approach) / ego_v;
            if kind == CrossKind::LeftTurn {
                // Not too far ahead, and green when the ego gets there (if it keeps going).
                let ego = &self.actors[e as usize];
                let v_des =
                    self.map.lane(ego.lane).speed_limit_mps * ego.driver.desired_speed_factor;
                let t_arr = (to_conn + ego_in_m - ego_approach) / ego.speed_mps.max(0.7 * v_des);
                let now = self.time_s();
                let red_then = mine.is_some_and(|c| {
                    let timing = &self.net.controllers[c.index()].timing;
                    [t_arr, t_arr + GREEN_AFTER_S]
                        .iter()
                        .any(|&dt| timing.state_at(now + dt) != LightState::Green)
                });
                if ego_t > TURN_MAX_LEAD_S || red_then {
                    continue;
                }
            }
            // (A pull-out goes with the ego the asked time away, whatever it takes to cross.)
            let needed = if kind == CrossKind::PullOut {
                0.0
            } else {
                t_out
            };
            if ego_t < needed + pet + MIN_LEAD_S {
                continue;
            }
            let (runner, mut plan) = match kind {
                CrossKind::RedLight | CrossKind::PullOut => {
                    let runner = match self.lists[inc.index()].last() {
                        Some(&j) if self.free_to_script(j, 8.0) => j,
                        Some(_) => continue,
                        None => match self.waiting_car(inc, stop_d) {
                            Some(j) => j,
                            None => continue,
                        },
                    };
                    (runner, Vec::new())
                }
                CrossKind::LeftTurn => {
                    // It may still be on its way to its line when it is sent off.
                    let spare_s = ego_t - (pet + TURNER_SPARE_S);
                    match self.turner_towards(inc, stop_d, spare_s) {
                        Some(found) => found,
                        None => match self.waiting_car(inc, stop_d) {
                            Some(j) => (j, Vec::new()),
                            None => continue,
                        },
                    }
                }
            };
            plan.push(z.other);
            let a = &mut self.actors[runner as usize];
            a.plan = plan.into_iter().collect();
            a.want = None;
            a.script = Some(Script::TimedCross(TimedCross {
                ego: e,
                ego_conn,
                ego_in_m,
                ego_out_m,
                conn: z.other,
                in_m,
                out_m,
                pet_s: pet,
                speed_mps: speed,
                launched: false,
                kind,
            }));
            return Some(runner);
        }
        None
    }

    /// Where junction paths `a` (the ego's, actor `e`) and `b` cross, on each (distances along
    /// the extended paths): the stretch of each where its centre line comes within the two
    /// bodies' half widths plus `margin_m` of the other's, found from the point where they
    /// come closest and kept to the other's local line, so that lanes running side by side
    /// beyond the crossing do not count.
    fn crossing_core(
        &self,
        a: LaneId,
        b: LaneId,
        e: u32,
        margin_m: f64,
    ) -> Option<(f64, f64, f64, f64)> {
        let sa = self
            .map
            .extended_samples(a, self.map.lane(a).path.as_ref()?);
        let sb = self
            .map
            .extended_samples(b, self.map.lane(b).path.as_ref()?);
        let d2 = |p: roadworld_geom::Point2, q: roadworld_geom::Point2| {
            (p.x - q.x).powi(2) + (p.y - q.y).powi(2)
        };
        let (mut best, mut bi, mut bj) = (f64::MAX, 0, 0);
        for (i, &(_, p)) in sa.iter().enumerate() {
            for (j, &(_, q)) in sb.iter().enumerate() {
                let d = d2(p, q);
                if d < best {
                    (best, bi, bj) = (d, i, j);
                }
            }
        }
        // Cars of the widest common size on either path.
        let reach = self.actors[e as usize].body.width_m.max(1.9) + margin_m;
        if best.sqrt() > 0.5 * reach {
            return None;
        }
        // The stretch of `s` about `k` within `reach` of the line through `o[m]`.
        let stretch = |s: &[(f64, roadworld_geom::Point2)],
                       k: usize,
                       o: &[(f64, roadworld_geom::Point2)],
                       m: usize| {
            let (p0, p1) = (o[m.saturating_sub(2)].1, o[(m + 2).min(o.len() - 1)].1);
            let (dx, dy) = (p1.x - p0.x, p1.y - p0.y);
            let n = dx.hypot(dy).max(1e-9);
            let off = |q: roadworld_geom::Point2| ((q.x - p0.x) * dy - (q.y - p0.y) * dx).abs() / n;
            let lo = (0..=k)
                .rev()
                .take_while(|&i| off(s[i].1) < reach)
                .last()
                .unwrap_or(k);
            let hi = (k..s.len())
                .take_while(|&i| off(s[i].1) < reach)
                .last()
                .unwrap_or(k);
            (s[lo].0, s[hi].0)
        };
        let (a_in, a_out) = stretch(&sa, bi, &sb, bj);
        let (b_in, b_out) = stretch(&sb, bj, &sa, bi);
        Some((a_in, a_out, b_in, b_out))
    }

    /// The vehicle that will be first at the stop line of `lane` (at `stop_d`): the first on
    /// it, or where it is empty, the first on the lanes leading to it (nearest first, within
    /// [`TURNER_SEARCH_M`] of the line), if it is free to be taken over and can be standing at
    /// its line within `spare_s`; with the lanes it takes to get to `lane` (and `lane`).
    fn turner_towards(
        &self,
        lane: LaneId,
        stop_d: f64,
        spare_s: f64,
    ) -> Option<(u32, Vec<LaneId>)> {
        // (a lane, the distance from its start to the line, the lanes after it up to `lane`)
        let mut todo = vec![(lane, stop_d, Vec::new())];
        let mut found: Option<(f64, u32, Vec<LaneId>)> = None;
        while let Some((l, to_line, route)) = todo.pop() {
            if let Some(&j) = self.lists[l.index()].last() {
                let o = &self.actors[j as usize];
                let fit = self.free_to_script(j, 13.0);
                let dist = to_line - o.d_m;
                let arrive_s = dist / o.speed_mps.max(TURNER_APPROACH_MPS);
                if fit && arrive_s <= spare_s && found.as_ref().is_none_or(|f| dist < f.0) {
                    found = Some((dist, j, route));
                }
                continue;
            }
            if to_line > TURNER_SEARCH_M {
                continue;
            }
            for &p in &self.map.lane(l).prev {
                let mut further = vec![l];
                further.extend(route.iter().copied());
                todo.push((p, to_line + self.map.lane(p).length_m, further));
            }
        }
        found.map(|(_, j, route)| (j, route))
    }

    /// A car standing at the stop line of `lane` (at `stop_d`), brought in where the ego
    /// cannot see it and nobody is near.
    fn waiting_car(&mut self, lane: LaneId, stop_d: f64) -> Option<u32> {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(
            super::stream_seed(self.seed, 0xAC70_0000 + self.next_id as u64),
        );
        // Its body as `new_actor` will draw it.
        let body = crate::kinds::Body::sample(ActorKind::Car, &mut rng);
        let d = stop_d - 0.5 * body.length_m - 0.5;
        let l = self.map.lane(lane);
        let p = l.at(d.max(0.0));
        if d < 0.5 * body.length_m
            || self.in_ego_sight(p.x_m, p.y_m)
            || self.lists[lane.index()]
                .iter()
                .any(|&j| (self.actors[j as usize].d_m - d).abs() < SPAWN_CLEAR_M)
        {
            return None;
        }
        let dist = std::sync::Arc::clone(&self.driver_dist);
        let idx = self.new_actor(ActorKind::Car, lane, d, false, &dist);
        self.count_density();
        Some(idx)
    }

    /// Sends red-light runner `idx` off once the ego, on green and moving, will reach the
    /// conflict area the asked post-encroachment time after the runner (getting away from
    /// its line as fast as it can up to its speed) has left it; never more than
    /// [`LAUNCH_LATE_S`] late. Returns whether it has been sent.
    pub(super) fn launch_crosser(&mut self, idx: u32) -> bool {
        let Some(Script::TimedCross(r)) = self.actors[idx as usize].script else {
            return false;
        };
        if r.launched {
            return true;
        }
        let e = &self.actors[r.ego as usize];
        let a = &self.actors[idx as usize];
        let Some(path) = self.map.lane(r.ego_conn).path.as_ref() else {
            return false;
        };
        let ego_light = match self.map.lane(path.incoming).control {
            Control::Signal(c) => Some(c),
            _ if r.kind != CrossKind::RedLight => None,
            _ => return false,
        };
        // The ego cruising (its time to the conflict area holds); an ego speeding up to its
        // speed will do for a left turner (its time reckoned with that).
        let cruising = e.speed_mps >= 5.0 && e.accel_mps2.abs() <= CRUISE_ACCEL_MPS2;
        let speeding_up =
            r.kind == CrossKind::LeftTurn && e.speed_mps >= 3.0 && e.accel_mps2 > CRUISE_ACCEL_MPS2;
        if !e.alive || !(cruising || speeding_up) {
            return false;
        }
        let Some((t_in, left)) = self.cross_timing(idx, &r) else {
            return false;
        };
        // A pull-out goes from a stand at its line.
        if r.kind == CrossKind::PullOut
            && (a.speed_mps > 0.5 || self.stop_gap(idx, r.conn) > PULL_OUT_LINE_M)
        {
            return false;
        }

        // Green for the ego now and until it is through.
        let now = self.time_s();
        let green = ego_light.is_none_or(|c| {
            let timing = &self.net.controllers[c.index()].timing;
            [0.0, 0.5 * t_in, t_in + GREEN_AFTER_S]
                .iter()
                .all(|&dt| timing.state_at(now + dt) == LightState::Green)
        });
        // A left turner goes on its own green (it misjudges the gap; it does not run a red).
        let theirs_green = match self.map.lane(r.conn).path.as_ref() {
            Some(op) => match self.map.lane(op.incoming).control {
                Control::Signal(t) => self.lights[t.index()] == LightState::Green,
                _ => true,
            },
            None => false,
        };
        if !green || r.kind == CrossKind::LeftTurn && !theirs_green {
            return false;
        }
        let accel = a
            .driver
            .max_accel_mps2
            .min(kind_info(a.body.kind).max_accel_mps2);
        let t_out = match r.kind {
            CrossKind::RedLight => ramp_from(a.speed_mps, left, r.speed_mps, accel),
            CrossKind::LeftTurn => ramp_down_from(a.speed_mps, left, r.speed_mps, accel),
            // It goes when the ego is the asked time to collision away.
            CrossKind::PullOut => 0.0,
        };
        let lead = t_in - r.pet_s;
        // A left turner turns behind the ego's leader: that one must be out of the conflict
        // area, at its speed, a margin before the turner gets there.
        if r.kind == CrossKind::LeftTurn
            && let Some(l) = self.leader_of(r.ego)
        {
            let ego_front = self
                .along_path(r.ego, r.ego_conn, r.kind)
                .unwrap_or(f64::MIN)
                + 0.5 * e.body.length_m;
            let to_out = r.ego_out_m - (ego_front + l.gap_m);
            let enter = ramp_down_from(
                a.speed_mps,
                (left - (r.out_m - r.in_m) - a.body.length_m).max(0.0),
                r.speed_mps,
                accel,
            );
            if to_out > 0.0 && to_out / l.speed_mps.max(0.5) + LEADER_CLEAR_S > enter {
                return false;
            }
        }
        if lead > t_out || lead < t_out - LAUNCH_LATE_S {
            return false;
        }
        if let Some(Script::TimedCross(r)) = self.actors[idx as usize].script.as_mut() {
            r.launched = true;
        }
        true
    }

    /// The runner's acceleration once sent: as hard as it can up to its speed.
    pub(super) fn cross_accel(&self, idx: u32, r: &TimedCross) -> Option<f64> {
        if !r.launched {
            return None;
        }
        let a = &self.actors[idx as usize];
        let accel = a
            .driver
            .max_accel_mps2
            .min(kind_info(a.body.kind).max_accel_mps2);
        Some(((r.speed_mps - a.speed_mps) / 0.5).clamp(-SLOW_DOWN_MPS2, accel))
    }

    /// Claims the runner's path whatever its light says (and whoever else may be coming).
    pub(super) fn cross_claim(&mut self, idx: u32, conn: LaneId) {
        let a = &mut self.actors[idx as usize];
        if a.hold == Some(conn) {
            return;
        }
        if let Some(old) = a.hold.take() {
            a.hold_prev = Some(old);
        }
        a.hold = Some(conn);
        self.holds[conn.index()].push(idx);
    }

    /// Whether sent-off runner `idx` is about to enter the conflict area (within
    /// [`RUN_CLAIM_S`] or [`TURN_CLAIM_S`]): then it takes its junction path.
    pub(super) fn cross_claim_due(&self, idx: u32, r: &TimedCross) -> bool {
        let a = &self.actors[idx as usize];
        let e = &self.actors[r.ego as usize];
        let claim_s = match r.kind {
            CrossKind::RedLight => RUN_CLAIM_S,
            CrossKind::LeftTurn | CrossKind::PullOut => TURN_CLAIM_S,
        };
        // A left turner or a pull-out goes once the ego, on its right of way, has committed
        // to its path (or is through its line).
        let ego_committed = r.kind != CrossKind::RedLight
            && (e.hold == Some(r.ego_conn)
                || self
                    .to_lane_start(r.ego, r.ego_conn, r.kind)
                    .is_none_or(|d| d < 0.0));
        r.launched
            && (ego_committed
                || self
                    .along_path(idx, r.conn, r.kind)
                    .is_some_and(|x| x + 0.5 * a.body.length_m >= r.in_m - a.speed_mps * claim_s))
    }

    /// Whether red-light runner `idx` has missed its chance: the ego is through its junction
    /// path (or has left its way) before the runner was sent off.
    pub(super) fn cross_missed(&self, idx: u32) -> bool {
        match self.actors[idx as usize].script {
            Some(Script::TimedCross(r)) => {
                let to_conn = self.to_lane_start(r.ego, r.ego_conn, r.kind);
                // A left turner's ego stopped by the light before its junction: that green
                // is gone too.
                let stopped = r.kind == CrossKind::LeftTurn
                    && self.actors[r.ego as usize].at_red
                    && to_conn.is_some_and(|d| d < RED_STOP_M);
                !r.launched && (to_conn.is_none_or(|d| d < 0.0) || stopped)
            }
            _ => false,
        }
    }

    /// Whether the runner is through: its rear out of the conflict area (or it is gone).
    pub(super) fn cross_through(&self, idx: u32) -> bool {
        let a = &self.actors[idx as usize];
        match a.script {
            Some(Script::TimedCross(r)) => {
                !a.alive
                    || self
                        .along_path(idx, r.conn, r.kind)
                        .is_none_or(|x| x - 0.5 * a.body.length_m > r.out_m)
            }
            _ => true,
        }
    }
}

/// [`ramp_from`], but from above `speed_mps` slowing down to it (at [`SLOW_DOWN_MPS2`]) as a
/// left turner does for its turn.
fn ramp_down_from(v0_mps: f64, x_m: f64, speed_mps: f64, accel_mps2: f64) -> f64 {
    if v0_mps <= speed_mps {
        return ramp_from(v0_mps, x_m, speed_mps, accel_mps2);
    }
    let t1 = (v0_mps - speed_mps) / SLOW_DOWN_MPS2;
    let x1 = (v0_mps - 0.5 * SLOW_DOWN_MPS2 * t1) * t1;
    if x_m <= x1 {
        (v0_mps
            - (v0_mps * v0_mps - 2.0 * SLOW_DOWN_MPS2 * x_m)
                .max(0.0)
                .sqrt())
            / SLOW_DOWN_MPS2
    } else {
        t1 + (x_m - x1) / speed_mps
    }
}

/// Time to cover `x_m` from `v0_mps`, speeding up at `accel_mps2` to `speed_mps` (or holding
/// a higher speed).
fn ramp_from(v0_mps: f64, x_m: f64, speed_mps: f64, accel_mps2: f64) -> f64 {
    if v0_mps >= speed_mps {
        return x_m / v0_mps.max(0.1);
    }
    let t1 = (speed_mps - v0_mps) / accel_mps2;
    let x1 = (v0_mps + 0.5 * accel_mps2 * t1) * t1;
    if x_m <= x1 {
        (-v0_mps + (v0_mps * v0_mps + 2.0 * accel_mps2 * x_m).sqrt()) / accel_mps2
    } else {
        t1 + (x_m - x1) / speed_mps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_cover_the_distance_in_the_time_constant_acceleration_gives() {
        // From a stand at 2 m/s^2 to 10 m/s: 5 s and 25 m, then 10 m/s.
        assert!((ramp_from(0.0, 25.0, 10.0, 2.0) - 5.0).abs() < 1e-9);
        assert!((ramp_from(0.0, 9.0, 10.0, 2.0) - 3.0).abs() < 1e-9);
        assert!((ramp_from(0.0, 45.0, 10.0, 2.0) - 7.0).abs() < 1e-9);
        // Already at or over its speed, it holds that.
        assert!((ramp_from(12.0, 24.0, 10.0, 2.0) - 2.0).abs() < 1e-9);
        // Slowing down from 13 m/s to 7 m/s at 3 m/s^2: 2 s and 20 m, then 7 m/s.
        assert!((ramp_down_from(13.0, 20.0, 7.0, 2.0) - 2.0).abs() < 1e-9);
        assert!((ramp_down_from(13.0, 34.0, 7.0, 2.0) - 4.0).abs() < 1e-9);
        // 11.5 m in the first second (13 - 1.5).
        assert!((ramp_down_from(13.0, 11.5, 7.0, 2.0) - 1.0).abs() < 1e-9);
        // Under its speed, it speeds up as before.
        assert_eq!(
            ramp_down_from(0.0, 9.0, 10.0, 2.0),
            ramp_from(0.0, 9.0, 10.0, 2.0)
        );
    }

    #[test]
    fn where_a_left_turn_crosses_a_straight_path_is_the_crossing_not_the_lanes_beside() {
        let spec = roadworld_spec::parse_spec(
            r#"(road: (length_m: 1500.0, zones: [(class: Urban, share: 1.0)],
                       blocks: (straight: 1.0, curve: 0.0, s_curve: 0.0, hills: 0.0,
                                junction_4way: 3.0, junction_t: 0.0, roundabout: 0.0,
                                merge: 0.0, fork: 0.0, lane_add: 0.0, lane_drop: 0.0,
                                bridge: 0.0, urban_grid: 0.0)))"#,
            "core.ron",
        )
        .expect("spec");
        let net = roadworld_road::generate(&spec.road, 1).expect("network");
        let w = World::new(net, &spec, 1).expect("world");
        let e = w.ego.expect("ego");
        let (mut checked, mut beside) = (0, 0);
        for k in 0..w.map.lanes.len() {
            let a = LaneId(k as u32);
            let Some(p) = w.map.lane(a).path.as_ref() else {
                continue;
            };
            if p.turn_rad.abs() > STRAIGHT_RAD {
                continue;
            }
            for z in &p.zones {
                let op = w.map.lane(z.other).path.as_ref().expect("path");
                let opposite = (w.end_heading(op.incoming) - w.end_heading(p.incoming)).cos();
                if op.turn_rad < TURN_RAD || opposite > -0.7 {
                    continue;
                }
                let (a_in, a_out, b_in, b_out) = w
                    .crossing_core(a, z.other, e, CROSS_MARGIN_M)
                    .expect("they cross");
                // Inside the zone (drawn for the widest vehicles); on the straight path it
                // starts about where the zone starts, on the turn it ends about where the
                // zone ends.
                assert!(a_in <= a_out && b_in <= b_out);
                assert!(a_in >= z.in_m && a_in - z.in_m < 4.0, "{a_in} {}", z.in_m);
                assert!(
                    b_out <= z.other_out_m && z.other_out_m - b_out < 4.0,
                    "{b_out}"
                );
                assert!(a_out <= z.out_m && b_in >= z.other_in_m);
                // A crossing some metres long.
                for len in [a_out - a_in, b_out - b_in] {
                    assert!(len > 2.0 && len < 12.0, "{len}");
                }
                if b_in - z.other_in_m > 10.0 {
                    // The zone took in the turner's approach beside the ego's way out.
                    beside += 1;
                }
                checked += 1;
            }
        }
        assert!(checked >= 2, "{checked} crossings");
        assert!(beside >= 1, "no zone along a turner's approach");
    }
}
