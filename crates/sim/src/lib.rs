//! The world model of roadworld: a deterministic, fixed-step rollout of traffic on a road
//! network, for minutes on end.
//!
//! - [`lanes`]: the lane map, every driving lane sampled once in its driving direction, with
//!   the topology and junction rules drivers need (conflict zones between junction paths,
//!   signals, signs, priorities).
//! - [`drive`]: longitudinal control (the ACC model: improved IDM plus the
//!   constant-acceleration heuristic) bounded by a Krauss safe speed; lane-change blends.
//! - [`world`]: actors and the step: plans through junctions, MOBIL lane changes (mandatory
//!   ones for routes, ramps and dropped lanes), claims on junction paths with right of way,
//!   signals with the amber dilemma, density held by entering vehicles at the edges.
//!   Off the carriageway: pedestrians on sidewalks and zebra crossings (vehicles give way),
//!   cyclists on bike lanes, parked cars.
//! - [`record`]: recorded trajectories in a compact binary form.
//! - [`check`]: the invariants a rollout must keep (no collision, on the road, limits, flow,
//!   density).
//! - [`workloads`]: the benchmark scenes.
//!
//! No I/O, no wall clock, no Bevy. The same network, spec and seed give the same bytes.

#![forbid(unsafe_code)]

pub mod check;
pub mod drive;
pub mod kinds;
pub mod lanes;
pub mod record;
pub mod workloads;
pub mod world;

use std::fmt;

pub use record::{Recording, Sample};
pub use world::{Actor, ActorState, Command, Driver, EgoStatus, Snapshot, World};

/// An actor, unique in a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActorId(pub u32);

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actor {}", self.0)
    }
}

/// Light and state bits of a recorded sample.
pub mod flags {
    pub const INDICATOR_LEFT: u16 = 1;
    pub const INDICATOR_RIGHT: u16 = 2;
    pub const BRAKE: u16 = 4;
    pub const HEADLIGHTS: u16 = 8;
    pub const HAZARD: u16 = 16;
    /// The subject vehicle.
    pub const EGO: u16 = 32;
    /// Standing in a queue at a red light.
    pub const WAITING_AT_RED: u16 = 64;
    /// A parked car.
    pub const PARKED: u16 = 128;
    /// An emergency vehicle with its blue lights and siren on.
    pub const EMERGENCY: u16 = 256;
}

/// Why a world could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    #[error("the network has no main route to place the ego on")]
    NoRoute,
}

/// Builds the world and runs it for `seconds`, recording every step.
pub fn rollout(
    net: roadworld_road::Network,
    spec: &roadworld_spec::ScenarioSpec,
    seed: u64,
    seconds: f64,
) -> Result<Recording, SimError> {
    let mut w = World::new(net, spec, seed)?;
    let steps = (seconds / w.step_s).round() as u64;
    w.record_for(steps);
    for _ in 0..steps {
        w.step();
    }
    Ok(w.take_recording()
        .unwrap_or_else(|| unreachable!("recording was started")))
}
