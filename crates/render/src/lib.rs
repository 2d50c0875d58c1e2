//! Bevy rendering of roadworld scenes, headless on any Vulkan device including Mesa's CPU
//! driver (lavapipe).
//!
//! - [`convert`]: scenery chunks into Bevy meshes and materials; OpenCV camera poses into Bevy
//!   transforms (the only place the two conventions meet).
//! - [`headless`]: a windowless Bevy app driven frame by frame; every camera renders into an
//!   image that is read back for every frame, in order, checked.
//! - [`capture`]: PNG encoding on worker threads with fast compression.
//! - [`job`]: `roadworld render`: roll the world forward, film it from the ego's rig, write
//!   frames with their camera metadata.
//!
//! The geometry and the camera maths live in the Bevy-free `roadworld-scene3d` crate.

pub mod capture;
pub mod convert;
pub mod headless;
pub mod job;
pub mod look;

pub use headless::{Frame, RenderError, RenderOptions, Renderer};
pub use look::Look;
