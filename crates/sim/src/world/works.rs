//! A construction zone: a lane beside the ego's way is closed ahead (a cone taper and the
//! closure behind it: one standing obstacle the length of both, laid out of the ego's sight
//! and signed [`CLOSURE_WARN_M`] ahead), and a late merger rides up the closed lane past
//! the ego and squeezes in front of it before the taper.
//!
//! Drivers in the closed lane see the signs and move over in good time, those beside letting
//! them in (as for any standing obstacle, only from further back), and nobody moves into it.
//! When the ego is [`MERGER_IN_S`] from the taper, the one car left in the closed lane just
//! behind the ego is taken over as the late merger, or, where the lane round the ego has
//! emptied, a car is brought in on it behind the ego (out of its sight), a little faster than
//! the ego: a cut-in that gives no sign ([`World::cut_in_control`]) and holds its place just
//! ahead of its mark beside the ego until the closure is a few seconds of travel away; then
//! it drops to [`LATE_REL_SPEED_MPS`] under the ego's speed, drifts back onto its mark (the
//! asked gap in front of the ego) and moves over. Where the lane does not empty in time, or
//! the ego moves away from it, no merger comes and the event ends without acting.

use super::World;
use super::events::Script;
use super::ramp_merge::MERGE_LATERAL_S;
use crate::kinds::Body;
use crate::lanes::LaneId;
use roadworld_spec::ActorKind;
use roadworld_spec::events::ConstructionZone;

/// How far ahead, in the ego's travel time, the closure is laid (at least out of its sight).
const CLOSURE_AHEAD_S: f64 = 34.0;
/// How far ahead of the taper the closure is signed (drivers in the closed lane look for it
/// from there).
const CLOSURE_WARN_M: f64 = 1500.0;
/// Width and height of the closure (barriers and cones across the lane).
const CLOSURE_WIDTH_M: f64 = 2.5;
const CLOSURE_HEIGHT_M: f64 = 1.0;
/// Room left on the closed lane before the taper for its traffic to merge (within the lane
/// where no lane leads into it), and after the closure before the lane ends.
const ROOM_BEFORE_M: f64 = 120.0;
const ROOM_AFTER_M: f64 = 20.0;
/// Where the late merger comes in, behind the ego (out of its sight, within reach of the
/// cut-in controller), how much faster, and the stretch of the closed lane that must be
/// empty then: from [`MERGER_CLEAR_M`] behind it to [`LANE_CLEAR_AHEAD_M`] ahead of the ego.
const MERGER_BEHIND_M: f64 = 50.0;
const MERGER_CLOSING_MPS: f64 = 6.0;
const MERGER_CLEAR_M: f64 = 30.0;
const LANE_CLEAR_AHEAD_M: f64 = 80.0;
/// The ego's travel time to the taper within which the merger may be brought in: late
/// enough to have been signed for a while, early enough to come up beside the ego, settle,
/// and line up.
const MERGER_IN_S: std::ops::Range<f64> = 24.0..34.0;
/// The late merger's speed under the ego's as it squeezes in.
pub const LATE_REL_SPEED_MPS: f64 = -3.0;

impl World {
    /// Lays the closure on a lane beside the ego's way ahead (the kerb side first) where
    /// the lane has room for it and for its traffic to merge before it; the late merger
    /// comes later ([`World::bring_late_merger`]).
    pub(super) fn stage_construction_zone(&mut self, p: &ConstructionZone) -> Option<Vec<u32>> {
        let e = self.ego?;
        let ego = &self.actors[e as usize];
        if !ego.alive || ego.speed_mps < 8.0 || ego.lane_change.is_some() {
            return None;
        }
        let right_hand = self.net.traffic_side == roadworld_road::TrafficSide::Right;
        let length = p.taper_m.mean() + p.length_m.mean();
        let ahead = (super::SPAWN_SIGHT_M + 20.0).max(ego.speed_mps * CLOSURE_AHEAD_S);
        // Kerb side first: (on the left of the ego's lane?)
        for left in [!right_hand, right_hand] {
            let beside = |lane: LaneId| {
                let l = self.map.lane(lane);
                if left { l.left } else { l.right }
            };
            // A lane there now, for the merger to come in on.
            if beside(ego.lane).is_none() {
                continue;
            }
            let spot = self.route_spot_ahead(ahead, |lane, d| {
                self.closure_fits(lane, d, length, beside).is_some()
            });
            let Some((lane, d)) = spot else { continue };
            let Some((closed, mid)) = self.closure_fits(lane, d, length, beside) else {
                continue;
            };
            let body = Body {
                kind: ActorKind::StaticObstacle,
                length_m: length,
                width_m: CLOSURE_WIDTH_M,
                height_m: CLOSURE_HEIGHT_M,
                wheelbase_m: 0.0,
            };
            let closure = self.place_standing(body, closed, mid)?;
            // Signed well ahead: drivers move out of the closed lane early (and nobody moves
            // in), all but the late merger.
            self.mark_blocked(closed, mid - 0.5 * length, CLOSURE_WARN_M);
            return Some(vec![closure]);
        }
        None
    }

    /// Brings the late merger in for `closure` when the ego is [`MERGER_IN_S`] from its
    /// taper in the lane beside the closed one: the one car still in the closed lane near
    /// the ego (from [`MERGER_BEHIND_M`] behind it to level with it: it stays there), or,
    /// where the closed lane round the ego has emptied, a car brought in on it behind the
    /// ego; `None` (nothing done) otherwise.
    pub(super) fn bring_late_merger(&mut self, closure: u32, gap_m: f64) -> Option<u32> {
        let e = self.ego?;
        let (ego, c) = (&self.actors[e as usize], &self.actors[closure as usize]);
        if !ego.alive || ego.speed_mps < 8.0 || ego.lane_change.is_some() {
            return None;
        }
        let (sin, cos) = ego.pose.heading_rad.sin_cos();
        let (dx, dy) = (c.pose.x_m - ego.pose.x_m, c.pose.y_m - ego.pose.y_m);
        // (Straight-line: short on curves.)
        let to_taper = if dx * cos + dy * sin > 0.0 {
            dx.hypot(dy) - 0.5 * c.body.length_m
        } else {
            -1.0
        };
        if !MERGER_IN_S.contains(&(to_taper / ego.speed_mps)) {
            return None;
        }
        // The closed lane: the lane beside the ego that has been signed (on the kerb side
        // where both have).
        let l = self.map.lane(ego.lane);
        let right_hand = self.net.traffic_side == roadworld_road::TrafficSide::Right;
        let mut sides = [(true, l.left), (false, l.right)];
        if right_hand {
            sides.reverse();
        }
        let (left, x) = sides.into_iter().find_map(|(left, x)| {
            x.filter(|x| self.blocked_m[x.index()] > 0.0)
                .map(|x| (left, x))
        })?;
        let xl = self.map.lane(x);
        if xl.junction.is_some() {
            return None;
        }
        // Who is on it (or the lanes before and after it) from behind the merger's place to
        // ahead of the ego, along the ego's heading.
        let along = |j: u32| {
            let o = &self.actors[j as usize];
            (o.pose.x_m - ego.pose.x_m) * cos + (o.pose.y_m - ego.pose.y_m) * sin
        };
        let lanes = std::iter::once(x)
            .chain(xl.prev.iter().copied())
            .chain(xl.next.iter().copied());
        let mut near = Vec::new();
        for lane in lanes {
            // (Those moving out of it too, while they are still in the way.)
            let on = self.lists[lane.index()]
                .iter()
                .chain(&self.ghosts[lane.index()]);
            near.extend(on.copied().filter(|&j| {
                (-MERGER_BEHIND_M - MERGER_CLEAR_M..LANE_CLEAR_AHEAD_M).contains(&along(j))
            }));
        }
        let script = Script::CutIn {
            ego: e,
            from_left: left,
            gap_m,
            rel_speed_mps: LATE_REL_SPEED_MPS,
            lateral_s: MERGE_LATERAL_S,
            drifting: false,
            cut_speed_mps: None,
            quiet: true,
            late: true,
        };
        match near.as_slice() {
            // One car there, not ahead of the ego: it stays in the closed lane.
            &[j] if along(j) < 0.0
                && along(j) > -MERGER_BEHIND_M
                && self.free_to_script(j, 6.0) =>
            {
                let a = &mut self.actors[j as usize];
                a.script = Some(script);
                a.plan.clear();
                Some(j)
            }
            [] => {
                let d = xl.d_at_s(l.at(ego.d_m).s_m) - MERGER_BEHIND_M;
                let p = xl.at(d);
                if d < xl.usable_from_m.max(0.0) + 5.0 || self.in_ego_sight(p.x_m, p.y_m) {
                    return None;
                }
                let v = ego.speed_mps + MERGER_CLOSING_MPS;
                let dist = std::sync::Arc::clone(&self.driver_dist);
                let merger = self.new_actor(ActorKind::Car, x, d, false, &dist);
                let a = &mut self.actors[merger as usize];
                a.speed_mps = v;
                // Where it is now (its cut-in controller looks at poses before they are next
                // worked out).
                (a.pose.x_m, a.pose.y_m, a.pose.heading_rad) = (p.x_m, p.y_m, p.heading_rad);
                a.script = Some(script);
                self.count_density();
                Some(merger)
            }
            _ => None,
        }
    }

    /// Whether a closure is signed ahead on `lane`: nobody moves into it by choice.
    pub(super) fn signed_closed(&self, lane: LaneId) -> bool {
        self.blocked_m[lane.index()] > super::events::OBSTACLE_LOOKAHEAD_M
    }

    /// Where the closure goes if the ego's way is at `d` on `lane`: the lane `beside` it and
    /// the closure's middle there, where that lane (outside junctions) has room for it, for
    /// [`ROOM_AFTER_M`] after it, and for [`ROOM_BEFORE_M`] before it unless the lane goes on
    /// from one before it.
    fn closure_fits(
        &self,
        lane: LaneId,
        d: f64,
        length: f64,
        beside: impl Fn(LaneId) -> Option<LaneId>,
    ) -> Option<(LaneId, f64)> {
        let l = self.map.lane(lane);
        let x = beside(lane)?;
        let xl = self.map.lane(x);
        if l.junction.is_some() || xl.junction.is_some() {
            return None;
        }
        // The closure's rear (the start of the taper) level with the spot.
        let rear = xl.d_at_s(l.at(d).s_m);
        let fed = xl.prev.iter().any(|&p| self.map.lane(p).junction.is_none());
        let before = if fed { 10.0 } else { ROOM_BEFORE_M };
        let fits = rear - before >= xl.usable_from_m.max(0.0)
            && rear + length + ROOM_AFTER_M <= xl.usable_to_m.min(xl.length_m);
        fits.then_some((x, rear + 0.5 * length))
    }
}
