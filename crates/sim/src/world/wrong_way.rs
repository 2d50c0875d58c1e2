//! A wrong-way driver: a car driving down a carriageway against the direction of its lanes,
//! outside the lane lists.
//!
//! It comes into the ego's view in the ego's lane (as from round a bend or over a crest) at
//! the asked time to collision, with the stretch between them clear, and holds its lane and
//! speed. Drivers facing it in its lane see it their reaction time after it came into view:
//! they brake for it (as for something standing where they would meet it) and move over to a
//! lane beside, kerb side first; nobody changes into a lane it is coming down. It brakes as
//! hard as it can once the vehicle facing it would reach it within [`PANIC_S`], and waits
//! while one stands facing it close by (it goes on once that one has pulled round it). It
//! leaves once it is behind the ego and out of its sight, or where its lanes leave the
//! network. Where it has not come into the ego's view within
//! [`super::events::WRONG_WAY_VIEW_WAIT_S`] of coming in, the event is over unplayed.

use super::events::Script;
use super::{SPAWN_SIGHT_M, World, stream_seed};
use crate::drive::Leader;
use crate::kinds::Body;
use crate::lanes::LaneId;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use roadworld_spec::ActorKind;
use roadworld_spec::events::WrongWayDriver;

/// How far along its way its lanes are worked out, and from how far drivers facing it react.
pub const WRONG_WAY_SIGHT_M: f64 = SPAWN_SIGHT_M;
/// It brakes as hard as it can once the vehicle facing it would reach it within this
/// (both at their speeds).
pub const PANIC_S: f64 = 2.5;
/// It waits while a vehicle facing it stands this close.
const WAIT_M: f64 = 40.0;
/// How fast it gets back up to its speed.
const ACCEL_MPS2: f64 = 2.0;
/// Room kept clear round where it comes in, beyond what drivers facing it need to stop.
const CLEAR_M: f64 = 20.0;
/// Braking assumed of it and of drivers facing it when it comes in.
const COME_IN_DECEL_MPS2: f64 = 6.0;
/// Drivers see it this close whatever the speeds.
const NEAR_M: f64 = 50.0;

/// A car driving against its lanes.
#[derive(Debug, Clone, PartialEq)]
pub struct WrongWay {
    /// Its actor (scripted [`Script::WrongWay`], in no lane list); the actor's `lane` and
    /// `d_m` say where its centre is, `speed_mps` how fast it goes against the lane.
    pub actor: u32,
    /// The speed it holds.
    pub speed_mps: f64,
    /// The lanes it drives down, the one it is in first, each with the distance from the
    /// start of the first back to the start of it (`0` for the first).
    pub route: Vec<(LaneId, f64)>,
    /// Drivers facing it see it once they would reach it within this (both at their
    /// speeds), as from round a bend or over a crest.
    pub view_ttc_s: f64,
}

impl World {
    /// The lanes a wrong-way driver in `lane` drives down next (keeping its place from the
    /// right where lanes merge or split behind), over [`WRONG_WAY_SIGHT_M`] beyond `d_m`.
    fn wrong_way_route(&self, lane: LaneId, d_m: f64) -> Vec<(LaneId, f64)> {
        let mut route = vec![(lane, 0.0)];
        let mut back = 0.0;
        let mut cur = lane;
        while back < WRONG_WAY_SIGHT_M + 50.0 - d_m && route.len() < 16 {
            let l = self.map.lane(cur);
            let Some(prev) = l.prev.iter().copied().min_by_key(|&q| {
                let ql = self.map.lane(q);
                ((ql.lane.lane.abs() - l.lane.lane.abs()).abs(), q)
            }) else {
                break;
            };
            back += self.map.lane(prev).length_m;
            route.push((prev, back));
            cur = prev;
        }
        route
    }

    /// Gap from a front at `front_d` in `lane` (along the lane's direction) to the front of
    /// the wrong-way car whose centre is at `d_m` of the first lane of `route` (`length_m`
    /// long), if `lane` is on its way.
    fn gap_facing(
        route: &[(LaneId, f64)],
        d_m: f64,
        length_m: f64,
        lane: LaneId,
        front_d: f64,
    ) -> Option<f64> {
        let &(_, back) = route.iter().find(|(l, _)| *l == lane)?;
        Some(d_m - 0.5 * length_m + back - front_d)
    }

    /// A wrong-way car comes down the ego's lane from out of its sight, at least far enough
    /// away that its time to collision with the ego is over the asked one, on a stretch with
    /// nobody close to it in that lane.
    pub(super) fn stage_wrong_way(&mut self, p: &WrongWayDriver) -> Option<Vec<u32>> {
        let e = self.ego?;
        let ego = &self.actors[e as usize];
        if !ego.alive || ego.speed_mps < 5.0 || ego.lane_change.is_some() {
            return None;
        }
        let mut rng =
            ChaCha8Rng::seed_from_u64(stream_seed(self.seed, 0x3A0B_0000 + self.next_id as u64));
        let body = Body::sample(ActorKind::Car, &mut rng);
        let v = p.speed_mps.mean();
        let ttc = p.ttc_s.mean();
        let ahead = (SPAWN_SIGHT_M + 20.0).max(ttc * (ego.speed_mps + v) + 60.0);
        let (lane, d) = self.route_spot_ahead(ahead, |lane, d| {
            let l = self.map.lane(lane);
            l.junction.is_none()
                && d >= l.usable_from_m.max(0.0) + body.length_m
                && d <= l.usable_to_m.min(l.length_m) - body.length_m
                && self.room_to_come_in(lane, d, &body, v)
        })?;
        let route = self.wrong_way_route(lane, d);
        let dist = std::sync::Arc::clone(&self.driver_dist);
        let idx = self.new_actor(ActorKind::Car, lane, d, false, &dist);
        self.remove_from_list(lane, idx);
        let k = self.wrong_way.len() as u32;
        let a = &mut self.actors[idx as usize];
        a.body = body;
        a.speed_mps = v;
        a.script = Some(Script::WrongWay { k });
        self.wrong_way.push(WrongWay {
            actor: idx,
            speed_mps: v,
            route,
            view_ttc_s: ttc,
        });
        self.count_density();
        Some(vec![idx])
    }

    /// Whether a wrong-way car of `body` at `speed_mps` can come in at `d_m` of `lane`:
    /// nobody there, and everyone facing it far enough away to see it, react and stop (both
    /// braking hard) before they meet.
    fn room_to_come_in(&self, lane: LaneId, d_m: f64, body: &Body, speed_mps: f64) -> bool {
        let route = self.wrong_way_route(lane, d_m);
        route.iter().all(|&(rl, _)| {
            self.lists[rl.index()]
                .iter()
                .chain(&self.ghosts[rl.index()])
                .all(|&j| {
                    let o = &self.actors[j as usize];
                    let od = self.d_in_lane(j, rl);
                    let Some(g) = Self::gap_facing(
                        &route,
                        d_m,
                        body.length_m,
                        rl,
                        od + 0.5 * o.body.length_m,
                    ) else {
                        return true;
                    };
                    let v = o.speed_mps;
                    let stop = v * (o.driver.reaction_s + 0.5)
                        + (v * v + speed_mps * speed_mps) / (2.0 * COME_IN_DECEL_MPS2);
                    // Behind it (going its way, away from it) or far enough ahead.
                    g < -(body.length_m + o.body.length_m + CLEAR_M) || g > stop + CLEAR_M
                })
        })
    }

    /// Whether wrong-way car `k` is coming at the ego in its lane, within its asked time to
    /// collision (both at their speeds): the event acts.
    pub(super) fn wrong_way_in_view(&self, k: usize) -> bool {
        let Some(e) = self.ego.filter(|&e| self.actors[e as usize].alive) else {
            return false;
        };
        let (w, a) = (&self.wrong_way[k], &self.actors[e as usize]);
        let o = &self.actors[w.actor as usize];
        o.alive
            && Self::gap_facing(
                &w.route,
                o.d_m,
                o.body.length_m,
                a.lane,
                a.d_m + 0.5 * a.body.length_m,
            )
            .is_some_and(|g| g >= 0.0 && g <= w.view_ttc_s * (a.speed_mps + o.speed_mps))
    }

    /// Where actor `j` (in `lane`'s list or changing out of it) is along `lane`.
    fn d_in_lane(&self, j: u32, lane: LaneId) -> f64 {
        let o = &self.actors[j as usize];
        match o.lane_change {
            Some(lc) if o.lane != lane && lc.from == lane => o.d_m + lc.from_offset_m,
            _ => o.d_m,
        }
    }

    /// Wrong-way cars move on by `dt`: each holds its speed, or brakes as hard as it can for
    /// a vehicle facing it that would reach it within [`PANIC_S`] and waits while one stands
    /// facing it close by; into the next lane of its way at a lane's start, out of the network
    /// where there is none, gone once behind the ego and out of its sight.
    pub(super) fn drive_wrong_way(&mut self, dt: f64) {
        for k in 0..self.wrong_way.len() {
            let idx = self.wrong_way[k].actor;
            if !self.actors[idx as usize].alive {
                continue;
            }
            let (v, d) = {
                let a = &self.actors[idx as usize];
                (a.speed_mps, a.d_m)
            };
            let facing = self.facing_wrong_way(k);
            let max_decel = self.max_decel_at(idx);
            let acc = match facing {
                Some((g, vo)) if g < WAIT_M || g < (v + vo) * PANIC_S => -max_decel,
                _ => ((self.wrong_way[k].speed_mps - v) / 1.0).clamp(-3.0, ACCEL_MPS2),
            };
            let nv = (v + acc * dt).max(0.0);
            let mut nd = d - 0.5 * (v + nv) * dt;
            let mut lane = self.actors[idx as usize].lane;
            // Into the next lane of its way once its centre is past this one's start.
            let mut route_at = 1;
            while nd < 0.0 {
                let Some(&(prev, _)) = self.wrong_way[k].route.get(route_at) else {
                    break;
                };
                lane = prev;
                nd += self.map.lane(prev).length_m;
                route_at += 1;
            }
            if nd < 0.0 {
                // Its lanes leave the network.
                self.despawn(idx);
                continue;
            }
            self.wrong_way[k].route = self.wrong_way_route(lane, nd);
            let a = &mut self.actors[idx as usize];
            a.lane = lane;
            a.d_m = nd;
            a.speed_mps = nv;
            a.accel_mps2 = acc.max(-v / dt);
        }
    }

    /// The nearest vehicle facing wrong-way car `k` in its lanes (in them or still partly in
    /// them while changing out): its gap, front to front, and its speed.
    fn facing_wrong_way(&self, k: usize) -> Option<(f64, f64)> {
        let w = &self.wrong_way[k];
        let a = &self.actors[w.actor as usize];
        let mut best: Option<(f64, f64)> = None;
        for &(rl, _) in &w.route {
            for &j in self.lists[rl.index()]
                .iter()
                .chain(&self.ghosts[rl.index()])
            {
                let o = &self.actors[j as usize];
                if !o.alive {
                    continue;
                }
                let front = self.d_in_lane(j, rl) + 0.5 * o.body.length_m;
                let Some(g) = Self::gap_facing(&w.route, a.d_m, a.body.length_m, rl, front) else {
                    continue;
                };
                if g > -(a.body.length_m + o.body.length_m) && best.is_none_or(|b| g < b.0) {
                    best = Some((g, o.speed_mps));
                }
            }
        }
        best
    }

    /// The nearest wrong-way car driver `idx` has seen coming down `lane` towards a front at
    /// `front_d` within [`WRONG_WAY_SIGHT_M`]: its gap and speed.
    fn wrong_way_towards(&self, idx: u32, lane: LaneId, front_d: f64) -> Option<(f64, f64)> {
        let a = &self.actors[idx as usize];
        let mut best: Option<(f64, f64)> = None;
        for w in &self.wrong_way {
            let o = &self.actors[w.actor as usize];
            if !o.alive || w.actor == idx {
                continue;
            }
            let Some(g) = Self::gap_facing(&w.route, o.d_m, o.body.length_m, lane, front_d) else {
                continue;
            };
            // Seen, a reaction time ago.
            let closing = a.speed_mps + o.speed_mps;
            if g > -(a.body.length_m + o.body.length_m)
                && g < WRONG_WAY_SIGHT_M
                && g <= ((w.view_ttc_s - a.driver.reaction_s).max(0.0) * closing).max(NEAR_M)
                && best.is_none_or(|b| g < b.0)
            {
                best = Some((g, o.speed_mps));
            }
        }
        best
    }

    /// A wrong-way car coming at driver `idx` in its lane, as a leader standing where they
    /// would meet (driving on at their speeds), with room to pull round it.
    pub(super) fn wrong_way_leader(&self, idx: u32) -> Option<Leader> {
        if self.wrong_way.is_empty() {
            return None;
        }
        let meet = self.wrong_way_room(idx);
        if meet == f64::MAX {
            return None;
        }
        let a = &self.actors[idx as usize];
        Some(Leader::standing(
            (meet - super::min_lane_change_for(&a.body) - 2.0).max(0.1),
        ))
    }

    /// Room driver `idx` has before it would meet a wrong-way car coming at it in its lane
    /// (both driving on at their speeds), front to front; unbounded when none.
    pub(super) fn wrong_way_room(&self, idx: u32) -> f64 {
        if self.wrong_way.is_empty() {
            return f64::MAX;
        }
        let a = &self.actors[idx as usize];
        self.wrong_way_towards(idx, a.lane, a.d_m + 0.5 * a.body.length_m)
            .map_or(f64::MAX, |(g, vw)| {
                let v = a.speed_mps.max(0.5);
                g * v / (v + vw)
            })
    }

    /// The side driver `idx` moves over to for a wrong-way car coming at it in its lane
    /// (`Some(false)`: right; the kerb side where there is a lane, else the other).
    pub(super) fn evade_wrong_way(&self, idx: u32) -> Option<bool> {
        if self.wrong_way.is_empty() {
            return None;
        }
        let a = &self.actors[idx as usize];
        self.wrong_way_towards(idx, a.lane, a.d_m + 0.5 * a.body.length_m)?;
        let l = self.map.lane(a.lane);
        // A lane beside that is wide enough here and a little further on.
        let usable = |side: Option<LaneId>| {
            side.is_some_and(|x| {
                let xl = self.map.lane(x);
                let d = a.d_m * xl.length_m / l.length_m.max(1e-9);
                let need = super::MIN_USABLE_WIDTH_M.max(a.body.width_m + 0.6);
                [d, d + 20.0]
                    .iter()
                    .all(|&dd| xl.width_at(dd.min(xl.length_m)) >= need)
            })
        };
        let right_hand = self.net.traffic_side == roadworld_road::TrafficSide::Right;
        let (kerb, other) = if right_hand {
            ((l.right, false), (l.left, true))
        } else {
            ((l.left, true), (l.right, false))
        };
        [kerb, other]
            .into_iter()
            .find(|&(side, _)| usable(side))
            .map(|(_, dir)| dir)
    }

    /// Whether driver `idx` would put itself in a wrong-way car's way by changing into
    /// `lane` with its front at `front_d`.
    pub(super) fn wrong_way_in(&self, idx: u32, lane: LaneId, front_d: f64) -> bool {
        !self.wrong_way.is_empty() && self.wrong_way_towards(idx, lane, front_d).is_some()
    }

    /// Whether a wrong-way car comes down `lane` (within [`WRONG_WAY_SIGHT_M`]).
    pub(super) fn wrong_way_on(&self, lane: LaneId) -> bool {
        self.wrong_way
            .iter()
            .any(|w| self.actors[w.actor as usize].alive && w.route.iter().any(|&(l, _)| l == lane))
    }

    /// Poses of the wrong-way cars: along their lane, facing against it.
    pub(super) fn wrong_way_poses(&mut self) {
        for k in 0..self.wrong_way.len() {
            let idx = self.wrong_way[k].actor;
            let a = &self.actors[idx as usize];
            if !a.alive {
                continue;
            }
            let p = self.map.lane(a.lane).at(a.d_m);
            let (x, y) = (p.x_m, p.y_m);
            // Behind the ego and out of its sight.
            let gone = self.ego.is_some_and(|e| {
                let ep = &self.actors[e as usize].pose;
                let (sin, cos) = ep.heading_rad.sin_cos();
                (x - ep.x_m) * cos + (y - ep.y_m) * sin < 0.0 && !self.in_ego_sight(x, y)
            });
            let headlights = self.headlights;
            let a = &mut self.actors[idx as usize];
            a.pose = super::ActorPose {
                x_m: x,
                y_m: y,
                z_m: p.z_m,
                heading_rad: roadworld_geom::normalize_angle(p.heading_rad + std::f64::consts::PI),
                // Driving the lane backwards, a left bend is a right one.
                yaw_rate_radps: -a.speed_mps * p.curvature_per_m,
                curvature_per_m: -p.curvature_per_m,
                s_m: p.s_m,
                t_m: p.t_m,
            };
            a.flags = if headlights {
                crate::flags::HEADLIGHTS
            } else {
                0
            };
            if gone {
                self.despawn(idx);
            }
        }
    }
}
