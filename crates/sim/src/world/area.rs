//! Vehicles kept round the ego (`TrafficSpec::vehicles_within_m`).
//!
//! The lanes outside junctions are cut into [`AREA_PIECE_M`] pieces. Once a second the world
//! looks round the ego: vehicles farther than [`AREA_LEAVE_M`] beyond the area, out of its sight,
//! leave (unless an event has them; their junction paths and lane-change ghosts go too); the
//! density target is the spec's density over the lane length of the pieces in the area, held
//! per group (see [`GROUPS`]); and where a group holds fewer vehicles than that, new ones come
//! in on its pieces at the area's edge (within [`RING_M`] of it), out of the ego's sight, with
//! room ahead and behind, at a speed that can stop behind their leader. Vehicles still enter
//! at the network's edges inside the area.

use super::{AREA_LEAVE_M, AREA_PIECE_M, World, class_index, kind_info};
use crate::lanes::LaneId;
use rand::RngExt;

/// New vehicles come in on pieces this close to the area's edge.
const RING_M: f64 = 150.0;
/// Most vehicles that come in per look.
const SPAWNS_PER_LOOK: usize = 16;

/// A stretch of a lane outside junctions where vehicles may be placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LanePiece {
    lane: LaneId,
    d0_m: f64,
    d1_m: f64,
    /// The middle of the piece, and the lane's heading there.
    x_m: f64,
    y_m: f64,
    heading_rad: f64,
    class: u8,
}

/// The area's groups: by class, ahead of the ego or behind it, and along its heading or
/// against it. Each is held to its own share: oncoming traffic only passes through, and the
/// slower vehicles the ego overtakes gather behind it.
const GROUPS: usize = 12;

/// Which group a vehicle or piece at `(x, y)` heading `heading_rad` on a lane of `class`
/// belongs to, the ego at `ego = (x, y, heading)`.
fn group(class: usize, x: f64, y: f64, heading_rad: f64, ego: (f64, f64, f64)) -> usize {
    let (ex, ey, eh) = ego;
    let ahead = (x - ex) * eh.cos() + (y - ey) * eh.sin() >= 0.0;
    4 * class + 2 * usize::from(ahead) + usize::from((heading_rad - eh).cos() < 0.0)
}

impl World {
    /// The pieces vehicles may be placed on: lanes outside junctions, clear of their ends
    /// (and of the stop lines before junctions).
    pub(super) fn build_lane_pieces(&self) -> Vec<LanePiece> {
        let mut out = Vec::new();
        for (k, lane) in self.map.lanes.iter().enumerate() {
            if lane.junction.is_some() || lane.dead_end {
                continue;
            }
            let Some((from, to)) = self.placeable_m(lane) else {
                continue;
            };
            let n = ((to - from) / AREA_PIECE_M).ceil().max(1.0) as usize;
            let len = (to - from) / n as f64;
            for i in 0..n {
                let (d0, d1) = (from + len * i as f64, from + len * (i + 1) as f64);
                let p = lane.at(0.5 * (d0 + d1));
                out.push(LanePiece {
                    lane: LaneId(k as u32),
                    d0_m: d0,
                    d1_m: d1,
                    x_m: p.x_m,
                    y_m: p.y_m,
                    heading_rad: p.heading_rad,
                    class: class_index(lane.class) as u8,
                });
            }
        }
        out
    }

    /// The area's radius and the ego's position, where vehicles are kept round it.
    pub(super) fn vehicle_area(&self) -> Option<(f64, f64, f64)> {
        let r = self.vehicles_within_m?;
        let e = self.ego.filter(|&e| self.actors[e as usize].alive)?;
        let p = &self.actors[e as usize].pose;
        Some((r, p.x_m, p.y_m))
    }

    /// The ego's position and heading.
    fn ego_xyh(&self) -> (f64, f64, f64) {
        let p = &self.actors[self.ego.unwrap_or_default() as usize].pose;
        (p.x_m, p.y_m, p.heading_rad)
    }

    /// Once a second with an area round the ego: those left behind leave, the target is
    /// the area's, and new vehicles come in at its edge.
    pub(super) fn maintain_vehicle_area(&mut self) {
        let Some((r, ex, ey)) = self.vehicle_area() else {
            return;
        };
        let dist = |x: f64, y: f64| (x - ex).hypot(y - ey);
        for i in 0..self.actors.len() {
            let a = &self.actors[i];
            if a.alive
                && !a.ego
                && a.script.is_none()
                && dist(a.pose.x_m, a.pose.y_m) > r + AREA_LEAVE_M
                && !self.in_ego_sight(a.pose.x_m, a.pose.y_m)
            {
                self.despawn(i as u32);
            }
        }
        let (ring, target) = self.look_round_vehicle_area();
        self.count_density();
        // Those in the area by group.
        let ego = self.ego_xyh();
        let mut count = [0usize; GROUPS];
        for a in &self.actors {
            let l = self.map.lane(a.lane);
            if a.alive
                && !a.ego
                && !a.is_mover()
                && l.junction.is_none()
                && dist(a.pose.x_m, a.pose.y_m) <= r
            {
                let p = &a.pose;
                count[group(class_index(l.class), p.x_m, p.y_m, p.heading_rad, ego)] += 1;
            }
        }
        for g in 0..GROUPS {
            let short = (target[g] - count[g] as f64).round();
            if short < 1.0 {
                continue;
            }
            let pieces: Vec<u32> = ring
                .iter()
                .copied()
                .filter(|&i| {
                    let q = &self.lane_pieces[i as usize];
                    group(q.class as usize, q.x_m, q.y_m, q.heading_rad, ego) == g
                })
                .collect();
            if pieces.is_empty() {
                continue;
            }
            let want = (short as usize).min(SPAWNS_PER_LOOK);
            let mut placed = 0;
            // A few tries each: a piece may have no room.
            for _ in 0..3 * want {
                if placed == want {
                    break;
                }
                let k = self.spawn_rng.random_range(0..pieces.len());
                let q = self.lane_pieces[pieces[k] as usize];
                let d = self.spawn_rng.random_range(q.d0_m..q.d1_m);
                if self.spawn_in_lane(q.lane, d) {
                    placed += 1;
                }
            }
            self.density.count[g / 4] += placed as u32;
        }
    }

    /// Sets the density target to the area's; returns the pieces at its edge, out of the
    /// ego's sight, and the target of each group.
    pub(super) fn look_round_vehicle_area(&mut self) -> (Vec<u32>, [f64; GROUPS]) {
        let Some((r, ex, ey)) = self.vehicle_area() else {
            return (Vec::new(), [0.0; GROUPS]);
        };
        let ego = self.ego_xyh();
        let mut target = [0.0; GROUPS];
        let mut ring: Vec<u32> = Vec::new();
        for (i, q) in self.lane_pieces.iter().enumerate() {
            let d = (q.x_m - ex).hypot(q.y_m - ey);
            if d <= r {
                let c = q.class as usize;
                target[group(c, q.x_m, q.y_m, q.heading_rad, ego)] +=
                    self.density_per_km[c] * (q.d1_m - q.d0_m) / 1000.0;
                if d >= r - RING_M && !self.in_ego_sight(q.x_m, q.y_m) {
                    ring.push(i as u32);
                }
            }
        }
        for c in 0..3 {
            self.density.target[c] = target[4 * c..4 * c + 4].iter().sum();
        }
        (ring, target)
    }

    /// A new vehicle in `lane` with its centre at `d`, out of the ego's sight, where there
    /// is room ahead and behind (ghosts of lane changes included); whether one came in.
    fn spawn_in_lane(&mut self, lane: LaneId, d: f64) -> bool {
        if self.blocked_m[lane.index()] > 0.0 {
            return false;
        }
        let l = self.map.lane(lane);
        let p = l.at(d);
        if self.in_ego_sight(p.x_m, p.y_m) {
            return false;
        }
        let (advisory, chain_m, length_m) = (l.advisory_at(d), l.chain_m, l.length_m);
        let kind = self.pick_kind();
        let len = kind_info(kind).length_m.1;
        let speed = advisory.min(kind_info(kind).max_speed_mps) * 0.9;
        // The first vehicle ahead, following the lane on for up to 300 m.
        let mut ahead = self.ahead_in_lane(lane, d, u32::MAX);
        let mut base = length_m - d;
        let mut cur = lane;
        for _ in 0..16 {
            if ahead.is_some() || base > 300.0 {
                break;
            }
            let cl = self.map.lane(cur);
            if cl.next.len() != 1 {
                break;
            }
            cur = cl.next[0];
            ahead = self
                .ahead_in_lane(cur, f64::MIN, u32::MAX)
                .map(|(rear, j)| (d + base + rear, j));
            base += self.map.lane(cur).length_m;
        }
        // Room from the new vehicle's front to its leader's rear.
        let room = ahead.map_or(f64::MAX, |(rear, _)| rear - d - 0.5 * len);
        let leader_speed = ahead.map_or(0.0, |(_, j)| self.actors[j as usize].speed_mps);
        if room < 3.0 + speed * 1.6 {
            return false;
        }
        // Room behind: its follower keeps its headway and can slow to its speed.
        if let Some((front, j)) = self.behind_along(lane, d, u32::MAX) {
            let f = &self.actors[j as usize];
            let gap = d - 0.5 * len - front;
            let closing = (f.speed_mps - speed).max(0.0);
            if gap < 5.0 + 2.0 * f.speed_mps + closing * closing / 4.0 || f.lane_change.is_some() {
                return false;
            }
        }
        let dist = std::sync::Arc::clone(&self.driver_dist);
        let idx = self.new_actor(kind, lane, d, false, &dist);
        let leader = ahead.map(|_| (room, leader_speed));
        self.set_off(idx, speed, leader, chain_m - d);
        true
    }
}
