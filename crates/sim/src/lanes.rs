//! The lane map: every driving lane of the network as a path in its driving direction,
//! sampled once so that the world loop looks positions up in O(1), with the topology a driver
//! needs (successors, lane-change neighbours, chains to the next junction, network entries and
//! exits) and the rules at the junction ahead (signals, signs, priorities, conflict zones).

use roadworld_geom::{Point2, normalize_angle};
use roadworld_road::query::LaneGraph;
use roadworld_road::{
    ControllerId, JunctionId, LaneRef, Link, Network, ObjectKind, Road, RoadClass, RoadId,
    SignalKind,
};
use std::collections::BTreeMap;
use std::fmt;

/// A lane of the lane map; indexes [`LaneMap::lanes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LaneId(pub u32);

impl fmt::Display for LaneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lane {}", self.0)
    }
}

impl LaneId {
    /// The id as an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// No vehicle is placed on, or changes into, a lane narrower than this.
pub const MIN_USABLE_WIDTH_M: f64 = 2.9;
/// How much of the incoming and outgoing lanes a junction path covers on each side of its
/// connecting lane, for conflict zones.
pub const JUNCTION_APPROACH_M: f64 = 15.0;
/// Widest vehicle body, for conflict zones.
pub const MAX_VEHICLE_WIDTH_M: f64 = 2.6;
/// Longest vehicle body, for off-tracking allowances.
pub const MAX_VEHICLE_LENGTH_M: f64 = 12.5;

/// A sample of a lane's centre line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PathPoint {
    /// Distance along the lane from its entry, in driving direction.
    pub d_m: f64,
    pub x_m: f64,
    pub y_m: f64,
    pub z_m: f64,
    /// Direction of travel.
    pub heading_rad: f64,
    /// Signed curvature of the centre line in driving direction (positive: turning left).
    pub curvature_per_m: f64,
    /// Road reference-line coordinates of the point.
    pub s_m: f64,
    pub t_m: f64,
    pub width_m: f64,
}

/// What a vehicle must respect before entering the junction at the end of a lane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Control {
    /// No sign: right of way from the junction's priorities.
    None,
    /// A traffic light switched by this controller.
    Signal(ControllerId),
    /// Stop, then yield.
    Stop,
    /// Yield.
    Yield,
}

/// Where two junction paths come close enough for vehicles on them to touch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zone {
    /// The other connecting lane.
    pub other: LaneId,
    /// Interval of this path (distance along the extended path, see [`JunctionPath`]).
    pub in_m: f64,
    pub out_m: f64,
    /// Interval of the other path.
    pub other_in_m: f64,
    pub other_out_m: f64,
    /// Vehicles on this path give way to vehicles on the other.
    pub yields: bool,
}

/// A connecting lane seen with the end of its incoming lane and the start of its outgoing
/// lane: distances along it start `approach_m` before the connecting lane.
#[derive(Debug, Clone, PartialEq)]
pub struct JunctionPath {
    pub junction: JunctionId,
    pub incoming: LaneId,
    pub outgoing: Option<LaneId>,
    /// Length of incoming lane covered before the connecting lane.
    pub approach_m: f64,
    /// Heading change from entry to exit (positive: left).
    pub turn_rad: f64,
    /// Priority rank of the movement (higher goes first).
    pub rank: u8,
    pub zones: Vec<Zone>,
    /// Where vehicles bound for this path wait, as distance along the incoming lane.
    pub stop_d_m: f64,
    /// A priority movement of a roundabout (round the ring or out of it): the ring is one
    /// queue, so vehicles on it may stand inside the junction behind their leader.
    pub through: bool,
}

/// One driving lane of one lane section, in its driving direction.
#[derive(Debug, Clone)]
pub struct Lane {
    pub id: LaneId,
    pub lane: LaneRef,
    /// Whether driving runs along `+s` of the road.
    pub forward: bool,
    pub class: RoadClass,
    pub junction: Option<JunctionId>,
    pub length_m: f64,
    pub speed_limit_mps: f64,
    pub points: Vec<PathPoint>,
    /// Samples per metre (for the first guess in [`Lane::at`]).
    index_per_m: f64,
    pub next: Vec<LaneId>,
    pub prev: Vec<LaneId>,
    /// Lane-change neighbours, seen in driving direction.
    pub left: Option<LaneId>,
    pub right: Option<LaneId>,
    /// The usable stretch (wide enough for every vehicle), as distances along the lane.
    pub usable_from_m: f64,
    pub usable_to_m: f64,
    /// The lane leaves the network at its end.
    pub exit: bool,
    /// The lane enters the network at its start.
    pub entry: bool,
    /// Rules at the junction the lane runs into (lanes whose successors are connecting lanes).
    pub control: Control,
    /// The largest speed the centre line allows at its start with comfortable lateral
    /// acceleration (for drivers looking ahead).
    pub entry_speed_mps: f64,
    /// For connecting lanes: the junction path.
    pub path: Option<JunctionPath>,
    /// Distance from this lane's start to the end of its chain (following single
    /// successors within the road network until a junction or the lane's end).
    pub chain_m: f64,
    /// Connecting lanes reachable at the end of the chain without changing lanes, with the
    /// road they lead to; empty when the chain ends without a junction.
    pub reach: Vec<(RoadId, LaneId)>,
    /// The chain ends in nothing: neither a junction nor the network's edge (a dropped lane).
    pub dead_end: bool,
    /// For connecting lanes and entries: the next other class of road the branch leads into (its own
    /// class when none within 3 km, `None` when it leaves the network first), for balancing
    /// traffic between classes.
    pub dest_class: Option<RoadClass>,
    /// Whether a vehicle in the left (`[0]`) or right (`[1]`) neighbour lane may have to
    /// change into this lane (its chain ends, or leads elsewhere): followers here then watch
    /// for it to let it in.
    pub merge_from: [bool; 2],
    /// Advisory speed at each point (speed limit and curves, looking ahead within the lane
    /// with gentle braking), parallel to `points`.
    pub advisory_mps: Vec<f64>,
}

/// Comfortable lateral acceleration used for curve speeds.
pub const CURVE_LATERAL_ACCEL_MPS2: f64 = 2.0;

impl Lane {
    /// The sample at or before `d` (the last one with `d_m <= d`, at most the one before
    /// the end), and the interpolation weight to the next one.
    #[inline]
    fn locate(&self, d_m: f64) -> (usize, f64) {
        let pts = self.points.as_slice();
        let top = pts.len().saturating_sub(2);
        // Samples are evenly spaced within curves and within straight runs: start at the
        // even-spacing guess and walk a little; where the spacing changes (a long straight
        // run before a curve), search.
        let g = d_m * self.index_per_m;
        let mut i = if g > 0.0 {
            g.min(top as f64) as u32 as usize
        } else {
            0
        };
        let mut walk = 0;
        while i > 0 && pts[i].d_m > d_m && walk < 4 {
            i -= 1;
            walk += 1;
        }
        while i < top && pts[i + 1].d_m <= d_m && walk < 4 {
            i += 1;
            walk += 1;
        }
        if walk == 4 {
            i = pts[..=top]
                .partition_point(|p| p.d_m <= d_m)
                .saturating_sub(1);
        }
        let (a, b) = (pts[i].d_m, pts[(i + 1).min(pts.len() - 1)].d_m);
        let span = b - a;
        let w = if span > 1e-12 {
            ((d_m - a) / span).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (i, w)
    }

    /// The centre-line point at `d` (clamped to the lane).
    #[inline]
    pub fn at(&self, d_m: f64) -> PathPoint {
        let (i, w) = self.locate(d_m);
        self.point_between(i, w)
    }

    /// The point `w` of the way from sample `i` to the next.
    #[inline]
    fn point_between(&self, i: usize, w: f64) -> PathPoint {
        let last = self.points.len() - 1;
        let (a, b) = (&self.points[i], &self.points[(i + 1).min(last)]);
        let lerp = |p: f64, q: f64| p + (q - p) * w;
        PathPoint {
            d_m: lerp(a.d_m, b.d_m),
            x_m: lerp(a.x_m, b.x_m),
            y_m: lerp(a.y_m, b.y_m),
            z_m: lerp(a.z_m, b.z_m),
            heading_rad: a.heading_rad + normalize_angle(b.heading_rad - a.heading_rad) * w,
            curvature_per_m: lerp(a.curvature_per_m, b.curvature_per_m),
            s_m: lerp(a.s_m, b.s_m),
            t_m: lerp(a.t_m, b.t_m),
            width_m: lerp(a.width_m, b.width_m),
        }
    }

    /// Where the lane stops being at least `width_m` wide for good (its end when it never
    /// narrows below that).
    pub fn usable_to_for(&self, width_m: f64) -> f64 {
        self.points
            .iter()
            .rev()
            .find(|p| p.width_m >= width_m)
            .map_or(0.0, |p| p.d_m)
    }

    /// The lane's width at `d`.
    #[inline]
    pub fn width_at(&self, d_m: f64) -> f64 {
        let (i, w) = self.locate(d_m);
        let j = (i + 1).min(self.points.len() - 1);
        self.points[i].width_m + (self.points[j].width_m - self.points[i].width_m) * w
    }

    /// The advisory speed at `d`.
    #[inline]
    pub fn advisory_at(&self, d_m: f64) -> f64 {
        let (i, w) = self.locate(d_m);
        self.advisory_between(i, w)
    }

    /// The centre-line point and the advisory speed at `d`, from one look-up.
    #[inline]
    pub fn at_with_advisory(&self, d_m: f64) -> (PathPoint, f64) {
        let (i, w) = self.locate(d_m);
        (self.point_between(i, w), self.advisory_between(i, w))
    }

    #[inline]
    fn advisory_between(&self, i: usize, w: f64) -> f64 {
        let j = (i + 1).min(self.advisory_mps.len() - 1);
        self.advisory_mps[i] + (self.advisory_mps[j] - self.advisory_mps[i]) * w
    }

    /// Distance along the lane of road coordinate `s` (clamped).
    pub fn d_at_s(&self, s_m: f64) -> f64 {
        let pts = &self.points;
        let k = if self.forward {
            pts.partition_point(|p| p.s_m < s_m)
        } else {
            pts.partition_point(|p| p.s_m > s_m)
        };
        if k == 0 {
            return 0.0;
        }
        if k >= pts.len() {
            return self.length_m;
        }
        let (a, b) = (&pts[k - 1], &pts[k]);
        let w = ((s_m - a.s_m) / (b.s_m - a.s_m)).clamp(0.0, 1.0);
        a.d_m + (b.d_m - a.d_m) * w
    }

    /// Whether the lane is a connecting lane inside a junction.
    pub fn in_junction(&self) -> bool {
        self.junction.is_some()
    }
}

/// Every driving lane of a network, with its topology and junction rules.
#[derive(Debug, Clone)]
pub struct LaneMap {
    pub lanes: Vec<Lane>,
    index: BTreeMap<LaneRef, LaneId>,
    /// Lanes where vehicles enter the network, sorted.
    pub entries: Vec<LaneId>,
    /// Lanes where one road class gives way to another (traffic zones meet): vehicles may
    /// enter and leave the zones here, out of the ego's sight, to hold each class's density.
    pub portals: Vec<LaneId>,
    /// Driving-lane kilometres outside junctions, by class (motorway, rural, urban).
    pub lane_km: [f64; 3],
}

/// Index of a road class in per-class arrays.
pub fn class_index(c: RoadClass) -> usize {
    match c {
        RoadClass::Motorway => 0,
        RoadClass::Rural => 1,
        RoadClass::Urban => 2,
    }
}

fn sample_step_m(road: &Road) -> f64 {
    let k_max = road
        .reference_line
        .segments()
        .iter()
        .flat_map(|seg| {
            [
                seg.eval_local(0.0).curvature_per_m.abs(),
                seg.eval(seg.s_end_m()).curvature_per_m.abs(),
            ]
        })
        .fold(0.0_f64, f64::max);
    // Sagitta of a chord at most 3 mm; at most 10 m apart (widths, heights and lane
    // offsets are cubics: interpolating them linearly over 10 m is off by under 2 cm).
    if k_max > 1e-9 {
        (8.0 * 0.003 / k_max).sqrt().clamp(0.25, 10.0)
    } else {
        10.0
    }
}

fn sample_lane(road: &Road, section: usize, id: i32, forward: bool) -> Vec<PathPoint> {
    let (s0, s1) = (road.sections[section].s_m, road.section_end_m(section));
    let step = sample_step_m(road);
    let n = (((s1 - s0) / step).ceil() as usize).max(1);
    let mut pts: Vec<PathPoint> = (0..=n)
        .map(|k| {
            let u = k as f64 / n as f64;
            let s = if forward {
                s0 + (s1 - s0) * u
            } else {
                s1 - (s1 - s0) * u
            };
            let t = road.lane_center_t(section, id, s);
            let p = road.point_at(s, t);
            PathPoint {
                d_m: 0.0,
                x_m: p.x,
                y_m: p.y,
                z_m: road.z_at(s, t),
                heading_rad: 0.0,
                curvature_per_m: 0.0,
                s_m: s,
                t_m: t,
                width_m: road.lane_width_m(section, id, s),
            }
        })
        .collect();
    let mut d = 0.0;
    for k in 1..pts.len() {
        d += ((pts[k].x_m - pts[k - 1].x_m).powi(2) + (pts[k].y_m - pts[k - 1].y_m).powi(2)).sqrt();
        pts[k].d_m = d;
    }
    // Headings from the reference line, corrected for the lane's lateral drift (tapers).
    for p in pts.iter_mut() {
        let h = road.reference_line.pose(p.s_m).heading_rad;
        p.heading_rad = if forward { h } else { h + std::f64::consts::PI };
    }
    let m = pts.len();
    let headings: Vec<f64> = (0..m)
        .map(|k| {
            let (a, b) = (pts[k.saturating_sub(1)], pts[(k + 1).min(m - 1)]);
            let (dx, dy) = (b.x_m - a.x_m, b.y_m - a.y_m);
            if dx * dx + dy * dy > 1e-12 {
                dy.atan2(dx)
            } else {
                pts[k].heading_rad
            }
        })
        .collect();
    for (p, h) in pts.iter_mut().zip(&headings) {
        p.heading_rad = normalize_angle(*h);
    }
    for k in 0..m {
        let (a, b) = (k.saturating_sub(1), (k + 1).min(m - 1));
        let dd = pts[b].d_m - pts[a].d_m;
        pts[k].curvature_per_m = if dd > 1e-9 {
            normalize_angle(pts[b].heading_rad - pts[a].heading_rad) / dd
        } else {
            0.0
        };
    }
    pts
}

/// The `s` of the near edge of a crosswalk at the junction end of `road` (driving along `+s`
/// when `forward`), if there is one.
fn crosswalk_before_end(road: &Road, forward: bool) -> Option<f64> {
    road.objects
        .iter()
        .filter(|o| o.kind == ObjectKind::Crosswalk)
        .map(|o| {
            if forward {
                o.s_m - 0.5 * o.width_m
            } else {
                o.s_m + 0.5 * o.width_m
            }
        })
        .filter(|&s| {
            if forward {
                s > road.length_m() - 15.0
            } else {
                s < 15.0
            }
        })
        .reduce(|a, b| if forward { a.min(b) } else { a.max(b) })
}

impl LaneMap {
    /// Builds the lane map of a network.
    pub fn new(net: &Network) -> Self {
        let graph = LaneGraph::new(net);
        let mut lanes = Vec::with_capacity(graph.nodes().len());
        let mut index = BTreeMap::new();
        for (k, node) in graph.nodes().iter().enumerate() {
            let road = net.road(node.lane.road);
            let sec = node.lane.section as usize;
            let points = sample_lane(road, sec, node.lane.lane, node.forward);
            let length_m = points.last().map_or(0.0, |p| p.d_m);
            let lane_def = road.sections[sec].lane(node.lane.lane);
            let speed = lane_def
                .and_then(|l| l.speed_limit_mps)
                .unwrap_or(road.speed_limit_mps);
            index.insert(node.lane, LaneId(k as u32));
            let usable: Vec<&PathPoint> = points
                .iter()
                .filter(|p| p.width_m >= MIN_USABLE_WIDTH_M)
                .collect();
            let (usable_from_m, usable_to_m) = match (usable.first(), usable.last()) {
                (Some(a), Some(b)) => (a.d_m, b.d_m),
                _ => (length_m, 0.0),
            };
            lanes.push(Lane {
                id: LaneId(k as u32),
                lane: node.lane,
                forward: node.forward,
                class: road.class,
                junction: road.junction,
                length_m,
                speed_limit_mps: speed,
                index_per_m: if length_m > 0.0 {
                    (points.len() - 1) as f64 / length_m
                } else {
                    0.0
                },
                points,
                next: Vec::new(),
                prev: Vec::new(),
                left: None,
                right: None,
                usable_from_m,
                usable_to_m,
                exit: false,
                entry: false,
                control: Control::None,
                entry_speed_mps: 0.0,
                path: None,
                chain_m: 0.0,
                reach: Vec::new(),
                dead_end: false,
                dest_class: None,
                merge_from: [false; 2],
                advisory_mps: Vec::new(),
            });
        }
        let id_of = |r: LaneRef| index.get(&r).copied();
        for lane in lanes.iter_mut() {
            lane.next = graph
                .successors(lane.lane)
                .into_iter()
                .filter_map(id_of)
                .collect();
            lane.prev = graph
                .predecessors(lane.lane)
                .into_iter()
                .filter_map(id_of)
                .collect();
            let id = lane.lane.lane;
            let (left_id, right_id) = if lane.forward {
                (id + 1, id - 1)
            } else {
                (id - 1, id + 1)
            };
            for n in graph.neighbours(lane.lane) {
                if n.lane == left_id {
                    lane.left = id_of(n);
                } else if n.lane == right_id {
                    lane.right = id_of(n);
                }
            }
            let road = net.road(lane.lane.road);
            let sec = lane.lane.section as usize;
            let at_far_end = if lane.forward {
                sec + 1 == road.sections.len()
            } else {
                sec == 0
            };
            let at_near_end = if lane.forward {
                sec == 0
            } else {
                sec + 1 == road.sections.len()
            };
            let (far_link, near_link) = if lane.forward {
                (road.successor, road.predecessor)
            } else {
                (road.predecessor, road.successor)
            };
            lane.exit = lane.next.is_empty() && at_far_end && far_link.is_none();
            lane.entry = lane.prev.is_empty() && at_near_end && near_link.is_none();
            lane.advisory_mps = advisory(lane);
            lane.entry_speed_mps = lane.advisory_mps.first().copied().unwrap_or(0.0);
            if lane.junction.is_none() {
                thin_straight_runs(lane);
            }
        }
        let mut map = Self {
            lanes,
            index,
            entries: Vec::new(),
            portals: Vec::new(),
            lane_km: [0.0; 3],
        };
        map.entries = map
            .lanes
            .iter()
            .filter(|l| l.entry && l.usable_from_m < 1.0)
            .map(|l| l.id)
            .collect();
        map.portals = map
            .lanes
            .iter()
            .filter(|l| {
                l.junction.is_none()
                    && l.usable_from_m < 1.0
                    && !l.prev.is_empty()
                    && l.prev.iter().all(|&p| {
                        let pl = &map.lanes[p.index()];
                        pl.class != l.class && pl.junction.is_none()
                    })
            })
            .map(|l| l.id)
            .collect();
        for l in &map.lanes {
            if l.junction.is_none() {
                map.lane_km[class_index(l.class)] +=
                    (l.usable_to_m - l.usable_from_m).max(0.0) / 1000.0;
            }
        }
        map.build_chains();
        for k in 0..map.lanes.len() {
            let l = &map.lanes[k];
            let differs = |x: Option<LaneId>| {
                x.is_some_and(|x| {
                    let o = &map.lanes[x.index()];
                    o.dead_end || o.reach.iter().map(|r| r.0).ne(l.reach.iter().map(|r| r.0))
                })
            };
            let m = [differs(l.left), differs(l.right)];
            map.lanes[k].merge_from = m;
        }
        map.build_dest_classes();
        map.build_controls(net);
        map.build_junction_paths(net);
        map
    }

    /// The lane with this id.
    #[inline]
    pub fn lane(&self, id: LaneId) -> &Lane {
        &self.lanes[id.index()]
    }

    /// The lane map's id of a road lane.
    pub fn id(&self, lane: LaneRef) -> Option<LaneId> {
        self.index.get(&lane).copied()
    }

    fn build_chains(&mut self) {
        let n = self.lanes.len();
        for k in 0..n {
            if self.lanes[k].junction.is_some() {
                self.lanes[k].chain_m = self.lanes[k].length_m;
                continue;
            }
            let mut cur = k;
            let mut dist = 0.0;
            let mut steps = 0;
            let reach = loop {
                let l = &self.lanes[cur];
                let to_junction = l
                    .next
                    .iter()
                    .any(|&x| self.lanes[x.index()].junction.is_some());
                if to_junction {
                    let mut reach: Vec<(RoadId, LaneId)> = l
                        .next
                        .iter()
                        .map(|&c| {
                            let cl = &self.lanes[c.index()];
                            let out = cl
                                .next
                                .first()
                                .map_or(cl.lane.road, |&o| self.lanes[o.index()].lane.road);
                            (out, c)
                        })
                        .collect();
                    reach.sort();
                    break reach;
                }
                if l.next.len() != 1 || steps > 10_000 {
                    break Vec::new();
                }
                dist += l.length_m;
                cur = l.next[0].index();
                steps += 1;
            };
            let last = &self.lanes[cur];
            let dead_end = reach.is_empty() && last.next.is_empty() && !last.exit;
            let chain_m = dist + last.length_m;
            self.lanes[k].dead_end = dead_end;
            self.lanes[k].chain_m = chain_m;
            self.lanes[k].reach = reach;
        }
    }

    fn build_dest_classes(&mut self) {
        for k in 0..self.lanes.len() {
            if self.lanes[k].junction.is_none() && !self.lanes[k].entry {
                continue;
            }
            // The first other class the straightest way on reaches within 3 km, or `None`
            // when it leaves the network first.
            let start = self.lanes[k].class;
            let mut cur = k;
            let mut dist = 0.0;
            let mut class = Some(start);
            for _ in 0..256 {
                let l = &self.lanes[cur];
                if l.class != start {
                    class = Some(l.class);
                    break;
                }
                if dist > 3000.0 {
                    break;
                }
                dist += l.length_m;
                let Some(&nx) = l.next.iter().min_by(|&&a, &&b| {
                    let turn = |x: LaneId| {
                        let p = &self.lanes[x.index()].points;
                        let (h0, h1) = (p[0].heading_rad, p[p.len() - 1].heading_rad);
                        normalize_angle(h1 - h0).abs()
                    };
                    turn(a).total_cmp(&turn(b)).then(a.cmp(&b))
                }) else {
                    class = if l.exit { None } else { Some(start) };
                    break;
                };
                cur = nx.index();
            }
            self.lanes[k].dest_class = class;
        }
    }

    fn build_controls(&mut self, net: &Network) {
        for lane in self.lanes.iter_mut() {
            if lane.junction.is_some() {
                continue;
            }
            let road = net.road(lane.lane.road);
            let sec = lane.lane.section as usize;
            let last_section = if lane.forward {
                sec + 1 == road.sections.len()
            } else {
                sec == 0
            };
            let into_junction = matches!(
                if lane.forward {
                    road.successor
                } else {
                    road.predecessor
                },
                Some(Link::Junction(_))
            );
            if !last_section || !into_junction {
                continue;
            }
            let id = lane.lane.lane;
            for sig in &road.signals {
                if sig.facing_forward != lane.forward {
                    continue;
                }
                let (a, b) = sig.valid_lanes;
                if id < a.min(b) || id > a.max(b) {
                    continue;
                }
                lane.control = match sig.kind {
                    SignalKind::TrafficLight => match sig.controller {
                        Some(c) => Control::Signal(c),
                        None => continue,
                    },
                    SignalKind::Stop => Control::Stop,
                    SignalKind::Yield => Control::Yield,
                    _ => continue,
                };
            }
        }
    }

    fn build_junction_paths(&mut self, net: &Network) {
        // Junction paths: one per connecting lane.
        let n = self.lanes.len();
        let mut paths: Vec<Option<JunctionPath>> = vec![None; n];
        for (k, slot) in paths.iter_mut().enumerate() {
            let l = &self.lanes[k];
            let Some(junction) = l.junction else {
                continue;
            };
            let Some(&incoming) = l.prev.first() else {
                continue;
            };
            let inc = &self.lanes[incoming.index()];
            let approach_m = JUNCTION_APPROACH_M.min(inc.length_m);
            let first = l.points.first().map_or(0.0, |p| p.heading_rad);
            let last = l.points.last().map_or(0.0, |p| p.heading_rad);
            let turn_rad = normalize_angle(last - first);
            let junc = net.junction(junction);
            let minor = matches!(inc.control, Control::Stop | Control::Yield)
                || junc.priorities.iter().any(|p| p.low == inc.lane.road);
            let rank = match inc.control {
                Control::Signal(_) => 1,
                _ if minor => 0,
                _ => 1,
            };
            let road = net.road(inc.lane.road);
            let mut stop_d_m = inc.length_m - 1.0;
            if let Some(s) = crosswalk_before_end(road, inc.forward) {
                stop_d_m = stop_d_m.min(inc.d_at_s(s) - 0.5);
            }
            *slot = Some(JunctionPath {
                junction,
                incoming,
                outgoing: l.next.first().copied(),
                approach_m,
                turn_rad,
                rank,
                zones: Vec::new(),
                stop_d_m: stop_d_m.max(0.0),
                through: junc.kind == roadworld_road::JunctionKind::Roundabout && !minor,
            });
        }
        // Samples of each extended path: (distance along extended path, point).
        let samples: Vec<Vec<(f64, Point2)>> = (0..n)
            .map(|k| match &paths[k] {
                None => Vec::new(),
                Some(p) => self.extended_samples(LaneId(k as u32), p),
            })
            .collect();
        let runs: Vec<Runs> = samples.iter().map(|s| Runs::new(s)).collect();
        let by_junction: BTreeMap<JunctionId, Vec<usize>> =
            (0..n).fold(BTreeMap::new(), |mut m, k| {
                if let Some(p) = &paths[k] {
                    m.entry(p.junction).or_insert_with(Vec::new).push(k);
                }
                m
            });
        let right_hand = net.traffic_side == roadworld_road::TrafficSide::Right;
        for members in by_junction.values() {
            for (x, &a) in members.iter().enumerate() {
                for &b in &members[x + 1..] {
                    let (pa, pb) = match (&paths[a], &paths[b]) {
                        (Some(pa), Some(pb)) => (pa, pb),
                        _ => continue,
                    };
                    if pa.incoming == pb.incoming {
                        continue;
                    }
                    let reach = MAX_VEHICLE_WIDTH_M
                        + 0.6
                        + off_tracking_m(&self.lanes[a])
                        + off_tracking_m(&self.lanes[b]);
                    let Some((mut ia, mut ib)) = close_intervals(&runs[a], &runs[b], reach) else {
                        continue;
                    };
                    // A merge: once on the shared outgoing lane, car following orders them;
                    // the zone ends where that lane starts.
                    if pa.outgoing.is_some() && pa.outgoing == pb.outgoing {
                        let end_a = pa.approach_m + self.lanes[a].length_m;
                        let end_b = pb.approach_m + self.lanes[b].length_m;
                        ia.1 = ia.1.min(end_a).max(ia.0);
                        ib.1 = ib.1.min(end_b).max(ib.0);
                    }
                    // Who gives way: lower rank; on equal rank the turn across traffic.
                    let across = |t: f64| if right_hand { t } else { -t };
                    let (ya, yb) = if pa.rank != pb.rank {
                        (pa.rank < pb.rank, pb.rank < pa.rank)
                    } else {
                        let (ta, tb) = (across(pa.turn_rad), across(pb.turn_rad));
                        let a_turns = ta > 0.5;
                        let b_turns = tb > 0.5;
                        (a_turns && !b_turns, b_turns && !a_turns)
                    };
                    let za = Zone {
                        other: LaneId(b as u32),
                        in_m: ia.0,
                        out_m: ia.1,
                        other_in_m: ib.0,
                        other_out_m: ib.1,
                        yields: ya,
                    };
                    let zb = Zone {
                        other: LaneId(a as u32),
                        in_m: ib.0,
                        out_m: ib.1,
                        other_in_m: ia.0,
                        other_out_m: ia.1,
                        yields: yb,
                    };
                    if let Some(p) = paths[a].as_mut() {
                        p.zones.push(za);
                    }
                    if let Some(p) = paths[b].as_mut() {
                        p.zones.push(zb);
                    }
                }
            }
        }
        for (k, p) in paths.into_iter().enumerate() {
            if let Some(mut p) = p {
                // Vehicles wait clear of every zone.
                let first_zone = p.zones.iter().map(|z| z.in_m).fold(f64::MAX, f64::min);
                if first_zone < f64::MAX {
                    let inc_len = self.lanes[p.incoming.index()].length_m;
                    let zone_on_incoming = inc_len - (p.approach_m - first_zone);
                    p.stop_d_m = p.stop_d_m.min(zone_on_incoming - 0.5).max(0.0);
                }
                p.zones.sort_by(|a, b| a.in_m.total_cmp(&b.in_m));
                p.through &= p.zones.iter().all(|z| !z.yields);
                self.lanes[k].path = Some(p);
            }
        }
    }

    /// Samples of a junction path every half metre: the last `approach_m` of the incoming
    /// lane, the connecting lane, and the first `JUNCTION_APPROACH_M` of the outgoing lane.
    pub(crate) fn extended_samples(&self, conn: LaneId, p: &JunctionPath) -> Vec<(f64, Point2)> {
        let mut out = Vec::new();
        let inc = self.lane(p.incoming);
        let c = self.lane(conn);
        let step = 0.5;
        let mut push = |lane: &Lane, from: f64, to: f64, base: f64| {
            let n = (((to - from) / step).ceil() as usize).max(1);
            for k in 0..=n {
                let d = from + (to - from) * k as f64 / n as f64;
                let q = lane.at(d);
                out.push((base + d - from, Point2::new(q.x_m, q.y_m)));
            }
        };
        push(inc, inc.length_m - p.approach_m, inc.length_m, 0.0);
        push(c, 0.0, c.length_m, p.approach_m);
        if let Some(o) = p.outgoing {
            let ol = self.lane(o);
            push(
                ol,
                0.0,
                JUNCTION_APPROACH_M.min(ol.length_m),
                p.approach_m + c.length_m,
            );
        }
        out
    }
}

/// How far the corners of the longest vehicle swing off a lane's centre line on its
/// tightest curve.
fn off_tracking_m(lane: &Lane) -> f64 {
    let k = lane
        .points
        .iter()
        .map(|p| p.curvature_per_m.abs())
        .fold(0.0, f64::max);
    let half = 0.5 * MAX_VEHICLE_LENGTH_M;
    0.5 * half * half * k
}

/// Samples of a path with the bounding box of each run of [`CLOSE_RUN`] of them and of all.
struct Runs<'a> {
    samples: &'a [(f64, Point2)],
    boxes: Vec<BoxXy>,
    all: BoxXy,
}

/// An axis-aligned box: `[min x, min y]`, `[max x, max y]`.
type BoxXy = ([f64; 2], [f64; 2]);

/// Samples per run in [`Runs`].
const CLOSE_RUN: usize = 16;

fn box_of<'a>(points: impl Iterator<Item = &'a (f64, Point2)>) -> BoxXy {
    points.fold(([f64::MAX; 2], [f64::MIN; 2]), |(lo, hi), (_, q)| {
        (
            [lo[0].min(q.x), lo[1].min(q.y)],
            [hi[0].max(q.x), hi[1].max(q.y)],
        )
    })
}

/// The squared distance from `q` to the nearest point of a box, computed as the squared
/// distance to a point of the box is: rounding is monotonic, so it is at most that of every
/// point in the box, and a box at `r2` or more holds no point nearer than `r2`.
fn box_dist2(q: &Point2, (lo, hi): &BoxXy) -> f64 {
    let gap = |x: f64, lo: f64, hi: f64| {
        if x < lo {
            lo - x
        } else if x > hi {
            x - hi
        } else {
            0.0
        }
    };
    let (dx, dy) = (gap(q.x, lo[0], hi[0]), gap(q.y, lo[1], hi[1]));
    dx * dx + dy * dy
}

/// Whether two boxes are more than `gap` apart along x or y.
fn apart((lo_a, hi_a): &BoxXy, (lo_b, hi_b): &BoxXy, gap: f64) -> bool {
    lo_a[0] > hi_b[0] + gap
        || lo_b[0] > hi_a[0] + gap
        || lo_a[1] > hi_b[1] + gap
        || lo_b[1] > hi_a[1] + gap
}

impl<'a> Runs<'a> {
    fn new(samples: &'a [(f64, Point2)]) -> Self {
        Self {
            samples,
            boxes: samples
                .chunks(CLOSE_RUN)
                .map(|r| box_of(r.iter()))
                .collect(),
            all: box_of(samples.iter()),
        }
    }
}

/// The intervals of `a` and `b` where they come within `reach` of each other.
///
/// A sample of `a` outside `b`'s bounding box widened by `reach` counts as far from all of
/// `b`; every other pair is close when the squared distance is below `reach` squared. Runs
/// of samples whose boxes are farther apart than `reach` (with a metre to spare for
/// rounding) hold no close pair and are not looked into; nor is a run whose box is no
/// nearer a sample than `reach` ([`box_dist2`] bounds the distance to every point in the
/// box from below, in floating point too). A sample's search stops at its first close
/// sample: each interval is the least and the greatest distance of the samples with a close
/// sample on the other side. The samples come in order of distance, so those are the first
/// and the last such sample, and the samples between them are not looked into.
fn close_intervals(a: &Runs, b: &Runs, reach: f64) -> Option<((f64, f64), (f64, f64))> {
    let far = reach + 1.0;
    if apart(&a.all, &b.all, far) {
        return None;
    }
    let r2 = reach * reach;
    let (lo, hi) = b.all;
    let in_reach = |q: &Point2| {
        !(q.x < lo[0] - reach || q.x > hi[0] + reach || q.y < lo[1] - reach || q.y > hi[1] + reach)
    };
    let close = |qa: &Point2, qb: &Point2| {
        let (dx, dy) = (qa.x - qb.x, qa.y - qb.y);
        dx * dx + dy * dy < r2
    };
    // A sample with a close sample in the runs `cand` of the other side.
    let hit_a = |qa: &Point2, cand: &[usize]| {
        in_reach(qa)
            && cand.iter().any(|&k| {
                box_dist2(qa, &b.boxes[k]) < r2
                    && b.samples[k * CLOSE_RUN..]
                        .iter()
                        .take(CLOSE_RUN)
                        .any(|(_, qb)| close(qa, qb))
            })
    };
    let hit_b = |qb: &Point2, cand: &[usize]| {
        cand.iter().any(|&k| {
            box_dist2(qb, &a.boxes[k]) < r2
                && a.samples[k * CLOSE_RUN..]
                    .iter()
                    .take(CLOSE_RUN)
                    .any(|(_, qa)| in_reach(qa) && close(qa, qb))
        })
    };
    let ia = first_and_last_hit(a, b, far, hit_a)?;
    // A close pair has a sample on each side.
    let ib = first_and_last_hit(b, a, far, hit_b).unwrap_or((f64::MAX, f64::MIN));
    Some((ia, ib))
}

/// The distances of the first and the last sample of `x` (samples in order of distance)
/// that `hit` the runs of `y` near their run (runs near none are not looked into).
fn first_and_last_hit(
    x: &Runs,
    y: &Runs,
    far: f64,
    hit: impl Fn(&Point2, &[usize]) -> bool,
) -> Option<(f64, f64)> {
    let near = |r: usize| -> Vec<usize> {
        (0..y.boxes.len())
            .filter(|&k| !apart(&x.boxes[r], &y.boxes[k], far))
            .collect()
    };
    let run = |r: usize| &x.samples[r * CLOSE_RUN..((r + 1) * CLOSE_RUN).min(x.samples.len())];
    let first = (0..x.boxes.len()).find_map(|r| {
        let cand = near(r);
        if cand.is_empty() {
            return None;
        }
        run(r)
            .iter()
            .find(|(_, q)| hit(q, &cand))
            .map(|&(d, _)| (r, d))
    });
    let (r0, d0) = first?;
    let last = (r0..x.boxes.len()).rev().find_map(|r| {
        let cand = near(r);
        if cand.is_empty() {
            return None;
        }
        run(r)
            .iter()
            .rev()
            .find(|(_, q)| hit(q, &cand))
            .map(|&(d, _)| d)
    });
    Some((d0, last.unwrap_or(d0)))
}

/// The longest span between two samples of a straight run.
const MAX_STRAIGHT_SPAN_M: f64 = 250.0;

/// Drops the samples inside straight runs of a lane (no curvature, constant width and
/// advisory speed, position, height and road coordinates linear in `d`), where linear
/// interpolation between the run's ends gives the same point to within a micrometre. Long
/// straight lanes then take a few samples per kilometre instead of a hundred, which keeps
/// the lane geometry of a large world in the processor's caches.
fn thin_straight_runs(lane: &mut Lane) {
    let (pts, adv) = (&lane.points, &lane.advisory_mps);
    let n = pts.len();
    if n < 3 || adv.len() != n {
        return;
    }
    // Whether every sample strictly between `a` and `b` lies on the straight from `a` to `b`.
    let straight = |a: usize, b: usize| {
        let (p, q) = (&pts[a], &pts[b]);
        let span = q.d_m - p.d_m;
        if span <= 0.0 || span > MAX_STRAIGHT_SPAN_M {
            return false;
        }
        let flat = |k: usize| {
            pts[k].curvature_per_m.abs() < 1e-9
                && pts[k].width_m == p.width_m
                && adv[k] == adv[a]
                && normalize_angle(pts[k].heading_rad - p.heading_rad).abs() < 1e-9
        };
        flat(b)
            && (a..=b).all(flat)
            && (a + 1..b).all(|k| {
                let m = &pts[k];
                let w = (m.d_m - p.d_m) / span;
                let off = |u: f64, v: f64, x: f64| (u + (v - u) * w - x).abs() < 1e-6;
                off(p.x_m, q.x_m, m.x_m)
                    && off(p.y_m, q.y_m, m.y_m)
                    && off(p.z_m, q.z_m, m.z_m)
                    && off(p.s_m, q.s_m, m.s_m)
                    && off(p.t_m, q.t_m, m.t_m)
            })
    };
    let mut keep = vec![0usize];
    let mut a = 0;
    while a + 1 < n {
        let mut b = a + 1;
        while b + 1 < n && straight(a, b + 1) {
            b += 1;
        }
        keep.push(b);
        a = b;
    }
    if keep.len() == n {
        return;
    }
    lane.points = keep.iter().map(|&k| pts[k]).collect();
    lane.advisory_mps = keep.iter().map(|&k| adv[k]).collect();
    lane.index_per_m = if lane.length_m > 0.0 {
        (lane.points.len() - 1) as f64 / lane.length_m
    } else {
        0.0
    };
}

/// Deceleration drivers use to slow for a curve or a lower limit ahead.
pub const ANTICIPATION_DECEL_MPS2: f64 = 1.2;

fn advisory(lane: &Lane) -> Vec<f64> {
    let mut v: Vec<f64> = lane
        .points
        .iter()
        .map(|p| {
            let k = p.curvature_per_m.abs();
            if k > 1e-6 {
                lane.speed_limit_mps
                    .min((CURVE_LATERAL_ACCEL_MPS2 / k).sqrt())
            } else {
                lane.speed_limit_mps
            }
        })
        .collect();
    for k in (0..v.len().saturating_sub(1)).rev() {
        let dd = lane.points[k + 1].d_m - lane.points[k].d_m;
        v[k] = v[k].min((v[k + 1] * v[k + 1] + 2.0 * ANTICIPATION_DECEL_MPS2 * dd).sqrt());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads;

    /// The lane as it was sampled, before thinning.
    fn dense(net: &Network, lane: &Lane) -> Lane {
        let road = net.road(lane.lane.road);
        let mut d = lane.clone();
        d.points = sample_lane(
            road,
            lane.lane.section as usize,
            lane.lane.lane,
            lane.forward,
        );
        d.index_per_m = (d.points.len() - 1) as f64 / d.length_m;
        d.advisory_mps = advisory(&d);
        d
    }

    fn thinned_lanes_match_their_dense_samples(spec: &roadworld_spec::ScenarioSpec) -> usize {
        let net = roadworld_road::generate(&spec.road, 1).unwrap();
        let map = LaneMap::new(&net);
        let mut dropped = 0;
        for lane in map.lanes.iter().filter(|l| l.length_m > 0.0) {
            let full = dense(&net, lane);
            dropped += full.points.len() - lane.points.len();
            assert_eq!(lane.points.len(), lane.advisory_mps.len());
            let n = (lane.length_m * 3.0).ceil() as usize;
            for k in 0..=n + 2 {
                // A little past both ends too: positions clamp to the lane.
                let d = -1.0 + (lane.length_m + 2.0) * k as f64 / (n + 2) as f64;
                let (p, q) = (lane.at(d), full.at(d));
                let close = |a: f64, b: f64| (a - b).abs() < 1e-5;
                assert!(
                    close(p.x_m, q.x_m)
                        && close(p.y_m, q.y_m)
                        && close(p.z_m, q.z_m)
                        && close(p.s_m, q.s_m)
                        && close(p.t_m, q.t_m)
                        && close(p.width_m, q.width_m)
                        && close(p.curvature_per_m, q.curvature_per_m)
                        && normalize_angle(p.heading_rad - q.heading_rad).abs() < 1e-9
                        && close(lane.advisory_at(d), full.advisory_at(d))
                        && close(lane.width_at(d), full.width_at(d)),
                    "{} at d = {d}: thinned {p:?}, dense {q:?}",
                    lane.id
                );
            }
            assert!(
                (lane.usable_to_for(2.5) - full.usable_to_for(2.5)).abs() < 1e-9,
                "{}",
                lane.id
            );
        }
        dropped
    }

    #[test]
    fn thinning_straight_runs_keeps_every_lane_where_it_was() {
        // Long straights, and a network of curves, junctions, ramps and tapers.
        assert!(thinned_lanes_match_their_dense_samples(&workloads::scaling(1000)) > 0);
        thinned_lanes_match_their_dense_samples(&workloads::mixed_6km());
    }

    #[test]
    fn straight_lanes_keep_a_sample_every_250_m() {
        // Each 10 m sample was 72 bytes: 200 km of eight lanes took 11 MB.
        let spec = workloads::scaling(1000);
        let net = roadworld_road::generate(&spec.road, 1).unwrap();
        let map = LaneMap::new(&net);
        let km: f64 = map.lanes.iter().map(|l| l.length_m).sum::<f64>() / 1000.0;
        assert!(km > 150.0, "{km} km of lanes");
        for lane in &map.lanes {
            let most = (lane.length_m / 240.0).ceil() as usize + 1;
            assert!(
                lane.points.len() <= most,
                "{}: {} samples over {} m",
                lane.id,
                lane.points.len(),
                lane.length_m
            );
        }
    }

    /// Every pair of samples tested: what `close_intervals` must find.
    fn close_intervals_by_every_pair(
        a: &[(f64, Point2)],
        b: &[(f64, Point2)],
        reach: f64,
    ) -> Option<((f64, f64), (f64, f64))> {
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for (_, q) in b {
            lo = [lo[0].min(q.x), lo[1].min(q.y)];
            hi = [hi[0].max(q.x), hi[1].max(q.y)];
        }
        let (mut ia, mut ib) = ((f64::MAX, f64::MIN), (f64::MAX, f64::MIN));
        for (da, qa) in a {
            if qa.x < lo[0] - reach
                || qa.x > hi[0] + reach
                || qa.y < lo[1] - reach
                || qa.y > hi[1] + reach
            {
                continue;
            }
            for (db, qb) in b {
                let (dx, dy) = (qa.x - qb.x, qa.y - qb.y);
                if dx * dx + dy * dy < reach * reach {
                    ia = (ia.0.min(*da), ia.1.max(*da));
                    ib = (ib.0.min(*db), ib.1.max(*db));
                }
            }
        }
        (ia.0 <= ia.1).then_some((ia, ib))
    }

    /// A wiggly path of `n` samples half a metre apart from `(x, y)` heading `h`.
    fn wiggle(x: f64, y: f64, h: f64, bend: f64, n: usize) -> Vec<(f64, Point2)> {
        let (mut p, mut h) = (Point2::new(x, y), h);
        (0..n)
            .map(|k| {
                let out = (0.5 * k as f64, p);
                h += bend * (0.05 * k as f64).sin();
                p = Point2::new(p.x + 0.5 * h.cos(), p.y + 0.5 * h.sin());
                out
            })
            .collect()
    }

    #[test]
    fn close_intervals_of_the_mixed_network_junctions_are_those_of_every_pair() {
        let spec = workloads::mixed_6km();
        let net = roadworld_road::generate(&spec.road, 1).unwrap();
        let map = LaneMap::new(&net);
        let paths: Vec<(LaneId, &JunctionPath)> = map
            .lanes
            .iter()
            .filter_map(|l| l.path.as_ref().map(|p| (l.id, p)))
            .collect();
        let mut close = 0;
        for (x, (la, pa)) in paths.iter().enumerate() {
            for (lb, pb) in &paths[x + 1..] {
                if pa.junction != pb.junction {
                    continue;
                }
                let (a, b) = (map.extended_samples(*la, pa), map.extended_samples(*lb, pb));
                for reach in [1.0, 3.4, 5.0] {
                    let want = close_intervals_by_every_pair(&a, &b, reach);
                    close += usize::from(want.is_some());
                    assert_eq!(close_intervals(&Runs::new(&a), &Runs::new(&b), reach), want);
                }
            }
        }
        assert!(close > 10, "{close} close pairs");
    }

    proptest::proptest! {
        #[test]
        fn close_intervals_are_those_of_every_pair(
            ax in -20.0..20.0f64, ay in -20.0..20.0f64, ah in -3.2..3.2f64, ab in -0.2..0.2f64,
            bx in -20.0..20.0f64, by in -20.0..20.0f64, bh in -3.2..3.2f64, bb in -0.2..0.2f64,
            na in 1..120usize, nb in 1..120usize, reach in 0.1..6.0f64,
        ) {
            let (a, b) = (wiggle(ax, ay, ah, ab, na), wiggle(bx, by, bh, bb, nb));
            proptest::prop_assert_eq!(
                close_intervals(&Runs::new(&a), &Runs::new(&b), reach),
                close_intervals_by_every_pair(&a, &b, reach)
            );
        }
    }
}
