//! The render frame and the one place where world coordinates (f64) become render
//! coordinates (f32).
//!
//! - **World frame**: the road model's, as in the OpenDRIVE file: `x` east, `y` north, `z` up,
//!   metres, f64.
//! - **Render frame**: Bevy's convention, `x` east, `y` up, `z` south, metres, f32, relative to
//!   a scene origin. Subtracting the origin before the cast keeps centimetre precision however
//!   far the scene lies from the world origin (an f32 alone has 4 mm steps at 50 km).

use nalgebra::{Matrix3, Point3, Rotation3, Vector3};
use serde::{Deserialize, Serialize};

/// The transform from world to render coordinates: a translation by `-origin`, then the
/// axis change `(x, y, z) -> (x, z, -y)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RenderFromWorld {
    /// Where the render frame's origin lies in the world frame.
    pub origin_in_world: Point3<f64>,
}

impl RenderFromWorld {
    /// A render frame centred on `origin_in_world`.
    pub fn new(origin_in_world: Point3<f64>) -> Self {
        Self { origin_in_world }
    }

    /// The rotation part (world axes to render axes).
    pub fn rotation() -> Rotation3<f64> {
        Rotation3::from_matrix_unchecked(Matrix3::new(
            1.0, 0.0, 0.0, //
            0.0, 0.0, 1.0, //
            0.0, -1.0, 0.0,
        ))
    }

    /// A world point in render coordinates.
    pub fn point(&self, p_in_world: Point3<f64>) -> [f32; 3] {
        let d = p_in_world - self.origin_in_world;
        [d.x as f32, d.z as f32, -d.y as f32]
    }

    /// A world point given as `(x, y, z)`.
    pub fn xyz(&self, x_m: f64, y_m: f64, z_m: f64) -> [f32; 3] {
        self.point(Point3::new(x_m, y_m, z_m))
    }

    /// A world direction in render coordinates.
    pub fn vector(v_in_world: Vector3<f64>) -> [f32; 3] {
        [
            v_in_world.x as f32,
            v_in_world.z as f32,
            -v_in_world.y as f32,
        ]
    }

    /// A render point back in world coordinates.
    pub fn world_point(&self, p_in_render: [f32; 3]) -> Point3<f64> {
        let [x, y, z] = p_in_render.map(f64::from);
        self.origin_in_world + Vector3::new(x, -z, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_frame_is_y_up_right_handed_and_keeps_centimetres_far_away() {
        let r = RenderFromWorld::rotation();
        assert!((r.matrix().determinant() - 1.0).abs() < 1e-12);
        // Up in the world is +y in render; north is -z.
        assert_eq!(RenderFromWorld::vector(Vector3::z()), [0.0, 1.0, 0.0]);
        assert_eq!(RenderFromWorld::vector(Vector3::y()), [0.0, 0.0, -1.0]);
        let f = RenderFromWorld::new(Point3::new(50_000.0, -48_000.0, 10.0));
        let p = Point3::new(50_123.456, -48_321.987, 12.345);
        let back = f.world_point(f.point(p));
        assert!((back - p).norm() < 1e-4, "{back} vs {p}");
        // The same point without the origin loses millimetres.
        let raw = RenderFromWorld::new(Point3::origin());
        assert!((raw.world_point(raw.point(p)) - p).norm() > 1e-4);
        // The rotation matches point().
        let v = r * (p - f.origin_in_world);
        let q = f.point(p);
        for k in 0..3 {
            assert!((v[k] as f32 - q[k]).abs() < 1e-3);
        }
    }
}
