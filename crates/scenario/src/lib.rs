//! Scenarios: what makes a rollout critical, whether its events can be survived, and
//! generation aimed at a requested criticality.
//!
//! - [`criticality`]: time to collision (constant velocity and path-based), time headway,
//!   post-encroachment time, deceleration rate to avoid a crash, required deceleration,
//!   distance and collision, measured on recorded trajectories between the ego and others.
//! - [`solvability`]: whether an evasive manoeuvre of the ego escapes an event.
//! - [`mod@generate`]: a scenario from a spec and a seed, with its summary per event.
//! - [`targeted`]: scenarios whose events land in the criticality their specs ask for.

#![forbid(unsafe_code)]

pub mod criticality;
pub mod generate;
pub mod solvability;
pub mod targeted;

pub use generate::{EventSummary, Generated, Summary, generate, generate_with};
pub use targeted::{TargetError, TargetOptions, Targeted, Try, generate_targeted};
