//! The static scene built from a road network: road surfaces following elevation and
//! superelevation, lane markings as geometry, sidewalks with curbs, crosswalk stripes,
//! junction surfaces, roundabout islands, bridge parapets, terrain around the roads, and
//! roadside objects (trees, poles, buildings, guard rails, parked cars, signals and signs).

use crate::frame::RenderFromWorld;
use crate::mesh::{Chunk, Material, MeshBuilder};
use nalgebra::{Point3, Vector3};
use roadworld_road::model::*;
use rstar::{AABB, PointDistance, RTree, RTreeObject};

/// How finely the scene is built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneryOptions {
    /// Longest distance along a road between surface samples.
    pub step_m: f64,
    /// Edge of the square tiles meshes are grouped by (for culling).
    pub tile_m: f64,
    /// Terrain grid spacing.
    pub terrain_cell_m: f64,
    /// How far the terrain reaches beyond the roads.
    pub terrain_margin_m: f64,
}

impl Default for SceneryOptions {
    fn default() -> Self {
        Self {
            step_m: 1.0,
            tile_m: 200.0,
            terrain_cell_m: 12.0,
            terrain_margin_m: 150.0,
        }
    }
}

/// Height of curbs (sidewalks and islands stand this much above the carriageway).
pub const CURB_M: f64 = 0.15;
/// Lift of markings above the surface they are painted on.
pub const MARKING_LIFT_M: f64 = 0.01;
/// How far the terrain stays below the nearest road edge.
pub const TERRAIN_DROP_M: f64 = 0.25;

/// The meshes of a network, in a render frame centred on the network.
#[derive(Debug, Clone)]
pub struct Scenery {
    pub render_from_world: RenderFromWorld,
    pub chunks: Vec<Chunk>,
}

impl Scenery {
    /// Builds every mesh of `net`.
    pub fn build(net: &Network, opts: &SceneryOptions) -> Self {
        let (lo, hi) = bounds(net);
        let origin = Point3::new(
            (0.5 * (lo.x + hi.x)).round(),
            (0.5 * (lo.y + hi.y)).round(),
            0.0,
        );
        let render_from_world = RenderFromWorld::new(origin);
        let mut b = MeshBuilder::new(render_from_world, opts.tile_m);
        for road in &net.roads {
            surfaces(&mut b, road, opts.step_m);
            marks(&mut b, road, opts.step_m);
            parapets(&mut b, road, opts.step_m);
            objects(&mut b, road);
            signals(&mut b, road);
        }
        if !net.roads.is_empty() {
            HeightField::new(net, opts).mesh(&mut b);
        }
        Self {
            render_from_world,
            chunks: b.finish(),
        }
    }

    /// Total triangle count.
    pub fn triangles(&self) -> usize {
        self.chunks.iter().map(|c| c.mesh.triangles()).sum()
    }
}

/// Smallest and largest `(x, y)` of the network's road surfaces.
fn bounds(net: &Network) -> (nalgebra::Point2<f64>, nalgebra::Point2<f64>) {
    let mut lo = nalgebra::Point2::new(f64::MAX, f64::MAX);
    let mut hi = nalgebra::Point2::new(f64::MIN, f64::MIN);
    for road in &net.roads {
        for s in s_samples(0.0, road.length_m(), 10.0) {
            let (r, l) = road.edges_t(s);
            for t in [r, l] {
                let p = road.point_at(s, t);
                lo = lo.inf(&p);
                hi = hi.sup(&p);
            }
        }
    }
    if lo.x > hi.x {
        return (nalgebra::Point2::origin(), nalgebra::Point2::origin());
    }
    (lo, hi)
}

/// Samples of `s` over `[s0, s1]`, at most `step` apart, both ends included.
fn s_samples(s0: f64, s1: f64, step: f64) -> Vec<f64> {
    let n = (((s1 - s0) / step).ceil() as usize).max(1);
    (0..=n)
        .map(|k| s0 + (s1 - s0) * k as f64 / n as f64)
        .collect()
}

/// Largest distance the thinned surface may stray from the road model.
pub const SURFACE_TOLERANCE_M: f64 = 0.02;
/// Longest quad along a road.
pub const MAX_SPAN_M: f64 = 25.0;

/// Samples of `s` over section `i`, thinned: dense samples `step` apart are dropped where
/// every lane border (with its height) stays within [`SURFACE_TOLERANCE_M`] of the straight
/// line between the kept neighbours, and kept spans are at most [`MAX_SPAN_M`].
pub fn section_samples(road: &Road, i: usize, step: f64) -> Vec<f64> {
    let sec = &road.sections[i];
    let dense = s_samples(sec.s_m, road.section_end_m(i), step);
    let ids: Vec<i32> = sec.side_lanes().map(|l| l.id).collect();
    let borders: Vec<Vec<Point3<f64>>> = dense
        .iter()
        .map(|&s| {
            let mut v = Vec::with_capacity(2 * ids.len() + 1);
            v.push(at(road, s, road.lane_borders_t(i, 0, s).0, 0.0));
            for &id in &ids {
                v.push(at(road, s, road.lane_borders_t(i, id, s).1, 0.0));
            }
            v
        })
        .collect();
    let fits = |a: usize, b: usize| {
        (a + 1..b).all(|k| {
            let f = (dense[k] - dense[a]) / (dense[b] - dense[a]);
            borders[k].iter().enumerate().all(|(j, p)| {
                let q = borders[a][j] + (borders[b][j] - borders[a][j]) * f;
                (p - q).norm() <= SURFACE_TOLERANCE_M
            })
        })
    };
    let mut keep = vec![dense[0]];
    let mut a = 0;
    while a + 1 < dense.len() {
        let mut b = a + 1;
        while b + 1 < dense.len() && dense[b + 1] - dense[a] <= MAX_SPAN_M && fits(a, b + 1) {
            b += 1;
        }
        keep.push(dense[b]);
        a = b;
    }
    keep
}

/// The samples of `kept` strictly inside `(a, z)`, with `a` and `z` added.
fn within(kept: &[f64], a: f64, z: f64) -> Vec<f64> {
    let mut v = vec![a];
    v.extend(
        kept.iter()
            .copied()
            .filter(|&s| s > a + 1e-6 && s < z - 1e-6),
    );
    v.push(z);
    v
}

fn surface_material(kind: LaneType, junction: bool) -> Option<Material> {
    Some(match kind {
        LaneType::Driving | LaneType::Restricted if junction => Material::JunctionAsphalt,
        LaneType::Driving | LaneType::Restricted => Material::Asphalt,
        LaneType::Shoulder | LaneType::Border => Material::Shoulder,
        LaneType::Sidewalk => Material::Sidewalk,
        LaneType::Biking => Material::BikeLane,
        LaneType::Parking => Material::Parking,
        LaneType::Median => Material::Median,
        LaneType::None => return None,
    })
}

/// Height of a lane's surface above the road's: sidewalks stand on a curb.
fn lift(kind: LaneType) -> f64 {
    if kind == LaneType::Sidewalk {
        CURB_M
    } else {
        0.0
    }
}

fn at(road: &Road, s: f64, t: f64, dz: f64) -> Point3<f64> {
    let p = road.point_at(s, t);
    Point3::new(p.x, p.y, road.z_at(s, t) + dz)
}

/// Lane surfaces, curbs between lanes of different heights, and skirts down to the terrain
/// along the outer edges.
fn surfaces(b: &mut MeshBuilder, road: &Road, step: f64) {
    let junction = road.junction.is_some();
    for (i, sec) in road.sections.iter().enumerate() {
        let ss = section_samples(road, i, step);
        for side in [&sec.left, &sec.right] {
            let mut prev_lift = 0.0;
            for (k, lane) in side.iter().enumerate() {
                let Some(m) = surface_material(lane.kind, junction) else {
                    continue;
                };
                let dz = lift(lane.kind);
                let borders: Vec<(f64, f64)> = ss
                    .iter()
                    .map(|&s| road.lane_borders_t(i, lane.id, s))
                    .collect();
                let inner: Vec<Point3<f64>> = ss
                    .iter()
                    .zip(&borders)
                    .map(|(&s, &(a, _))| at(road, s, a, dz))
                    .collect();
                let outer: Vec<Point3<f64>> = ss
                    .iter()
                    .zip(&borders)
                    .map(|(&s, &(_, o))| at(road, s, o, dz))
                    .collect();
                b.strip(m, &inner, &outer, Vector3::z());
                // A curb where this lane stands higher or lower than its inner neighbour.
                if (dz - prev_lift).abs() > 1e-6 {
                    let low: Vec<Point3<f64>> = ss
                        .iter()
                        .zip(&borders)
                        .map(|(&s, &(a, _))| at(road, s, a, prev_lift.min(dz)))
                        .collect();
                    let high: Vec<Point3<f64>> = ss
                        .iter()
                        .zip(&borders)
                        .map(|(&s, &(a, _))| at(road, s, a, prev_lift.max(dz)))
                        .collect();
                    // Faces the lower lane.
                    let towards_lower = if dz > prev_lift { -1.0 } else { 1.0 };
                    let facing = |s: f64| {
                        let n = road.reference_line.pose(s).normal();
                        let sign = if lane.id > 0 { 1.0 } else { -1.0 };
                        Vector3::new(n.x, n.y, 0.0) * sign * towards_lower
                    };
                    for w in 0..ss.len() - 1 {
                        b.polygon(
                            Material::Concrete,
                            &[low[w], low[w + 1], high[w + 1], high[w]],
                            facing(ss[w]),
                        );
                    }
                }
                prev_lift = dz;
                // A skirt down to below the terrain along the outermost lane.
                if k + 1 == side.len() {
                    let down: Vec<Point3<f64>> = outer
                        .iter()
                        .map(|p| Point3::new(p.x, p.y, p.z - dz - 3.0 * TERRAIN_DROP_M))
                        .collect();
                    let sign = if lane.id > 0 { 1.0 } else { -1.0 };
                    for w in 0..ss.len() - 1 {
                        let n = road.reference_line.pose(ss[w]).normal() * sign;
                        let mat = if dz > 0.0 { Material::Concrete } else { m };
                        b.polygon(
                            mat,
                            &[outer[w], outer[w + 1], down[w + 1], down[w]],
                            Vector3::new(n.x, n.y, 0.0),
                        );
                    }
                }
            }
        }
    }
}

/// Where along a section (absolute `s`) a marking is painted: whole for solid lines, dashes
/// for broken ones (starting at the section start).
pub fn painted_spans(s0: f64, s1: f64, broken: bool, class: RoadClass) -> Vec<(f64, f64)> {
    if !broken {
        return vec![(s0, s1)];
    }
    let (dash, gap) = class.dash_pattern_m();
    let mut out = Vec::new();
    let mut s = s0;
    while s < s1 - 1e-6 {
        out.push((s, (s + dash).min(s1)));
        s += dash + gap;
    }
    out
}

/// Lane markings as thin strips on the surface, on each lane's outer border (the centre
/// lane's marking on the reference line).
fn marks(b: &mut MeshBuilder, road: &Road, step: f64) {
    for (i, sec) in road.sections.iter().enumerate() {
        let (s0, s1) = (sec.s_m, road.section_end_m(i));
        let kept = section_samples(road, i, step);
        for lane in std::iter::once(&sec.center).chain(sec.side_lanes()) {
            let Some(m) = lane.marks.first() else {
                continue;
            };
            let mat = match m.color {
                MarkColor::White => Material::MarkingWhite,
                MarkColor::Yellow => Material::MarkingYellow,
            };
            let sign = if lane.id >= 0 { 1.0 } else { -1.0 };
            for &(off, broken) in m.kind.lines() {
                for (a, z) in painted_spans(s0, s1, broken, road.class) {
                    let ss = within(&kept, a, z);
                    let edge = |s: f64, d: f64| {
                        let t = road.lane_borders_t(i, lane.id, s).1 + sign * off + d;
                        at(road, s, t, MARKING_LIFT_M)
                    };
                    let l: Vec<_> = ss.iter().map(|&s| edge(s, 0.5 * m.width_m)).collect();
                    let r: Vec<_> = ss.iter().map(|&s| edge(s, -0.5 * m.width_m)).collect();
                    b.strip(mat, &l, &r, Vector3::z());
                }
            }
        }
    }
}

/// Concrete parapets along both edges of bridge spans.
fn parapets(b: &mut MeshBuilder, road: &Road, step: f64) {
    for br in &road.bridges {
        let ss = s_samples(
            br.s_m,
            (br.s_m + br.length_m).min(road.length_m()),
            step.max(1.0),
        );
        for w in ss.windows(2) {
            for left in [false, true] {
                let t = |s: f64| {
                    let (r, l) = road.edges_t(s);
                    if left { l } else { r }
                };
                let (a, c) = (at(road, w[0], t(w[0]), 0.0), at(road, w[1], t(w[1]), 0.0));
                let mid = Point3::from((a.coords + c.coords) * 0.5);
                let d = c - a;
                b.cuboid(
                    Material::Concrete,
                    mid,
                    d.y.atan2(d.x),
                    [d.xy().norm() + 0.02, 0.3, 0.9],
                    None,
                );
            }
        }
    }
}

/// World frame of an object: its position, z on the road surface, and heading.
fn object_frame(road: &Road, o: &RoadObject) -> (Point3<f64>, f64) {
    let pose = road.reference_line.pose(o.s_m);
    let p = pose.offset(o.t_m);
    let s = o.s_m.clamp(0.0, road.length_m());
    (
        Point3::new(p.x_m, p.y_m, road.z_at(s, o.t_m)),
        pose.heading_rad + o.heading_rad,
    )
}

fn local(base: Point3<f64>, heading: f64, u: f64, v: f64, dz: f64) -> Point3<f64> {
    let (s, c) = heading.sin_cos();
    Point3::new(base.x + c * u - s * v, base.y + s * u + c * v, base.z + dz)
}

fn objects(b: &mut MeshBuilder, road: &Road) {
    for o in &road.objects {
        let (base, heading) = object_frame(road, o);
        match o.kind {
            ObjectKind::Crosswalk => {
                // Stripes 0.5 m wide every metre across the carriageway.
                let n = o.length_m.floor() as i32;
                for k in (0..n).step_by(2) {
                    let u0 = -0.5 * o.length_m + k as f64;
                    let hw = 0.5 * o.width_m;
                    let corners =
                        [(u0, -hw), (u0 + 0.5, -hw), (u0 + 0.5, hw), (u0, hw)].map(|(u, v)| {
                            let p = local(base, heading, u, v, 0.0);
                            let q = road.reference_line.project(p.xy());
                            let s = q.s_m.clamp(0.0, road.length_m());
                            Point3::new(p.x, p.y, road.z_at(s, q.t_m) + MARKING_LIFT_M)
                        });
                    b.polygon(Material::MarkingWhite, &corners, Vector3::z());
                }
            }
            ObjectKind::TrafficIsland => island(b, base, heading, &o.outline),
            ObjectKind::Tree => {
                let h = o.height_m.max(3.0);
                let r = 0.5 * o.width_m.max(1.5);
                b.prism(Material::Bark, base, 0.15 + 0.02 * r, 0.45 * h, 6);
                b.blob(
                    Material::Foliage,
                    Point3::new(base.x, base.y, base.z + 0.62 * h),
                    [r, r, 0.42 * h],
                );
            }
            ObjectKind::Pole => {
                let h = o.height_m.max(4.0);
                b.prism(Material::Metal, base, 0.09, h, 8);
                // A lamp arm reaching over the road.
                let towards_road = if o.t_m > 0.0 { -1.0 } else { 1.0 };
                let arm = local(base, heading, 0.0, towards_road * 0.9, h - 0.1);
                b.cuboid(
                    Material::Metal,
                    arm,
                    heading + std::f64::consts::FRAC_PI_2,
                    [1.8, 0.12, 0.12],
                    None,
                );
                let head = local(base, heading, 0.0, towards_road * 1.7, h - 0.25);
                b.cuboid(Material::DarkGlass, head, heading, [0.6, 0.3, 0.15], None);
            }
            ObjectKind::Building => {
                b.cuboid(
                    Material::Wall,
                    Point3::new(base.x, base.y, base.z - 0.5),
                    heading,
                    [o.length_m, o.width_m, o.height_m.max(3.0) + 0.5],
                    Some(Material::Roof),
                );
                // Window bands on every storey.
                let storeys = (o.height_m / 3.0).floor() as i32;
                for k in 0..storeys {
                    b.cuboid(
                        Material::DarkGlass,
                        Point3::new(base.x, base.y, base.z + 3.0 * k as f64 + 1.0),
                        heading,
                        [o.length_m + 0.04, o.width_m + 0.04, 1.2],
                        None,
                    );
                }
            }
            ObjectKind::GuardRail => guard_rail(b, road, o),
            ObjectKind::ParkedVehicle => {
                parked_car(b, base, heading, o.length_m, o.width_m, o.height_m, o.id.0)
            }
        }
    }
}

/// A raised island: a concrete curb ring and a grassy top, fanned from its centre.
fn island(b: &mut MeshBuilder, base: Point3<f64>, heading: f64, outline: &[(f64, f64)]) {
    if outline.len() < 3 {
        return;
    }
    let rim: Vec<Point3<f64>> = outline
        .iter()
        .map(|&(u, v)| local(base, heading, u, v, CURB_M))
        .collect();
    let n = rim.len() as f64;
    let c = Point3::from(rim.iter().fold(Vector3::zeros(), |acc, p| acc + p.coords) / n);
    for k in 0..rim.len() {
        let (p, q) = (rim[k], rim[(k + 1) % rim.len()]);
        b.polygon(Material::Grass, &[c, p, q], Vector3::z());
        let (pl, ql) = (
            Point3::new(p.x, p.y, p.z - CURB_M - 0.05),
            Point3::new(q.x, q.y, q.z - CURB_M - 0.05),
        );
        let mid = Point3::from((p.coords + q.coords) * 0.5);
        b.polygon(Material::Concrete, &[pl, ql, q, p], mid - c);
    }
}

fn guard_rail(b: &mut MeshBuilder, road: &Road, o: &RoadObject) {
    let len = o.length_m.max(0.1);
    let t_at = |s: f64| o.t_m + (o.t_end_m - o.t_m) * (s - o.s_m) / len;
    let end = (o.s_m + len).min(road.length_m());
    let ss = s_samples(o.s_m.max(0.0), end, 2.0);
    let pts =
        |dz: f64| -> Vec<Point3<f64>> { ss.iter().map(|&s| at(road, s, t_at(s), dz)).collect() };
    let away = if o.t_m >= 0.0 { 1.0 } else { -1.0 };
    let (lo, hi) = (pts(0.5), pts(0.8));
    for w in 0..ss.len().saturating_sub(1) {
        let n = road.reference_line.pose(ss[w]).normal() * -away;
        let quad = [lo[w], lo[w + 1], hi[w + 1], hi[w]];
        b.polygon(Material::Metal, &quad, Vector3::new(n.x, n.y, 0.0));
        // The back of the rail.
        b.polygon(Material::Metal, &quad, Vector3::new(-n.x, -n.y, 0.0));
    }
    for s in s_samples(o.s_m.max(0.0), end, 4.0) {
        let p = at(road, s, t_at(s) + away * 0.1, -0.2);
        let h = road.reference_line.pose(s).heading_rad;
        b.cuboid(Material::Metal, p, h, [0.1, 0.1, 1.0], None);
    }
}

/// A recognisable car: body, a cabin with dark windows, four tyres.
pub fn parked_car(
    b: &mut MeshBuilder,
    base: Point3<f64>,
    heading: f64,
    length_m: f64,
    width_m: f64,
    height_m: f64,
    id: u32,
) {
    let (l, w) = (length_m.max(3.0), width_m.max(1.5));
    let h = height_m.clamp(1.2, 3.5);
    let paint = match id % 3 {
        0 => Material::SignWhite,
        1 => Material::CarPaint,
        _ => Material::SignRed,
    };
    b.cuboid(
        paint,
        local(base, heading, 0.0, 0.0, 0.3),
        heading,
        [l, w, 0.5 * h],
        None,
    );
    b.cuboid(
        Material::DarkGlass,
        local(base, heading, -0.08 * l, 0.0, 0.3 + 0.5 * h),
        heading,
        [0.55 * l, 0.9 * w, 0.42 * h],
        Some(paint),
    );
    for (u, v) in [(0.33, 0.45), (0.33, -0.45), (-0.33, 0.45), (-0.33, -0.45)] {
        b.cuboid(
            Material::DarkGlass,
            local(base, heading, u * l, v * w, 0.0),
            heading,
            [0.65, 0.22, 0.62],
            None,
        );
    }
}

/// Signal heads and signs on poles beside the road.
fn signals(b: &mut MeshBuilder, road: &Road) {
    for sig in &road.signals {
        let s = sig.s_m.clamp(0.0, road.length_m());
        let pose = road.reference_line.pose(s);
        let p = pose.offset(sig.t_m);
        let base = Point3::new(p.x_m, p.y_m, road.z_at(s, sig.t_m));
        // Signs face the traffic they are for.
        let facing = if sig.facing_forward {
            pose.heading_rad + std::f64::consts::PI
        } else {
            pose.heading_rad
        };
        let top = sig.z_offset_m.max(2.0);
        b.prism(Material::Metal, base, 0.06, top, 6);
        let front = local(base, facing, 0.08, 0.0, 0.0);
        match sig.kind {
            SignalKind::TrafficLight | SignalKind::PedestrianLight => {
                let h = if sig.kind == SignalKind::TrafficLight {
                    0.9
                } else {
                    0.6
                };
                b.cuboid(
                    Material::DarkGlass,
                    Point3::new(base.x, base.y, base.z + top),
                    facing,
                    [0.25, 0.32, h],
                    Some(Material::Metal),
                );
            }
            SignalKind::Stop => sign_plate(b, front, facing, top, 8, 0.4, Material::SignRed),
            SignalKind::Yield => sign_plate(b, front, facing, top, 3, 0.45, Material::SignWhite),
            SignalKind::SpeedLimit { .. } => {
                sign_plate(b, front, facing, top, 12, 0.35, Material::SignRed);
                sign_plate(
                    b,
                    local(front, facing, 0.01, 0.0, 0.0),
                    facing,
                    top,
                    12,
                    0.27,
                    Material::SignWhite,
                );
            }
        }
    }
}

/// A flat regular polygon facing `facing` (its normal), centred `top` above `base`.
fn sign_plate(
    b: &mut MeshBuilder,
    base: Point3<f64>,
    facing: f64,
    top: f64,
    sides: u32,
    radius_m: f64,
    m: Material,
) {
    let rot = if sides == 3 {
        -std::f64::consts::FRAC_PI_2
    } else {
        std::f64::consts::PI / sides as f64
    };
    let pts: Vec<Point3<f64>> = (0..sides)
        .map(|k| {
            let a = rot + std::f64::consts::TAU * k as f64 / sides as f64;
            local(
                base,
                facing,
                0.0,
                radius_m * a.cos(),
                top + radius_m * a.sin(),
            )
        })
        .collect();
    let n = Vector3::new(facing.cos(), facing.sin(), 0.0);
    b.polygon(m, &pts, n);
}

/// A sample of a road edge with its surface height, for the terrain.
#[derive(Debug, Clone, Copy)]
struct EdgeSample {
    xy: [f64; 2],
    z_m: f64,
}

impl RTreeObject for EdgeSample {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.xy)
    }
}

impl PointDistance for EdgeSample {
    fn distance_2(&self, p: &[f64; 2]) -> f64 {
        (self.xy[0] - p[0]).powi(2) + (self.xy[1] - p[1]).powi(2)
    }
}

/// The ground around the roads: a grid of heights, each a little below the lowest of the
/// nearest road edges, so roads never sink into it and bridges stand clear of what they cross.
/// Cells are split into triangles `(00, 10, 11)` and `(00, 11, 01)`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeightField {
    /// Grid index of the first column and row (world `x = i * cell_m`, `y = j * cell_m`).
    pub first: (i64, i64),
    pub columns: usize,
    pub rows: usize,
    pub cell_m: f64,
    /// Row-major heights, `rows * columns`.
    pub z_m: Vec<f64>,
}

impl HeightField {
    /// The terrain of `net`.
    pub fn new(net: &Network, opts: &SceneryOptions) -> Self {
        let mut samples = Vec::new();
        for road in &net.roads {
            for s in s_samples(0.0, road.length_m(), 4.0) {
                let (r, l) = road.edges_t(s);
                for t in [r, 0.5 * (r + l), l] {
                    let p = road.point_at(s, t);
                    samples.push(EdgeSample {
                        xy: [p.x, p.y],
                        z_m: road.z_at(s, t),
                    });
                }
            }
        }
        let tree = RTree::bulk_load(samples);
        let (lo, hi) = bounds(net);
        let cell = opts.terrain_cell_m;
        let x0 = ((lo.x - opts.terrain_margin_m) / cell).floor() as i64;
        let x1 = ((hi.x + opts.terrain_margin_m) / cell).ceil() as i64;
        let y0 = ((lo.y - opts.terrain_margin_m) / cell).floor() as i64;
        let y1 = ((hi.y + opts.terrain_margin_m) / cell).ceil() as i64;
        let z_m = (y0..=y1)
            .flat_map(|j| (x0..=x1).map(move |i| (i, j)))
            .map(|(i, j)| {
                let q = [i as f64 * cell, j as f64 * cell];
                let near: Vec<&EdgeSample> = tree.nearest_neighbor_iter(q).take(24).collect();
                let d0 = near.first().map_or(0.0, |e| e.distance_2(&q).sqrt());
                // The lowest edge within two cells of the nearest one, so the triangles
                // between grid points stay below dips of the road between them.
                let z = near
                    .iter()
                    .filter(|e| e.distance_2(&q).sqrt() <= d0 + 2.0 * cell)
                    .map(|e| e.z_m)
                    .fold(f64::MAX, f64::min);
                if z == f64::MAX {
                    0.0
                } else {
                    z - TERRAIN_DROP_M
                }
            })
            .collect();
        Self {
            first: (x0, y0),
            columns: (x1 - x0 + 1) as usize,
            rows: (y1 - y0 + 1) as usize,
            cell_m: cell,
            z_m,
        }
    }

    fn corner(&self, i: usize, j: usize) -> Point3<f64> {
        Point3::new(
            (self.first.0 + i as i64) as f64 * self.cell_m,
            (self.first.1 + j as i64) as f64 * self.cell_m,
            self.z_m[j * self.columns + i],
        )
    }

    /// Height of the triangulated surface at `(x, y)`; `None` outside the grid.
    pub fn height_at(&self, x_m: f64, y_m: f64) -> Option<f64> {
        let u = x_m / self.cell_m - self.first.0 as f64;
        let v = y_m / self.cell_m - self.first.1 as f64;
        let (i, j) = (u.floor(), v.floor());
        if i < 0.0 || j < 0.0 || i as usize + 1 >= self.columns || j as usize + 1 >= self.rows {
            return None;
        }
        let (i, j) = (i as usize, j as usize);
        let (fu, fv) = (u - i as f64, v - j as f64);
        let z = |a: usize, b: usize| self.corner(i + a, j + b).z;
        Some(if fu >= fv {
            // Triangle (00, 10, 11).
            z(0, 0) + fu * (z(1, 0) - z(0, 0)) + fv * (z(1, 1) - z(1, 0))
        } else {
            // Triangle (00, 11, 01).
            z(0, 0) + fv * (z(0, 1) - z(0, 0)) + fu * (z(1, 1) - z(0, 1))
        })
    }

    /// The terrain's triangles.
    pub fn mesh(&self, b: &mut MeshBuilder) {
        for j in 0..self.rows - 1 {
            for i in 0..self.columns - 1 {
                let p = |a: usize, c: usize| self.corner(i + a, j + c);
                b.polygon(
                    Material::Grass,
                    &[p(0, 0), p(1, 0), p(1, 1), p(0, 1)],
                    Vector3::z(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn network(spec: &str, seed: u64) -> Network {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scenarios")
            .join(format!("{spec}.ron"));
        let spec = roadworld_spec::load_spec(&path).expect("example spec");
        roadworld_road::generate(&spec.road, seed).expect("network")
    }

    #[test]
    fn every_example_network_gets_its_surfaces_markings_and_objects_all_finite() {
        for (spec, needed) in [
            (
                "motorway",
                &[Material::Asphalt, Material::MarkingWhite, Material::Grass][..],
            ),
            (
                "rural",
                &[Material::Asphalt, Material::MarkingWhite, Material::Foliage][..],
            ),
            (
                "urban",
                &[
                    Material::Asphalt,
                    Material::JunctionAsphalt,
                    Material::Sidewalk,
                    Material::Concrete,
                    Material::MarkingWhite,
                    Material::Wall,
                    Material::Metal,
                ][..],
            ),
        ] {
            let net = network(spec, 3);
            let scene = Scenery::build(&net, &SceneryOptions::default());
            let have: BTreeSet<Material> = scene.chunks.iter().map(|c| c.material).collect();
            for m in needed {
                assert!(have.contains(m), "{spec}: no {m:?} in {have:?}");
            }
            let mut keys = BTreeSet::new();
            for c in &scene.chunks {
                assert!(
                    keys.insert((c.material, c.tile)),
                    "one chunk per material and tile"
                );
                assert_eq!(c.mesh.positions.len(), c.mesh.normals.len());
                assert!(
                    c.mesh
                        .indices
                        .iter()
                        .all(|&i| (i as usize) < c.mesh.positions.len())
                );
                for p in c.mesh.positions.iter().chain(&c.mesh.normals) {
                    assert!(
                        p.iter().all(|v| v.is_finite() && v.abs() < 1e5),
                        "{spec}: {p:?}"
                    );
                }
            }
            assert!(scene.triangles() > 10_000, "{spec}: {}", scene.triangles());
        }
    }

    #[test]
    fn roads_stand_above_the_terrain_everywhere() {
        for (spec, seed) in ["motorway", "rural", "urban", "mixed"]
            .into_iter()
            .flat_map(|spec| (0..4).map(move |seed| (spec, seed)))
        {
            let net = network(spec, seed);
            let field = HeightField::new(&net, &SceneryOptions::default());
            let mut checked = 0;
            for road in &net.roads {
                for (i, sec) in road.sections.iter().enumerate() {
                    for lane in sec.side_lanes().filter(|l| l.kind != LaneType::None) {
                        for s in s_samples(sec.s_m, road.section_end_m(i), 5.0) {
                            let (a, o) = road.lane_borders_t(i, lane.id, s);
                            if (a - o).abs() < 0.2 {
                                continue;
                            }
                            let t = 0.5 * (a + o);
                            let p = road.point_at(s, t);
                            let ground = field.height_at(p.x, p.y).expect("inside the field");
                            let surface = road.z_at(s, t);
                            assert!(
                                ground < surface - 0.05,
                                "{spec} seed {seed}: road {} lane {} s {s:.1}: terrain {ground:.2} m, road {surface:.2} m",
                                road.id.0,
                                lane.id
                            );
                            checked += 1;
                        }
                    }
                }
            }
            assert!(checked > 500, "{spec}: {checked}");
        }
    }

    #[test]
    fn broken_lines_are_painted_in_dashes_from_the_section_start() {
        let spans = painted_spans(10.0, 40.0, true, RoadClass::Urban);
        assert_eq!(
            spans,
            vec![(10.0, 13.0), (19.0, 22.0), (28.0, 31.0), (37.0, 40.0)]
        );
        assert_eq!(
            painted_spans(10.0, 40.0, false, RoadClass::Urban),
            vec![(10.0, 40.0)]
        );
        assert_eq!(
            painted_spans(0.0, 20.0, true, RoadClass::Motorway),
            vec![(0.0, 6.0), (18.0, 20.0)]
        );
    }
}
