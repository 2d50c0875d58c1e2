//! ASAM OpenDRIVE 1.7 export.
//!
//! A direct mapping of the road model: reference-line segments become `<geometry>` records,
//! cubic profiles become `<elevation>`, `<laneOffset>` and `<width>` records, junction
//! connections carry one connecting road each. Floats are written in Rust's shortest
//! round-trip form, so the text is exact and the same bytes come out every time.

use quick_xml::escape::escape;
use roadworld_geom::{CubicProfile, PRange, SegmentKind};
use roadworld_road::model::*;
use std::fmt::Write;

/// The OpenDRIVE version written.
pub const XODR_REV: (u32, u32) = (1, 7);

struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }
    fn open_tag(&mut self, name: &str, attrs: &[(&str, String)], empty: bool) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            let _ = write!(self.out, " {k}=\"{}\"", escape(v.as_str()));
        }
        self.out.push_str(if empty { "/>\n" } else { ">\n" });
        if !empty {
            self.depth += 1;
        }
    }
    fn open(&mut self, name: &str, attrs: &[(&str, String)]) {
        self.open_tag(name, attrs, false);
    }
    fn empty(&mut self, name: &str, attrs: &[(&str, String)]) {
        self.open_tag(name, attrs, true);
    }
    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{name}>");
    }
}

fn f(v: f64) -> String {
    // Shortest representation that round-trips; -0 written as 0.
    if v == 0.0 { "0".into() } else { format!("{v}") }
}

fn poly_attrs(key: &str, s: f64, p: &roadworld_geom::Poly3) -> Vec<(&'static str, String)> {
    let k: &'static str = if key == "s" { "s" } else { "sOffset" };
    vec![(k, f(s)), ("a", f(p.a)), ("b", f(p.b)), ("c", f(p.c)), ("d", f(p.d))]
}

fn profile(x: &mut Xml, tag: &str, key: &str, prof: &CubicProfile, default: bool) {
    if prof.is_empty() {
        if default {
            x.empty(tag, &poly_attrs(key, 0.0, &roadworld_geom::Poly3::constant(0.0, 0.0)));
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

fn contact(c: ContactPoint) -> String {
    match c {
        ContactPoint::Start => "start".into(),
        ContactPoint::End => "end".into(),
    }
}

fn road_type(c: RoadClass) -> String {
    match c {
        RoadClass::Motorway => "motorway".into(),
        RoadClass::Rural => "rural".into(),
        RoadClass::Urban => "town".into(),
    }
}

fn write_link(x: &mut Xml, tag: &str, link: &Link) {
    match link {
        Link::Road { road, contact: c } => x.empty(
            tag,
            &[("elementType", "road".into()), ("elementId", road.0.to_string()), ("contactPoint", contact(*c))],
        ),
        Link::Junction(j) => x.empty(tag, &[("elementType", "junction".into()), ("elementId", j.0.to_string())]),
    }
}

fn write_lane(x: &mut Xml, lane: &Lane) {
    x.open("lane", &[("id", lane.id.to_string()), ("type", lane_type(lane.kind).into()), ("level", "false".into())]);
    if lane.predecessor.is_some() || lane.successor.is_some() {
        x.open("link", &[]);
        if let Some(p) = lane.predecessor {
            x.empty("predecessor", &[("id", p.to_string())]);
        }
        if let Some(s) = lane.successor {
            x.empty("successor", &[("id", s.to_string())]);
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
                ("sOffset", f(m.s_offset_m)),
                ("type", mark_type(m.kind).into()),
                ("weight", "standard".into()),
                (
                    "color",
                    match m.color {
                        MarkColor::White => "white".into(),
                        MarkColor::Yellow => "yellow".into(),
                    },
                ),
                ("width", f(m.width_m)),
            ],
        );
    }
    if let Some(v) = lane.speed_limit_mps {
        x.empty("speed", &[("sOffset", "0".into()), ("max", f(v)), ("unit", "m/s".into())]);
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
            ("id", o.id.0.to_string()),
            ("name", name.to_string()),
            ("type", ty.to_string()),
            ("s", f(o.s_m)),
            ("t", f(o.t_m)),
            ("zOffset", "0".into()),
            ("hdg", f(o.heading_rad)),
            ("pitch", "0".into()),
            ("roll", "0".into()),
            ("orientation", "none".into()),
            ("height", f(o.height_m)),
        ];
        let repeat = o.kind == ObjectKind::GuardRail;
        if !repeat && o.outline.is_empty() {
            attrs.push(("length", f(o.length_m)));
            attrs.push(("width", f(o.width_m)));
        }
        if repeat || !o.outline.is_empty() {
            x.open("object", &attrs);
            if repeat {
                x.empty(
                    "repeat",
                    &[
                        ("s", f(o.s_m)),
                        ("length", f(o.length_m)),
                        ("distance", "0".into()),
                        ("tStart", f(o.t_m)),
                        ("tEnd", f(o.t_end_m)),
                        ("heightStart", f(o.height_m)),
                        ("heightEnd", f(o.height_m)),
                        ("zOffsetStart", "0".into()),
                        ("zOffsetEnd", "0".into()),
                        ("widthStart", f(o.width_m)),
                        ("widthEnd", f(o.width_m)),
                    ],
                );
            } else {
                x.open("outlines", &[]);
                x.open("outline", &[("id", "0".into()), ("closed", "true".into())]);
                for (k, (u, v)) in o.outline.iter().enumerate() {
                    x.empty(
                        "cornerLocal",
                        &[("u", f(*u)), ("v", f(*v)), ("z", "0".into()), ("height", f(o.height_m)), ("id", k.to_string())],
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
                ("s", f(b.s_m)),
                ("length", f(b.length_m)),
                ("name", "bridge".into()),
                ("id", format!("{}-bridge-{k}", road.id.0)),
                ("type", "concrete".into()),
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
            SignalKind::SpeedLimit { limit_kph } => ("speedLimit", "no", "274", "-", Some(limit_kph)),
        };
        let mut attrs = vec![
            ("s", f(s.s_m)),
            ("t", f(s.t_m)),
            ("id", s.id.0.to_string()),
            ("name", name.to_string()),
            ("dynamic", dynamic.to_string()),
            ("orientation", if s.facing_forward { "+".into() } else { "-".into() }),
            ("zOffset", f(s.z_offset_m)),
            ("country", "DE".into()),
            ("type", ty.to_string()),
            ("subtype", subtype.to_string()),
        ];
        if let Some(v) = value {
            attrs.push(("value", v.to_string()));
            attrs.push(("unit", "km/h".into()));
        }
        x.open("signal", &attrs);
        x.empty("validity", &[("fromLane", s.valid_lanes.0.to_string()), ("toLane", s.valid_lanes.1.to_string())]);
        x.close("signal");
    }
    x.close("signals");
}

fn write_road(x: &mut Xml, road: &Road, rule: &str) {
    x.open(
        "road",
        &[
            ("name", road.name.clone()),
            ("length", f(road.length_m())),
            ("id", road.id.0.to_string()),
            ("junction", road.junction.map_or("-1".into(), |j| j.0.to_string())),
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
    x.open("type", &[("s", "0".into()), ("type", road_type(road.class))]);
    x.empty("speed", &[("max", f(road.speed_limit_mps)), ("unit", "m/s".into())]);
    x.close("type");
    x.open("planView", &[]);
    for seg in road.reference_line.segments() {
        x.open(
            "geometry",
            &[
                ("s", f(seg.s_m)),
                ("x", f(seg.start.x_m)),
                ("y", f(seg.start.y_m)),
                ("hdg", f(seg.start.heading_rad)),
                ("length", f(seg.length_m)),
            ],
        );
        match seg.kind {
            SegmentKind::Line => x.empty("line", &[]),
            SegmentKind::Arc { curvature_per_m } => x.empty("arc", &[("curvature", f(curvature_per_m))]),
            SegmentKind::Spiral { curv_start_per_m, curv_end_per_m } => {
                x.empty("spiral", &[("curvStart", f(curv_start_per_m)), ("curvEnd", f(curv_end_per_m))])
            }
            SegmentKind::ParamPoly3 { u, v, p_range } => x.empty(
                "paramPoly3",
                &[
                    ("aU", f(u[0])),
                    ("bU", f(u[1])),
                    ("cU", f(u[2])),
                    ("dU", f(u[3])),
                    ("aV", f(v[0])),
                    ("bV", f(v[1])),
                    ("cV", f(v[2])),
                    ("dV", f(v[3])),
                    (
                        "pRange",
                        match p_range {
                            PRange::ArcLength => "arcLength".into(),
                            PRange::Normalized => "normalized".into(),
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
        x.open("laneSection", &[("s", f(sec.s_m))]);
        if !sec.left.is_empty() {
            x.open("left", &[]);
            for lane in sec.left.iter().rev() {
                write_lane(x, lane);
            }
            x.close("left");
        }
        x.open("center", &[]);
        write_lane(x, &sec.center);
        x.close("center");
        if !sec.right.is_empty() {
            x.open("right", &[]);
            for lane in &sec.right {
                write_lane(x, lane);
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
    let mut x = Xml { out: String::with_capacity(net.roads.len() * 4096 + 1024), depth: 0 };
    x.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
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
            ("revMajor", XODR_REV.0.to_string()),
            ("revMinor", XODR_REV.1.to_string()),
            ("name", net.name.clone()),
            ("version", "1".into()),
            ("north", f(max_y)),
            ("south", f(min_y)),
            ("east", f(max_x)),
            ("west", f(min_x)),
            ("vendor", "roadworld".into()),
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
        x.open("controller", &[("id", c.id.0.to_string()), ("name", format!("controller {}", c.id.0)), ("sequence", c.id.0.to_string())]);
        for (_, sid) in &c.signals {
            x.empty("control", &[("signalId", sid.0.to_string()), ("type", "trafficLight".into())]);
        }
        x.close("controller");
    }
    for j in &net.junctions {
        x.open("junction", &[("id", j.id.0.to_string()), ("name", j.name.clone()), ("type", "default".into())]);
        for c in &j.connections {
            x.open(
                "connection",
                &[
                    ("id", c.id.to_string()),
                    ("incomingRoad", c.incoming.0.to_string()),
                    ("connectingRoad", c.connecting.0.to_string()),
                    ("contactPoint", contact(c.contact)),
                ],
            );
            for (a, b) in &c.lane_links {
                x.empty("laneLink", &[("from", a.to_string()), ("to", b.to_string())]);
            }
            x.close("connection");
        }
        for p in &j.priorities {
            x.empty("priority", &[("high", p.high.0.to_string()), ("low", p.low.0.to_string())]);
        }
        for (k, c) in j.controllers.iter().enumerate() {
            x.empty("controller", &[("id", c.0.to_string()), ("sequence", k.to_string())]);
        }
        x.close("junction");
    }
    x.close("OpenDRIVE");
    x.out
}
