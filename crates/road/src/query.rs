//! Queries a simulator needs: the lane graph (successors, predecessors, lane changes), route
//! search (A*), distances along routes, the lane at a point, and conflict areas between
//! junction paths.

use crate::model::*;
use roadworld_geom::Point2;
use rstar::{AABB, RTree, RTreeObject};
use std::collections::BTreeMap;

/// A lane of one section, seen in its driving direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneNode {
    pub lane: LaneRef,
    /// Whether traffic runs along `+s`.
    pub forward: bool,
    /// Length of the section along the reference line.
    pub length_m: f64,
}

/// The graph of driving lanes: longitudinal successors and lane changes.
#[derive(Debug, Clone)]
pub struct LaneGraph {
    nodes: Vec<LaneNode>,
    index: BTreeMap<LaneRef, u32>,
    next: Vec<Vec<u32>>,
    prev: Vec<Vec<u32>>,
    lateral: Vec<Vec<u32>>,
}

/// The lanes that continue `lane` at one end of its section (`at_end`: the `+s` end), through
/// lane links, road links and junction connections, whatever the lanes' types.
pub fn continuation(net: &Network, lane: LaneRef, at_end: bool) -> Vec<LaneRef> {
    let road = net.road(lane.road);
    let i = lane.section as usize;
    let Some(l) = road.sections[i].lane(lane.lane) else {
        return Vec::new();
    };
    let id = if at_end { l.successor } else { l.predecessor };
    let inner = if at_end {
        i + 1 < road.sections.len()
    } else {
        i > 0
    };
    if inner {
        let sec = if at_end { i + 1 } else { i - 1 } as u32;
        return id
            .map(|k| LaneRef {
                road: lane.road,
                section: sec,
                lane: k,
            })
            .into_iter()
            .collect();
    }
    let link = if at_end {
        road.successor
    } else {
        road.predecessor
    };
    let own_end = if at_end {
        ContactPoint::End
    } else {
        ContactPoint::Start
    };
    match link {
        None => Vec::new(),
        Some(Link::Road { road: b, contact }) => id
            .map(|k| LaneRef {
                road: b,
                section: net.road(b).contact_section(contact) as u32,
                lane: k,
            })
            .into_iter()
            .collect(),
        Some(Link::Junction(j)) => {
            let mut out = Vec::new();
            for c in &net.junction(j).connections {
                if c.incoming != lane.road {
                    continue;
                }
                let conn = net.road(c.connecting);
                let touches = match (c.contact, conn.predecessor, conn.successor) {
                    (ContactPoint::Start, Some(Link::Road { road, contact }), _) => {
                        road == lane.road && contact == own_end
                    }
                    (ContactPoint::End, _, Some(Link::Road { road, contact })) => {
                        road == lane.road && contact == own_end
                    }
                    _ => false,
                };
                if !touches {
                    continue;
                }
                for (_, to) in c.lane_links.iter().filter(|(from, _)| *from == lane.lane) {
                    out.push(LaneRef {
                        road: c.connecting,
                        section: conn.contact_section(c.contact) as u32,
                        lane: *to,
                    });
                }
            }
            out
        }
    }
}

impl LaneGraph {
    /// Builds the graph of all driving lanes.
    pub fn new(net: &Network) -> Self {
        let mut nodes = Vec::new();
        let mut index = BTreeMap::new();
        for road in &net.roads {
            for (i, sec) in road.sections.iter().enumerate() {
                for lane in sec.side_lanes() {
                    if lane.kind != LaneType::Driving {
                        continue;
                    }
                    let r = LaneRef {
                        road: road.id,
                        section: i as u32,
                        lane: lane.id,
                    };
                    index.insert(r, nodes.len() as u32);
                    nodes.push(LaneNode {
                        lane: r,
                        forward: Road::lane_runs_forward(lane.id, net.traffic_side),
                        length_m: road.section_end_m(i) - sec.s_m,
                    });
                }
            }
        }
        let n = nodes.len();
        let (mut next, mut prev, mut lateral) = (
            vec![Vec::new(); n],
            vec![Vec::new(); n],
            vec![Vec::new(); n],
        );
        for (k, node) in nodes.iter().enumerate() {
            for c in continuation(net, node.lane, node.forward) {
                if let Some(&j) = index.get(&c) {
                    next[k].push(j);
                    prev[j as usize].push(k as u32);
                }
            }
            for d in [-1, 1] {
                let side = node.lane.lane.signum();
                let id = node.lane.lane + d;
                if id.signum() != side {
                    continue;
                }
                if let Some(&j) = index.get(&LaneRef {
                    lane: id,
                    ..node.lane
                }) {
                    lateral[k].push(j);
                }
            }
        }
        for v in next
            .iter_mut()
            .chain(prev.iter_mut())
            .chain(lateral.iter_mut())
        {
            v.sort_unstable();
            v.dedup();
        }
        Self {
            nodes,
            index,
            next,
            prev,
            lateral,
        }
    }

    /// All driving lanes, in `LaneRef` order.
    pub fn nodes(&self) -> &[LaneNode] {
        &self.nodes
    }
    fn idx(&self, l: LaneRef) -> Option<usize> {
        self.index.get(&l).map(|&i| i as usize)
    }
    /// Lanes that follow `l` in its driving direction, sorted.
    pub fn successors(&self, l: LaneRef) -> Vec<LaneRef> {
        self.idx(l).map_or_else(Vec::new, |i| {
            self.next[i]
                .iter()
                .map(|&j| self.nodes[j as usize].lane)
                .collect()
        })
    }
    /// Lanes that lead into `l`, sorted.
    pub fn predecessors(&self, l: LaneRef) -> Vec<LaneRef> {
        self.idx(l).map_or_else(Vec::new, |i| {
            self.prev[i]
                .iter()
                .map(|&j| self.nodes[j as usize].lane)
                .collect()
        })
    }
    /// Adjacent lanes of the same direction (lane changes), sorted.
    pub fn neighbours(&self, l: LaneRef) -> Vec<LaneRef> {
        self.idx(l).map_or_else(Vec::new, |i| {
            self.lateral[i]
                .iter()
                .map(|&j| self.nodes[j as usize].lane)
                .collect()
        })
    }
    /// Every lane reachable from `starts` by driving on and changing lanes, sorted.
    pub fn reachable(&self, starts: &[LaneRef]) -> Vec<LaneRef> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = starts.iter().filter_map(|l| self.idx(*l)).collect();
        while let Some(k) = stack.pop() {
            if std::mem::replace(&mut seen[k], true) {
                continue;
            }
            stack.extend(
                self.next[k]
                    .iter()
                    .chain(&self.lateral[k])
                    .map(|&j| j as usize),
            );
        }
        (0..self.nodes.len())
            .filter(|&k| seen[k])
            .map(|k| self.nodes[k].lane)
            .collect()
    }

    /// Shortest route from `from` to `to` by A* (costs: section lengths; a lane change costs
    /// 10 m), as the list of lanes and its length in metres.
    pub fn route(&self, net: &Network, from: LaneRef, to: LaneRef) -> Option<(Vec<LaneRef>, f64)> {
        let (a, b) = (self.idx(from)?, self.idx(to)?);
        let goal = lane_point(net, &self.nodes[b], false);
        let mm = |m: f64| (m * 1000.0).round() as u64;
        let (path, cost) = pathfinding::directed::astar::astar(
            &a,
            |&k| {
                let len = self.nodes[k].length_m;
                self.next[k]
                    .iter()
                    .map(move |&j| (j as usize, mm(len)))
                    .chain(self.lateral[k].iter().map(|&j| (j as usize, mm(10.0))))
                    .collect::<Vec<_>>()
            },
            |&k| mm(0.9 * (lane_point(net, &self.nodes[k], true) - goal).norm()).min(u64::MAX / 4),
            |&k| k == b,
        )?;
        let total = cost as f64 / 1000.0 + self.nodes[b].length_m;
        Some((
            path.into_iter().map(|k| self.nodes[k].lane).collect(),
            total,
        ))
    }
}

/// The centre point of a lane at its entry (`end == false`) or exit in driving direction.
fn lane_point(net: &Network, node: &LaneNode, end: bool) -> Point2 {
    let road = net.road(node.lane.road);
    let i = node.lane.section as usize;
    let (s0, s1) = (road.sections[i].s_m, road.section_end_m(i));
    let s = if end == node.forward { s1 } else { s0 };
    road.point_at(s, road.lane_center_t(i, node.lane.lane, s))
}

/// Distance along a route of consecutive lanes from `(first lane, s_from)` to
/// `(last lane, s_to)`, counting lane changes as zero length.
pub fn route_distance_m(net: &Network, lanes: &[LaneRef], s_from_m: f64, s_to_m: f64) -> f64 {
    let mut total = 0.0;
    for (k, l) in lanes.iter().enumerate() {
        let road = net.road(l.road);
        let i = l.section as usize;
        let (s0, s1) = (road.sections[i].s_m, road.section_end_m(i));
        let fwd = Road::lane_runs_forward(l.lane, net.traffic_side);
        let lateral_next = lanes
            .get(k + 1)
            .is_some_and(|n| n.road == l.road && n.section == l.section);
        if lateral_next {
            continue;
        }
        let entry = if k == 0 {
            s_from_m
        } else if fwd {
            s0
        } else {
            s1
        };
        let exit = if k + 1 == lanes.len() {
            s_to_m
        } else if fwd {
            s1
        } else {
            s0
        };
        total += (exit - entry).abs();
    }
    total
}

struct Chunk {
    road: RoadId,
    s0: f64,
    s1: f64,
    aabb: AABB<[f64; 2]>,
}

impl RTreeObject for Chunk {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.aabb
    }
}

/// A spatial index of road surfaces for point queries.
pub struct SpatialIndex {
    tree: RTree<Chunk>,
}

impl std::fmt::Debug for SpatialIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SpatialIndex({} chunks)", self.tree.size())
    }
}

impl SpatialIndex {
    /// Indexes every road in chunks of at most 20 m.
    pub fn new(net: &Network) -> Self {
        let mut chunks = Vec::new();
        for road in &net.roads {
            let ss = road.reference_line.sample_s(20.0);
            for w in ss.windows(2) {
                let mut lo = [f64::MAX; 2];
                let mut hi = [f64::MIN; 2];
                for s in [w[0], 0.5 * (w[0] + w[1]), w[1]] {
                    let (r, l) = road.edges_t(s);
                    for t in [r, l] {
                        let p = road.point_at(s, t);
                        lo = [lo[0].min(p.x), lo[1].min(p.y)];
                        hi = [hi[0].max(p.x), hi[1].max(p.y)];
                    }
                }
                // Curvature between samples: pad by the sagitta bound.
                let pad = 0.5;
                chunks.push(Chunk {
                    road: road.id,
                    s0: w[0],
                    s1: w[1],
                    aabb: AABB::from_corners(
                        [lo[0] - pad, lo[1] - pad],
                        [hi[0] + pad, hi[1] + pad],
                    ),
                });
            }
        }
        Self {
            tree: RTree::bulk_load(chunks),
        }
    }

    /// Every lane containing the point (several where roads overlap in a junction or cross
    /// on a bridge), sorted.
    pub fn lanes_at(&self, net: &Network, p: Point2) -> Vec<LaneRef> {
        let mut out = Vec::new();
        let mut roads: Vec<RoadId> = self
            .tree
            .locate_in_envelope_intersecting(AABB::from_point([p.x, p.y]))
            .map(|c| c.road)
            .collect();
        roads.sort_unstable();
        roads.dedup();
        for rid in roads {
            let road = net.road(rid);
            let pr = road.reference_line.project(p);
            let on_chunk = self
                .tree
                .locate_in_envelope_intersecting(AABB::from_point([p.x, p.y]))
                .any(|c| c.road == rid && pr.s_m >= c.s0 - 1e-6 && pr.s_m <= c.s1 + 1e-6);
            if !on_chunk
                || pr.distance_m
                    > road
                        .edges_t(pr.s_m)
                        .1
                        .abs()
                        .max(road.edges_t(pr.s_m).0.abs())
                        + 1e-6
            {
                continue;
            }
            let i = road.section_index(pr.s_m);
            for lane in road.sections[i].side_lanes() {
                let (a, b) = road.lane_borders_t(i, lane.id, pr.s_m);
                if pr.t_m >= a.min(b) && pr.t_m <= a.max(b) && (a - b).abs() > 1e-6 {
                    out.push(LaneRef {
                        road: rid,
                        section: i as u32,
                        lane: lane.id,
                    });
                }
            }
        }
        out.sort();
        out
    }
}

/// Where two junction paths come close enough for vehicles on them to collide.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictArea {
    pub junction: JunctionId,
    pub a: LaneRef,
    pub b: LaneRef,
    /// `s` range on `a`'s road inside the conflict.
    pub a_s_m: (f64, f64),
    /// `s` range on `b`'s road inside the conflict.
    pub b_s_m: (f64, f64),
    /// Where the centre lines are closest.
    pub point: Point2,
    /// `true` when both paths end in the same lane (a merge), `false` for a crossing.
    pub merging: bool,
}

/// A lane path through a junction, sampled.
struct JunctionPath {
    lane: LaneRef,
    /// Incoming road and lane.
    from: (RoadId, i32),
    /// Outgoing lane and road link.
    exit: Option<(i32, Link)>,
    samples: Vec<(f64, Point2)>,
    width_m: f64,
}

/// Conflict areas between the connecting lanes of every junction, sorted by junction and
/// lane pair. Paths from the same incoming lane (which only diverge) are not conflicts.
pub fn conflict_areas(net: &Network) -> Vec<ConflictArea> {
    let mut out = Vec::new();
    for j in &net.junctions {
        let paths: Vec<JunctionPath> = j
            .connections
            .iter()
            .flat_map(|c| {
                let road = net.road(c.connecting);
                c.lane_links.iter().map(move |(from, to)| JunctionPath {
                    lane: LaneRef {
                        road: c.connecting,
                        section: 0,
                        lane: *to,
                    },
                    from: (c.incoming, *from),
                    exit: road.sections[0]
                        .lane(*to)
                        .and_then(|l| l.successor)
                        .zip(road.successor),
                    samples: road
                        .lane_center_line(0, *to, 0.5)
                        .into_iter()
                        .map(|(s, p, _)| (s, p))
                        .collect(),
                    width_m: road.lane_width_m(0, *to, 0.0),
                })
            })
            .collect();
        for x in 0..paths.len() {
            for y in x + 1..paths.len() {
                let (pa, pb) = (&paths[x], &paths[y]);
                if pa.from == pb.from {
                    continue;
                }
                // Lanes that overlap by half a metre or more: parallel neighbours do not.
                let reach = 0.5 * (pa.width_m + pb.width_m) - 0.5;
                let mut a_rng = (f64::MAX, f64::MIN);
                let mut b_rng = (f64::MAX, f64::MIN);
                let mut best = (f64::MAX, Point2::origin());
                for (sa, qa) in &pa.samples {
                    for (sb, qb) in &pb.samples {
                        let d = (qa - qb).norm();
                        if d < reach {
                            a_rng = (a_rng.0.min(*sa), a_rng.1.max(*sa));
                            b_rng = (b_rng.0.min(*sb), b_rng.1.max(*sb));
                            if d < best.0 {
                                best = (d, Point2::from((qa.coords + qb.coords) * 0.5));
                            }
                        }
                    }
                }
                if a_rng.0 <= a_rng.1 {
                    let same_exit = pa.exit.is_some() && pa.exit == pb.exit;
                    out.push(ConflictArea {
                        junction: j.id,
                        a: pa.lane,
                        b: pb.lane,
                        a_s_m: a_rng,
                        b_s_m: b_rng,
                        point: best.1,
                        merging: same_exit,
                    });
                }
            }
        }
    }
    out.sort_by_key(|c| (c.junction, c.a, c.b));
    out
}

/// The paved area of a junction: the convex hull of the borders of its connecting roads and
/// of the carriageway ends of its legs (kerb to kerb, sidewalks excluded), counter-clockwise.
/// Junctions are paved between their kerbs, which the connecting lanes alone (the union of
/// lane strips) leave out at the corners.
pub fn junction_outline(net: &Network, j: JunctionId) -> Vec<Point2> {
    let mut pts: Vec<Point2> = Vec::new();
    let mut legs: Vec<RoadId> = Vec::new();
    for c in &net.junction(j).connections {
        legs.push(c.incoming);
        let conn = net.road(c.connecting);
        for link in [conn.predecessor, conn.successor].into_iter().flatten() {
            if let Link::Road { road, .. } = link {
                legs.push(road);
            }
        }
    }
    legs.sort();
    legs.dedup();
    for leg in legs {
        let road = net.road(leg);
        for (link, s) in [(road.predecessor, 0.0), (road.successor, road.length_m())] {
            if link != Some(Link::Junction(j)) {
                continue;
            }
            let i = road.section_index(s.min(road.length_m() - 1e-9).max(0.0));
            let sec = &road.sections[i];
            let kerb = |lanes: &[Lane], sign: i32| {
                let n = lanes
                    .iter()
                    .take_while(|l| l.kind != LaneType::Sidewalk)
                    .count() as i32;
                road.lane_borders_t(i, sign * n.max(1), s).1
            };
            let (tr, tl) = (kerb(&sec.right, -1), kerb(&sec.left, 1));
            pts.push(road.point_at(s, tr));
            pts.push(road.point_at(s, tl));
        }
    }
    for c in &net.junction(j).connections {
        let road = net.road(c.connecting);
        for s in road.reference_line.sample_s(1.0) {
            let (r, l) = road.edges_t(s);
            pts.push(road.point_at(s, r));
            pts.push(road.point_at(s, l));
        }
    }
    convex_hull(pts)
}

/// Convex hull by Andrew's monotone chain, counter-clockwise, without collinear points.
pub fn convex_hull(mut pts: Vec<Point2>) -> Vec<Point2> {
    pts.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross =
        |o: Point2, a: Point2, b: Point2| (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
    let mut hull: Vec<Point2> = Vec::with_capacity(2 * pts.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &Point2>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// Whether `p` lies inside (or on) the convex counter-clockwise polygon `poly`.
pub fn in_convex(poly: &[Point2], p: Point2) -> bool {
    if poly.len() < 3 {
        return false;
    }
    (0..poly.len()).all(|i| {
        let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
        (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x) >= -1e-9
    })
}

#[cfg(test)]
mod hull_tests {
    use super::*;

    #[test]
    fn hull_of_a_square_with_inner_points() {
        let pts = vec![
            Point2::new(0.0, 0.0),
            Point2::new(2.0, 0.0),
            Point2::new(1.0, 1.0),
            Point2::new(2.0, 2.0),
            Point2::new(0.0, 2.0),
            Point2::new(1.0, 0.0),
        ];
        let h = convex_hull(pts);
        assert_eq!(h.len(), 4);
        assert!(in_convex(&h, Point2::new(1.0, 1.9)));
        assert!(!in_convex(&h, Point2::new(2.1, 1.0)));
    }
}
