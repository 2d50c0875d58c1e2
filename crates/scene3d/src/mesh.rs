//! Triangle meshes in the render frame, grouped by material and by square tile so a renderer
//! can cull what the camera does not see.

use crate::frame::RenderFromWorld;
use nalgebra::{Point3, Vector3};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a surface is made of; a renderer maps each to a colour and finish, and the semantic
/// labels of later frames derive from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Material {
    /// Driving lanes outside junctions.
    Asphalt,
    /// Driving surface inside junctions.
    JunctionAsphalt,
    Shoulder,
    BikeLane,
    Parking,
    /// Painted or grassy median lanes.
    Median,
    Sidewalk,
    /// Curb faces and the concrete of islands and parapets.
    Concrete,
    MarkingWhite,
    MarkingYellow,
    /// Ground around the roads.
    Grass,
    Bark,
    Foliage,
    /// Poles, guard rails, signal housings.
    Metal,
    Wall,
    Roof,
    /// Parked cars' bodies.
    CarPaint,
    /// Windows, tyres.
    DarkGlass,
    /// Sign faces.
    SignRed,
    SignWhite,
}

impl Material {
    /// Every material, in order.
    pub const ALL: [Material; 20] = [
        Material::Asphalt,
        Material::JunctionAsphalt,
        Material::Shoulder,
        Material::BikeLane,
        Material::Parking,
        Material::Median,
        Material::Sidewalk,
        Material::Concrete,
        Material::MarkingWhite,
        Material::MarkingYellow,
        Material::Grass,
        Material::Bark,
        Material::Foliage,
        Material::Metal,
        Material::Wall,
        Material::Roof,
        Material::CarPaint,
        Material::DarkGlass,
        Material::SignRed,
        Material::SignWhite,
    ];

    /// Base colour as linear-free sRGB bytes, and perceptual roughness.
    pub fn look(self) -> ([u8; 3], f32) {
        match self {
            Material::Asphalt => ([84, 84, 88], 0.9),
            Material::JunctionAsphalt => ([90, 90, 94], 0.9),
            Material::Shoulder => ([118, 118, 120], 0.9),
            Material::BikeLane => ([150, 76, 66], 0.9),
            Material::Parking => ([96, 100, 112], 0.9),
            Material::Median => ([104, 132, 88], 0.95),
            Material::Sidewalk => ([186, 180, 168], 0.95),
            Material::Concrete => ([168, 166, 160], 0.9),
            Material::MarkingWhite => ([245, 245, 245], 0.6),
            Material::MarkingYellow => ([245, 200, 40], 0.6),
            Material::Grass => ([92, 128, 70], 1.0),
            Material::Bark => ([92, 66, 46], 1.0),
            Material::Foliage => ([52, 104, 48], 1.0),
            Material::Metal => ([150, 152, 158], 0.4),
            Material::Wall => ([178, 140, 120], 0.9),
            Material::Roof => ([110, 70, 60], 0.9),
            Material::CarPaint => ([40, 80, 150], 0.35),
            Material::DarkGlass => ([24, 26, 30], 0.2),
            Material::SignRed => ([200, 24, 24], 0.5),
            Material::SignWhite => ([240, 240, 240], 0.5),
        }
    }
}

/// An indexed triangle list with per-vertex normals, in the render frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriMesh {
    pub positions: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
    /// Counter-clockwise seen from the side the normals point to.
    pub indices: Vec<u32>,
}

impl TriMesh {
    /// Number of triangles.
    pub fn triangles(&self) -> usize {
        self.indices.len() / 3
    }
}

/// A mesh of one material within one tile.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub material: Material,
    /// Tile index `(floor(x / tile), floor(y / tile))` in the world frame.
    pub tile: (i32, i32),
    pub mesh: TriMesh,
}

/// Collects world-frame polygons into per-material, per-tile meshes in the render frame.
#[derive(Debug)]
pub struct MeshBuilder {
    render_from_world: RenderFromWorld,
    tile_m: f64,
    chunks: BTreeMap<(Material, i32, i32), TriMesh>,
}

impl MeshBuilder {
    /// A builder writing in `render_from_world`'s frame, tiles of `tile_m` metres.
    pub fn new(render_from_world: RenderFromWorld, tile_m: f64) -> Self {
        Self {
            render_from_world,
            tile_m,
            chunks: BTreeMap::new(),
        }
    }

    /// A convex polygon (world frame, corners in order), its normal turned towards `facing`
    /// (world frame), or upwards if `facing` is zero.
    pub fn polygon(&mut self, m: Material, corners: &[Point3<f64>], facing: Vector3<f64>) {
        if corners.len() < 3 {
            return;
        }
        // Newell's normal: robust for slightly non-planar quads.
        let mut n = Vector3::zeros();
        for (i, a) in corners.iter().enumerate() {
            let b = corners[(i + 1) % corners.len()];
            n.x += (a.y - b.y) * (a.z + b.z);
            n.y += (a.z - b.z) * (a.x + b.x);
            n.z += (a.x - b.x) * (a.y + b.y);
        }
        let len: f64 = n.norm();
        if len.is_nan() || len <= 1e-12 {
            return;
        }
        n /= len;
        let facing = if facing.norm_squared() > 0.0 {
            facing
        } else {
            Vector3::z()
        };
        let flip = n.dot(&facing) < 0.0;
        if flip {
            n = -n;
        }
        let mut centre = Vector3::zeros();
        for c in corners {
            centre += c.coords;
        }
        centre /= corners.len() as f64;
        let tile = (
            (centre.x / self.tile_m).floor() as i32,
            (centre.y / self.tile_m).floor() as i32,
        );
        let mesh = self.chunks.entry((m, tile.0, tile.1)).or_default();
        let base = mesh.positions.len() as u32;
        let normal = RenderFromWorld::vector(n);
        for c in corners {
            mesh.positions.push(self.render_from_world.point(*c));
            mesh.normals.push(normal);
        }
        // The world-to-render map is a proper rotation, so winding that is counter-clockwise
        // about `n` in the world stays so about the mapped normal.
        for k in 1..corners.len() as u32 - 1 {
            if flip {
                mesh.indices.extend([base, base + k + 1, base + k]);
            } else {
                mesh.indices.extend([base, base + k, base + k + 1]);
            }
        }
    }

    /// A quad strip between two polylines of equal length (world frame), each quad facing
    /// `facing`.
    pub fn strip(
        &mut self,
        m: Material,
        a: &[Point3<f64>],
        b: &[Point3<f64>],
        facing: Vector3<f64>,
    ) {
        for k in 0..a.len().min(b.len()).saturating_sub(1) {
            let quad = [a[k], a[k + 1], b[k + 1], b[k]];
            if (quad[0] - quad[3]).norm() < 1e-4 && (quad[1] - quad[2]).norm() < 1e-4 {
                continue;
            }
            self.polygon(m, &quad, facing);
        }
    }

    /// An upright box: centre of its base, heading about `z`, length along the heading,
    /// width, height.
    pub fn cuboid(
        &mut self,
        m: Material,
        base: Point3<f64>,
        heading_rad: f64,
        size_m: [f64; 3],
        top: Option<Material>,
    ) {
        let (s, c) = heading_rad.sin_cos();
        let [l, w, h] = size_m;
        let corner = |u: f64, v: f64, z: f64| {
            Point3::new(
                base.x + c * u * l * 0.5 - s * v * w * 0.5,
                base.y + s * u * l * 0.5 + c * v * w * 0.5,
                base.z + z,
            )
        };
        let centre = Point3::new(base.x, base.y, base.z + 0.5 * h);
        let faces: [[(f64, f64, f64); 4]; 5] = [
            [(1., -1., 0.), (1., 1., 0.), (1., 1., h), (1., -1., h)],
            [(-1., 1., 0.), (-1., -1., 0.), (-1., -1., h), (-1., 1., h)],
            [(-1., 1., 0.), (1., 1., 0.), (1., 1., h), (-1., 1., h)],
            [(1., -1., 0.), (-1., -1., 0.), (-1., -1., h), (1., -1., h)],
            [(-1., -1., h), (1., -1., h), (1., 1., h), (-1., 1., h)],
        ];
        for (i, f) in faces.iter().enumerate() {
            let pts: Vec<Point3<f64>> = f.iter().map(|&(u, v, z)| corner(u, v, z)).collect();
            let mut mid = Vector3::zeros();
            for p in &pts {
                mid += p.coords;
            }
            let out = mid / 4.0 - centre.coords;
            let mat = if i == 4 { top.unwrap_or(m) } else { m };
            self.polygon(mat, &pts, out);
        }
    }

    /// An upright prism with `sides` faces (a cylinder when `sides` is large) and a cap.
    pub fn prism(
        &mut self,
        m: Material,
        base: Point3<f64>,
        radius_m: f64,
        height_m: f64,
        sides: u32,
    ) {
        self.frustum(m, base, radius_m, radius_m, height_m, sides);
    }

    /// An upright frustum (a cone when `top_radius_m` is 0) with `sides` faces and a cap.
    pub fn frustum(
        &mut self,
        m: Material,
        base: Point3<f64>,
        radius_m: f64,
        top_radius_m: f64,
        height_m: f64,
        sides: u32,
    ) {
        let ring = |r: f64, z: f64| -> Vec<Point3<f64>> {
            (0..sides)
                .map(|k| {
                    let a = std::f64::consts::TAU * k as f64 / sides as f64;
                    Point3::new(base.x + r * a.cos(), base.y + r * a.sin(), base.z + z)
                })
                .collect()
        };
        let (lo, hi) = (ring(radius_m, 0.0), ring(top_radius_m, height_m));
        for k in 0..sides as usize {
            let j = (k + 1) % sides as usize;
            let a = std::f64::consts::TAU * (k as f64 + 0.5) / sides as f64;
            let out = Vector3::new(a.cos(), a.sin(), 0.0);
            if top_radius_m > 1e-6 {
                self.polygon(m, &[lo[k], lo[j], hi[j], hi[k]], out);
            } else {
                self.polygon(m, &[lo[k], lo[j], hi[0]], out);
            }
        }
        if top_radius_m > 1e-6 {
            self.polygon(m, &hi, Vector3::z());
        }
    }

    /// A low-polygon ellipsoid: an octahedron subdivided once, scaled.
    pub fn blob(&mut self, m: Material, centre: Point3<f64>, radii_m: [f64; 3]) {
        let v = [
            Vector3::x(),
            Vector3::y(),
            -Vector3::x(),
            -Vector3::y(),
            Vector3::z(),
            -Vector3::z(),
        ];
        let faces = [
            (0, 1, 4),
            (1, 2, 4),
            (2, 3, 4),
            (3, 0, 4),
            (1, 0, 5),
            (2, 1, 5),
            (3, 2, 5),
            (0, 3, 5),
        ];
        let place = |d: Vector3<f64>| {
            let d = d.normalize();
            Point3::new(
                centre.x + d.x * radii_m[0],
                centre.y + d.y * radii_m[1],
                centre.z + d.z * radii_m[2],
            )
        };
        for (a, b, c) in faces {
            let (ab, bc, ca) = (v[a] + v[b], v[b] + v[c], v[c] + v[a]);
            for tri in [[v[a], ab, ca], [ab, v[b], bc], [ca, bc, v[c]], [ab, bc, ca]] {
                let pts = tri.map(place);
                let mid = (tri[0] + tri[1] + tri[2]).normalize();
                self.polygon(m, &pts, mid);
            }
        }
    }

    /// The meshes built so far, by material then tile.
    pub fn finish(self) -> Vec<Chunk> {
        self.chunks
            .into_iter()
            .filter(|(_, mesh)| !mesh.indices.is_empty())
            .map(|((material, tx, ty), mesh)| Chunk {
                material,
                tile: (tx, ty),
                mesh,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_volume(mesh: &TriMesh) -> f64 {
        mesh.indices
            .chunks(3)
            .map(|t| {
                let [a, b, c] = [0, 1, 2].map(|k| {
                    let p = mesh.positions[t[k] as usize];
                    Vector3::new(p[0] as f64, p[1] as f64, p[2] as f64)
                });
                a.dot(&b.cross(&c)) / 6.0
            })
            .sum()
    }

    #[test]
    fn closed_solids_wind_outwards_with_their_volume() {
        let f = RenderFromWorld::new(Point3::origin());
        let mut b = MeshBuilder::new(f, 1000.0);
        b.cuboid(
            Material::Wall,
            Point3::new(500.0, 500.0, -1.0),
            0.3,
            [4.0, 2.0, 3.0],
            None,
        );
        let chunks = b.finish();
        assert_eq!(chunks.len(), 1);
        let mesh = &chunks[0].mesh;
        assert_eq!(mesh.triangles(), 10, "four walls and a roof");
        // Every face points away from the box's centre (render frame: y up).
        let centre = Vector3::new(500.0, 0.5, -500.0);
        for t in mesh.indices.chunks(3) {
            let p = |k: usize| {
                let q = mesh.positions[t[k] as usize];
                Vector3::new(q[0] as f64, q[1] as f64, q[2] as f64)
            };
            let n = (p(1) - p(0)).cross(&(p(2) - p(0)));
            assert!(n.dot(&((p(0) + p(1) + p(2)) / 3.0 - centre)) > 0.0);
        }
        let mut b = MeshBuilder::new(f, 1000.0);
        b.frustum(
            Material::Bark,
            Point3::new(500.0, 500.0, 0.0),
            1.0,
            1.0,
            2.0,
            64,
        );
        let mesh = &b.finish()[0].mesh;
        // The base is open and lies in the plane through the origin, so it adds no volume.
        let v = signed_volume(mesh);
        assert!((v - std::f64::consts::PI * 2.0).abs() < 0.02, "volume {v}");
        // Normals agree with the winding.
        for t in mesh.indices.chunks(3) {
            let p = |k: usize| {
                let q = mesh.positions[t[k] as usize];
                Vector3::new(q[0] as f64, q[1] as f64, q[2] as f64)
            };
            let n = (p(1) - p(0)).cross(&(p(2) - p(0)));
            let stored = mesh.normals[t[0] as usize];
            let stored = Vector3::new(stored[0] as f64, stored[1] as f64, stored[2] as f64);
            assert!(n.dot(&stored) > 0.0);
        }
    }

    #[test]
    fn flat_ground_faces_up_in_render_space_and_lands_in_its_tile() {
        let f = RenderFromWorld::new(Point3::new(100.0, 200.0, 0.0));
        let mut b = MeshBuilder::new(f, 50.0);
        // Clockwise seen from above: still faces up.
        b.polygon(
            Material::Grass,
            &[
                Point3::new(120.0, 210.0, 0.0),
                Point3::new(120.0, 220.0, 0.0),
                Point3::new(130.0, 220.0, 0.0),
                Point3::new(130.0, 210.0, 0.0),
            ],
            Vector3::zeros(),
        );
        let chunks = b.finish();
        assert_eq!(chunks[0].tile, (2, 4));
        let m = &chunks[0].mesh;
        assert_eq!(m.normals[0], [0.0, 1.0, 0.0]);
        assert_eq!(m.positions[0], [20.0, 0.0, -10.0]);
        let p = |k: u32| {
            let q = m.positions[k as usize];
            Vector3::new(q[0] as f64, q[1] as f64, q[2] as f64)
        };
        let t = &m.indices[0..3];
        assert!((p(t[1]) - p(t[0])).cross(&(p(t[2]) - p(t[0]))).y > 0.0);
    }
}
