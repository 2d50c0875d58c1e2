//! A red-light runner: a vehicle waiting at the red light of a crossing approach of a
//! signalised junction jumps it while the ego drives through on green, timed so that it
//! leaves the area where the two paths cross the asked post-encroachment time before the ego
//! gets there.
//!
//! The runner is the first vehicle on the crossing approach, taken over, or where nobody is
//! there, a car brought in to wait at its stop line while the ego cannot see that spot. It
//! stops at its line whatever its light says until the ego, on green and moving, is as far
//! from the conflict area in time as the runner needs to get out of it, speeding up as hard
//! as it can to the asked speed, plus the asked post-encroachment time (the ego cruising, its
//! green lasting until it is through); then it goes, taking its junction path a second before
//! it enters the conflict area (drivers who have not committed to a conflicting path by then
//! wait for it; those who have, and the ego on its green, do not expect it). Where the ego
//! gets through first, the runner drives on as before and the event looks for another
//! junction. Once through it drives on normally.

use super::World;
use super::events::Script;
use crate::kinds::kind_info;
use crate::lanes::{Control, LaneId};
use roadworld_road::LightState;
use roadworld_spec::ActorKind;
use roadworld_spec::events::RedLightRunner;

/// Least time, beyond what the runner needs, before the ego reaches the conflict area for a
/// runner to be chosen.
const MIN_LEAD_S: f64 = 3.0;
/// A runner takes its junction path this long before it enters the conflict area: drivers
/// not committed to a conflicting path by then wait for it (the ego on green, committed, does
/// not).
const CLAIM_S: f64 = 1.0;
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

/// What a red-light runner aims at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunRed {
    pub ego: u32,
    /// The ego's junction path, and where on its extended path the conflict area begins.
    pub ego_conn: LaneId,
    pub ego_in_m: f64,
    /// The runner's junction path, and where on it the conflict area begins and ends.
    pub conn: LaneId,
    pub in_m: f64,
    pub out_m: f64,
    pub pet_s: f64,
    /// The speed it gets up to.
    pub speed_mps: f64,
    /// Sent off: it no longer waits at its line.
    pub launched: bool,
}

impl World {
    /// Distance from actor `idx`'s centre to the start of lane `conn` along its lane and
    /// plan (negative once on it), if its way goes there; for the ego, on along the main
    /// route beyond its plan.
    fn to_lane_start(&self, idx: u32, conn: LaneId) -> Option<f64> {
        self.lanes_ahead(idx)
            .find(|&(l, _)| l == conn)
            .map(|(_, dist)| dist)
    }

    /// Actor `idx`'s lane and the lanes ahead of it, each with the distance from its centre
    /// to the lane's start, up to [`LOOK_AHEAD_M`]: its plan, then (for the ego) the lanes
    /// the main route takes.
    fn lanes_ahead(&self, idx: u32) -> impl Iterator<Item = (LaneId, f64)> + '_ {
        let a = &self.actors[idx as usize];
        let mut planned = a.plan.iter().copied();
        let mut cur = Some((a.lane, -a.d_m));
        std::iter::from_fn(move || {
            let (lane, dist) = cur?;
            let next = planned
                .next()
                .or_else(|| a.ego.then(|| self.route_next_lane(lane)).flatten());
            cur = next
                .map(|n| (n, dist + self.map.lane(lane).length_m))
                .filter(|&(_, d)| d < LOOK_AHEAD_M);
            Some((lane, dist))
        })
    }

    /// Where actor `idx`'s centre is along junction path `conn`'s extended path.
    fn along_path(&self, idx: u32, conn: LaneId) -> Option<f64> {
        let p = self.map.lane(conn).path.as_ref()?;
        Some(p.approach_m - self.to_lane_start(idx, conn)?)
    }

    /// The ego's time to reach the conflict area, and the distance the runner still has to
    /// go until its rear has left it.
    fn red_run_timing(&self, idx: u32, r: &RunRed) -> Option<(f64, f64)> {
        let e = &self.actors[r.ego as usize];
        if !e.alive {
            return None;
        }
        let ego_front = self.along_path(r.ego, r.ego_conn)? + 0.5 * e.body.length_m;
        let t_in = (r.ego_in_m - ego_front).max(0.0) / e.speed_mps.max(0.5);
        let a = &self.actors[idx as usize];
        let left = r.out_m + 0.5 * a.body.length_m - self.along_path(idx, r.conn)?;
        Some((t_in, left))
    }

    /// Picks the runner where the ego's way crosses a signalised junction ahead: on a
    /// crossing approach controlled by another light, the first vehicle there (taken over),
    /// or, where nobody is, a car waiting at its stop line, brought in out of the ego's
    /// sight. It waits at its line until [`World::launch_red_runner`] sends it.
    pub(super) fn stage_red_light_runner(&mut self, p: &RedLightRunner) -> Option<Vec<u32>> {
        let e = self.ego?;
        if !self.actors[e as usize].alive {
            return None;
        }
        // Each junction path on the ego's way ahead, nearest first.
        let ahead: Vec<(LaneId, f64)> = self
            .lanes_ahead(e)
            .filter(|&(l, d)| d > 0.0 && self.map.lane(l).junction.is_some())
            .collect();
        ahead
            .into_iter()
            .find_map(|(conn, to_conn)| self.stage_runner_at(e, conn, to_conn, p))
            .map(|j| vec![j])
    }

    /// [`World::stage_red_light_runner`] at the ego's junction path `ego_conn`, `to_conn`
    /// ahead of its centre.
    fn stage_runner_at(
        &mut self,
        e: u32,
        ego_conn: LaneId,
        to_conn: f64,
        p: &RedLightRunner,
    ) -> Option<u32> {
        let path = self.map.lane(ego_conn).path.as_ref()?;
        let Control::Signal(mine) = self.map.lane(path.incoming).control else {
            return None;
        };
        let ego_v = self.actors[e as usize].speed_mps.max(3.0);
        let pet = p.pet_s.mean();
        let (zones, ego_out, ego_approach) = (path.zones.clone(), path.outgoing, path.approach_m);
        for z in &zones {
            let Some(op) = self.map.lane(z.other).path.as_ref() else {
                continue;
            };
            let Control::Signal(theirs) = self.map.lane(op.incoming).control else {
                continue;
            };
            // A crossing (not a merge) under another light.
            if theirs == mine || op.outgoing.is_some() && op.outgoing == ego_out {
                continue;
            }
            let (inc, stop_d) = (op.incoming, op.stop_d_m);
            // Time enough for it to get out from its line before the ego gets there.
            let left = z.other_out_m - (op.approach_m - (self.map.lane(inc).length_m - stop_d));
            let t_out = ramp_from(0.0, left, p.speed_mps.mean(), RUN_ACCEL_MPS2);
            if (to_conn + z.in_m - ego_approach) / ego_v < t_out + pet + MIN_LEAD_S {
                continue;
            }
            let runner = match self.lists[inc.index()].last() {
                Some(&j) => {
                    let o = &self.actors[j as usize];
                    let fit = o.script.is_none()
                        && o.hold.is_none()
                        && o.lane_change.is_none()
                        && o.body.kind.is_motor_vehicle()
                        && o.body.length_m < 8.0;
                    if !fit {
                        continue;
                    }
                    j
                }
                None => match self.waiting_car(inc, stop_d) {
                    Some(j) => j,
                    None => continue,
                },
            };
            let a = &mut self.actors[runner as usize];
            a.plan.clear();
            a.plan.push(z.other);
            a.want = None;
            a.script = Some(Script::RunRed(RunRed {
                ego: e,
                ego_conn,
                ego_in_m: z.in_m,
                conn: z.other,
                in_m: z.other_in_m,
                out_m: z.other_out_m,
                pet_s: p.pet_s.mean(),
                speed_mps: p.speed_mps.mean(),
                launched: false,
            }));
            return Some(runner);
        }
        None
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
    pub(super) fn launch_red_runner(&mut self, idx: u32) -> bool {
        let Some(Script::RunRed(r)) = self.actors[idx as usize].script else {
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
        let Control::Signal(c) = self.map.lane(path.incoming).control else {
            return false;
        };
        // The ego cruising (its time to the conflict area holds).
        if !e.alive || e.speed_mps < 5.0 || e.accel_mps2.abs() > CRUISE_ACCEL_MPS2 {
            return false;
        }
        let Some((t_in, left)) = self.red_run_timing(idx, &r) else {
            return false;
        };
        // Green for the ego now and until it is through.
        let timing = &self.net.controllers[c.index()].timing;
        let now = self.time_s();
        let green = [0.0, 0.5 * t_in, t_in + GREEN_AFTER_S]
            .iter()
            .all(|&dt| timing.state_at(now + dt) == LightState::Green);
        if !green {
            return false;
        }
        let accel = a
            .driver
            .max_accel_mps2
            .min(kind_info(a.body.kind).max_accel_mps2);
        let t_out = ramp_from(a.speed_mps, left, r.speed_mps, accel);
        let lead = t_in - r.pet_s;
        if lead > t_out || lead < t_out - LAUNCH_LATE_S {
            return false;
        }
        if let Some(Script::RunRed(r)) = self.actors[idx as usize].script.as_mut() {
            r.launched = true;
        }
        true
    }

    /// The runner's acceleration once sent: as hard as it can up to its speed.
    pub(super) fn red_run_accel(&self, idx: u32, r: &RunRed) -> Option<f64> {
        if !r.launched {
            return None;
        }
        let a = &self.actors[idx as usize];
        let accel = a
            .driver
            .max_accel_mps2
            .min(kind_info(a.body.kind).max_accel_mps2);
        Some(((r.speed_mps - a.speed_mps) / 0.5).clamp(-3.0, accel))
    }

    /// Claims the runner's path whatever its light says (and whoever else may be coming).
    pub(super) fn red_run_claim(&mut self, idx: u32, conn: LaneId) {
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
    /// [`CLAIM_S`]): then it takes its junction path.
    pub(super) fn red_run_claim_due(&self, idx: u32, r: &RunRed) -> bool {
        let a = &self.actors[idx as usize];
        r.launched
            && self
                .along_path(idx, r.conn)
                .is_some_and(|x| x + 0.5 * a.body.length_m >= r.in_m - a.speed_mps * CLAIM_S)
    }

    /// Whether red-light runner `idx` has missed its chance: the ego is through its junction
    /// path (or has left its way) before the runner was sent off.
    pub(super) fn red_run_missed(&self, idx: u32) -> bool {
        match self.actors[idx as usize].script {
            Some(Script::RunRed(r)) => {
                !r.launched
                    && self
                        .to_lane_start(r.ego, r.ego_conn)
                        .is_none_or(|d| d < 0.0)
            }
            _ => false,
        }
    }

    /// Whether the runner is through: its rear out of the conflict area (or it is gone).
    pub(super) fn red_run_through(&self, idx: u32) -> bool {
        let a = &self.actors[idx as usize];
        match a.script {
            Some(Script::RunRed(r)) => {
                !a.alive
                    || self
                        .along_path(idx, r.conn)
                        .is_none_or(|x| x - 0.5 * a.body.length_m > r.out_m)
            }
            _ => true,
        }
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
