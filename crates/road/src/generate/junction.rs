//! Junctions: connecting roads for the movements between the legs that meet at a junction,
//! one connecting road per lane movement, plus signals, signs and crosswalks on the legs.

use super::{Gen, Reject, RoadPlan};
use crate::model::*;
use roadworld_geom::{
    CubicProfile, Point2, Poly3, Pose2, ReferenceLineBuilder, angle_diff_abs, normalize_angle,
};
use std::f64::consts::{FRAC_PI_4, PI};

/// A road end that touches a junction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LegEnd {
    pub road: RoadId,
    pub contact: ContactPoint,
}

/// A driving lane at a leg's junction end: its id, the lateral offset of its inner border
/// from the leg pose (negative: to the right) and its width.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LegLane {
    pub id: i32,
    pub inner_r_m: f64,
    pub width_m: f64,
}

/// A leg as seen from the junction.
#[derive(Debug, Clone)]
pub(crate) struct LegInfo {
    /// On the reference line at the junction end, heading into the junction.
    pub into: Pose2,
    /// The same point heading out of the junction.
    pub out: Pose2,
    pub z_m: f64,
    /// Lanes entering the junction, inner first (offsets relative to `into`).
    pub incoming: Vec<LegLane>,
    /// Lanes leaving the junction, inner first (offsets relative to `out`).
    pub outgoing: Vec<LegLane>,
    pub speed_limit_mps: f64,
    pub class: RoadClass,
}

pub(crate) fn leg_info(net: &Network, leg: LegEnd) -> LegInfo {
    let road = net.road(leg.road);
    let (s, sec) = (
        road.contact_s_m(leg.contact),
        road.contact_section(leg.contact),
    );
    let pose = road.reference_line.pose(s);
    let lanes = |positive: bool, flip: bool| -> Vec<LegLane> {
        let section = &road.sections[sec];
        let side = if positive {
            &section.left
        } else {
            &section.right
        };
        side.iter()
            .filter(|l| l.kind == LaneType::Driving && road.lane_width_m(sec, l.id, s) > 1e-6)
            .map(|l| {
                let (inner, _) = road.lane_borders_t(sec, l.id, s);
                LegLane {
                    id: l.id,
                    inner_r_m: if flip { -inner } else { inner },
                    width_m: road.lane_width_m(sec, l.id, s),
                }
            })
            .collect()
    };
    let z = road.elevation.value(s);
    match leg.contact {
        ContactPoint::End => LegInfo {
            into: pose,
            out: pose.reversed(),
            z_m: z,
            incoming: lanes(false, false),
            outgoing: lanes(true, true),
            speed_limit_mps: road.speed_limit_mps,
            class: road.class,
        },
        ContactPoint::Start => LegInfo {
            into: pose.reversed(),
            out: pose,
            z_m: z,
            incoming: lanes(true, true),
            outgoing: lanes(false, false),
            speed_limit_mps: road.speed_limit_mps,
            class: road.class,
        },
    }
}

/// A lane-to-lane movement through a junction (indices into the legs' lane lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Movement {
    pub from: usize,
    pub from_lane: usize,
    pub to: usize,
    pub to_lane: usize,
}

/// Movements of an ordinary intersection: straight on lane by lane, right turns from the
/// outermost lane, left turns from the innermost; no U-turns.
pub(crate) fn intersection_movements(infos: &[LegInfo]) -> Vec<Movement> {
    let mut out = Vec::new();
    for (i, a) in infos.iter().enumerate() {
        for (j, b) in infos.iter().enumerate() {
            if i == j || a.incoming.is_empty() || b.outgoing.is_empty() {
                continue;
            }
            let turn = normalize_angle(b.out.heading_rad - a.into.heading_rad);
            if turn.abs() > 3.0 * FRAC_PI_4 {
                continue;
            }
            let (ni, no) = (a.incoming.len(), b.outgoing.len());
            if turn.abs() < FRAC_PI_4 {
                for k in 0..ni.min(no) {
                    out.push(Movement {
                        from: i,
                        from_lane: k,
                        to: j,
                        to_lane: k,
                    });
                }
            } else if turn < 0.0 {
                out.push(Movement {
                    from: i,
                    from_lane: ni - 1,
                    to: j,
                    to_lane: no - 1,
                });
            } else {
                out.push(Movement {
                    from: i,
                    from_lane: 0,
                    to: j,
                    to_lane: 0,
                });
            }
        }
    }
    out
}

/// Total absolute heading change of a connecting road.
fn total_turn(line: &roadworld_geom::ReferenceLine) -> f64 {
    line.segments()
        .iter()
        .map(|seg| angle_diff_abs(seg.start.heading_rad, seg.end_pose().heading_rad))
        .sum()
}

/// Builds a junction joining `legs` with one connecting road per movement. Returns the
/// junction and the connecting roads in movement order.
pub(crate) fn build_junction(
    g: &mut Gen<'_>,
    kind: JunctionKind,
    name: &str,
    legs: &[LegEnd],
    movements: &[Movement],
) -> Result<(JunctionId, Vec<RoadId>), Reject> {
    let jid = JunctionId(g.net.junctions.len() as u32);
    let infos: Vec<LegInfo> = legs.iter().map(|l| leg_info(&g.net, *l)).collect();
    let mut center = Point2::origin();
    for inf in &infos {
        center += inf.into.point().coords / infos.len() as f64;
    }
    let mut connections = Vec::with_capacity(movements.len());
    let mut connectors = Vec::with_capacity(movements.len());
    for (k, m) in movements.iter().enumerate() {
        let (a, b) = (&infos[m.from], &infos[m.to]);
        let (la, lb) = (a.incoming[m.from_lane], b.outgoing[m.to_lane]);
        let start = a.into.offset(la.inner_r_m);
        let end = b.out.offset(lb.inner_r_m);
        let mut builder = ReferenceLineBuilder::new(start);
        builder.biarc_to(end)?;
        let line = builder.build()?;
        let expected = angle_diff_abs(start.heading_rad, end.heading_rad);
        let chord = (end.point() - start.point()).norm();
        if total_turn(&line) > expected + 1.2 || line.length_m() > 3.0 * chord + 5.0 {
            return Err(Reject::Unfit);
        }
        let len = line.length_m();
        let width = if (la.width_m - lb.width_m).abs() < 1e-9 {
            CubicProfile::constant(la.width_m)
        } else {
            CubicProfile::new(vec![Poly3::hermite(
                0.0, len, la.width_m, 0.0, lb.width_m, 0.0,
            )])?
        };
        let no_mark = vec![RoadMark {
            s_offset_m: 0.0,
            kind: MarkKind::None,
            color: MarkColor::White,
            width_m: 0.0,
        }];
        let section = LaneSection {
            s_m: 0.0,
            left: Vec::new(),
            center: Lane {
                id: 0,
                kind: LaneType::None,
                width: CubicProfile::zero(),
                marks: no_mark.clone(),
                speed_limit_mps: None,
                predecessor: None,
                successor: None,
            },
            right: vec![Lane {
                id: -1,
                kind: LaneType::Driving,
                width,
                marks: no_mark,
                speed_limit_mps: None,
                predecessor: Some(la.id),
                successor: Some(lb.id),
            }],
        };
        let turn = normalize_angle(end.heading_rad - start.heading_rad);
        let speed = a.speed_limit_mps.min(b.speed_limit_mps);
        let speed = if turn.abs() > FRAC_PI_4 {
            speed.min(30.0 / 3.6)
        } else {
            speed
        };
        let elevation = CubicProfile::new(vec![Poly3::linear(0.0, a.z_m, (b.z_m - a.z_m) / len)])?;
        let id = g.add_road(RoadPlan {
            name: format!("{name} connector {k}"),
            class: a.class,
            junction: Some(jid),
            line,
            sections: vec![section],
            elevation,
            superelevation: CubicProfile::zero(),
            speed_limit_mps: speed,
        });
        let r = &mut g.net.roads[id.index()];
        r.predecessor = Some(Link::Road {
            road: legs[m.from].road,
            contact: legs[m.from].contact,
        });
        r.successor = Some(Link::Road {
            road: legs[m.to].road,
            contact: legs[m.to].contact,
        });
        connections.push(Connection {
            id: k as u32,
            incoming: legs[m.from].road,
            connecting: id,
            contact: ContactPoint::Start,
            lane_links: vec![(la.id, -1)],
        });
        connectors.push(id);
    }
    for leg in legs {
        let r = &mut g.net.roads[leg.road.index()];
        match leg.contact {
            ContactPoint::Start => r.predecessor = Some(Link::Junction(jid)),
            ContactPoint::End => r.successor = Some(Link::Junction(jid)),
        }
    }
    g.net.junctions.push(Junction {
        id: jid,
        name: name.into(),
        kind,
        connections,
        controllers: Vec::new(),
        priorities: Vec::new(),
        center,
    });
    Ok((jid, connectors))
}

/// `s` just inside a leg's junction end.
fn s_near_end(road: &Road, contact: ContactPoint, back_m: f64) -> f64 {
    match contact {
        ContactPoint::Start => back_m.min(road.length_m()),
        ContactPoint::End => (road.length_m() - back_m).max(0.0),
    }
}

/// Places a signal for traffic entering the junction on `leg`, at the kerb on its right.
pub(crate) fn add_entry_signal(
    g: &mut Gen<'_>,
    leg: LegEnd,
    kind: SignalKind,
    controller: Option<ControllerId>,
) -> SignalId {
    let id = g.new_signal_id();
    let road = &mut g.net.roads[leg.road.index()];
    let s = s_near_end(road, leg.contact, 1.0);
    let (right, left) = road.edges_t(s);
    let sec = road.section_index(s);
    let n_right = road.sections[sec]
        .right
        .iter()
        .filter(|l| l.kind == LaneType::Driving)
        .count() as i32;
    let n_left = road.sections[sec]
        .left
        .iter()
        .filter(|l| l.kind == LaneType::Driving)
        .count() as i32;
    let (t, forward, lanes) = match leg.contact {
        ContactPoint::End => (right + 0.3, true, (-n_right.max(1), -1)),
        ContactPoint::Start => (left - 0.3, false, (1, n_left.max(1))),
    };
    let z_offset_m = match kind {
        SignalKind::TrafficLight | SignalKind::PedestrianLight => 2.5,
        _ => 1.8,
    };
    road.signals.push(Signal {
        id,
        kind,
        s_m: s,
        t_m: t,
        z_offset_m,
        facing_forward: forward,
        controller,
        valid_lanes: lanes,
    });
    id
}

/// A zebra crossing across the carriageway of `leg`, just before the junction.
pub(crate) fn add_crosswalk(g: &mut Gen<'_>, leg: LegEnd) {
    let road = &mut g.net.roads[leg.road.index()];
    let width = 4.0;
    let s = s_near_end(road, leg.contact, 0.5 + 0.5 * width);
    if road.length_m() < width + 2.0 {
        return;
    }
    let sec = road.section_index(s);
    let carriage = |lanes: &[Lane]| {
        lanes
            .iter()
            .take_while(|l| {
                matches!(
                    l.kind,
                    LaneType::Driving | LaneType::Median | LaneType::Biking | LaneType::Parking
                )
            })
            .count() as i32
    };
    let nr = carriage(&road.sections[sec].right);
    let nl = carriage(&road.sections[sec].left);
    let tr = road.lane_borders_t(sec, -nr, s).1;
    let tl = road.lane_borders_t(sec, nl, s).1;
    road.objects.push(RoadObject {
        id: ObjectId(0),
        kind: ObjectKind::Crosswalk,
        s_m: s,
        t_m: 0.5 * (tr + tl),
        t_end_m: 0.5 * (tr + tl),
        heading_rad: 0.5 * PI,
        length_m: tl - tr,
        width_m: width,
        height_m: 0.0,
        outline: {
            let (hl, hw) = (0.5 * (tl - tr), 0.5 * width);
            vec![(-hl, -hw), (hl, -hw), (hl, hw), (-hl, hw)]
        },
    });
}

/// Traffic lights on every incoming leg, in two groups switching in turn.
pub(crate) fn signalise(
    g: &mut Gen<'_>,
    jid: JunctionId,
    groups: [&[LegEnd]; 2],
    cycle_s: f64,
    offset_s: f64,
) {
    // Real controllers run whole-second cycles.
    let cycle_s = cycle_s.round().max(20.0);
    let amber_s = 3.0;
    let all_red_s = 2.0;
    let green_s = 0.5 * cycle_s - amber_s - all_red_s;
    for (gi, legs) in groups.iter().enumerate() {
        let cid = ControllerId(g.net.controllers.len() as u32);
        let mut signals = Vec::new();
        for leg in legs.iter() {
            let info = leg_info(&g.net, *leg);
            if info.incoming.is_empty() {
                continue;
            }
            let sid = add_entry_signal(g, *leg, SignalKind::TrafficLight, Some(cid));
            signals.push((leg.road, sid));
        }
        if signals.is_empty() {
            continue;
        }
        let timing = PhaseTiming {
            cycle_s,
            green_start_s: (offset_s + gi as f64 * 0.5 * cycle_s).rem_euclid(cycle_s),
            green_s,
            amber_s,
        };
        g.net.controllers.push(Controller {
            id: cid,
            junction: jid,
            signals,
            timing,
        });
        g.net.junctions[jid.index()].controllers.push(cid);
    }
}

/// Stop or yield signs on the minor legs, and priorities major over minor.
pub(crate) fn give_way(
    g: &mut Gen<'_>,
    jid: JunctionId,
    major: &[LegEnd],
    minor: &[LegEnd],
    stop: bool,
) {
    for leg in minor {
        if leg_info(&g.net, *leg).incoming.is_empty() {
            continue;
        }
        add_entry_signal(
            g,
            *leg,
            if stop {
                SignalKind::Stop
            } else {
                SignalKind::Yield
            },
            None,
        );
        for m in major {
            g.net.junctions[jid.index()].priorities.push(Priority {
                high: m.road,
                low: leg.road,
            });
        }
    }
}

/// The connector of the first movement from leg `from` to leg `to`.
pub(crate) fn connector_for(
    movements: &[Movement],
    connectors: &[RoadId],
    from: usize,
    to: usize,
) -> Option<RoadId> {
    movements
        .iter()
        .position(|m| m.from == from && m.to == to)
        .map(|i| connectors[i])
}
