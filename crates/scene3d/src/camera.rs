//! Cameras and rigs, and the conventions frames are written with.
//!
//! **Conventions** (also in every `rig.json`):
//! - *World frame*: the road network's (OpenDRIVE file): `x` east, `y` north, `z` up, metres.
//! - *Vehicle frame* (ISO 8855): origin on the ground under the vehicle's reference point
//!   (the centre of its box, as recorded in trajectories), `x` forward, `y` left, `z` up. It
//!   turns with the vehicle's heading only (no pitch or roll).
//! - *Camera frame* (OpenCV): origin at the optical centre, `x` right, `y` down, `z` along the
//!   optical axis.
//! - *Pixels*: `(u, v)` with `(0, 0)` the top-left corner of the top-left pixel; the centre of
//!   pixel `(i, j)` is `(i + 0.5, j + 0.5)`.
//! - *Pinhole*: `u = fx * x / z + cx`, `v = fy * y / z + cy`, for points with `z > 0`.
//! - *Orthographic* (top-down): `u = px_per_m * x + cx`, `v = px_per_m * y + cy`.
//! - Transforms are 4x4 row-major matrices named `a_from_b`: they map coordinates in frame `b`
//!   to frame `a`.

use nalgebra::{
    Isometry3, Matrix3, Matrix4, Point2, Point3, Rotation3, Translation3, UnitQuaternion, Vector3,
};
use serde::{Deserialize, Serialize};

/// How a camera maps its frame to pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Lens {
    /// A pinhole camera without distortion.
    Pinhole {
        width_px: u32,
        height_px: u32,
        fx_px: f64,
        fy_px: f64,
        cx_px: f64,
        cy_px: f64,
    },
    /// A parallel projection along the optical axis.
    Orthographic {
        width_px: u32,
        height_px: u32,
        px_per_m: f64,
        cx_px: f64,
        cy_px: f64,
    },
}

impl Lens {
    /// A centred pinhole with square pixels and horizontal field of view `hfov_rad`.
    pub fn pinhole(width_px: u32, height_px: u32, hfov_rad: f64) -> Self {
        let f = 0.5 * width_px as f64 / (0.5 * hfov_rad).tan();
        Lens::Pinhole {
            width_px,
            height_px,
            fx_px: f,
            fy_px: f,
            cx_px: 0.5 * width_px as f64,
            cy_px: 0.5 * height_px as f64,
        }
    }

    /// A centred orthographic view `extent_m` wide.
    pub fn orthographic(width_px: u32, height_px: u32, extent_m: f64) -> Self {
        Lens::Orthographic {
            width_px,
            height_px,
            px_per_m: width_px as f64 / extent_m,
            cx_px: 0.5 * width_px as f64,
            cy_px: 0.5 * height_px as f64,
        }
    }

    /// Image size in pixels.
    pub fn size_px(&self) -> (u32, u32) {
        match *self {
            Lens::Pinhole {
                width_px,
                height_px,
                ..
            }
            | Lens::Orthographic {
                width_px,
                height_px,
                ..
            } => (width_px, height_px),
        }
    }

    /// Vertical field of view of a pinhole lens (radians); `None` for orthographic ones.
    pub fn vfov_rad(&self) -> Option<f64> {
        match *self {
            Lens::Pinhole {
                height_px, fy_px, ..
            } => Some(2.0 * (0.5 * height_px as f64 / fy_px).atan()),
            Lens::Orthographic { .. } => None,
        }
    }

    /// The 3x3 intrinsic matrix `K` (for orthographic lenses: the affine map of `(x, y, 1)`).
    pub fn k(&self) -> Matrix3<f64> {
        match *self {
            Lens::Pinhole {
                fx_px,
                fy_px,
                cx_px,
                cy_px,
                ..
            } => Matrix3::new(fx_px, 0.0, cx_px, 0.0, fy_px, cy_px, 0.0, 0.0, 1.0),
            Lens::Orthographic {
                px_per_m,
                cx_px,
                cy_px,
                ..
            } => Matrix3::new(px_per_m, 0.0, cx_px, 0.0, px_per_m, cy_px, 0.0, 0.0, 1.0),
        }
    }

    /// Pixel position of a point in the camera frame; `None` behind a pinhole camera.
    pub fn project(&self, p_in_camera: Point3<f64>) -> Option<Point2<f64>> {
        let p = p_in_camera;
        let q = match self {
            Lens::Pinhole { .. } if p.z > 1e-6 => Vector3::new(p.x / p.z, p.y / p.z, 1.0),
            Lens::Pinhole { .. } => return None,
            Lens::Orthographic { .. } => Vector3::new(p.x, p.y, 1.0),
        };
        let uv = self.k() * q;
        Some(Point2::new(uv.x, uv.y))
    }
}

/// One camera of a rig.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    /// Folder name of its frames, e.g. `front`, `front_left`.
    pub name: String,
    pub lens: Lens,
    /// Mount pose: camera frame (OpenCV) to vehicle frame (ISO 8855).
    pub vehicle_from_camera: Isometry3<f64>,
}

/// The rotation from the OpenCV camera frame to a vehicle frame for a camera looking along
/// `yaw_rad` (left of forward is positive), pitched down by `pitch_down_rad`.
pub fn vehicle_from_camera_rotation(yaw_rad: f64, pitch_down_rad: f64) -> UnitQuaternion<f64> {
    // Camera looking along vehicle +x: camera z = vehicle x, camera x = vehicle -y, camera
    // y = vehicle -z.
    let looking_forward = Rotation3::from_matrix_unchecked(Matrix3::new(
        0.0, 0.0, 1.0, //
        -1.0, 0.0, 0.0, //
        0.0, -1.0, 0.0,
    ));
    let yaw = Rotation3::from_axis_angle(&Vector3::z_axis(), yaw_rad);
    // Pitching down turns forward towards -z: a positive rotation about the vehicle's +y.
    let pitch = Rotation3::from_axis_angle(&Vector3::y_axis(), pitch_down_rad);
    UnitQuaternion::from_rotation_matrix(&(yaw * pitch * looking_forward))
}

impl Camera {
    /// A camera mounted at `(x, y, z)` in the vehicle frame.
    pub fn mounted(
        name: &str,
        lens: Lens,
        at_m: [f64; 3],
        yaw_rad: f64,
        pitch_down_rad: f64,
    ) -> Self {
        Self {
            name: name.to_string(),
            lens,
            vehicle_from_camera: Isometry3::from_parts(
                Translation3::new(at_m[0], at_m[1], at_m[2]),
                vehicle_from_camera_rotation(yaw_rad, pitch_down_rad),
            ),
        }
    }

    /// Pixel position of a world point seen from a vehicle at `world_from_vehicle`.
    pub fn project(
        &self,
        world_from_vehicle: &Isometry3<f64>,
        p_in_world: Point3<f64>,
    ) -> Option<Point2<f64>> {
        let camera_from_world = (world_from_vehicle * self.vehicle_from_camera).inverse();
        self.lens.project(camera_from_world * p_in_world)
    }
}

/// The vehicle frame of a vehicle at `(x, y, z)` with `heading_rad`.
pub fn world_from_vehicle(x_m: f64, y_m: f64, z_m: f64, heading_rad: f64) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::new(x_m, y_m, z_m),
        UnitQuaternion::from_axis_angle(&Vector3::z_axis(), heading_rad),
    )
}

/// A set of cameras on one vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rig {
    pub name: String,
    pub cameras: Vec<Camera>,
}

/// The rigs `roadworld render --rig` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RigKind {
    /// One forward camera behind the windscreen.
    Front,
    /// Six cameras around the roof, laid out like nuScenes'.
    Surround,
    /// A top-down orthographic camera over the vehicle.
    Bev,
}

impl RigKind {
    /// Parses `front`, `surround` or `bev`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "front" => Some(Self::Front),
            "surround" => Some(Self::Surround),
            "bev" => Some(Self::Bev),
            _ => None,
        }
    }

    /// The name used on the command line and in `rig.json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Front => "front",
            Self::Surround => "surround",
            Self::Bev => "bev",
        }
    }
}

/// Front camera mount: behind the windscreen's top, 1.5 m up, looking 2 degrees down.
pub const FRONT_MOUNT_M: [f64; 3] = [0.6, 0.0, 1.5];

impl Rig {
    /// The rig of `kind` at `width x height` pixels; `hfov_rad` sets the front camera's field
    /// of view (the surround rig keeps nuScenes' fields of view, the BEV camera spans
    /// `bev_extent_m`).
    pub fn new(
        kind: RigKind,
        width_px: u32,
        height_px: u32,
        hfov_rad: f64,
        bev_extent_m: f64,
    ) -> Self {
        let deg = f64::to_radians;
        let cameras = match kind {
            RigKind::Front => vec![Camera::mounted(
                "front",
                Lens::pinhole(width_px, height_px, hfov_rad),
                FRONT_MOUNT_M,
                0.0,
                deg(2.0),
            )],
            RigKind::Surround => {
                // nuScenes: six cameras on the roof; 70 degree lenses, 110 at the back.
                let roof = 1.6;
                [
                    ("front", [1.7, 0.0], 0.0, 70.0),
                    ("front_right", [1.5, -0.5], -55.0, 70.0),
                    ("back_right", [-0.8, -0.5], -110.0, 70.0),
                    ("back", [-1.1, 0.0], 180.0, 110.0),
                    ("back_left", [-0.8, 0.5], 110.0, 70.0),
                    ("front_left", [1.5, 0.5], 55.0, 70.0),
                ]
                .into_iter()
                .map(|(name, [x, y], yaw, fov)| {
                    Camera::mounted(
                        name,
                        Lens::pinhole(width_px, height_px, deg(fov)),
                        [x, y, roof],
                        deg(yaw),
                        0.0,
                    )
                })
                .collect()
            }
            RigKind::Bev => vec![Camera::mounted(
                "bev",
                Lens::orthographic(width_px, height_px, bev_extent_m),
                [0.0, 0.0, 100.0],
                0.0,
                deg(90.0),
            )],
        };
        Rig {
            name: kind.name().to_string(),
            cameras,
        }
    }
}

/// A 4x4 matrix as rows, for JSON.
pub fn rows(m: &Matrix4<f64>) -> [[f64; 4]; 4] {
    let mut out = [[0.0; 4]; 4];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = m[(i, j)];
        }
    }
    out
}

/// A 3x3 matrix as rows, for JSON.
pub fn rows3(m: &Matrix3<f64>) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = m[(i, j)];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_front_camera_sees_the_road_ahead_below_the_horizon_and_left_on_the_left() {
        let rig = Rig::new(RigKind::Front, 640, 360, 90f64.to_radians(), 60.0);
        let cam = &rig.cameras[0];
        let ego = world_from_vehicle(100.0, 50.0, 2.0, std::f64::consts::FRAC_PI_2);
        // 30 m ahead (north), on the ground: below the image centre, centred.
        let p = cam
            .project(&ego, Point3::new(100.0, 80.6, 2.0))
            .expect("in front");
        assert!((p.x - 320.0).abs() < 1e-6, "{p}");
        assert!(p.y > 180.0);
        // Far ahead at camera height, 2 degrees down: just above the centre.
        let far = cam
            .project(&ego, Point3::new(100.0, 1e5, 3.5))
            .expect("in front");
        let f = 320.0; // 90 degree lens on 640 pixels
        assert!(
            (far.y - (180.0 - f * 2f64.to_radians().tan())).abs() < 0.1,
            "{far}"
        );
        // West of a north-bound car is its left: small u.
        let left = cam
            .project(&ego, Point3::new(95.0, 80.0, 2.0))
            .expect("in front");
        assert!(left.x < 320.0);
        // Behind: not visible.
        assert!(cam.project(&ego, Point3::new(100.0, 20.0, 2.0)).is_none());
    }

    #[test]
    fn the_surround_rig_covers_every_direction_and_the_bev_looks_down_with_forward_up() {
        let rig = Rig::new(RigKind::Surround, 800, 450, 1.0, 60.0);
        let ego = world_from_vehicle(0.0, 0.0, 0.0, 0.3);
        for k in 0..36 {
            let a = 0.3 + std::f64::consts::TAU * k as f64 / 36.0;
            let p = Point3::new(40.0 * a.cos(), 40.0 * a.sin(), 1.6);
            let seen = rig.cameras.iter().filter(|c| {
                c.project(&ego, p)
                    .is_some_and(|q| (0.0..800.0).contains(&q.x) && (0.0..450.0).contains(&q.y))
            });
            assert!(seen.count() >= 1, "direction {k} unseen");
        }
        let bev = &Rig::new(RigKind::Bev, 400, 400, 1.0, 40.0).cameras[0];
        let ego = world_from_vehicle(10.0, 10.0, 0.0, 0.0);
        let ahead = bev
            .project(&ego, Point3::new(20.0, 10.0, 0.0))
            .expect("ortho");
        let left = bev
            .project(&ego, Point3::new(10.0, 20.0, 0.0))
            .expect("ortho");
        // Forward is up in the image, left is left; 10 m is 100 pixels.
        assert!(
            (ahead.x - 200.0).abs() < 1e-6 && (ahead.y - 100.0).abs() < 1e-6,
            "{ahead}"
        );
        assert!(
            (left.x - 100.0).abs() < 1e-6 && (left.y - 200.0).abs() < 1e-6,
            "{left}"
        );
    }

    #[test]
    fn lenses_round_trip_through_json() {
        let rig = Rig::new(RigKind::Surround, 320, 180, 1.2, 50.0);
        let text = serde_json::to_string(&rig).expect("serialises");
        let back: Rig = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, rig);
        assert!(text.contains("\"model\":\"pinhole\""));
    }
}
