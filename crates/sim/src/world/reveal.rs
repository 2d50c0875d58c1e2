//! A standing obstacle hidden by a leader: for `StoppedVehicle` and `Debris` with a
//! `reveal_m`, the ego's leader is taken over when the obstacle is laid out of sight; it
//! drives on as anyone would, but neither it nor the ego behind it can see the obstacle (the
//! leader hides it from the ego; the leader itself is not looking, so nothing warns either of
//! them), until the leader is `reveal_m` from it: then the leader swerves round it into a
//! lane beside ([`REVEAL_SWERVE_S`] of travel), or, with no room beside, brakes for it as
//! anyone would, and the ego sees it. Other drivers see the obstacle as usual.

use super::World;
use super::events::Script;
use crate::kinds::Body;
use crate::lanes::LaneId;

/// Farthest ahead of the ego (bumper to bumper) its leader may be to be taken over.
const REVEAL_LEADER_M: f64 = 100.0;
/// The revealing leader's swerve: the lane change takes this much of its travel, at least
/// [`REVEAL_SWERVE_MIN_M`].
const REVEAL_SWERVE_S: f64 = 1.8;
const REVEAL_SWERVE_MIN_M: f64 = 15.0;
/// Room the swerving leader needs in the lane beside, behind and ahead of it.
const SWERVE_ROOM_BEHIND_M: f64 = 8.0;
const SWERVE_ROOM_AHEAD_M: f64 = 5.0;
/// How far ahead along its way the leader's distance to the obstacle is looked for.
const REVEAL_LOOK_M: f64 = 600.0;

impl World {
    /// Whether `obstacle` is hidden from `viewer`.
    pub(super) fn hidden_from(&self, obstacle: u32, viewer: u32) -> bool {
        !self.hidden.is_empty() && self.hidden.contains(&(obstacle, viewer))
    }

    /// Lays a standing obstacle of `body` in the ego's lane out of its sight
    /// ([`World::place_ahead`]); with `reveal_m` > 0, only once the ego has a leader within
    /// [`REVEAL_LEADER_M`] in its lane to hide it, which is taken over.
    pub(super) fn stage_hidden(
        &mut self,
        body: Body,
        reveal_m: f64,
    ) -> Result<Option<Vec<u32>>, String> {
        if reveal_m <= 0.0 {
            return Ok(Some(vec![self.place_ahead(body)?]));
        }
        let Some(e) = self.ego.filter(|&e| self.actors[e as usize].alive) else {
            return Ok(None);
        };
        let ego = &self.actors[e as usize];
        if ego.lane_change.is_some() {
            return Ok(None);
        }
        let Some((gap, j)) = self.ahead_in_lane(ego.lane, ego.d_m, e) else {
            return Ok(None);
        };
        let gap = gap - (ego.d_m + 0.5 * ego.body.length_m);
        if gap > REVEAL_LEADER_M || !self.free_to_script(j, 13.0) {
            return Ok(None);
        }
        let obstacle = self.place_ahead(body)?;
        self.hidden.extend([(obstacle, e), (obstacle, j)]);
        self.actors[j as usize].script = Some(Script::Reveal { obstacle, reveal_m });
        Ok(Some(vec![obstacle, j]))
    }

    /// Whether the leader hiding `obstacle` shows it now: within its `reveal_m` of it, or no
    /// longer on its way to it (gone, taken another way, or past it).
    pub(super) fn reveal_due(&self, obstacle: u32, leader: u32) -> bool {
        let a = &self.actors[leader as usize];
        let Some(Script::Reveal { reveal_m, .. }) = a.script else {
            return true;
        };
        if !a.alive {
            return true;
        }
        let o = &self.actors[obstacle as usize];
        // Along its plan, then on along the main route (the ego's way, where the obstacle
        // is).
        let mut planned = a.plan.iter().copied();
        let (mut lane, mut to_start) = (a.lane, -a.d_m);
        loop {
            if lane == o.lane {
                let gap = to_start + o.d_m - 0.5 * (o.body.length_m + a.body.length_m);
                // (Past it: due.)
                return gap <= reveal_m;
            }
            if to_start > REVEAL_LOOK_M {
                return false;
            }
            to_start += self.map.lane(lane).length_m;
            match planned.next().or_else(|| self.route_next_lane(lane)) {
                Some(next) => lane = next,
                // Off the way there.
                None => return true,
            }
        }
    }

    /// The leader swerves round `obstacle` (or, with no room beside, is left to brake for it)
    /// and everyone sees it.
    pub(super) fn reveal(&mut self, obstacle: u32, leader: u32) {
        self.hidden.retain(|&(o, _)| o != obstacle);
        let a = &self.actors[leader as usize];
        if !a.alive || !matches!(a.script, Some(Script::Reveal { .. })) {
            return;
        }
        let l = self.map.lane(a.lane);
        let sides = [l.left, l.right];
        let target = sides
            .into_iter()
            .flatten()
            .find(|&t| self.swerve_room(leader, t));
        let len = (a.speed_mps * REVEAL_SWERVE_S).max(REVEAL_SWERVE_MIN_M);
        self.actors[leader as usize].script = None;
        if let Some(t) = target {
            self.start_lane_change(leader, t, len);
        }
    }

    /// Whether lane `t` beside leader `idx` has room for it to swerve into now.
    fn swerve_room(&self, idx: u32, t: LaneId) -> bool {
        let a = &self.actors[idx as usize];
        let tl = self.map.lane(t);
        if tl.junction.is_some() || self.blocked_m[t.index()] > 0.0 {
            return false;
        }
        let l = self.map.lane(a.lane);
        let d = a.d_m * tl.length_m / l.length_m.max(1e-9);
        let half = 0.5 * a.body.length_m;
        let ahead_ok = self
            .ahead_in_lane(t, d, idx)
            .is_none_or(|(rear, _)| rear - (d + half) > SWERVE_ROOM_AHEAD_M);
        let behind_ok = self
            .behind_along(t, d, idx)
            .is_none_or(|(front, _)| (d - half) - front > SWERVE_ROOM_BEHIND_M);
        tl.usable_from_m <= d - half && d + half <= tl.usable_to_m && ahead_ok && behind_ok
    }
}
