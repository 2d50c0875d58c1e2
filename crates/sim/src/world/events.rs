//! The event runtime: extreme cases from the spec's catalog, started at their resolved times
//! relative to the ego, so that they happen in front of it whatever the traffic did.
//!
//! One event runs at a time; a later one waits until the running one is over. Actors an
//! event brings in are placed out of the ego's sight ([`SPAWN_SIGHT_M`]) and carry a
//! [`Script`] that replaces their behaviour; every event leaves an [`EventRecord`].
//!
//! Injected: `StoppedVehicle` and `Debris` (hidden by the ego's leader until it swerves round
//! them, [`super::reveal`], where `reveal_m` asks for it), `LeadHardBrake`, `CutIn`, `Tailgater`, `EmergencyVehicle`, the
//! wrong-way driver of [`super::wrong_way`], the red-light runner and the oncoming left turner
//! of [`super::timed_cross`], the aggressive merger of [`super::ramp_merge`], the lane closure
//! and late merger of [`super::works`], the zones `FogBank` and `LowFriction` (laid on the
//! ego's way and the lanes beside it, out of sight; background drivers see a slippery patch
//! coming, the ego's driver finds out on it), and the road users outside the lanes of
//! [`super::movers`]: `OccludedPedestrian`, `NightPedestrian`, `AnimalCrossing`,
//! `CyclistSwerve`, `DoorOpening` and `PullOut` from a parking space (from a side road, a timed
//! crossing of [`super::timed_cross`]). An event whose trigger does not hold within
//! [`MAX_WAIT_S`] of its start time ([`LONG_WAIT_S`] for some) is logged as
//! skipped, never faked.

use super::{GRAVITY_MPS2, SPAWN_SIGHT_M, World};
use crate::flags;
use crate::kinds::Body;
use crate::lanes::LaneId;
use roadworld_spec::events::{
    CutIn, Debris, Emergency, EmergencyVehicle, LeadHardBrake, PullOutFrom, Side, StoppedVehicle,
    Tailgater,
};
use roadworld_spec::{ActorKind, EventKind, EventSpec};

/// How a scripted actor behaves instead of its driver model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Script {
    /// Stands where it is, for good (a breakdown with hazard lights, debris).
    Stand,
    /// Brakes at this deceleration (within the vehicle's and the road's limits) down to a
    /// stand, then drives on as before.
    Brake { decel_mps2: f64 },
    /// Positions itself in the lane beside the ego so that its rear is `gap_m` ahead of the
    /// ego's front at the ego's speed plus `rel_speed_mps`, then changes into the ego's lane
    /// in `lateral_s` whatever the gap (the driver model takes over once it is in).
    CutIn {
        ego: u32,
        /// It comes from the ego's left (changes to its right).
        from_left: bool,
        gap_m: f64,
        rel_speed_mps: f64,
        lateral_s: f64,
        /// Placed on the far side of its mark and now drifting onto it at the cut-in speed.
        drifting: bool,
        /// The speed it holds while it cuts in (set when it starts).
        cut_speed_mps: Option<f64>,
        /// It gives no sign beforehand (no indicator, nobody makes room for it), even where
        /// its lane ends: an aggressive merger.
        quiet: bool,
        /// It holds its place until the obstacle closing its lane is near, then squeezes in:
        /// a late merger at a lane closure.
        late: bool,
    },
    /// Drives on as anyone would, blind to the standing `obstacle` ahead in its lane (which
    /// it hides from the ego behind it), until it is `reveal_m` from it; then it swerves round
    /// it into a lane beside and the ego sees the obstacle.
    Reveal { obstacle: u32, reveal_m: f64 },
    /// Follows the ego at `headway_s` (bumper to bumper over its own speed), however short;
    /// reacts to the ego's braking only `reaction_s` after its brake lights come on, then
    /// brakes as hard as it can.
    Tailgate {
        ego: u32,
        headway_s: f64,
        reaction_s: f64,
        /// When the ego's braking was first seen.
        ego_braking_since_s: Option<f64>,
    },
    /// An emergency vehicle, lights and siren on, driving at `speed_mps` whatever the limit
    /// (the ego's speed plus the closing speed when it came up); drivers ahead of it in its
    /// lane move over.
    Emergency { speed_mps: f64 },
    /// Moves by its own motion outside the lane lists: the index of its [`super::Mover`]
    /// (a crossing pedestrian or animal, a swerving cyclist, a door, a parked car).
    Move { mover: u32 },
    /// Drives against its lanes outside the lane lists: the index of its
    /// [`super::WrongWay`].
    WrongWay { k: u32 },
    /// Runs the red light on a crossing approach, timed against the ego's arrival.
    TimedCross(super::timed_cross::TimedCross),
    /// Comes down an on-ramp timed to cut in from the acceleration lane in front of the ego.
    RampMerge(super::ramp_merge::RampMerge),
}

/// A stretch of road an event changes: fog (visibility) or a slippery surface (friction).
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    /// Visibility inside, if foggy.
    pub visibility_m: Option<f64>,
    /// Friction coefficient inside, if slippery.
    pub friction: Option<f64>,
    /// The lanes it covers, each from `d0` to `d1`: the ego's way and the lanes beside it.
    pub spans: Vec<(LaneId, f64, f64)>,
    /// Where it ends on the ego's way: position and heading.
    pub end_xy: (f64, f64),
    pub end_heading_rad: f64,
}

/// How an event went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Waiting for its start time or for the event before it.
    Pending,
    Running,
    /// Over at this time; `completed`: it played out (the ego got past the obstacle, the
    /// leader braked to a stand), else it ran out of time or the ego left.
    Done {
        end_s: f64,
        completed: bool,
    },
    /// Could not be staged (why).
    Skipped(String),
}

/// One event of a rollout: what it was, when it ran, whom it brought in.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// Position in the resolved spec's event list.
    pub index: usize,
    /// The resolved event (every parameter fixed).
    pub spec: EventSpec,
    /// When it was staged.
    pub start_s: Option<f64>,
    /// Actors it brought in or took over (indices into the world's actors).
    pub actors: Vec<u32>,
    /// Zones it laid (indices into [`World::zones`]).
    pub zones: Vec<u32>,
    /// When its decisive action happened: the cutter left its lane, the leader began to brake
    /// (for obstacles and zones: when they were laid).
    pub action_s: Option<f64>,
    /// When it played out (it ends 5 s later, to see what follows).
    pub played_out_s: Option<f64>,
    pub outcome: Outcome,
}

/// Longest an event waits for its trigger after its start time.
pub const MAX_WAIT_S: f64 = 60.0;
/// A merger with less than this time left to the end of its lane cuts in now.
const MERGE_LAST_S: f64 = 5.0;
/// A late merger lines up for its cut with this much time left to what closes its lane
/// (at least [`LATE_LINEUP_M`] away), and cuts in now with less than [`LATE_FORCE_S`] left,
/// so that it is over before the closure.
const LATE_LINEUP_S: f64 = 8.0;
const LATE_LINEUP_M: f64 = 40.0;
const LATE_FORCE_S: f64 = 3.5;
/// Farthest to the side of the ego (centre to centre) an aggressive merger goes on with its
/// cut-in: one lane over, not two.
const MERGE_REACH_M: f64 = 5.5;
/// How long an event that needs a kind of place on the ego's way waits for one (and tries
/// again at the next where a try comes to nothing): an oncoming left turn (a crossroads the
/// ego comes cruising up to and goes straight through; [`MAX_WAIT_S`] is rarely enough for a
/// town ego stopping at lights) and an aggressive merge (an on-ramp the ego passes beside).
pub const LONG_WAIT_S: f64 = 120.0;

/// How long event `kind` may wait for its trigger after its start time.
fn max_wait_s(kind: &EventKind) -> f64 {
    match kind {
        EventKind::UnprotectedLeftTurn(_) | EventKind::AggressiveMerge(_) => LONG_WAIT_S,
        _ if side_road(kind) => LONG_WAIT_S,
        _ => MAX_WAIT_S,
    }
}
/// Seconds an event goes on after it has played out (the aftermath counts for criticality).
pub const EVENT_TAIL_S: f64 = 5.0;
/// Longest a tailgater closes in before the leader brakes anyway.
const TAILGATE_SETTLE_S: f64 = 20.0;
/// A tailgater's reaction to the ego's brake lights.
pub const TAILGATER_REACTION_S: f64 = 1.0;
/// Lane behind an obstacle's spot, on the same lane, for queued traffic to pull out.
const PULL_OUT_ROOM_M: f64 = 60.0;
/// Drivers move over for an emergency vehicle this close behind them in their lane.
pub const EMERGENCY_YIELD_M: f64 = 150.0;
/// Room a cutter needs ahead of it in its lane beyond the place it has to get to.
const CUT_IN_ROOM_M: f64 = 25.0;
/// Longest an event runs.
const MAX_EVENT_S: f64 = 90.0;
/// Longest a mover event runs on after it has acted.
const AFTER_ACTION_S: f64 = 40.0;
/// Longest a wrong-way driver is on its way before it comes into the ego's view (a few
/// seconds where nothing stops it: it comes in just out of sight, coming at the ego). Past
/// this it has met others first and stands facing them, or the ego has left its lane: the
/// event is over, not played out.
pub const WRONG_WAY_VIEW_WAIT_S: f64 = 20.0;
/// Seconds of travel ahead of the ego where obstacles are placed (at least out of sight).
pub(super) const PLACE_AHEAD_S: f64 = 14.0;
/// Room kept clear around a placed obstacle in its lane.
const CLEAR_AROUND_M: f64 = 15.0;
/// Clearance a lane changer keeps from the lane it leaves before it passes an obstacle there.
const OBSTACLE_SIDE_MARGIN_M: f64 = 0.3;
/// How far ahead drivers look for a standing obstacle in their way.
pub(super) const OBSTACLE_LOOKAHEAD_M: f64 = 250.0;
/// Shortest distance from a lane's ends for a placed obstacle.
const END_MARGIN_M: f64 = 15.0;

/// Whether the event acts some time after it is staged (a cutter cuts in, the leader on the
/// patch brakes, a mover sets off, the wrong-way driver comes into view), rather than at once.
fn acts_later(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::CutIn(_)
            | EventKind::LowFriction(_)
            | EventKind::Tailgater(_)
            | EventKind::WrongWayDriver(_)
            | EventKind::RedLightRunner(_)
            | EventKind::UnprotectedLeftTurn(_)
            | EventKind::AggressiveMerge(_)
            | EventKind::ConstructionZone(_)
    ) || side_road(kind)
        || reveal_m(kind).is_some()
        || mover_ttc_s(kind).is_some()
}

/// How far from a standing obstacle its revealing leader swerves round it, where it has one.
pub(super) fn reveal_m(kind: &EventKind) -> Option<f64> {
    let m = match kind {
        EventKind::StoppedVehicle(p) => p.reveal_m.mean(),
        EventKind::Debris(p) => p.reveal_m.mean(),
        _ => return None,
    };
    (m > 0.0).then_some(m)
}

/// Whether `kind` is a pull-out from a side road (a timed crossing, not a mover).
fn side_road(kind: &EventKind) -> bool {
    matches!(kind, EventKind::PullOut(p) if p.from == PullOutFrom::SideRoad)
}

/// The ego's time to reach the mover at which a mover event acts, for those that have one.
fn mover_ttc_s(kind: &EventKind) -> Option<f64> {
    Some(match kind {
        EventKind::OccludedPedestrian(p) => p.ttc_s.mean(),
        EventKind::NightPedestrian(p) => p.ttc_s.mean(),
        EventKind::AnimalCrossing(p) => p.ttc_s.mean(),
        EventKind::CyclistSwerve(p) => p.ttc_s.mean(),
        EventKind::DoorOpening(p) => p.ttc_s.mean(),
        EventKind::PullOut(p) if !side_road(kind) => p.ttc_s.mean(),
        _ => return None,
    })
}

impl World {
    /// The event records of a resolved spec's events, none started yet.
    pub(super) fn load_events(events: &[EventSpec]) -> Vec<EventRecord> {
        let mut out: Vec<EventRecord> = events
            .iter()
            .enumerate()
            .map(|(index, spec)| EventRecord {
                index,
                spec: spec.clone(),
                start_s: None,
                actors: Vec::new(),
                zones: Vec::new(),
                action_s: None,
                played_out_s: None,
                outcome: Outcome::Pending,
            })
            .collect();
        // In start order (stable: the spec's order breaks ties).
        out.sort_by(|a, b| {
            let at = |r: &EventRecord| r.spec.window_s.map_or(0.0, |w| w.min);
            at(a).total_cmp(&at(b)).then(a.index.cmp(&b.index))
        });
        out
    }

    /// Starts, follows and ends events; called at the start of every step.
    pub(super) fn run_events(&mut self) {
        let t = self.time_s();
        let Some(k) = self
            .event_log
            .iter()
            .position(|r| matches!(r.outcome, Outcome::Pending | Outcome::Running))
        else {
            return;
        };
        match self.event_log[k].outcome {
            Outcome::Pending => {
                let at = self.event_log[k].spec.window_s.map_or(0.0, |w| w.min);
                if t + 1e-9 >= at {
                    self.stage(k, t - at);
                }
            }
            Outcome::Running => {
                self.follow_up(k);
                if self.event_log[k].outcome != Outcome::Running {
                    // Put back to wait for another chance.
                    return;
                }
                match self.event_over(k) {
                    Some(true) => {
                        let since = *self.event_log[k].played_out_s.get_or_insert(t);
                        if t - since >= EVENT_TAIL_S {
                            self.finish(k, true);
                        }
                    }
                    Some(false) => self.finish(k, false),
                    None => {}
                }
            }
            _ => {}
        }
    }

    /// A vehicle in the lane beside the ego (on the asked side), from 40 m behind to 80 m
    /// ahead, unscripted and not changing lanes: it becomes the cutter.
    fn stage_cut_in(&mut self, p: &CutIn) -> Option<Vec<u32>> {
        let e = self.ego?;
        let ego = &self.actors[e as usize];
        if !ego.alive || ego.speed_mps < 3.0 || ego.lane_change.is_some() {
            return None;
        }
        let lane = self.map.lane(ego.lane);
        let sides = match p.side {
            Side::Left => vec![(lane.left, true)],
            Side::Right => vec![(lane.right, false)],
            Side::Either => vec![(lane.left, true), (lane.right, false)],
        };
        let (j, from_left) = sides
            .into_iter()
            .filter_map(|(side, from_left)| Some((self.cutter_beside(p, side?)?, from_left)))
            .next()?;
        self.actors[j as usize].script = Some(Script::CutIn {
            ego: e,
            from_left,
            gap_m: p.gap_m.mean(),
            rel_speed_mps: p.rel_speed_mps.mean(),
            lateral_s: p.lateral_s.mean(),
            drifting: false,
            cut_speed_mps: None,
            quiet: false,
            late: false,
        });
        Some(vec![j])
    }

    /// A vehicle in lane `side` beside the ego, from 40 m behind to 80 m ahead, unscripted,
    /// not changing lanes and not too long: the one nearest to where it has to be (a little
    /// beyond the mark on the side it drifts from), with room ahead to get there and some (a
    /// cutter boxed in behind its own leader never reaches its mark).
    fn cutter_beside(&self, p: &CutIn, side: LaneId) -> Option<u32> {
        let ego = &self.actors[self.ego? as usize];
        let lane = self.map.lane(ego.lane);
        let sl = self.map.lane(side);
        let d_here = ego.d_m * sl.length_m / lane.length_m.max(1e-9);
        let beyond = if p.rel_speed_mps.mean() < 0.0 {
            10.0
        } else {
            -10.0
        };
        let want = d_here + 0.5 * ego.body.length_m + p.gap_m.mean() + beyond;
        let list = &self.lists[side.index()];
        (0..list.len())
            .filter(|&i| {
                let o = &self.actors[list[i] as usize];
                let room_m = list
                    .get(i + 1)
                    .map_or(f64::INFINITY, |&n| self.actors[n as usize].d_m - o.d_m);
                let lane_left_m = sl.usable_to_m.min(sl.length_m) - o.d_m;
                (-40.0..80.0).contains(&(o.d_m - d_here))
                    && room_m.min(lane_left_m) > CUT_IN_ROOM_M + (want - o.d_m).max(0.0)
                    && o.script.is_none()
                    && o.lane_change.is_none()
                    && o.body.kind.is_motor_vehicle()
                    && o.body.length_m < 8.0
            })
            .map(|i| list[i])
            .min_by(|&x, &y| {
                let dist = |j: u32| (self.actors[j as usize].d_m - want).abs();
                dist(x).total_cmp(&dist(y)).then(x.cmp(&y))
            })
    }

    /// The cutter's acceleration while it lines up, whether it is now drifting onto its mark,
    /// and the lane to cut into once it is there (then it changes lanes now). `None` when the
    /// script no longer applies (the cutter is no longer in the lane beside the ego): the
    /// driver model takes over.
    ///
    /// The gap and the relative speed are asked for as the cutter starts to leave its lane.
    /// Cutting in slower than the ego, it first gets ahead of its mark, then drops to the
    /// cut-in speed and drifts back onto it (faster: from behind); at nearly the ego's speed
    /// it holds the mark.
    pub(super) fn cut_in_control(&self, idx: u32) -> Option<(f64, bool, Option<LaneId>)> {
        let a = &self.actors[idx as usize];
        let Some(Script::CutIn {
            ego,
            from_left,
            gap_m,
            rel_speed_mps,
            drifting,
            quiet,
            late,
            ..
        }) = a.script
        else {
            return None;
        };
        let e = &self.actors[ego as usize];
        let target = if from_left {
            self.map.lane(a.lane).right
        } else {
            self.map.lane(a.lane).left
        };

        // Beside the ego: one lane over on the asked side, from 60 m behind to 120 m ahead
        // (in the ego's frame, from the poses of the last step).
        let (sin, cos) = e.pose.heading_rad.sin_cos();
        let (dx, dy) = (a.pose.x_m - e.pose.x_m, a.pose.y_m - e.pose.y_m);
        let along = dx * cos + dy * sin;
        let across = -dx * sin + dy * cos;
        let side_ok = if from_left {
            across > 1.5
        } else {
            across < -1.5
        };
        // (Where no lane change is possible, as inside junctions, it keeps its place.) A
        // merger goes for the lane next to it only: an ego that has moved further over has
        // gone.
        let reach = if quiet { MERGE_REACH_M } else { 6.0 };
        if !e.alive || !side_ok || across.abs() > reach {
            return None;
        }
        if !(-60.0..120.0).contains(&along) {
            return None;
        }
        // Centre to centre at the start of the lane change.
        let mark = 0.5 * e.body.length_m + gap_m + 0.5 * a.body.length_m;
        let v_cut = (e.speed_mps + rel_speed_mps).max(0.0);
        let track = |v_want: f64| (v_want - a.speed_mps).clamp(-3.0, 2.5);
        if rel_speed_mps.abs() < 0.5 {
            let err = mark - along;
            let acc = track(v_cut + (0.4 * err).clamp(-5.0, 5.0));
            let there = err.abs() < 1.0 && (v_cut - a.speed_mps).abs() < 0.7;
            return Some((acc, false, target.filter(|_| there)));
        }
        // Which side of the mark it drifts from: ahead when slower, behind when faster.
        let beyond = if rel_speed_mps < 0.0 {
            along - mark
        } else {
            mark - along
        };
        // A merger does not go for an ego that is moving over.
        if quiet && e.lane_change.is_some() {
            return Some((track(a.speed_mps), drifting, None));
        }
        // A merger running out of its lane (or coming up to what closes it) goes now, unless
        // it is short of its mark.
        let room = if quiet {
            let to_obstacle = self.gap_to_obstacle(idx).unwrap_or(f64::MAX);
            self.room_to_lane_end(idx).min(to_obstacle)
        } else {
            f64::MAX
        };
        // (A late merger lines up for its cut earlier, and goes at once only at the last.)
        let near_end = if late {
            room < (a.speed_mps * LATE_LINEUP_S).max(LATE_LINEUP_M)
        } else {
            room < a.speed_mps * MERGE_LAST_S
        };
        let force_s = if late { LATE_FORCE_S } else { MERGE_LAST_S };
        if room < a.speed_mps * force_s && beyond >= 0.0 {
            return Some((track(a.speed_mps), true, target));
        }
        if late && !near_end && !drifting {
            // Holding its place just beyond its mark, at the ego's speed, until the closure
            // is near.
            let rate = if rel_speed_mps < 0.0 { 3.0 } else { 2.5 };
            let lead = 3.0 + 0.7 * rel_speed_mps * rel_speed_mps / (2.0 * rate);
            let err = lead + 1.0 - beyond;
            let sign = if rel_speed_mps < 0.0 { 1.0 } else { -1.0 };
            return Some((
                track(e.speed_mps + sign * (0.4 * err).clamp(-5.0, 5.0)),
                false,
                None,
            ));
        }
        if !drifting {
            // Changing to the cut-in speed (about 3 m/s² down, 2.5 up) it drifts back by
            // dv^2 / (2 a): it changes speed once it is that much beyond (with a margin, so
            // it does not hunt).
            let rate = if rel_speed_mps < 0.0 { 3.0 } else { 2.5 };
            let dv = a.speed_mps - v_cut;
            let lead = 3.0 + 0.7 * dv * dv / (2.0 * rate);
            let placed = beyond > 3.0 && dv.abs() < 1.0;
            let shift = if rel_speed_mps < 0.0 { 5.0 } else { -5.0 };
            let v_want = if beyond > lead {
                v_cut
            } else {
                e.speed_mps + shift
            };
            return Some((track(v_want), placed, None));
        }
        Some((track(v_cut), true, target.filter(|_| beyond <= 0.0)))
    }

    /// What a running event does next: on a low-friction patch, the ego's leader brakes once
    /// it is on the patch (once).
    fn follow_up(&mut self, k: usize) {
        if reveal_m(&self.event_log[k].spec.kind).is_some() {
            // The leader hiding the obstacle swerves round it at its distance.
            if let &[obstacle, leader] = self.event_log[k].actors.as_slice()
                && self.event_log[k].action_s.is_none()
                && self.reveal_due(obstacle, leader)
            {
                self.reveal(obstacle, leader);
                self.event_log[k].action_s = Some(self.time_s());
            }
            return;
        }
        if let Some(ttc) = mover_ttc_s(&self.event_log[k].spec.kind) {
            // It acts when it becomes a hazard to see: a hidden pedestrian once it steps out.
            if self.event_log[k].action_s.is_none() && self.trigger_mover(k, ttc) {
                self.event_log[k].action_s = Some(self.time_s());
            }
            return;
        }
        if let EventKind::Tailgater(p) = &self.event_log[k].spec.kind {
            // Once the tailgater is in place (or after a while trying), the leader brakes.
            let (leader, tail) = (self.event_log[k].actors[0], self.event_log[k].actors[1]);
            if self.event_log[k].action_s.is_some() {
                return;
            }
            let waited = self.time_s() - self.event_log[k].start_s.unwrap_or(0.0);
            let close = self
                .tailgate_headway(tail)
                .is_some_and(|h| h <= 1.15 * p.headway_s.mean());
            let l = &self.actors[leader as usize];
            if (close || waited > TAILGATE_SETTLE_S) && l.alive && l.script.is_none() {
                let decel = p.lead_decel_mps2.mean();
                self.actors[leader as usize].script = Some(Script::Brake { decel_mps2: decel });
                self.event_log[k].action_s = Some(self.time_s());
            }
            return;
        }
        if let EventKind::WrongWayDriver(_) = self.event_log[k].spec.kind {
            let in_view = self.event_log[k].actors.first().is_some_and(|&j| {
                matches!(self.actors[j as usize].script, Some(Script::WrongWay { k }) if self.wrong_way_in_view(k as usize))
            });
            if in_view && self.event_log[k].action_s.is_none() {
                self.event_log[k].action_s = Some(self.time_s());
            }
            return;
        }
        let kind = &self.event_log[k].spec.kind;
        if matches!(
            kind,
            EventKind::RedLightRunner(_) | EventKind::UnprotectedLeftTurn(_)
        ) || side_road(kind)
        {
            // It acts as it is sent off against its light.
            let runner = self.event_log[k].actors.first().copied();
            if let Some(j) = runner
                && self.cross_missed(j)
            {
                // The ego got through first: the runner drives on as before, and the event
                // looks for its next junction.
                let a = &mut self.actors[j as usize];
                a.script = None;
                a.plan.clear();
                let r = &mut self.event_log[k];
                r.outcome = Outcome::Pending;
                r.actors.clear();
                r.start_s = None;
                return;
            }
            let ran = runner.is_some_and(|j| self.launch_crosser(j));
            if ran && self.event_log[k].action_s.is_none() {
                self.event_log[k].action_s = Some(self.time_s());
            }
            return;
        }
        if let EventKind::ConstructionZone(p) = &self.event_log[k].spec.kind
            && let &[closure] = self.event_log[k].actors.as_slice()
        {
            // The closure is laid; the late merger comes once its lane has emptied.
            if let Some(m) = self.bring_late_merger(closure, p.late_merge_gap_m.mean()) {
                self.event_log[k].actors.insert(0, m);
            }
            return;
        }
        if let EventKind::CutIn(_)
        | EventKind::AggressiveMerge(_)
        | EventKind::ConstructionZone(_) = self.event_log[k].spec.kind
        {
            // (A merger that gave up and merges later as anyone would does not count.)
            let merge = !matches!(self.event_log[k].spec.kind, EventKind::CutIn(_));
            let cutting = self.event_log[k].actors.iter().any(|&j| {
                let a = &self.actors[j as usize];
                a.lane_change.is_some()
                    && (!merge || matches!(a.script, Some(Script::CutIn { .. })))
            });
            if cutting && self.event_log[k].action_s.is_none() {
                self.event_log[k].action_s = Some(self.time_s());
            }
            let gave_up = self.event_log[k]
                .actors
                .iter()
                .all(|&j| self.actors[j as usize].script.is_none());
            let ramp = matches!(self.event_log[k].spec.kind, EventKind::AggressiveMerge(_));
            if ramp && gave_up && self.event_log[k].action_s.is_none() {
                // The ego moved over or got by first: the merger drives on as anyone would,
                // and the event looks for the next on-ramp.
                let r = &mut self.event_log[k];
                r.outcome = Outcome::Pending;
                r.actors.clear();
                r.start_s = None;
            }
            return;
        }
        let EventKind::LowFriction(p) = &self.event_log[k].spec.kind else {
            return;
        };
        let (decel, Some(&zone)) = (p.lead_decel_mps2.mean(), self.event_log[k].zones.first())
        else {
            return;
        };
        if !self.event_log[k].actors.is_empty() {
            return;
        }
        let Some(e) = self.ego.filter(|&e| self.actors[e as usize].alive) else {
            return;
        };
        let ego = &self.actors[e as usize];
        let Some((leader, j)) = self.leader_along(e, ego.lane, ego.d_m) else {
            return;
        };
        let o = &self.actors[j as usize];
        let z = &self.zones[zone as usize];
        let on_patch = z
            .spans
            .iter()
            .any(|&(l, d0, d1)| l == o.lane && (d0..=d1).contains(&o.d_m));
        // With the patch still ahead for its whole stop (straight-line distance to its end,
        // short on curves).
        let mu_g = z.friction.unwrap_or(1.0) * GRAVITY_MPS2;
        let to_end = (z.end_xy.0 - o.pose.x_m).hypot(z.end_xy.1 - o.pose.y_m);
        let stop_m = o.speed_mps * o.speed_mps / (2.0 * decel.min(mu_g)) + 10.0;
        if on_patch
            && to_end >= stop_m
            && leader.gap_m < 120.0
            && o.script.is_none()
            && o.body.kind.is_motor_vehicle()
            && o.speed_mps > 3.0
        {
            self.actors[j as usize].script = Some(Script::Brake { decel_mps2: decel });
            self.event_log[k].actors.push(j);
            self.event_log[k].action_s = Some(self.time_s());
        }
    }

    /// Lays a zone of `length_m` on the ego's way out of its sight, and on the lanes beside.
    fn lay_zone(
        &mut self,
        length_m: f64,
        visibility_m: Option<f64>,
        friction: Option<f64>,
    ) -> Result<u32, String> {
        let e = self.ego.ok_or("no ego")?;
        let v = self.actors[e as usize].speed_mps;
        let ahead = (SPAWN_SIGHT_M + 20.0).max(v * PLACE_AHEAD_S);
        let (mut lane, mut d) = self
            .spot_ahead_of_ego(ahead, 0.0)
            .ok_or_else(|| format!("no road on the ego's way {ahead:.0} m ahead"))?;
        let mut spans = Vec::new();
        let mut left = length_m;
        let mut plan = self.actors[e as usize].plan.clone();
        plan.reverse();
        let (mut end_d, mut end_lane) = (d, lane);
        while left > 0.0 {
            let l = self.map.lane(lane);
            let d1 = (d + left).min(l.length_m);
            spans.push((lane, d, d1));
            // The lanes beside, over the same share of the section.
            for side in [true, false] {
                let mut cur = lane;
                while let Some(n) = if side {
                    self.map.lane(cur).left
                } else {
                    self.map.lane(cur).right
                } {
                    let nl = self.map.lane(n);
                    let k = nl.length_m / l.length_m.max(1e-9);
                    spans.push((n, d * k, d1 * k));
                    cur = n;
                }
            }
            left -= d1 - d;
            (end_lane, end_d) = (lane, d1);
            if left <= 0.0 {
                break;
            }
            match self.ego_step_along(lane, &mut plan) {
                Some(n) => {
                    lane = n;
                    d = 0.0;
                }
                None => break,
            }
        }
        spans.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let end = self.map.lane(end_lane).at(end_d);
        for &(l, _, _) in &spans {
            self.zoned[l.index()] = true;
        }
        self.zones.push(Zone {
            visibility_m,
            friction,
            spans,
            end_xy: (end.x_m, end.y_m),
            end_heading_rad: end.heading_rad,
        });
        Ok(self.zones.len() as u32 - 1)
    }

    /// The lowest friction of the zones on an actor's lane or its next two planned lanes.
    pub(super) fn friction_ahead(&self, idx: u32) -> Option<f64> {
        let a = &self.actors[idx as usize];
        let lanes = std::iter::once(a.lane).chain(a.plan.iter().copied().take(2));
        let mut mu: Option<f64> = None;
        for lane in lanes.filter(|l| self.zoned[l.index()]) {
            for z in &self.zones {
                if let Some(f) = z.friction
                    && z.spans.iter().any(|&(l, _, _)| l == lane)
                {
                    mu = Some(mu.map_or(f, |m| m.min(f)));
                }
            }
        }
        mu
    }

    /// Visibility and friction where an actor is (`None`: no zone there).
    pub(super) fn zone_at(&self, lane: LaneId, d: f64) -> (Option<f64>, Option<f64>) {
        let (mut vis, mut mu) = (None::<f64>, None::<f64>);
        if !self.zoned[lane.index()] {
            return (vis, mu);
        }
        for z in &self.zones {
            if z.spans
                .iter()
                .any(|&(l, d0, d1)| l == lane && (d0..=d1).contains(&d))
            {
                if let Some(v) = z.visibility_m {
                    vis = Some(vis.map_or(v, |x| x.min(v)));
                }
                if let Some(f) = z.friction {
                    mu = Some(mu.map_or(f, |x| x.min(f)));
                }
            }
        }
        (vis, mu)
    }

    /// Stages event `k` if its trigger holds, `waited_s` after its start time.
    fn stage(&mut self, k: usize, waited_s: f64) {
        let kind = self.event_log[k].spec.kind.clone();
        let result = match &kind {
            EventKind::StoppedVehicle(p) => self.stage_stopped_vehicle(p),
            EventKind::Debris(p) => self.stage_debris(p),
            EventKind::LeadHardBrake(p) => Ok(self.stage_lead_brake(p)),
            EventKind::CutIn(p) => Ok(self.stage_cut_in(p)),
            EventKind::Tailgater(p) => Ok(self.stage_tailgater(p)),
            EventKind::EmergencyVehicle(p) => Ok(self.stage_emergency(p)),
            EventKind::WrongWayDriver(p) => Ok(self.stage_wrong_way(p)),
            EventKind::RedLightRunner(p) => Ok(self.stage_red_light_runner(p)),
            EventKind::UnprotectedLeftTurn(p) => Ok(self.stage_left_turner(p)),
            EventKind::AggressiveMerge(p) => Ok(self.stage_aggressive_merge(p)),
            EventKind::ConstructionZone(p) => Ok(self.stage_construction_zone(p)),
            EventKind::OccludedPedestrian(p) => self.stage_occluded_pedestrian(p).map(Some),
            EventKind::NightPedestrian(p) => self.stage_night_pedestrian(p).map(Some),
            EventKind::AnimalCrossing(p) => self.stage_animal(p).map(Some),
            EventKind::CyclistSwerve(p) => self.stage_cyclist(p).map(Some),
            EventKind::DoorOpening(p) => self.stage_door(p).map(Some),
            EventKind::PullOut(p) if side_road(&kind) => Ok(self.stage_side_pull_out(p)),
            EventKind::PullOut(p) => self.stage_pull_out(p).map(Some),
            EventKind::FogBank(p) => self
                .lay_zone(p.length_m.mean(), Some(p.visibility_m.mean()), None)
                .map(|z| {
                    self.event_log[k].zones = vec![z];
                    Some(Vec::new())
                }),
            EventKind::LowFriction(p) => self
                .lay_zone(p.length_m.mean(), None, Some(p.friction.mean()))
                .map(|z| {
                    self.event_log[k].zones = vec![z];
                    Some(Vec::new())
                }),
        };
        match result {
            Ok(Some(actors)) => {
                self.event_log[k].start_s = Some(self.time_s());
                if !acts_later(&kind) {
                    self.event_log[k].action_s = Some(self.time_s());
                }
                self.event_log[k].actors = actors;
                self.event_log[k].outcome = Outcome::Running;
            }
            Ok(None) if waited_s > max_wait_s(&kind) => {
                self.event_log[k].outcome = Outcome::Skipped(format!(
                    "its trigger did not hold within {} s of its start time",
                    max_wait_s(&kind)
                ));
            }
            Ok(None) => {}
            Err(why) => self.event_log[k].outcome = Outcome::Skipped(why),
        }
    }

    /// The ego's leader in its lane within 150 m, unscripted, with the ego's time headway to
    /// it at or under `headway_s` (the ego moving): that leader brakes.
    fn stage_lead_brake(&mut self, p: &LeadHardBrake) -> Option<Vec<u32>> {
        let e = self.ego?;
        let ego = &self.actors[e as usize];
        if !ego.alive || ego.speed_mps < 5.0 || ego.lane_change.is_some() {
            return None;
        }
        let (leader, j) = self.leader_along(e, ego.lane, ego.d_m)?;
        let headway = leader.gap_m / ego.speed_mps;
        let o = &self.actors[j as usize];
        let ok = leader.gap_m < 150.0
            && headway <= p.headway_s.mean()
            && o.script.is_none()
            && o.body.kind.is_motor_vehicle()
            && o.speed_mps > 3.0
            && o.lane_change.is_none();
        if !ok {
            return None;
        }
        self.actors[j as usize].script = Some(Script::Brake {
            decel_mps2: p.decel_mps2.mean(),
        });
        Some(vec![j])
    }

    /// The ego's leader and a vehicle following the ego within 80 m in its lane: the
    /// follower becomes the tailgater; the leader brakes once it is in place.
    fn stage_tailgater(&mut self, p: &Tailgater) -> Option<Vec<u32>> {
        let e = self.ego?;
        let ego = &self.actors[e as usize];
        if !ego.alive || ego.speed_mps < 5.0 || ego.lane_change.is_some() {
            return None;
        }
        let (leader, j) = self.leader_along(e, ego.lane, ego.d_m)?;
        let o = &self.actors[j as usize];
        if leader.gap_m > 120.0
            || o.script.is_some()
            || !o.body.kind.is_motor_vehicle()
            || o.speed_mps < 3.0
            || o.lane_change.is_some()
        {
            return None;
        }
        // The vehicle behind in the ego's lane, or at the end of a lane leading into it.
        let list = &self.lists[ego.lane.index()];
        let at = list.iter().position(|&i| i == e)?;
        let (f, behind_m) = match at.checked_sub(1) {
            Some(i) => (list[i], ego.d_m - self.actors[list[i] as usize].d_m),
            None => self
                .map
                .lane(ego.lane)
                .prev
                .iter()
                .filter_map(|&pl| {
                    let f = *self.lists[pl.index()].last()?;
                    let back = self.map.lane(pl).length_m - self.actors[f as usize].d_m;
                    Some((f, ego.d_m + back))
                })
                .min_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(&y.0)))?,
        };
        let fo = &self.actors[f as usize];
        if behind_m > 80.0
            || fo.script.is_some()
            || fo.lane_change.is_some()
            || !fo.body.kind.is_motor_vehicle()
            || fo.body.length_m > 8.0
        {
            return None;
        }
        self.actors[f as usize].script = Some(Script::Tailgate {
            ego: e,
            headway_s: p.headway_s.mean(),
            reaction_s: TAILGATER_REACTION_S,
            ego_braking_since_s: None,
        });
        Some(vec![j, f])
    }

    /// An emergency vehicle comes up behind the ego in its lane, `start_gap_m` back, at the
    /// ego's speed plus the closing speed, where that stretch of lane is clear (`None` until
    /// it is).
    fn stage_emergency(&mut self, p: &EmergencyVehicle) -> Option<Vec<u32>> {
        let e = self.ego?;
        let ego = &self.actors[e as usize];
        if !ego.alive || ego.speed_mps < 3.0 || ego.lane_change.is_some() {
            return None;
        }
        let kind = match p.vehicle {
            Emergency::Ambulance => ActorKind::Van,
            Emergency::Police => ActorKind::Car,
            Emergency::FireEngine => ActorKind::Truck,
        };
        let id = self.next_id;
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(
            super::stream_seed(self.seed, 0xE3E0_0000 + id as u64),
        );
        let body = Body::sample(kind, &mut rng);
        let mut lane = ego.lane;
        let mut d = ego.d_m - 0.5 * ego.body.length_m - p.start_gap_m.mean() - 0.5 * body.length_m;
        let v = ego.speed_mps + p.closing_speed_mps.mean();
        // Back along the lanes leading to the ego's (the one keeping its place from the
        // right); `path`: those lanes, its own first, each with its start's distance from it.
        let mut path = vec![lane];
        while d < 0.5 * body.length_m + 5.0 {
            let l = self.map.lane(lane);
            let prev = l.prev.iter().copied().min_by_key(|&q| {
                let ql = self.map.lane(q);
                ((ql.lane.lane.abs() - l.lane.lane.abs()).abs(), q)
            })?;
            lane = prev;
            d += self.map.lane(prev).length_m;
            path.insert(0, prev);
        }
        let l = self.map.lane(lane);
        if l.junction.is_some() || d > l.length_m - 0.5 * body.length_m - 5.0 {
            return None;
        }
        // Clear around it: everyone ahead on its way to the ego far enough to close up on
        // braking gently, nobody within 15 m behind.
        let mut offset = -d;
        let mut clear = true;
        for (k, &pl) in path.iter().enumerate() {
            for &j in self.lists[pl.index()]
                .iter()
                .chain(&self.ghosts[pl.index()])
            {
                let o = &self.actors[j as usize];
                let gap = offset + o.d_m;
                let reach = 0.5 * (o.body.length_m + body.length_m);
                let closing = (v - o.speed_mps).max(0.0);
                let behind_ok = k > 0 || gap < -(reach + 15.0);
                if !(gap - reach > closing * closing / (2.0 * 3.0) + 10.0 || gap < 0.0 && behind_ok)
                {
                    clear = false;
                }
            }
            offset += self.map.lane(pl).length_m;
        }
        if !clear {
            return None;
        }
        let dist = std::sync::Arc::clone(&self.driver_dist);
        let idx = self.new_actor(kind, lane, d, false, &dist);
        let a = &mut self.actors[idx as usize];
        a.body = body;
        let v = v.min(crate::kinds::kind_info(kind).max_speed_mps);
        a.speed_mps = v;
        a.script = Some(Script::Emergency { speed_mps: v });
        self.emergency.push(idx);
        self.count_density();
        Some(vec![idx])
    }

    /// The side driver `idx` moves over to for an emergency vehicle coming up behind it in
    /// its lane within [`EMERGENCY_YIELD_M`] (`Some(false)`: right, where there is a lane;
    /// else left).
    pub(super) fn yield_to_emergency(&self, idx: u32) -> Option<bool> {
        if self.emergency.is_empty() {
            return None;
        }
        let a = &self.actors[idx as usize];
        let behind = self.emergency.iter().any(|&j| {
            let o = &self.actors[j as usize];
            j != idx
                && o.alive
                && o.lane == a.lane
                && o.d_m < a.d_m
                && a.d_m - o.d_m < EMERGENCY_YIELD_M
                && matches!(o.script, Some(Script::Emergency { .. }))
        });
        if !behind {
            return None;
        }
        let l = self.map.lane(a.lane);
        let right_hand = self.net.traffic_side == roadworld_road::TrafficSide::Right;
        let (kerb, other) = if right_hand {
            ((l.right, false), (l.left, true))
        } else {
            ((l.left, true), (l.right, false))
        };
        kerb.0.map(|_| kerb.1).or(other.0.map(|_| other.1))
    }

    /// Event `k` is over now; its tailgaters and red-light runners drive normally again.
    fn finish(&mut self, k: usize, completed: bool) {
        self.event_log[k].outcome = Outcome::Done {
            end_s: self.time_s(),
            completed,
        };
        let actors = self.event_log[k].actors.clone();
        self.retire_movers(&actors);
        for &j in &self.event_log[k].actors {
            if matches!(
                self.actors[j as usize].script,
                Some(Script::Tailgate { .. } | Script::TimedCross(_))
            ) {
                self.actors[j as usize].script = None;
            }
        }
    }

    /// The tailgater's headway behind the ego (bumper to bumper over its speed).
    fn tailgate_headway(&self, idx: u32) -> Option<f64> {
        let a = &self.actors[idx as usize];
        let Some(Script::Tailgate { ego, .. }) = a.script else {
            return None;
        };
        let gap = self.gap_behind(ego, idx);
        (a.speed_mps > 1.0).then(|| gap / a.speed_mps)
    }

    /// Bumper-to-bumper gap from `follower` to `ego`, along the ego's heading.
    fn gap_behind(&self, ego: u32, follower: u32) -> f64 {
        let (e, a) = (&self.actors[ego as usize], &self.actors[follower as usize]);
        let (sin, cos) = e.pose.heading_rad.sin_cos();
        let along = (e.pose.x_m - a.pose.x_m) * cos + (e.pose.y_m - a.pose.y_m) * sin;
        along - 0.5 * (e.body.length_m + a.body.length_m)
    }

    /// The tailgater's acceleration: closes to its headway behind the ego and matches its
    /// speed; once the ego has been braking for its reaction time, brakes as hard as it can
    /// (and the tyres allow) to a stand.
    pub(super) fn tailgate_control(&mut self, idx: u32) -> f64 {
        let t = self.time_s();
        let a = &self.actors[idx as usize];
        let Some(Script::Tailgate {
            ego,
            headway_s,
            reaction_s,
            ego_braking_since_s,
        }) = a.script
        else {
            return 0.0;
        };
        let (e_alive, e_accel, e_speed) = {
            let e = &self.actors[ego as usize];
            (e.alive, e.accel_mps2, e.speed_mps)
        };
        let max_decel = self.max_decel_at(idx);
        let braking = e_alive && e_accel < -1.0;
        let since = match (braking, ego_braking_since_s) {
            (true, None) => Some(t),
            (true, s) => s,
            (false, _) => None,
        };
        if let Some(Script::Tailgate {
            ego_braking_since_s,
            ..
        }) = self.actors[idx as usize].script.as_mut()
        {
            *ego_braking_since_s = since;
        }
        let a = &self.actors[idx as usize];
        if since.is_some_and(|s| t - s >= reaction_s) {
            return -max_decel;
        }
        if !e_alive {
            return 0.0;
        }
        let gap = self.gap_behind(ego, idx);
        let want = headway_s * a.speed_mps;
        (0.3 * (gap - want) + 0.8 * (e_speed - a.speed_mps)).clamp(-max_decel, 2.0)
    }

    /// `Some(true)` once the event has played out: the ego has passed every obstacle by 20 m,
    /// every braking leader has come to a stand (its script over); `Some(false)` when the
    /// ego has left or after [`MAX_EVENT_S`]; `None` while it goes on.
    fn event_over(&self, k: usize) -> Option<bool> {
        let r = &self.event_log[k];
        let Some(e) = self.ego.filter(|&e| self.actors[e as usize].alive) else {
            return Some(false);
        };
        let p = &self.actors[e as usize].pose;
        let (sin, cos) = p.heading_rad.sin_cos();
        let played_out = r.actors.iter().all(|&j| {
            let a = &self.actors[j as usize];
            match a.script {
                _ if !a.alive => true,
                // Over once the ego has got past it (the wrong-way car past the ego).
                Some(Script::Stand | Script::Move { .. } | Script::WrongWay { .. }) => {
                    (a.pose.x_m - p.x_m) * cos + (a.pose.y_m - p.y_m) * sin < -20.0
                }
                // Over once it has gone past the ego.
                Some(Script::Emergency { .. }) => {
                    (a.pose.x_m - p.x_m) * cos + (a.pose.y_m - p.y_m) * sin > 20.0
                }
                Some(
                    Script::Brake { .. }
                    | Script::CutIn { .. }
                    | Script::RampMerge(_)
                    | Script::Reveal { .. },
                ) => false,
                // Over once it is through the conflict area.
                Some(Script::TimedCross(_)) => self.cross_through(j),
                // Over with the leader's braking (and so once the ego has stopped or moved on).
                Some(Script::Tailgate { .. }) => true,
                None => true,
            }
        });
        let zones_passed = r.zones.iter().all(|&z| {
            let z = &self.zones[z as usize];
            let (zs, zc) = z.end_heading_rad.sin_cos();
            (p.x_m - z.end_xy.0) * zc + (p.y_m - z.end_xy.1) * zs > 0.0
        });
        // (A slippery patch has played out once the ego is past it, whether or not a leader
        // braked on it.)
        let acted = !acts_later(&r.spec.kind)
            || matches!(r.spec.kind, EventKind::LowFriction(_))
            || r.action_s.is_some();
        if played_out && zones_passed && acted {
            Some(true)
        } else if played_out && !acted && !matches!(r.spec.kind, EventKind::Tailgater(_)) {
            // The cutter gave up (the ego left its side) before cutting in.
            Some(false)
        } else if self.time_s() > self.event_deadline_s(k) {
            Some(false)
        } else {
            None
        }
    }

    /// When event `k` runs out of time: [`MAX_EVENT_S`] after it was staged; a mover placed
    /// far ahead (or a car waiting to pull out of a side road) waits for the ego twice as
    /// long, and once it has acted the ego gets [`AFTER_ACTION_S`] to get past; a wrong-way
    /// driver not yet in the ego's view gives up after [`WRONG_WAY_VIEW_WAIT_S`].
    fn event_deadline_s(&self, k: usize) -> f64 {
        let r = &self.event_log[k];
        let start = r.start_s.unwrap_or(0.0);
        let waits = mover_ttc_s(&r.spec.kind).is_some() || side_road(&r.spec.kind);
        match (r.action_s, waits) {
            (Some(a), true) => (start + MAX_EVENT_S).max(a + AFTER_ACTION_S),
            (None, true) => start + 2.0 * MAX_EVENT_S,
            (None, false) if matches!(r.spec.kind, EventKind::WrongWayDriver(_)) => {
                start + WRONG_WAY_VIEW_WAIT_S
            }
            _ => start + MAX_EVENT_S,
        }
    }

    /// A spot in the ego's lane about `ahead_m` further along its way (following the lanes
    /// the ego's route takes), outside junctions and clear of lane ends.
    fn spot_ahead_of_ego(&self, ahead_m: f64, length_m: f64) -> Option<(LaneId, f64)> {
        self.route_spot_ahead(ahead_m, |lane, spot| {
            let l = self.map.lane(lane);
            let margin = END_MARGIN_M + 0.5 * length_m;
            // Traffic queued behind it must be able to pull out within this lane: a lane
            // beside, and room behind it on this lane (not back in a junction).
            l.junction.is_none()
                && (l.left.is_some() || l.right.is_some())
                && spot >= l.usable_from_m.max(0.0) + margin + PULL_OUT_ROOM_M
                && spot <= l.usable_to_m.min(l.length_m) - margin
        })
    }

    /// The first spot from about `ahead_m` further along the ego's way (its own plan while it
    /// keeps to the main route, then the lanes the route takes) that `fits` and lies out of
    /// the ego's sight ([`SPAWN_SIGHT_M`] and 20 m as the crow flies), trying every 10 m.
    pub(super) fn route_spot_ahead(
        &self,
        ahead_m: f64,
        fits: impl Fn(LaneId, f64) -> bool,
    ) -> Option<(LaneId, f64)> {
        let e = self.ego?;
        let ego = &self.actors[e as usize];
        let (mut lane, mut d) = (ego.lane, ego.d_m);
        let mut left = ahead_m;
        let mut plan = ego.plan.clone();
        plan.reverse();
        for _ in 0..200 {
            let l = self.map.lane(lane);
            let room = l.length_m - d;
            if left <= room {
                let spot = d + left;
                // Out of the ego's sight as the crow flies too (a way that bends comes back
                // nearer).
                let p = l.at(spot);
                let far =
                    (p.x_m - ego.pose.x_m).hypot(p.y_m - ego.pose.y_m) >= SPAWN_SIGHT_M + 20.0;
                if far && fits(lane, spot) {
                    return Some((lane, spot));
                }
                // Not here: a bit further on.
                left += 10.0;
                continue;
            }
            left -= room;
            // The ego's own plan first (while it keeps to the main route), then the lane
            // whose road the main route takes next.
            lane = self.ego_step_along(lane, &mut plan)?;
            d = 0.0;
        }
        None
    }

    /// Whether vehicle `j` can be taken over by an event: a motor vehicle shorter than
    /// `max_length_m`, unscripted, not changing lanes and holding no junction path.
    pub(super) fn free_to_script(&self, j: u32, max_length_m: f64) -> bool {
        let o = &self.actors[j as usize];
        o.script.is_none()
            && o.hold.is_none()
            && o.lane_change.is_none()
            && o.body.kind.is_motor_vehicle()
            && o.body.length_m < max_length_m
    }

    /// Actor `idx`'s lane and the lanes ahead of it, each with the distance from its centre
    /// to the lane's start, up to `horizon_m`: its plan, then (for the ego) the lanes the main
    /// route takes ([`World::route_next_lane`], or where `exact` is set,
    /// [`World::main_route_next_lane`]).
    pub(super) fn lanes_ahead(
        &self,
        idx: u32,
        horizon_m: f64,
        exact: bool,
    ) -> impl Iterator<Item = (LaneId, f64)> + '_ {
        let a = &self.actors[idx as usize];
        let mut planned = a.plan.iter().copied().peekable();
        let mut cur = Some((a.lane, -a.d_m));
        std::iter::from_fn(move || {
            let (lane, dist) = cur?;
            let next = if !a.ego {
                planned.next()
            } else if exact {
                planned.next().or_else(|| self.main_route_next_lane(lane))
            } else {
                // (A plan that turns off the main route is left for the route.)
                let (next, keep) = self.ego_next_lane(lane, planned.peek().copied());
                if keep {
                    planned.next();
                } else {
                    planned.by_ref().for_each(drop);
                }
                next
            };
            cur = next
                .map(|n| (n, dist + self.map.lane(lane).length_m))
                .filter(|&(_, d)| d < horizon_m);
            Some((lane, dist))
        })
    }

    /// The lane after `lane` the ego takes along the main route: through a junction, the path
    /// that comes out on the main route (whichever turn that is; [`World::route_next_lane`]
    /// picks among a junction's paths by their place from the right).
    pub(super) fn main_route_next_lane(&self, lane: LaneId) -> Option<LaneId> {
        let on_main = |n: LaneId| self.on_main_route(n);
        self.map
            .lane(lane)
            .next
            .iter()
            .copied()
            .find(|&n| match &self.map.lane(n).path {
                Some(p) => p.outgoing.is_some_and(on_main),
                None => on_main(n),
            })
            .or_else(|| self.route_next_lane(lane))
    }

    /// The successor of `lane` that stays on the main route (keeping the lane's place from
    /// the right where there is a choice): one on a road of the route, or a junction path
    /// that comes out on one; where `lane` has none (a turn lane off the route), such a
    /// successor of the nearest lane beside it (the ego changes lanes to keep to its route);
    /// else any path of `lane`'s through a junction the route crosses; any successor where
    /// none is on the route.
    pub(super) fn route_next_lane(&self, lane: LaneId) -> Option<LaneId> {
        let l = self.map.lane(lane);
        let on_route = |n: &LaneId| self.keeps_to_route(*n);
        // (Any path through a junction the route crosses: a roundabout's ring, say, is in
        // the route's junctions, but only one of its ways out is the route's.)
        let through_route_junction = |n: &LaneId| {
            let nl = self.map.lane(*n);
            nl.junction.is_some()
                && self
                    .net
                    .main_route
                    .iter()
                    .any(|st| self.net.road(st.road).junction == nl.junction)
        };
        let by_place = |from: &crate::lanes::Lane, mut options: Vec<LaneId>| {
            options
                .sort_by_key(|n| (self.map.lane(*n).lane.lane.abs() - from.lane.lane.abs()).abs());
            options.first().copied()
        };
        // `lane`, then the lanes beside it, nearest first (left before right).
        let side = |first: Option<LaneId>, go: fn(&crate::lanes::Lane) -> Option<LaneId>| {
            let mut out = Vec::new();
            let mut at = first;
            while let Some(x) = at.filter(|_| out.len() < 16) {
                out.push(x);
                at = go(self.map.lane(x));
            }
            out
        };
        let (lefts, rights) = (side(l.left, |x| x.left), side(l.right, |x| x.right));
        let mut beside = vec![lane];
        for i in 0..lefts.len().max(rights.len()) {
            beside.extend(lefts.get(i).into_iter().chain(rights.get(i)));
        }
        if let Some(found) = beside.into_iter().find_map(|from| {
            let fl = self.map.lane(from);
            by_place(fl, fl.next.iter().copied().filter(on_route).collect())
        }) {
            return Some(found);
        }
        let mut options: Vec<LaneId> = l
            .next
            .iter()
            .copied()
            .filter(through_route_junction)
            .collect();
        if options.is_empty() {
            // Off the main route's roads (a detour the network offers): straight on.
            options = l.next.clone();
        }
        by_place(l, options)
    }

    /// Whether lane `n` keeps to the main route: on one of its roads, or a junction path
    /// that comes out on one.
    fn keeps_to_route(&self, n: LaneId) -> bool {
        self.on_main_route(n)
            || self
                .map
                .lane(n)
                .path
                .as_ref()
                .is_some_and(|p| p.outgoing.is_some_and(|o| self.on_main_route(o)))
    }

    /// Whether lane `n` is on a road of the main route.
    fn on_main_route(&self, n: LaneId) -> bool {
        let road = self.map.lane(n).lane.road;
        self.net.main_route.iter().any(|st| st.road == road)
    }

    /// The ego's lane after `lane`, where `planned` is its plan's next: the plan's lane,
    /// unless that leaves the main route and [`World::route_next_lane`] keeps to it (the
    /// plan of an ego in a turn lane off its route turns off, but the ego changes lanes to
    /// keep to its route first). The flag: whether the rest of the plan still holds.
    pub(super) fn ego_next_lane(
        &self,
        lane: LaneId,
        planned: Option<LaneId>,
    ) -> (Option<LaneId>, bool) {
        if let Some(n) = planned.filter(|&n| self.keeps_to_route(n)) {
            return (Some(n), true);
        }
        match self.route_next_lane(lane) {
            Some(r) if self.keeps_to_route(r) => (Some(r), false),
            r => (planned.or(r), planned.is_some()),
        }
    }

    /// [`World::ego_next_lane`] on a copy of the ego's plan kept reversed (its next lane
    /// last), which it uses up as the walk follows it.
    fn ego_step_along(&self, lane: LaneId, rev_plan: &mut super::Plan) -> Option<LaneId> {
        let (next, keep) = self.ego_next_lane(lane, rev_plan.last().copied());
        if keep {
            rev_plan.pop();
        } else {
            rev_plan.clear();
        }
        next
    }

    /// Vehicles that could not stop comfortably for an obstacle appearing at `(lane, d)`:
    /// those in its lane or the lanes leading there, from just beyond it back to their
    /// stopping distance plus a margin.
    fn caught_by(&self, lane: LaneId, d: f64, half_length_m: f64) -> Vec<u32> {
        let mut out = Vec::new();
        // (lane, distance from the lane's start to the obstacle's rear)
        let mut todo = vec![(lane, d - half_length_m)];
        let mut seen = Vec::new();
        while let Some((l, to_obstacle)) = todo.pop() {
            if seen.contains(&l) {
                continue;
            }
            seen.push(l);
            for &j in &self.lists[l.index()] {
                let a = &self.actors[j as usize];
                let gap = to_obstacle - (a.d_m + 0.5 * a.body.length_m);
                let v = a.speed_mps;
                let needed = v * v / (2.0 * 3.0) + 1.5 * v + CLEAR_AROUND_M;
                if gap < needed && gap > -(2.0 * half_length_m + a.body.length_m + CLEAR_AROUND_M) {
                    out.push(j);
                }
            }
            if to_obstacle < 250.0 {
                for &p in &self.map.lane(l).prev {
                    todo.push((p, to_obstacle + self.map.lane(p).length_m));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Puts a standing actor of `body` at `(lane, d)` after taking away the vehicles that
    /// could not stop for it; `None` (nothing done) when one of them is in the ego's sight.
    pub(super) fn place_standing(&mut self, body: Body, lane: LaneId, d: f64) -> Option<u32> {
        let caught = self.caught_by(lane, d, 0.5 * body.length_m);
        if caught.iter().any(|&j| {
            let a = &self.actors[j as usize];
            a.ego || self.in_ego_sight(a.pose.x_m, a.pose.y_m)
        }) {
            return None;
        }
        for j in caught {
            self.despawn(j);
        }
        let dist = std::sync::Arc::clone(&self.driver_dist);
        let idx = self.new_actor(body.kind, lane, d, false, &dist);
        let a = &mut self.actors[idx as usize];
        a.body = body;
        a.speed_mps = 0.0;
        a.accel_mps2 = 0.0;
        a.script = Some(Script::Stand);
        self.mark_blocked(lane, d, OBSTACLE_LOOKAHEAD_M);
        self.count_density();
        Some(idx)
    }

    /// Places a standing obstacle in the ego's lane out of its sight: the first spot from
    /// [`PLACE_AHEAD_S`] of travel (at least the sight distance) on, every 30 m, where no
    /// vehicle in the ego's sight would be caught by it.
    pub(super) fn place_ahead(&mut self, body: Body) -> Result<u32, String> {
        let e = self.ego.ok_or("no ego")?;
        let v = self.actors[e as usize].speed_mps;
        let ahead = (SPAWN_SIGHT_M + 20.0).max(v * PLACE_AHEAD_S);
        for k in 0..10 {
            let at = ahead + 30.0 * k as f64;
            let Some((lane, d)) = self.spot_ahead_of_ego(at, body.length_m) else {
                continue;
            };
            if let Some(idx) = self.place_standing(body, lane, d) {
                return Ok(idx);
            }
        }
        Err(format!(
            "no room in the ego's lane {ahead:.0} to {:.0} m ahead on its route",
            ahead + 270.0
        ))
    }

    /// Gap from the actor's front to the rear of the nearest standing obstacle ahead in its
    /// lane or the lanes it plans to drive next, within the distance drivers look for it
    /// ([`OBSTACLE_LOOKAHEAD_M`] unless the obstacle is signed further back).
    pub(super) fn gap_to_obstacle(&self, idx: u32) -> Option<f64> {
        let a = &self.actors[idx as usize];
        let look = self.blocked_m[a.lane.index()];
        if look <= 0.0 {
            return None;
        }
        let front = a.d_m + 0.5 * a.body.length_m;
        // Distance from the start of each lane to the actor's front (negative: behind it).
        let mut offset = -front;
        // Along its plan, then (for a closure signed further ahead than it has planned) on
        // along the blocked lanes.
        let signed = look > OBSTACLE_LOOKAHEAD_M;
        let mut lane = a.lane;
        let mut planned = a.plan.iter().copied();
        loop {
            if offset > look || self.blocked_m[lane.index()] <= 0.0 {
                return None;
            }
            let found = self.lists[lane.index()]
                .iter()
                .filter(|&&j| !self.hidden_from(j, idx))
                .map(|&j| &self.actors[j as usize])
                .filter(|o| o.script == Some(Script::Stand))
                .map(|o| offset + o.d_m - 0.5 * o.body.length_m)
                .find(|&gap| gap > -0.5 * a.body.length_m);
            if let Some(gap) = found {
                return (gap < look).then_some(gap);
            }
            offset += self.map.lane(lane).length_m;
            let next = planned.next().or_else(|| {
                let l = self.map.lane(lane);
                let on = l
                    .next
                    .iter()
                    .copied()
                    .find(|n| self.blocked_m[n.index()] > 0.0);
                on.filter(|_| signed)
            });
            lane = next?;
        }
    }

    /// Marks the lane of an obstacle at `d` and the lanes leading to it within `look_m` as
    /// blocked (drivers there look for the obstacle from `look_m` away, drivers beside let
    /// them in).
    pub(super) fn mark_blocked(&mut self, lane: LaneId, d: f64, look_m: f64) {
        let mut todo = vec![(lane, d)];
        while let Some((l, back)) = todo.pop() {
            if self.blocked_m[l.index()] >= look_m && l != lane {
                continue;
            }
            let b = &mut self.blocked_m[l.index()];
            *b = b.max(look_m);
            if back < look_m {
                for &p in &self.map.lane(l).prev {
                    todo.push((p, back + self.map.lane(p).length_m));
                }
            }
        }
    }

    /// For a driver with a standing obstacle ahead in its lane (queued behind others or
    /// not): the side to pass it on (`Some(true)`: left, preferred), if there is a lane there.
    pub(super) fn around_obstacle(&self, idx: u32) -> Option<bool> {
        self.gap_to_obstacle(idx)?;
        let l = self.map.lane(self.actors[idx as usize].lane);
        match (l.left, l.right) {
            (Some(_), _) => Some(true),
            (None, Some(_)) => Some(false),
            (None, None) => None,
        }
    }

    /// Whether lane changer `idx`, following the rest of its lane-change path, passes `j`, a
    /// standing obstacle in the lane it is leaving, without touching it (with a margin).
    /// Then `j` no longer holds it up; a moving leader there still does until the change is
    /// over.
    pub(super) fn clear_of_obstacle(&self, idx: u32, j: u32) -> bool {
        let (a, o) = (&self.actors[idx as usize], &self.actors[j as usize]);
        let (Some(lc), Some(Script::Stand)) = (a.lane_change, o.script) else {
            return false;
        };
        let obstacle = roadworld_geom::Obb::new(
            o.pose.x_m,
            o.pose.y_m,
            o.pose.heading_rad,
            o.body.length_m + 2.0 * OBSTACLE_SIDE_MARGIN_M,
            o.body.width_m + 2.0 * OBSTACLE_SIDE_MARGIN_M,
        );
        let (sin, cos) = o.pose.heading_rad.sin_cos();
        let lane = self.map.lane(a.lane);
        for k in 0..400 {
            let d = a.d_m + 0.5 * k as f64;
            if d > lane.length_m {
                return false;
            }
            let u = lc.progress(d);
            let lat = lc.offset0_m * (1.0 - crate::drive::smootherstep(u));
            let slope = -lc.offset0_m * crate::drive::smootherstep_slope(u) / lc.length_m;
            let p = lane.at(d);
            let (ps, pc) = p.heading_rad.sin_cos();
            let (x, y) = (p.x_m - ps * lat, p.y_m + pc * lat);
            let body = roadworld_geom::Obb::new(
                x,
                y,
                p.heading_rad + slope.atan(),
                a.body.length_m,
                a.body.width_m,
            );
            if body.overlaps(&obstacle) {
                return false;
            }
            // Past it: the rear beyond the obstacle's front.
            let along = (x - o.pose.x_m) * cos + (y - o.pose.y_m) * sin;
            if along - 0.5 * a.body.length_m > 0.5 * o.body.length_m + OBSTACLE_SIDE_MARGIN_M {
                return true;
            }
        }
        false
    }

    /// Room driver `idx` keeps behind `leader` when that is a standing obstacle: enough for
    /// its sharpest lane change, so that it can pull out round it from a stand.
    pub(super) fn obstacle_clearance_m(&self, idx: u32, leader: u32) -> f64 {
        if self.actors[leader as usize].script == Some(Script::Stand) {
            super::min_lane_change_for(&self.actors[idx as usize].body) + 2.0
        } else {
            0.0
        }
    }

    fn stage_stopped_vehicle(&mut self, p: &StoppedVehicle) -> Result<Option<Vec<u32>>, String> {
        let id = self.next_id;
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(
            super::stream_seed(self.seed, 0xAC70_0000 + id as u64),
        );
        let body = Body::sample(p.vehicle, &mut rng);
        self.stage_hidden(body, p.reveal_m.mean())
    }

    fn stage_debris(&mut self, p: &Debris) -> Result<Option<Vec<u32>>, String> {
        // Resolved parameters are fixed: their mean is their value.
        let body = Body {
            kind: ActorKind::StaticObstacle,
            length_m: p.length_m.mean(),
            width_m: p.width_m.mean(),
            height_m: p.height_m.mean(),
            wheelbase_m: 0.0,
        };
        self.stage_hidden(body, p.reveal_m.mean())
    }

    /// Light flags a script adds.
    pub(super) fn script_flags(script: Option<Script>, kind: ActorKind) -> u16 {
        match script {
            Some(Script::Stand) if kind.is_motor_vehicle() => flags::HAZARD,
            Some(Script::Emergency { .. }) => flags::EMERGENCY | flags::HEADLIGHTS,
            _ => 0,
        }
    }
}
