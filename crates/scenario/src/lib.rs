//! Scenarios: what makes a rollout critical, whether its events can be survived, and
//! generation aimed at a requested criticality.
//!
//! - [`criticality`]: time to collision (constant velocity and path-based), time headway,
//!   post-encroachment time, deceleration rate to avoid a crash, required deceleration,
//!   distance and collision, measured on recorded trajectories between the ego and others.

#![forbid(unsafe_code)]

pub mod criticality;
