//! The lane-level road network of roadworld: the model ([`model`]), cross-sections and lane
//! sections ([`xsection`]), the procedural generator ([`mod@generate`]), structural invariants
//! ([`invariants`]) and the queries a simulator needs ([`query`]).
//!
//! Roads follow OpenDRIVE: a reference line ([`roadworld_geom::ReferenceLine`]) with lane
//! sections; lanes are identified by signed ids (left positive); roads meet end to end or in
//! junctions through connecting roads. Ids are dense `u32`s and every list is in id order, so
//! a network is deterministic down to its bytes.

#![forbid(unsafe_code)]

pub mod generate;
pub mod invariants;
pub mod mirror;
pub mod model;
pub mod query;
pub mod xsection;

pub use generate::{GenError, generate, params::RoadParams};
pub use model::*;
