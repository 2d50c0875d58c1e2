//! Left-hand traffic: a right-hand network mirrored about the x axis is a left-hand network.

use crate::model::*;

fn mirror_lane(l: &Lane) -> Lane {
    let mut out = l.clone();
    out.id = -l.id;
    out.predecessor = l.predecessor.map(|p| -p);
    out.successor = l.successor.map(|p| -p);
    for m in &mut out.marks {
        m.kind = match m.kind {
            MarkKind::SolidBroken => MarkKind::BrokenSolid,
            MarkKind::BrokenSolid => MarkKind::SolidBroken,
            k => k,
        };
    }
    out
}

/// The network mirrored about the x axis, with lanes swapped side for side, for left-hand
/// traffic. The main route and all ids stay the same.
pub fn mirrored_for_left_hand_traffic(net: &Network) -> Network {
    let mut out = net.clone();
    out.traffic_side = match net.traffic_side {
        TrafficSide::Right => TrafficSide::Left,
        TrafficSide::Left => TrafficSide::Right,
    };
    for road in &mut out.roads {
        road.reference_line = road.reference_line.mirrored();
        road.lane_offset = road.lane_offset.negated();
        road.superelevation = road.superelevation.negated();
        for sec in &mut road.sections {
            let left: Vec<Lane> = sec.right.iter().map(mirror_lane).collect();
            let right: Vec<Lane> = sec.left.iter().map(mirror_lane).collect();
            sec.left = left;
            sec.right = right;
            sec.center = mirror_lane(&sec.center);
        }
        for sig in &mut road.signals {
            sig.t_m = -sig.t_m;
            sig.valid_lanes = (-sig.valid_lanes.1, -sig.valid_lanes.0);
        }
        for o in &mut road.objects {
            o.t_m = -o.t_m;
            o.t_end_m = -o.t_end_m;
            o.heading_rad = -o.heading_rad;
            for c in &mut o.outline {
                c.1 = -c.1;
            }
        }
    }
    for j in &mut out.junctions {
        j.center.y = -j.center.y;
        for c in &mut j.connections {
            for l in &mut c.lane_links {
                *l = (-l.0, -l.1);
            }
        }
    }
    out
}
