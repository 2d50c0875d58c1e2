//! ASAM OpenDRIVE 1.7 export.
//!
//! A direct mapping of the road model: reference-line segments become `<geometry>` records,
//! cubic profiles become `<elevation>`, `<laneOffset>` and `<width>` records, junction
//! connections carry one connecting road each. Floats are written in Rust's shortest
//! round-trip form, so the text is exact and the same bytes come out every time.

use crate::xml::{V, Xml, int, num, txt};
use roadworld_geom::{CubicProfile, PRange, SegmentKind};
use roadworld_road::model::*;

/// The OpenDRIVE version written.
pub const XODR_REV: (u32, u32) = (1, 7);

fn poly_attrs(key: &str, s: f64, p: &roadworld_geom::Poly3) -> [(&'static str, V<'static>); 5] {
    let k: &'static str = if key == "s" { "s" } else { "sOffset" };
    [
        (k, num(s)),
        ("a", num(p.a)),
        ("b", num(p.b)),
        ("c", num(p.c)),
        ("d", num(p.d)),
    ]
}

fn profile(x: &mut Xml, tag: &str, key: &str, prof: &CubicProfile, default: bool) {
    if prof.is_empty() {
        if default {
            x.empty(
                tag,
                &poly_attrs(key, 0.0, &roadworld_geom::Poly3::constant(0.0, 0.0)),
            );
        }
        return;
    }
    for p in prof.pieces() {
        x.empty(tag, &poly_attrs(key, p.s_m.max(0.0), p));
    }
}

fn lane_type(t: LaneType) -> &'static str {
    match t {
        LaneType::Driving => "driving",
        LaneType::Shoulder => "shoulder",
        LaneType::Sidewalk => "sidewalk",
        LaneType::Biking => "biking",
        LaneType::Parking => "parking",
        LaneType::Border => "border",
        LaneType::Median => "median",
        LaneType::Restricted => "restricted",
        LaneType::None => "none",
    }
}

fn mark_type(k: MarkKind) -> &'static str {
    match k {
        MarkKind::None => "none",
        MarkKind::Solid => "solid",
        MarkKind::Broken => "broken",
        MarkKind::SolidSolid => "solid solid",
        MarkKind::SolidBroken => "solid broken",
        MarkKind::BrokenSolid => "broken solid",
    }
}

fn contact(c: ContactPoint) -> V<'static> {
    match c {
        ContactPoint::Start => txt("start"),
        ContactPoint::End => txt("end"),
    }
}

fn road_type(c: RoadClass) -> V<'static> {
    match c {
        RoadClass::Motorway => txt("motorway"),
        RoadClass::Rural => txt("rural"),
        RoadClass::Urban => txt("town"),
    }
}

fn write_link(x: &mut Xml, tag: &str, link: &Link) {
    match link {
        Link::Road { road, contact: c } => x.empty(
            tag,
            &[
                ("elementType", txt("road")),
                ("elementId", int(road.0)),
                ("contactPoint", contact(*c)),
            ],
        ),
        Link::Junction(j) => x.empty(
            tag,
            &[("elementType", txt("junction")), ("elementId", int(j.0))],
        ),
    }
}

fn write_lane(x: &mut Xml, lane: &Lane, road_speed_mps: Option<f64>) {
    x.open(
        "lane",
        &[
            ("id", int(lane.id)),
            ("type", lane_type(lane.kind).into()),
            ("level", txt("false")),
        ],
    );
    if lane.predecessor.is_some() || lane.successor.is_some() {
        x.open("link", &[]);
        if let Some(p) = lane.predecessor {
            x.empty("predecessor", &[("id", int(p))]);
        }
        if let Some(s) = lane.successor {
            x.empty("successor", &[("id", int(s))]);
        }
        x.close("link");
    }
    if lane.id != 0 {
        profile(x, "width", "sOffset", &lane.width, true);
    }
    for m in &lane.marks {
        x.empty(
            "roadMark",
            &[
                ("sOffset", num(m.s_offset_m)),
                ("type", mark_type(m.kind).into()),
                ("weight", txt("standard")),
                (
                    "color",
                    match m.color {
                        MarkColor::White => txt("white"),
                        MarkColor::Yellow => txt("yellow"),
                    },
                ),
                ("width", num(m.width_m)),
            ],
        );
    }
    let driving = lane.kind == LaneType::Driving;
    if let Some(v) = lane.speed_limit_mps.or(road_speed_mps.filter(|_| driving)) {
        x.empty(
            "speed",
            &[("sOffset", txt("0")), ("max", num(v)), ("unit", txt("m/s"))],
        );
    }
    x.close("lane");
}

fn write_objects(x: &mut Xml, road: &Road) {
    if road.objects.is_empty() && road.bridges.is_empty() {
        return;
    }
    x.open("objects", &[]);
    for o in &road.objects {
        let (ty, name) = match o.kind {
            ObjectKind::Crosswalk => ("crosswalk", "crosswalk"),
            ObjectKind::Tree => ("tree", "tree"),
            ObjectKind::Pole => ("streetLamp", "pole"),
            ObjectKind::Building => ("building", "building"),
            ObjectKind::GuardRail => ("barrier", "guardRail"),
            ObjectKind::ParkedVehicle => ("car", "parkedVehicle"),
            ObjectKind::TrafficIsland => ("trafficIsland", "roundaboutIsland"),
        };
        let mut attrs = vec![
            ("id", int(o.id.0)),
            ("name", txt(name)),
            ("type", txt(ty)),
            ("s", num(o.s_m)),
            ("t", num(o.t_m)),
            ("zOffset", txt("0")),
            ("hdg", num(o.heading_rad)),
            ("pitch", txt("0")),
            ("roll", txt("0")),
            ("orientation", txt("none")),
            ("height", num(o.height_m)),
        ];
        let repeat = o.kind == ObjectKind::GuardRail;
        if !repeat && o.outline.is_empty() {
            attrs.push(("length", num(o.length_m)));
            attrs.push(("width", num(o.width_m)));
        }
        if repeat || !o.outline.is_empty() {
            x.open("object", &attrs);
            if repeat {
                x.empty(
                    "repeat",
                    &[
                        ("s", num(o.s_m)),
                        ("length", num(o.length_m)),
                        ("distance", txt("0")),
                        ("tStart", num(o.t_m)),
                        ("tEnd", num(o.t_end_m)),
                        ("heightStart", num(o.height_m)),
                        ("heightEnd", num(o.height_m)),
                        ("zOffsetStart", txt("0")),
                        ("zOffsetEnd", txt("0")),
                        ("widthStart", num(o.width_m)),
                        ("widthEnd", num(o.width_m)),
                    ],
                );
            } else {
                x.open("outlines", &[]);
                x.open("outline", &[("id", txt("0")), ("closed", txt("true"))]);
                for (k, (u, v)) in o.outline.iter().enumerate() {
                    x.empty(
                        "cornerLocal",
                        &[
                            ("u", num(*u)),
                            ("v", num(*v)),
                            ("z", txt("0")),
                            ("height", num(o.height_m)),
                            ("id", int(k as i64)),
                        ],
                    );
                }
                x.close("outline");
                x.close("outlines");
            }
            x.close("object");
        } else {
            x.empty("object", &attrs);
        }
    }
    for (k, b) in road.bridges.iter().enumerate() {
        x.empty(
            "bridge",
            &[
                ("s", num(b.s_m)),
                ("length", num(b.length_m)),
                ("name", txt("bridge")),
                ("id", txt(&format!("{}-bridge-{k}", road.id.0))),
                ("type", txt("concrete")),
            ],
        );
    }
    x.close("objects");
}

fn write_signals(x: &mut Xml, road: &Road) {
    if road.signals.is_empty() {
        return;
    }
    x.open("signals", &[]);
    for s in &road.signals {
        let (name, dynamic, ty, subtype, value) = match s.kind {
            SignalKind::TrafficLight => ("trafficLight", "yes", "1000001", "-", None),
            SignalKind::PedestrianLight => ("pedestrianLight", "yes", "1000002", "-", None),
            SignalKind::Stop => ("stop", "no", "206", "-", None),
            SignalKind::Yield => ("yield", "no", "205", "-", None),
            SignalKind::SpeedLimit { limit_kph } => {
                ("speedLimit", "no", "274", "-", Some(limit_kph))
            }
        };
        let mut attrs = vec![
            ("s", num(s.s_m)),
            ("t", num(s.t_m)),
            ("id", int(s.id.0)),
            ("name", txt(name)),
            ("dynamic", txt(dynamic)),
            (
                "orientation",
                if s.facing_forward { txt("+") } else { txt("-") },
            ),
            ("zOffset", num(s.z_offset_m)),
            ("country", txt("DE")),
            ("type", txt(ty)),
            ("subtype", txt(subtype)),
        ];
        if let Some(v) = value {
            attrs.push(("value", int(v)));
            attrs.push(("unit", txt("km/h")));
        }
        x.open("signal", &attrs);
        x.empty(
            "validity",
            &[
                ("fromLane", int(s.valid_lanes.0)),
                ("toLane", int(s.valid_lanes.1)),
            ],
        );
        x.close("signal");
    }
    x.close("signals");
}

fn write_road(x: &mut Xml, road: &Road, rule: &str) {
    x.open(
        "road",
        &[
            ("name", txt(&road.name)),
            ("length", num(road.length_m())),
            ("id", int(road.id.0)),
            ("junction", road.junction.map_or(txt("-1"), |j| int(j.0))),
            ("rule", rule.into()),
        ],
    );
    if road.predecessor.is_some() || road.successor.is_some() {
        x.open("link", &[]);
        if let Some(l) = &road.predecessor {
            write_link(x, "predecessor", l);
        }
        if let Some(l) = &road.successor {
            write_link(x, "successor", l);
        }
        x.close("link");
    }
    x.open("type", &[("s", txt("0")), ("type", road_type(road.class))]);
    x.empty(
        "speed",
        &[("max", num(road.speed_limit_mps)), ("unit", txt("m/s"))],
    );
    x.close("type");
    x.open("planView", &[]);
    for seg in road.reference_line.segments() {
        x.open(
            "geometry",
            &[
                ("s", num(seg.s_m)),
                ("x", num(seg.start.x_m)),
                ("y", num(seg.start.y_m)),
                ("hdg", num(seg.start.heading_rad)),
                ("length", num(seg.length_m)),
            ],
        );
        match seg.kind {
            SegmentKind::Line => x.empty("line", &[]),
            SegmentKind::Arc { curvature_per_m } => {
                x.empty("arc", &[("curvature", num(curvature_per_m))])
            }
            SegmentKind::Spiral {
                curv_start_per_m,
                curv_end_per_m,
            } => x.empty(
                "spiral",
                &[
                    ("curvStart", num(curv_start_per_m)),
                    ("curvEnd", num(curv_end_per_m)),
                ],
            ),
            SegmentKind::ParamPoly3 { u, v, p_range } => x.empty(
                "paramPoly3",
                &[
                    ("aU", num(u[0])),
                    ("bU", num(u[1])),
                    ("cU", num(u[2])),
                    ("dU", num(u[3])),
                    ("aV", num(v[0])),
                    ("bV", num(v[1])),
                    ("cV", num(v[2])),
                    ("dV", num(v[3])),
                    (
                        "pRange",
                        match p_range {
                            PRange::ArcLength => txt("arcLength"),
                            PRange::Normalized => txt("normalized"),
                        },
                    ),
                ],
            ),
        }
        x.close("geometry");
    }
    x.close("planView");
    x.open("elevationProfile", &[]);
    profile(x, "elevation", "s", &road.elevation, true);
    x.close("elevationProfile");
    x.open("lateralProfile", &[]);
    profile(x, "superelevation", "s", &road.superelevation, false);
    x.close("lateralProfile");
    x.open("lanes", &[]);
    profile(x, "laneOffset", "s", &road.lane_offset, false);
    for sec in &road.sections {
        x.open("laneSection", &[("s", num(sec.s_m))]);
        if !sec.left.is_empty() {
            x.open("left", &[]);
            for lane in sec.left.iter().rev() {
                write_lane(x, lane, Some(road.speed_limit_mps));
            }
            x.close("left");
        }
        x.open("center", &[]);
        write_lane(x, &sec.center, None);
        x.close("center");
        if !sec.right.is_empty() {
            x.open("right", &[]);
            for lane in &sec.right {
                write_lane(x, lane, Some(road.speed_limit_mps));
            }
            x.close("right");
        }
        x.close("laneSection");
    }
    x.close("lanes");
    write_objects(x, road);
    write_signals(x, road);
    x.close("road");
}

/// The network as an OpenDRIVE 1.7 document.
pub fn to_xodr(net: &Network) -> String {
    let mut x = Xml::with_capacity(net.roads.len() * 4096 + 1024);
    x.open("OpenDRIVE", &[]);
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for r in &net.roads {
        for seg in r.reference_line.segments() {
            for p in [seg.start.point(), seg.end_pose().point()] {
                min_x = min_x.min(p.x);
                min_y = min_y.min(p.y);
                max_x = max_x.max(p.x);
                max_y = max_y.max(p.y);
            }
        }
    }
    if net.roads.is_empty() {
        (min_x, min_y, max_x, max_y) = (0.0, 0.0, 0.0, 0.0);
    }
    x.empty(
        "header",
        &[
            ("revMajor", int(XODR_REV.0)),
            ("revMinor", int(XODR_REV.1)),
            ("name", txt(&net.name)),
            ("version", txt("1")),
            ("north", num(max_y)),
            ("south", num(min_y)),
            ("east", num(max_x)),
            ("west", num(min_x)),
            ("vendor", txt("roadworld")),
        ],
    );
    let rule = match net.traffic_side {
        TrafficSide::Right => "RHT",
        TrafficSide::Left => "LHT",
    };
    for road in &net.roads {
        write_road(&mut x, road, rule);
    }
    for c in &net.controllers {
        x.open(
            "controller",
            &[
                ("id", int(c.id.0)),
                ("name", txt(&format!("controller {}", c.id.0))),
                ("sequence", int(c.id.0)),
            ],
        );
        for (_, sid) in &c.signals {
            x.empty(
                "control",
                &[("signalId", int(sid.0)), ("type", txt("trafficLight"))],
            );
        }
        // The fixed-time programme (OpenDRIVE has no element for it), seconds in the cycle.
        let t = &c.timing;
        let programme = format!(
            "cycle_s={};green_start_s={};green_s={};amber_s={}",
            t.cycle_s, t.green_start_s, t.green_s, t.amber_s
        );
        x.empty(
            "userData",
            &[
                ("code", txt("roadworld:fixedTimePhase")),
                ("value", txt(&programme)),
            ],
        );
        x.close("controller");
    }
    for j in &net.junctions {
        x.open(
            "junction",
            &[
                ("id", int(j.id.0)),
                ("name", txt(&j.name)),
                ("type", txt("default")),
            ],
        );
        for c in &j.connections {
            x.open(
                "connection",
                &[
                    ("id", int(c.id)),
                    ("incomingRoad", int(c.incoming.0)),
                    ("connectingRoad", int(c.connecting.0)),
                    ("contactPoint", contact(c.contact)),
                ],
            );
            for (a, b) in &c.lane_links {
                x.empty("laneLink", &[("from", int(*a)), ("to", int(*b))]);
            }
            x.close("connection");
        }
        for p in &j.priorities {
            x.empty(
                "priority",
                &[("high", int(p.high.0)), ("low", int(p.low.0))],
            );
        }
        for (k, c) in j.controllers.iter().enumerate() {
            x.empty(
                "controller",
                &[("id", int(c.0)), ("sequence", int(k as i64))],
            );
        }
        x.close("junction");
    }
    x.close("OpenDRIVE");
    x.out
}
