//! Bevy-free 3-D scenery for roadworld: what the renderer draws, as plain data.
//!
//! - [`frame`]: the world frame (the road model's, f64) and the render frame (Bevy's axes,
//!   f32, relative to a scene origin), and the one conversion between them.
//! - [`mesh`]: triangle meshes per [`mesh::Material`] and per square tile (so a renderer can
//!   cull), built from world-frame polygons.
//! - [`scenery`]: every static mesh of a road network (surfaces, markings, curbs, crosswalks,
//!   islands, parapets, terrain, roadside objects, signals).
//! - [`camera`]: lenses, camera mounts and rigs, projection, and the documented conventions
//!   frames are written with.
//!
//! Nothing here depends on Bevy, so the geometry and the camera maths are tested in seconds;
//! the `render` crate turns these into Bevy meshes and cameras.

pub mod camera;
pub mod frame;
pub mod mesh;
pub mod scenery;

pub use camera::{Camera, Lens, Rig, RigKind};
pub use frame::RenderFromWorld;
pub use mesh::{Chunk, Material, MeshBuilder, TriMesh};
pub use scenery::{Scenery, SceneryOptions};
