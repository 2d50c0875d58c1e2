//! Structural invariants of a network, checked in tests and debug builds:
//! - every road-to-road link meets: reference lines within 1 cm and 0.1 degree;
//! - every lane link meets: both lane borders within 1 cm (so widths are continuous), and
//!   through junctions the connecting road leaves and joins its legs tangentially;
//! - every driving lane of the main route is reachable from the route's entry lanes;
//! - no two road surfaces overlap unless the roads are linked or meet in the same junction
//!   (elevation-aware: a bridge passes over a road 4.5 m below);
//! - no NaN anywhere in the geometry.

use crate::model::*;
use crate::query::LaneGraph;
use roadworld_geom::{Point2, Vector2, angle_diff_abs};
use rstar::{AABB, RTree, RTreeObject};
use std::collections::BTreeSet;

/// Position tolerance at links.
pub const LINK_TOLERANCE_M: f64 = 0.01;
/// Heading tolerance at links (0.1 degree).
pub const LINK_TOLERANCE_RAD: f64 = 0.1 * std::f64::consts::PI / 180.0;
/// Vertical clearance under which overlapping surfaces count as overlapping.
pub const CLEARANCE_M: f64 = 4.5;

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Violation(pub String);

fn border_points(road: &Road, sec: usize, lane: i32, s: f64) -> [Point2; 2] {
    let (a, b) = road.lane_borders_t(sec, lane, s);
    [road.point_at(s, a), road.point_at(s, b)]
}

/// Checks every invariant; returns all violations found (empty: the network is sound).
pub fn check_invariants(net: &Network) -> Vec<Violation> {
    let mut v = Vec::new();
    check_finite(net, &mut v);
    if !v.is_empty() {
        return v;
    }
    check_links(net, &mut v);
    check_reachability(net, &mut v);
    check_overlaps(net, &mut v);
    v
}

fn check_finite(net: &Network, v: &mut Vec<Violation>) {
    for r in &net.roads {
        for seg in r.reference_line.segments() {
            let e = seg.end_pose();
            if ![
                seg.start.x_m,
                seg.start.y_m,
                seg.start.heading_rad,
                seg.length_m,
                e.x_m,
                e.y_m,
                e.heading_rad,
            ]
            .iter()
            .all(|x| x.is_finite())
            {
                v.push(Violation(format!(
                    "{}: non-finite geometry at s = {}",
                    r.id, seg.s_m
                )));
            }
        }
        for (i, sec) in r.sections.iter().enumerate() {
            for lane in sec.side_lanes() {
                for s in [sec.s_m, r.section_end_m(i)] {
                    if !r.lane_width_m(i, lane.id, s).is_finite() || !r.z_at(s, 0.0).is_finite() {
                        v.push(Violation(format!(
                            "{}: lane {} has non-finite width or height",
                            r.id, lane.id
                        )));
                    }
                }
            }
        }
    }
}

fn check_links(net: &Network, v: &mut Vec<Violation>) {
    for r in &net.roads {
        // Between sections of one road.
        for i in 0..r.sections.len().saturating_sub(1) {
            let s = r.section_end_m(i);
            for lane in r.sections[i].side_lanes() {
                if let Some(k) = lane.successor {
                    if r.sections[i + 1].lane(k).is_none() {
                        v.push(Violation(format!(
                            "{}: lane {} section {i} links to missing lane {k}",
                            r.id, lane.id
                        )));
                        continue;
                    }
                    let a = border_points(r, i, lane.id, s);
                    let b = border_points(r, i + 1, k, s);
                    let gap = (a[0] - b[0]).norm().max((a[1] - b[1]).norm());
                    if gap > LINK_TOLERANCE_M {
                        v.push(Violation(format!(
                            "{}: lane {} -> {k} at section {} is {gap:.3} m off",
                            r.id,
                            lane.id,
                            i + 1
                        )));
                    }
                }
            }
        }
        for (at_end, link) in [(true, r.successor), (false, r.predecessor)] {
            let Some(Link::Road { road: bid, contact }) = link else {
                continue;
            };
            let Some(b) = net.roads.get(bid.index()) else {
                v.push(Violation(format!("{}: links to missing {bid}", r.id)));
                continue;
            };
            let s_a = if at_end { r.length_m() } else { 0.0 };
            let s_b = b.contact_s_m(contact);
            let pa = r.reference_line.pose(s_a);
            let pb = b.reference_line.pose(s_b);
            // Along the driving line, the two roads continue each other when the contact
            // ends differ (end -> start), and face each other when they are alike.
            let same_dir = at_end != (contact == ContactPoint::End);
            let dh = if same_dir {
                angle_diff_abs(pa.heading_rad, pb.heading_rad)
            } else {
                angle_diff_abs(pa.heading_rad, pb.heading_rad + std::f64::consts::PI)
            };
            let plain = r.junction.is_none() && b.junction.is_none();
            if plain {
                let gap = (pa.point() - pb.point()).norm();
                if gap > LINK_TOLERANCE_M || dh > LINK_TOLERANCE_RAD {
                    v.push(Violation(format!(
                        "{} -> {bid}: reference lines meet {gap:.4} m and {:.3} deg apart",
                        r.id,
                        dh.to_degrees()
                    )));
                }
                let dz = (r.elevation.value(s_a) - b.elevation.value(s_b)).abs();
                if dz > LINK_TOLERANCE_M {
                    v.push(Violation(format!(
                        "{} -> {bid}: heights differ by {dz:.3} m",
                        r.id
                    )));
                }
            } else if dh > LINK_TOLERANCE_RAD {
                v.push(Violation(format!(
                    "{} -> {bid}: junction path joins at {:.3} deg",
                    r.id,
                    dh.to_degrees()
                )));
            }
            // Lane links across the road link.
            let ia = if at_end { r.sections.len() - 1 } else { 0 };
            let ib = b.contact_section(contact);
            for lane in r.sections[ia].side_lanes() {
                let k = if at_end {
                    lane.successor
                } else {
                    lane.predecessor
                };
                let Some(k) = k else { continue };
                if b.sections[ib].lane(k).is_none() {
                    v.push(Violation(format!(
                        "{} lane {}: linked lane {k} missing on {bid}",
                        r.id, lane.id
                    )));
                    continue;
                }
                let a = border_points(r, ia, lane.id, s_a);
                let bb = border_points(b, ib, k, s_b);
                let gap = (a[0] - bb[0]).norm().max((a[1] - bb[1]).norm());
                if gap > LINK_TOLERANCE_M {
                    v.push(Violation(format!(
                        "{} lane {} -> {bid} lane {k}: borders {gap:.3} m apart",
                        r.id, lane.id
                    )));
                }
            }
        }
    }
    // Junction connections name lanes that exist.
    for j in &net.junctions {
        for c in &j.connections {
            let inc = net.road(c.incoming);
            let conn = net.road(c.connecting);
            if conn.junction != Some(j.id) {
                v.push(Violation(format!(
                    "{}: connecting {} is not in the junction",
                    j.id, c.connecting
                )));
            }
            for (from, to) in &c.lane_links {
                let ok_from = inc.sections.iter().any(|s| s.lane(*from).is_some());
                let ok_to = conn.sections[conn.contact_section(c.contact)]
                    .lane(*to)
                    .is_some();
                if !ok_from || !ok_to {
                    v.push(Violation(format!(
                        "{}: connection {} links missing lanes {from} -> {to}",
                        j.id, c.id
                    )));
                }
            }
        }
    }
}

fn check_reachability(net: &Network, v: &mut Vec<Violation>) {
    let (Some(first), Some(last)) = (net.main_route.first(), net.main_route.last()) else {
        return;
    };
    let graph = LaneGraph::new(net);
    let side = net.traffic_side;
    let entry_lanes = |step: &RouteStep, start: bool| -> Vec<LaneRef> {
        let road = net.road(step.road);
        let sec = if start == step.forward {
            0
        } else {
            road.sections.len() - 1
        };
        road.sections[sec]
            .side_lanes()
            .filter(|l| l.kind == LaneType::Driving)
            .filter(|l| Road::lane_runs_forward(l.id, side) == (step.forward == start))
            .map(|l| LaneRef {
                road: road.id,
                section: sec as u32,
                lane: l.id,
            })
            .collect()
    };
    let mut starts = entry_lanes(first, true);
    starts.extend(entry_lanes(last, false));
    let reached: BTreeSet<LaneRef> = graph.reachable(&starts).into_iter().collect();
    let route_roads: BTreeSet<RoadId> = net.main_route.iter().map(|s| s.road).collect();
    for node in graph.nodes() {
        if route_roads.contains(&node.lane.road) && !reached.contains(&node.lane) {
            v.push(Violation(format!(
                "main route lane {} is not reachable",
                node.lane
            )));
        }
    }
}

struct Quad {
    road: u32,
    pts: [Point2; 4],
    z: (f64, f64),
}

impl RTreeObject for Quad {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        let xs = self.pts.map(|p| p.x);
        let ys = self.pts.map(|p| p.y);
        AABB::from_corners(
            [
                xs.iter().copied().fold(f64::MAX, f64::min),
                ys.iter().copied().fold(f64::MAX, f64::min),
            ],
            [
                xs.iter().copied().fold(f64::MIN, f64::max),
                ys.iter().copied().fold(f64::MIN, f64::max),
            ],
        )
    }
}

/// Separating-axis test for two convex quads, each shrunk towards its centre by `shrink_m`.
fn quads_overlap(a: &[Point2; 4], b: &[Point2; 4], shrink_m: f64) -> bool {
    let shrink = |q: &[Point2; 4]| {
        let c = Point2::from((q[0].coords + q[1].coords + q[2].coords + q[3].coords) / 4.0);
        q.map(|p| {
            let d = p - c;
            let n = d.norm();
            if n > shrink_m {
                p - d / n * shrink_m
            } else {
                c
            }
        })
    };
    let (a, b) = (shrink(a), shrink(b));
    for poly in [&a, &b] {
        for i in 0..4 {
            let e = poly[(i + 1) % 4] - poly[i];
            let axis = Vector2::new(-e.y, e.x);
            if axis.norm() < 1e-12 {
                continue;
            }
            let proj = |q: &[Point2; 4]| {
                q.iter()
                    .map(|p| p.coords.dot(&axis))
                    .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)))
            };
            let (pa, pb) = (proj(&a), proj(&b));
            if pa.1 < pb.0 || pb.1 < pa.0 {
                return false;
            }
        }
    }
    true
}

fn check_overlaps(net: &Network, v: &mut Vec<Violation>) {
    let mut quads = Vec::new();
    for r in &net.roads {
        let ss = r.reference_line.sample_s(4.0);
        for w in ss.windows(2) {
            let (r0, l0) = r.edges_t(w[0]);
            let (r1, l1) = r.edges_t(w[1] - 1e-9);
            if (l0 - r0).abs() < 1e-6 && (l1 - r1).abs() < 1e-6 {
                continue;
            }
            let pts = [
                r.point_at(w[0], r0),
                r.point_at(w[1], r1),
                r.point_at(w[1], l1),
                r.point_at(w[0], l0),
            ];
            let zs = [
                r.z_at(w[0], r0),
                r.z_at(w[0], l0),
                r.z_at(w[1], r1),
                r.z_at(w[1], l1),
            ];
            let z = (
                zs.iter().copied().fold(f64::MAX, f64::min),
                zs.iter().copied().fold(f64::MIN, f64::max),
            );
            quads.push(Quad {
                road: r.id.0,
                pts,
                z,
            });
        }
    }
    let exempt = |a: &Road, b: &Road| -> bool {
        let linked = |x: &Road, y: &Road| {
            [x.predecessor, x.successor].iter().any(|l| match l {
                Some(Link::Road { road, .. }) => *road == y.id,
                Some(Link::Junction(j)) => y.junction == Some(*j),
                None => false,
            })
        };
        (a.junction.is_some() && a.junction == b.junction) || linked(a, b) || linked(b, a)
    };
    let tree = RTree::bulk_load(quads);
    let mut reported = BTreeSet::new();
    for q in tree.iter() {
        for o in tree.locate_in_envelope_intersecting(q.envelope()) {
            if o.road <= q.road || reported.contains(&(q.road, o.road)) {
                continue;
            }
            let (ra, rb) = (&net.roads[q.road as usize], &net.roads[o.road as usize]);
            if exempt(ra, rb) {
                continue;
            }
            let vertical_gap = (o.z.0 - q.z.1).max(q.z.0 - o.z.1);
            if vertical_gap >= CLEARANCE_M {
                continue;
            }
            if quads_overlap(&q.pts, &o.pts, 0.02) {
                reported.insert((q.road, o.road));
                let c = q.pts[0];
                v.push(Violation(format!(
                    "{} and {} overlap near ({:.1}, {:.1})",
                    ra.id, rb.id, c.x, c.y
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sat_detects_overlap_and_separation() {
        let sq = |x: f64| {
            [
                Point2::new(x, 0.0),
                Point2::new(x + 1.0, 0.0),
                Point2::new(x + 1.0, 1.0),
                Point2::new(x, 1.0),
            ]
        };
        assert!(quads_overlap(&sq(0.0), &sq(0.5), 0.0));
        assert!(!quads_overlap(&sq(0.0), &sq(1.5), 0.0));
        // Touching edges do not count once shrunk.
        assert!(!quads_overlap(&sq(0.0), &sq(1.0), 0.02));
    }
}
