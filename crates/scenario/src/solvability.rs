//! Solvability: can the ego escape an event by an evasive manoeuvre within its limits?
//!
//! From the moment the event acts (the world forked there, see [`World::fork`]), each
//! manoeuvre of [`manoeuvres`] takes the ego over (through the sim's [`Driver`] interface)
//! and the world runs on closed loop: everyone else reacts as they would. A manoeuvre avoids
//! the event when the ego's box touches nobody's until the horizon. The search tries the
//! manoeuvres in order, mildest first, and stops at the first that works.
//!
//! Manoeuvres: hold the speed, or brake at 3, 6 m/s² or as hard as the vehicle and the road
//! allow (jerk-limited by the sim), each with no lane change, a lane change to the left or to
//! the right begun at once (as sharp as [`EVASIVE_LANE_CHANGE_S`] and the tyres allow); a lane
//! change is only tried where the lane beside exists.

use roadworld_geom::Obb;
use roadworld_sim::world::{Command, Driver};
use roadworld_sim::{Actor, World, flags};
use serde::{Deserialize, Serialize};

/// Duration asked of an evasive lane change (the sim makes it no sharper than the vehicle and
/// the friction allow).
pub const EVASIVE_LANE_CHANGE_S: f64 = 2.0;
/// Decelerations tried besides holding the speed and full braking.
const BRAKES_MPS2: [f64; 2] = [3.0, 6.0];

/// An evasive manoeuvre of the ego, begun when the event acts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Manoeuvre {
    /// Held deceleration (0: keep the speed).
    pub brake_mps2: f64,
    /// A lane change begun at once: `Some(true)` to the left.
    pub lane_change_left: Option<bool>,
}

/// The verdict on one event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Solvability {
    pub avoidable: bool,
    /// What avoids it: `None` with `avoidable` when the ego as driven touched nobody.
    pub manoeuvre: Option<Manoeuvre>,
    /// When the manoeuvres begin (the event's action).
    pub from_s: f64,
    /// Manoeuvres simulated.
    pub tried: u32,
}

/// The manoeuvres tried, in order (mildest first), for a vehicle braking at most `max_mps2`.
pub fn manoeuvres(max_mps2: f64) -> Vec<Manoeuvre> {
    let mut brakes = vec![0.0];
    brakes.extend(BRAKES_MPS2.iter().copied().filter(|&b| b < max_mps2));
    brakes.push(max_mps2);
    let mut out = Vec::new();
    for lane_change_left in [None, Some(true), Some(false)] {
        for &brake_mps2 in &brakes {
            out.push(Manoeuvre {
                brake_mps2,
                lane_change_left,
            });
        }
    }
    out
}

struct Evade {
    m: Manoeuvre,
    asked: bool,
}

impl Driver for Evade {
    fn command(&mut self, _: &World, _: &Actor) -> Option<Command> {
        let lane_change_left = if self.asked {
            None
        } else {
            self.m.lane_change_left
        };
        self.asked = true;
        Some(Command {
            accel_mps2: -self.m.brake_mps2,
            lane_change_left,
            lane_change_duration_s: Some(EVASIVE_LANE_CHANGE_S),
        })
    }
}

/// Whether the ego's box touches another road user's now.
fn ego_touches(w: &World) -> bool {
    let snap = w.snapshot();
    let Some(e) = snap.actors.iter().find(|a| a.flags & flags::EGO != 0) else {
        return false;
    };
    let eb = Obb::new(e.x_m, e.y_m, e.heading_rad, e.length_m, e.width_m);
    snap.actors.iter().any(|o| {
        o.id != e.id
            && (o.x_m - e.x_m).abs() < 30.0
            && (o.y_m - e.y_m).abs() < 30.0
            && eb.overlaps(&Obb::new(
                o.x_m,
                o.y_m,
                o.heading_rad,
                o.length_m,
                o.width_m,
            ))
    })
}

/// Runs `m` on a copy of `at` for `horizon_s`: `Some(true)` when the ego touches nobody,
/// `None` when the manoeuvre cannot be driven there (no lane on that side).
pub fn escapes(at: &mut World, m: Manoeuvre, horizon_s: f64) -> Option<bool> {
    let e = at.ego?;
    if let Some(left) = m.lane_change_left {
        let ego = &at.actors[e as usize];
        if ego.lane_change.is_some() {
            return None;
        }
        let lane = at.map.lane(ego.lane);
        // No lane on that side: not a manoeuvre here.
        (if left { lane.left } else { lane.right })?;
    }
    let mut w = at.fork();
    let mut driver = Evade { m, asked: false };
    let steps = (horizon_s / w.step_s).round() as u64;
    for _ in 0..steps {
        w.step_with(&mut driver);
        if !w.actors[e as usize].alive {
            break;
        }
        if ego_touches(&w) {
            return Some(false);
        }
    }
    Some(true)
}

/// The search from the world `at` (forked where the event acts), looking `horizon_s` ahead.
/// `collided` says whether the ego as driven touched someone during the event: when it did
/// not, the event is avoidable as driven and nothing is searched.
pub fn solve(at: &mut World, collided: bool, horizon_s: f64) -> Solvability {
    let from_s = at.time_s();
    if !collided {
        return Solvability {
            avoidable: true,
            manoeuvre: None,
            from_s,
            tried: 0,
        };
    }
    let max_mps2 = at.ego.map_or(8.0, |e| at.max_decel_at(e));
    let mut tried = 0;
    for m in manoeuvres(max_mps2) {
        match escapes(at, m, horizon_s) {
            None => {}
            Some(ok) => {
                tried += 1;
                if ok {
                    return Solvability {
                        avoidable: true,
                        manoeuvre: Some(m),
                        from_s,
                        tried,
                    };
                }
            }
        }
    }
    Solvability {
        avoidable: false,
        manoeuvre: None,
        from_s,
        tried,
    }
}
