//! Roadside objects: guard rails, trees, poles, buildings and parked cars, placed per road
//! from the road's own random stream and kept off every road surface.

use super::occupancy::{Disc, Occupancy};
use super::{Gen, Rng, stream};
use crate::model::*;
use rand::RngExt;
use roadworld_geom::Point2;
use std::f64::consts::PI;

/// Rounds to a multiple of `q`: placements need millimetres, not 17 digits.
fn round_to(x: f64, q: f64) -> f64 {
    (x / q).round() * q
}

fn obj(
    kind: ObjectKind,
    s_m: f64,
    t_m: f64,
    length_m: f64,
    width_m: f64,
    height_m: f64,
) -> RoadObject {
    let t_m = round_to(t_m, 1e-3);
    RoadObject {
        id: ObjectId(0),
        kind,
        s_m: round_to(s_m, 1e-3),
        t_m,
        t_end_m: t_m,
        heading_rad: 0.0,
        length_m: round_to(length_m, 1e-2),
        width_m: round_to(width_m, 1e-2),
        height_m: round_to(height_m, 1e-2),
        outline: Vec::new(),
    }
}

/// Count of items for a density per km over `length_m`, with the fraction drawn.
fn count(rng: &mut Rng, per_km: f64, length_m: f64) -> usize {
    let x = per_km * length_m / 1000.0;
    let n = x.floor();
    (n as usize) + usize::from(rng.random::<f64>() < x - n)
}

fn outer_lane_t(road: &Road, s: f64, kind: LaneType, left: bool) -> Option<(f64, f64)> {
    let i = road.section_index(s);
    let sec = &road.sections[i];
    let lanes = if left { &sec.left } else { &sec.right };
    lanes
        .iter()
        .find(|l| l.kind == kind)
        .map(|l| road.lane_borders_t(i, l.id, s))
        .filter(|(a, b)| (a - b).abs() > 0.5)
}

pub(crate) fn place_roadside_objects(g: &mut Gen<'_>, seed: u64) {
    // Footprints of trees and buildings placed so far, on a grid.
    let mut footprints = Occupancy::new();
    for idx in 0..g.net.roads.len() {
        if g.net.roads[idx].junction.is_some() {
            continue;
        }
        let mut rng = stream(seed, &[0x0B1EC7, idx as u64]);
        let road = &g.net.roads[idx];
        let cp = g.cp(road.class);
        let len = road.length_m();
        let mut objects = Vec::new();
        let free = |p: Point2, r: f64, fp: &Occupancy| g.occ.is_free(p, r) && fp.is_free(p, r);
        // Guard rails along motorways: one per lane section where the edges are parallel to
        // the reference line, in 20 m chunks that follow the edge where lanes taper.
        if road.class == RoadClass::Motorway {
            let has_median = road
                .sections
                .iter()
                .any(|s| s.right.first().is_some_and(|l| l.kind == LaneType::Median));
            let two_way = road
                .sections
                .iter()
                .any(|s| s.left.iter().any(|l| l.kind == LaneType::Driving));
            for i in 0..road.sections.len() {
                let (a, b) = (road.sections[i].s_m, road.section_end_m(i));
                let (ra, la) = road.edges_t(a);
                let (rb, lb) = road.edges_t(b - 1e-6);
                let (rm, lm) = road.edges_t(0.5 * (a + b));
                let parallel = (ra - rb).abs() < 1e-6
                    && (la - lb).abs() < 1e-6
                    && (ra - rm).abs() < 1e-6
                    && (la - lm).abs() < 1e-6;
                let n = if parallel {
                    1
                } else {
                    ((b - a) / 20.0).ceil().max(1.0) as usize
                };
                for k in 0..n {
                    let (s0, s1) = (
                        a + (b - a) * k as f64 / n as f64,
                        a + (b - a) * (k + 1) as f64 / n as f64,
                    );
                    let (r0, l0) = road.edges_t(s0);
                    let (r1, l1) = road.edges_t(s1 - 1e-6);
                    let mut rail = obj(ObjectKind::GuardRail, s0, r0 + 0.25, s1 - s0, 0.3, 0.8);
                    rail.length_m = s1 - s0;
                    rail.t_end_m = round_to(r1 + 0.25, 1e-3);
                    objects.push(rail.clone());
                    if !two_way {
                        continue;
                    }
                    rail.t_m = round_to(l0 - 0.25, 1e-3);
                    rail.t_end_m = round_to(l1 - 0.25, 1e-3);
                    objects.push(rail.clone());
                    if has_median {
                        rail.t_m = 0.0;
                        rail.t_end_m = 0.0;
                        objects.push(rail);
                    }
                }
            }
        }
        let edge = |s: f64, left: bool| {
            let (r, l) = road.edges_t(s);
            if left { l } else { r }
        };
        let side_sign = |left: bool| if left { 1.0 } else { -1.0 };
        let keep_clear_m = 12.0;
        if len > 2.0 * keep_clear_m {
            // Poles at regular spacing: lamps on sidewalks in town, utility poles outside.
            if cp.poles_per_km > 0.0 {
                let spacing = 1000.0 / cp.poles_per_km;
                let left = rng.random_bool(0.5);
                let mut s =
                    keep_clear_m + rng.random_range(0.0..spacing.min(len - 2.0 * keep_clear_m));
                while s < len - keep_clear_m {
                    let t = match outer_lane_t(road, s, LaneType::Sidewalk, left) {
                        Some((_, outer)) => outer - side_sign(left) * 0.5,
                        None => edge(s, left) + side_sign(left) * 1.5,
                    };
                    let p = road.point_at(s, t);
                    let on_sidewalk = outer_lane_t(road, s, LaneType::Sidewalk, left).is_some();
                    if on_sidewalk || free(p, 0.3, &footprints) {
                        objects.push(obj(
                            ObjectKind::Pole,
                            s,
                            t,
                            0.25,
                            0.25,
                            if road.class == RoadClass::Urban {
                                8.0
                            } else {
                                9.0
                            },
                        ));
                    }
                    s += spacing;
                }
            }
            for _ in 0..count(&mut rng, cp.trees_per_km, len) {
                let s = rng.random_range(keep_clear_m..len - keep_clear_m);
                let left = rng.random_bool(0.5);
                let radius = rng.random_range(1.5..3.5);
                let (t, check) = match outer_lane_t(road, s, LaneType::Sidewalk, left) {
                    Some((inner, outer)) if (outer - inner).abs() >= 2.5 => {
                        (0.5 * (inner + outer), false)
                    }
                    _ => {
                        let set_back = match road.class {
                            RoadClass::Motorway => rng.random_range(6.0..25.0),
                            RoadClass::Rural => rng.random_range(3.0..15.0),
                            RoadClass::Urban => rng.random_range(2.0..6.0),
                        };
                        (edge(s, left) + side_sign(left) * (set_back + radius), true)
                    }
                };
                let p = road.point_at(s, t);
                if !check || free(p, radius, &footprints) {
                    let h = rng.random_range(5.0..14.0);
                    objects.push(obj(ObjectKind::Tree, s, t, 2.0 * radius, 2.0 * radius, h));
                    if check {
                        footprints.push(Disc {
                            center: p,
                            radius_m: radius,
                            z_m: (0.0, 0.0),
                            piece: 0,
                        });
                    }
                }
            }
            for _ in 0..count(&mut rng, cp.buildings_per_km, len) {
                let s = rng.random_range(keep_clear_m..len - keep_clear_m);
                let left = rng.random_bool(0.5);
                let (l, w, h, setback) = match road.class {
                    RoadClass::Urban => (
                        rng.random_range(12.0..30.0),
                        rng.random_range(10.0..18.0),
                        rng.random_range(8.0..30.0),
                        rng.random_range(1.0..3.0),
                    ),
                    _ => (
                        rng.random_range(8.0..20.0),
                        rng.random_range(7.0..14.0),
                        rng.random_range(4.0..9.0),
                        rng.random_range(10.0..40.0),
                    ),
                };
                let t = edge(s, left) + side_sign(left) * (setback + 0.5 * w);
                // The footprint as a row of discs of radius w/2 along the road.
                let n = ((l / w).ceil() as usize).max(1);
                let probes: Vec<Point2> = (0..=n)
                    .map(|k| road.point_at(s - 0.5 * (l - w) + (l - w) * k as f64 / n as f64, t))
                    .collect();
                let r = 0.5 * w;
                if s - 0.5 * l > 0.0
                    && s + 0.5 * l < len
                    && probes.iter().all(|p| free(*p, r, &footprints))
                {
                    objects.push(obj(ObjectKind::Building, s, t, l, w, h));
                    for p in &probes {
                        footprints.push(Disc {
                            center: *p,
                            radius_m: r,
                            z_m: (0.0, 0.0),
                            piece: 0,
                        });
                    }
                }
            }
            // Parked cars on parking lanes, facing the traffic on their side.
            if cp.parked_cars_per_km > 0.0 {
                let p_slot = (cp.parked_cars_per_km * 6.5 / 1000.0).min(1.0);
                for left in [false, true] {
                    let mut s = keep_clear_m;
                    while s < len - keep_clear_m {
                        if let Some((a, b)) = outer_lane_t(road, s, LaneType::Parking, left)
                            && rng.random_bool(p_slot)
                        {
                            let mut car = obj(
                                ObjectKind::ParkedVehicle,
                                s,
                                0.5 * (a + b),
                                rng.random_range(4.0..4.9),
                                1.8,
                                1.5,
                            );
                            car.heading_rad = if left { PI } else { 0.0 };
                            objects.push(car);
                        }
                        s += 6.5;
                    }
                }
            }
        }
        g.net.roads[idx].objects.extend(objects);
    }
    // Number every object in road order.
    let mut next = 0u32;
    for road in &mut g.net.roads {
        for o in &mut road.objects {
            o.id = ObjectId(next);
            next += 1;
        }
    }
}
