//! The block grammar: each block grows the network from the open end of the main route.

use super::junction::{
    LegEnd, Movement, add_crosswalk, build_junction, connector_for, give_way,
    intersection_movements, leg_info, signalise,
};
use super::{
    Gen, Reject, Rng, RoadPlan, chance, class_cross_section, speed_limit, uniform, uniform_u,
};
use crate::model::*;
use crate::xsection::{CrossSection, SectionsBuilder, SideLayout};
use rand::RngExt;
use roadworld_geom::{
    CubicProfile, Point2, Poly3, Pose2, ReferenceLine, ReferenceLineBuilder, SegmentKind, Vector2,
};
use std::f64::consts::{FRAC_PI_2, PI, TAU};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Straight,
    Curve,
    SCurve,
    Hills,
    Junction4,
    JunctionT,
    Roundabout,
    OnRamp,
    OffRamp,
    Merge,
    Fork,
    LaneAdd,
    LaneDrop,
    Bridge,
    UrbanGrid,
}

/// Radius of the tightest turn at a junction, on a lane's centre line: a 12 m bus or truck
/// riding both axles on the lane needs about 8.6 m at full lock.
const MIN_TURN_RADIUS_M: f64 = 9.0;

pub(crate) fn place_block(g: &mut Gen<'_>, rng: &mut Rng) -> Result<(), Reject> {
    let zone = g.zone_class();
    if zone != g.open.class {
        return transition(g, rng, zone);
    }
    let w = g.p.blocks;
    use Block::*;
    let options: &[(Block, f64)] = match g.open.class {
        RoadClass::Motorway => &[
            (Straight, w.straight),
            (Curve, w.curve),
            (SCurve, w.s_curve),
            (Hills, w.hills),
            (OnRamp, w.on_ramp),
            (OffRamp, w.off_ramp),
            (Merge, w.merge),
            (Fork, w.fork),
            (LaneAdd, w.lane_add),
            (LaneDrop, w.lane_drop),
            (Bridge, w.bridge),
        ],
        RoadClass::Rural => &[
            (Straight, w.straight),
            (Curve, w.curve),
            (SCurve, w.s_curve),
            (Hills, w.hills),
            (Junction4, w.junction_4way),
            (JunctionT, w.junction_t),
            (Roundabout, w.roundabout),
            (Bridge, w.bridge),
            (LaneAdd, w.lane_add),
            (LaneDrop, w.lane_drop),
        ],
        RoadClass::Urban => &[
            (Straight, w.straight),
            (Curve, w.curve),
            (Junction4, w.junction_4way),
            (JunctionT, w.junction_t),
            (Roundabout, w.roundabout),
            (UrbanGrid, w.urban_grid),
            (LaneAdd, w.lane_add),
            (LaneDrop, w.lane_drop),
        ],
    };
    let total: f64 = options.iter().map(|o| o.1).sum();
    let mut x = rng.random_range(0.0..total.max(1e-12));
    let mut pick = Straight;
    for (b, wt) in options {
        if *wt > 0.0 {
            pick = *b;
            if x < *wt {
                break;
            }
            x -= wt;
        }
    }
    match pick {
        Straight => straight(g, rng),
        Curve => curve(g, rng),
        SCurve => s_curve(g, rng),
        Hills => hills(g, rng),
        Junction4 => junction(g, rng, true),
        JunctionT => junction(g, rng, false),
        Roundabout => roundabout(g, rng),
        OnRamp => on_ramp(g, rng, false),
        Merge => on_ramp(g, rng, true),
        OffRamp => off_ramp(g, rng, false),
        Fork => off_ramp(g, rng, true),
        LaneAdd => lane_change(g, rng, true),
        LaneDrop => lane_change(g, rng, false),
        Bridge => bridge(g, rng),
        UrbanGrid => urban_grid(g, rng),
    }
}

fn flat(z: f64) -> CubicProfile {
    CubicProfile::constant(z)
}

fn straight_line(start: Pose2, length_m: f64) -> Result<ReferenceLine, Reject> {
    let mut b = ReferenceLineBuilder::new(start);
    b.line(length_m)?;
    Ok(b.build()?)
}

fn sign(rng: &mut Rng) -> f64 {
    if rng.random_bool(0.5) { 1.0 } else { -1.0 }
}

fn uniform_sections(xs: &CrossSection) -> Vec<LaneSection> {
    let mut s = SectionsBuilder::new();
    s.uniform(0.0, xs);
    s.build()
}

/// A new road that is not on the route and not linked yet.
fn side_road(
    g: &mut Gen<'_>,
    name: &str,
    class: RoadClass,
    line: ReferenceLine,
    xs: &CrossSection,
    z: f64,
    speed: f64,
) -> RoadId {
    g.add_road(RoadPlan {
        name: name.into(),
        class,
        junction: None,
        line,
        sections: uniform_sections(xs),
        elevation: flat(z),
        superelevation: CubicProfile::zero(),
        speed_limit_mps: speed,
    })
}

fn transition(g: &mut Gen<'_>, rng: &mut Rng, class: RoadClass) -> Result<(), Reject> {
    let cp = g.cp(class);
    let new_xs = class_cross_section(class, &cp, rng, None, g.p.centre_line_color);
    let old = g.open.xs.clone();
    let taper = 150.0;
    let mut sections = SectionsBuilder::new();
    sections.uniform(0.0, &old);
    // Lanes end one at a time, 40 m apart (three lanes ending together leave the outer
    // one no lane to merge into), then the cross-section takes its new shape.
    let mut cur = old;
    let mut s_m = 20.0;
    let (new_r, new_l) = (new_xs.right.driving_m.len(), new_xs.left.driving_m.len());
    while cur.right.driving_m.len() > new_r.max(1) || cur.left.driving_m.len() > new_l.max(1) {
        let r = cur.right.driving_m.len();
        let l = cur.left.driving_m.len();
        let next = with_driving_lanes(&cur, (r - 1).max(new_r.max(1)), (l - 1).max(new_l.max(1)));
        sections
            .taper(s_m, taper, &cur, &next)
            .uniform(s_m + taper, &next);
        s_m += taper + 40.0;
        cur = next;
    }
    sections
        .taper(s_m, taper, &cur, &new_xs)
        .uniform(s_m + taper, &new_xs);
    let line = straight_line(g.open.pose, s_m + taper + 60.0)?;
    g.open.class = class;
    g.open.speed_limit_mps = speed_limit(&cp, rng);
    let z = g.open.z_m;
    g.extend_with(
        &format!("{} transition", class.name()),
        line,
        sections,
        flat(z),
    );
    g.open.xs = new_xs;
    Ok(())
}

fn straight(g: &mut Gen<'_>, rng: &mut Rng) -> Result<(), Reject> {
    let cp = g.cp(g.open.class);
    let line = straight_line(g.open.pose, uniform(rng, cp.straight_length_m))?;
    let z = g.open.z_m;
    g.extend("straight", line, flat(z));
    Ok(())
}

fn max_turn(class: RoadClass) -> f64 {
    match class {
        RoadClass::Motorway => 1.0,
        RoadClass::Rural => 1.8,
        RoadClass::Urban => FRAC_PI_2,
    }
}

/// Banking that follows the curvature through the clothoids: towards the inside of the
/// curve, half of what would balance the lateral acceleration at the speed limit, capped.
fn bank_profile(
    line: &ReferenceLine,
    speed_mps: f64,
    max_rad: f64,
) -> Result<CubicProfile, Reject> {
    let bank = |k: f64| -(k.signum()) * (speed_mps * speed_mps * k.abs() / 9.81 * 0.5).min(max_rad);
    let pieces = line
        .segments()
        .iter()
        .map(|seg| {
            let (k0, k1) = match seg.kind {
                SegmentKind::Arc { curvature_per_m } => (curvature_per_m, curvature_per_m),
                SegmentKind::Spiral {
                    curv_start_per_m,
                    curv_end_per_m,
                } => (curv_start_per_m, curv_end_per_m),
                SegmentKind::Line | SegmentKind::ParamPoly3 { .. } => (0.0, 0.0),
            };
            Poly3::hermite(seg.s_m, seg.length_m, bank(k0), 0.0, bank(k1), 0.0)
        })
        .collect();
    Ok(CubicProfile::new(pieces)?)
}

fn max_bank_rad(class: RoadClass) -> f64 {
    match class {
        RoadClass::Motorway | RoadClass::Rural => 0.06,
        RoadClass::Urban => 0.0,
    }
}

/// Extends the route with a curved road: banked, and (on country roads) with a no-overtaking
/// centre line.
fn extend_curved(g: &mut Gen<'_>, name: &str, line: ReferenceLine) -> Result<(), Reject> {
    let mut xs = g.open.xs.clone();
    if g.open.class == RoadClass::Rural && xs.center_mark.0 == MarkKind::Broken {
        xs.center_mark.0 = MarkKind::SolidSolid;
    }
    let mut sections = SectionsBuilder::new();
    sections.uniform(0.0, &xs);
    let bank = bank_profile(&line, g.open.speed_limit_mps, max_bank_rad(g.open.class))?;
    let z = g.open.z_m;
    g.extend_banked(name, line, sections, flat(z), bank);
    Ok(())
}

fn curve(g: &mut Gen<'_>, rng: &mut Rng) -> Result<(), Reject> {
    let cp = g.cp(g.open.class);
    let angle = rng.random_range(0.25..max_turn(g.open.class)) * sign(rng);
    let radius = uniform(rng, cp.curve_radius_m);
    let mut b = ReferenceLineBuilder::new(g.open.pose);
    b.turn(angle, radius, (0.2 * radius).clamp(10.0, 150.0))?
        .line(20.0)?;
    extend_curved(g, "curve", b.build()?)
}

fn s_curve(g: &mut Gen<'_>, rng: &mut Rng) -> Result<(), Reject> {
    let cp = g.cp(g.open.class);
    let angle = rng.random_range(0.2..0.5 * max_turn(g.open.class) + 0.2) * sign(rng);
    let radius = uniform(rng, cp.curve_radius_m);
    let spiral = (0.2 * radius).clamp(10.0, 150.0);
    let mut b = ReferenceLineBuilder::new(g.open.pose);
    b.turn(angle, radius, spiral)?
        .line(rng.random_range(10.0..60.0))?
        .turn(-angle, radius, spiral)?
        .line(20.0)?;
    extend_curved(g, "s-curve", b.build()?)
}

fn hills(g: &mut Gen<'_>, rng: &mut Rng) -> Result<(), Reject> {
    let cp = g.cp(g.open.class);
    let length = rng.random_range(300.0..900.0);
    let grade = rng.random_range(0.4..1.0) * cp.max_grade;
    // A Hermite rise peaks at 1.5x its mean grade.
    let mut dz = grade * length / 1.5 * sign(rng);
    if g.open.z_m.abs() > 20.0 {
        dz = -dz.abs() * g.open.z_m.signum();
    }
    let mut b = ReferenceLineBuilder::new(g.open.pose);
    if chance(rng, 0.5) {
        let radius = uniform(rng, cp.curve_radius_m).max(300.0);
        let angle = (length / radius).min(0.6) * sign(rng);
        b.arc(length, angle / length)?;
    } else {
        b.line(length)?;
    }
    let z = g.open.z_m;
    let elevation = CubicProfile::new(vec![Poly3::hermite(0.0, length, z, 0.0, z + dz, 0.0)])?;
    g.extend("hills", b.build()?, elevation);
    Ok(())
}

fn with_driving_lanes(xs: &CrossSection, right: usize, left: usize) -> CrossSection {
    let w = xs.right.driving_m.first().copied().unwrap_or(3.5);
    let mut out = xs.clone();
    out.right.driving_m = vec![w; right];
    out.left.driving_m = vec![xs.left.driving_m.first().copied().unwrap_or(w); left];
    out
}

fn is_standard(xs: &CrossSection) -> bool {
    xs.right.driving_m.len() == xs.left.driving_m.len() && !xs.right.driving_m.is_empty()
}

fn taper_length(class: RoadClass) -> f64 {
    match class {
        RoadClass::Motorway => 150.0,
        RoadClass::Rural => 90.0,
        RoadClass::Urban => 50.0,
    }
}

fn lane_change(g: &mut Gen<'_>, rng: &mut Rng, add: bool) -> Result<(), Reject> {
    let cp = g.cp(g.open.class);
    let xs = g.open.xs.clone();
    if !is_standard(&xs) {
        return Err(Reject::Unfit);
    }
    let n = xs.right.driving_m.len();
    let n2 = if add { n + 1 } else { n.saturating_sub(1) };
    if n2 < cp.lanes_per_direction.min.max(1) as usize || n2 > cp.lanes_per_direction.max as usize {
        return Err(Reject::Unfit);
    }
    let xs2 = with_driving_lanes(&xs, n2, n2);
    let taper = taper_length(g.open.class);
    let mut sections = SectionsBuilder::new();
    sections
        .uniform(0.0, &xs)
        .taper(40.0, taper, &xs, &xs2)
        .uniform(40.0 + taper, &xs2);
    let line = straight_line(g.open.pose, 40.0 + taper + rng.random_range(60.0..200.0))?;
    let z = g.open.z_m;
    g.extend_with(
        if add { "lane add" } else { "lane drop" },
        line,
        sections,
        flat(z),
    );
    g.open.xs = xs2;
    Ok(())
}

fn bridge(g: &mut Gen<'_>, rng: &mut Rng) -> Result<(), Reject> {
    let cp = g.cp(g.open.class);
    let clearance = 7.0;
    let grade = cp.max_grade.clamp(0.02, 0.06);
    let ramp = (1.5 * clearance / grade).ceil();
    let rural = g.cp(RoadClass::Rural);
    let cross_xs = class_cross_section(
        RoadClass::Rural,
        &rural,
        rng,
        Some(1),
        g.p.centre_line_color,
    );
    let cross_speed = speed_limit(&rural, rng);
    let route_half = g.open.xs.half_width_m();
    let cross_half = cross_xs.half_width_m();
    let z = g.open.z_m;
    let p0 = g.open.pose;
    let cross_heading = p0.heading_rad + FRAC_PI_2 + rng.random_range(-0.4..0.4);
    if chance(rng, 0.5) {
        // Overpass: the route climbs over a rural road.
        let flat_m = 2.0 * cross_half + 40.0;
        let total = 2.0 * ramp + flat_m;
        let elevation = CubicProfile::new(vec![
            Poly3::hermite(0.0, ramp, z, 0.0, z + clearance, 0.0),
            Poly3::constant(ramp, z + clearance),
            Poly3::hermite(ramp + flat_m, ramp, z + clearance, 0.0, z, 0.0),
        ])?;
        let line = straight_line(p0, total)?;
        let id = g.extend("bridge", line, elevation);
        let mid = p0.advance(ramp + 0.5 * flat_m);
        let len = 2.0 * (route_half + 60.0);
        let cross_start = Pose2::new(mid.x_m, mid.y_m, cross_heading).advance(-0.5 * len);
        let cross = straight_line(cross_start, len)?;
        side_road(
            g,
            "underpass",
            RoadClass::Rural,
            cross,
            &cross_xs,
            z,
            cross_speed,
        );
        let half_span = cross_half / (cross_heading - p0.heading_rad).sin().abs().max(0.5) + 4.0;
        g.net.roads[id.index()].bridges.push(Bridge {
            s_m: ramp + 0.5 * flat_m - half_span,
            length_m: 2.0 * half_span,
        });
    } else {
        // Underpass: a rural road crosses over the route on a bridge.
        let span = 2.0 * route_half / (cross_heading - p0.heading_rad).sin().abs().max(0.5) + 8.0;
        let flat_m = span + 20.0;
        let line = straight_line(p0, 80.0 + 2.0 * cross_half + 80.0)?;
        let mid = p0.advance(80.0 + cross_half);
        g.extend("underpass", line, flat(z));
        let len = 2.0 * ramp + flat_m;
        let cross_start = Pose2::new(mid.x_m, mid.y_m, cross_heading).advance(-0.5 * len);
        let cross = straight_line(cross_start, len)?;
        let elevation = CubicProfile::new(vec![
            Poly3::hermite(0.0, ramp, z, 0.0, z + clearance, 0.0),
            Poly3::constant(ramp, z + clearance),
            Poly3::hermite(ramp + flat_m, ramp, z + clearance, 0.0, z, 0.0),
        ])?;
        let id = g.add_road(RoadPlan {
            name: "overpass".into(),
            class: RoadClass::Rural,
            junction: None,
            line: cross,
            sections: uniform_sections(&cross_xs),
            elevation,
            superelevation: CubicProfile::zero(),
            speed_limit_mps: cross_speed,
        });
        g.net.roads[id.index()].bridges.push(Bridge {
            s_m: ramp + 0.5 * (flat_m - span),
            length_m: span,
        });
    }
    Ok(())
}

/// Lane index mapping `k -> k` for the first `n` lanes between two legs.
fn straight_on(from: usize, to: usize, n: usize) -> impl Iterator<Item = Movement> {
    (0..n).map(move |k| Movement {
        from,
        from_lane: k,
        to,
        to_lane: k,
    })
}

fn one_way_ramp_xs(lanes: usize, w: f64) -> CrossSection {
    CrossSection {
        right: SideLayout {
            median_m: 0.0,
            driving_m: vec![w; lanes],
            outer: vec![(LaneType::Shoulder, 2.5)],
        },
        left: SideLayout {
            median_m: 0.0,
            driving_m: Vec::new(),
            outer: vec![(LaneType::Shoulder, 1.0)],
        },
        center_mark: (MarkKind::Solid, MarkColor::White),
    }
}

fn off_ramp(g: &mut Gen<'_>, rng: &mut Rng, fork: bool) -> Result<(), Reject> {
    let xs = g.open.xs.clone();
    if !is_standard(&xs) {
        return Err(Reject::Unfit);
    }
    let n = xs.right.driving_m.len();
    let w = xs.right.driving_m[0];
    let e = if fork { 2 } else { 1 };
    let xs_exit = with_driving_lanes(&xs, n + e, n);
    let taper = 100.0 * e as f64;
    let mut sections = SectionsBuilder::new();
    sections
        .uniform(0.0, &xs)
        .taper(60.0, taper, &xs, &xs_exit)
        .uniform(60.0 + taper, &xs_exit);
    let z = g.open.z_m;
    let approach = straight_line(g.open.pose, 60.0 + taper + rng.random_range(120.0..250.0))?;
    let a = g.extend_with(
        if fork {
            "fork approach"
        } else {
            "off-ramp approach"
        },
        approach,
        sections,
        flat(z),
    );
    let p = g.net.road(a).reference_line.end_pose();
    let lj = if fork { 80.0 } else { 60.0 };
    let speed = g.open.speed_limit_mps;
    let b_line = straight_line(p.advance(lj), rng.random_range(80.0..200.0))?;
    let b = side_road(g, "motorway", RoadClass::Motorway, b_line, &xs, z, speed);
    let theta = 0.12;
    let ramp_start = {
        let q = p.advance(lj).offset(-(xs.right.width_m() + 2.0));
        Pose2::new(q.x_m, q.y_m, p.heading_rad - theta)
    };
    let ramp_xs = one_way_ramp_xs(e, w);
    let radius = if fork {
        rng.random_range(500.0..900.0)
    } else {
        rng.random_range(150.0..300.0)
    };
    let mut rb = ReferenceLineBuilder::new(ramp_start);
    rb.line(30.0)?
        .turn(-rng.random_range(0.3..1.0), radius, 60.0)?
        .line(rng.random_range(60.0..200.0))?;
    let ramp_speed = if fork {
        speed
    } else {
        rng.random_range(60.0..80.0_f64).round() / 3.6
    };
    let ramp = side_road(
        g,
        if fork { "fork branch" } else { "off-ramp" },
        RoadClass::Motorway,
        rb.build()?,
        &ramp_xs,
        z,
        ramp_speed,
    );
    ramp_junction(
        g,
        if fork { "fork" } else { "off-ramp" },
        [a, b],
        LegEnd {
            road: ramp,
            contact: ContactPoint::Start,
        },
        (0..e).map(|k| Movement {
            from: 0,
            from_lane: n + k,
            to: 2,
            to_lane: k,
        }),
        xs,
    )
}

fn on_ramp(g: &mut Gen<'_>, rng: &mut Rng, merge: bool) -> Result<(), Reject> {
    let xs = g.open.xs.clone();
    if !is_standard(&xs) {
        return Err(Reject::Unfit);
    }
    let n = xs.right.driving_m.len();
    let w = xs.right.driving_m[0];
    let e = if merge { 2 } else { 1 };
    let z = g.open.z_m;
    let a_line = straight_line(g.open.pose, rng.random_range(80.0..160.0))?;
    let a = g.extend(
        if merge {
            "merge approach"
        } else {
            "on-ramp approach"
        },
        a_line,
        flat(z),
    );
    let p = g.net.road(a).reference_line.end_pose();
    let lj = 60.0;
    let xs_acc = with_driving_lanes(&xs, n + e, n);
    let acc = 200.0;
    let mut sections = SectionsBuilder::new();
    sections.uniform(0.0, &xs_acc);
    let mut s = acc;
    let mut cur = xs_acc.clone();
    for k in (0..e).rev() {
        let next = with_driving_lanes(&xs, n + k, n);
        sections.taper(s, 120.0, &cur, &next);
        s += 120.0;
        sections.uniform(s, &next);
        s += 80.0;
        cur = next;
    }
    let b_line = straight_line(p.advance(lj), s + 40.0)?;
    let speed = g.open.speed_limit_mps;
    let b = g.add_road(RoadPlan {
        name: "acceleration lane".into(),
        class: RoadClass::Motorway,
        junction: None,
        line: b_line,
        sections: sections.build(),
        elevation: flat(z),
        superelevation: CubicProfile::zero(),
        speed_limit_mps: speed,
    });
    let theta = 0.12;
    let ramp_end = {
        let q = p.offset(-(xs.right.width_m() + 2.0));
        Pose2::new(q.x_m, q.y_m, p.heading_rad + theta)
    };
    let radius = if merge {
        rng.random_range(500.0..900.0)
    } else {
        rng.random_range(150.0..300.0)
    };
    let mut rb = ReferenceLineBuilder::new(ramp_end.reversed());
    rb.line(30.0)?
        .turn(rng.random_range(0.3..1.0), radius, 60.0)?
        .line(rng.random_range(60.0..200.0))?;
    let ramp_line = rb.build()?.reversed().ok_or(Reject::Unfit)?;
    let ramp_xs = one_way_ramp_xs(e, w);
    let ramp_speed = if merge {
        speed
    } else {
        rng.random_range(60.0..80.0_f64).round() / 3.6
    };
    let ramp = side_road(
        g,
        if merge { "merging motorway" } else { "on-ramp" },
        RoadClass::Motorway,
        ramp_line,
        &ramp_xs,
        z,
        ramp_speed,
    );
    ramp_junction(
        g,
        if merge { "merge" } else { "on-ramp" },
        [a, b],
        LegEnd {
            road: ramp,
            contact: ContactPoint::End,
        },
        (0..e).map(|k| Movement {
            from: 2,
            from_lane: k,
            to: 1,
            to_lane: n + k,
        }),
        xs,
    )
}

/// The junction of a ramp block: the mainline from `a` (ending here) to `b` (starting here),
/// lane by lane in both directions, plus the ramp's own movements (leg 2). The route goes on
/// along the mainline.
fn ramp_junction(
    g: &mut Gen<'_>,
    name: &str,
    [a, b]: [RoadId; 2],
    ramp: LegEnd,
    ramp_movements: impl Iterator<Item = Movement>,
    xs: CrossSection,
) -> Result<(), Reject> {
    let legs = [
        LegEnd {
            road: a,
            contact: ContactPoint::End,
        },
        LegEnd {
            road: b,
            contact: ContactPoint::Start,
        },
        ramp,
    ];
    let mut movements: Vec<Movement> = straight_on(0, 1, xs.right.driving_m.len()).collect();
    movements.extend(ramp_movements);
    movements.extend(straight_on(1, 0, xs.left.driving_m.len()));
    let (_, conns) = build_junction(g, JunctionKind::Ramp, name, &legs, &movements)?;
    push_connector(g, conns.first().copied())?;
    g.route_push(b);
    g.set_open(b);
    g.open.xs = xs;
    Ok(())
}

fn push_connector(g: &mut Gen<'_>, id: Option<RoadId>) -> Result<(), Reject> {
    let id = id.ok_or(Reject::Unfit)?;
    g.net.main_route.push(RouteStep {
        road: id,
        forward: true,
    });
    g.route_m += g.net.road(id).length_m();
    Ok(())
}

fn junction(g: &mut Gen<'_>, rng: &mut Rng, four_way: bool) -> Result<(), Reject> {
    let class = g.open.class;
    let cp = g.cp(class);
    let main_xs = g.open.xs.clone();
    let side_xs = class_cross_section(class, &cp, rng, Some(1), g.p.centre_line_color);
    let margin = if class == RoadClass::Urban { 3.0 } else { 6.0 };
    // Right turns from the outermost lane sweep a radius of about `h` less that lane's
    // offset: wide enough for the longest bus or truck.
    let outer_centre = |xs: &CrossSection| {
        [&xs.right, &xs.left]
            .iter()
            .map(|side| side.carriageway_m() - 0.5 * side.driving_m.last().copied().unwrap_or(0.0))
            .fold(0.0, f64::max)
    };
    let h = (main_xs.half_width_m().max(side_xs.half_width_m()) + margin)
        .max(outer_centre(&main_xs).max(outer_centre(&side_xs)) + MIN_TURN_RADIUS_M);
    let p0 = g.open.pose;
    let z = g.open.z_m;
    let center = p0.advance(h);
    // Leg directions relative to the approach: ahead, left, right.
    let mut dirs = vec![0.0, FRAC_PI_2, -FRAC_PI_2];
    if !four_way {
        let missing = rng.random_range(0..3);
        dirs.remove(missing);
    }
    let exit_idx = if dirs[0] == 0.0 && chance(rng, 0.5) {
        0
    } else {
        rng.random_range(0..dirs.len())
    };
    let side_speed = speed_limit(&cp, rng);
    let mut legs = vec![LegEnd {
        road: g.open.road,
        contact: ContactPoint::End,
    }];
    let mut exit_xs = main_xs.clone();
    for (k, d) in dirs.iter().enumerate() {
        let heading = p0.heading_rad + d;
        let start = Pose2::new(center.x_m, center.y_m, heading).advance(h);
        let is_exit = k == exit_idx;
        let xs = if *d == 0.0 {
            main_xs.clone()
        } else {
            side_xs.clone()
        };
        let len = if is_exit {
            rng.random_range(90.0..140.0)
        } else {
            rng.random_range(40.0..90.0)
        };
        let speed = if *d == 0.0 {
            g.open.speed_limit_mps
        } else {
            side_speed
        };
        let id = side_road(
            g,
            if is_exit {
                "junction exit"
            } else {
                "side road"
            },
            class,
            straight_line(start, len)?,
            &xs,
            z,
            speed,
        );
        if is_exit {
            exit_xs = xs;
        }
        legs.push(LegEnd {
            road: id,
            contact: ContactPoint::Start,
        });
    }
    let infos: Vec<_> = legs.iter().map(|l| leg_info(&g.net, *l)).collect();
    let movements = intersection_movements(&infos);
    let (jid, conns) =
        build_junction(g, JunctionKind::Intersection, "junction", &legs, &movements)?;
    let major: Vec<LegEnd> = legs
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || dirs[i - 1] == 0.0)
        .map(|x| *x.1)
        .collect();
    let minor: Vec<LegEnd> = legs
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 0 && dirs[i - 1] != 0.0)
        .map(|x| *x.1)
        .collect();
    if class == RoadClass::Urban && chance(rng, 0.7) {
        let cycle = uniform(rng, g.p.urban_grid.signal_cycle_s);
        signalise(g, jid, [&major, &minor], cycle, 0.0);
    } else {
        let stop = chance(rng, 0.5);
        give_way(g, jid, &major, &minor, stop);
    }
    if class == RoadClass::Urban {
        for leg in &legs {
            add_crosswalk(g, *leg);
        }
    }
    push_connector(g, connector_for(&movements, &conns, 0, exit_idx + 1))?;
    let exit = legs[exit_idx + 1].road;
    g.route_push(exit);
    g.set_open(exit);
    g.open.xs = exit_xs;
    Ok(())
}

fn unit(angle: f64) -> Vector2 {
    Vector2::new(angle.cos(), angle.sin())
}

fn roundabout(g: &mut Gen<'_>, rng: &mut Rng) -> Result<(), Reject> {
    let class = g.open.class;
    let cp = g.cp(class);
    let z = g.open.z_m;
    let ring_lanes = if class == RoadClass::Urban && chance(rng, 0.3) {
        2
    } else {
        1
    };
    let ring_w = g.open.xs.right.driving_m.first().copied().unwrap_or(3.5) + 0.75;
    let r_in = rng.random_range(14.0..24.0);
    let ring_xs = CrossSection {
        right: SideLayout {
            median_m: 0.0,
            driving_m: vec![ring_w; ring_lanes],
            outer: vec![(LaneType::Border, 0.5)],
        },
        left: SideLayout::default(),
        center_mark: (MarkKind::Solid, MarkColor::White),
    };
    let r_out = r_in + ring_w * ring_lanes as f64 + 0.5;
    let leg_xs = class_cross_section(class, &cp, rng, Some(1), g.p.centre_line_color);
    let entry_xs = g.open.xs.clone();
    let r_leg = r_out + entry_xs.half_width_m().max(leg_xs.half_width_m()) + 4.0;
    let p0 = g.open.pose;
    let o = p0.point() + p0.tangent() * r_leg;
    let n_legs = if chance(rng, 0.6) { 4 } else { 3 };
    let phi0 = p0.heading_rad + PI;
    let mut phis: Vec<f64> = (0..n_legs)
        .map(|k| {
            let jitter = if k == 0 {
                0.0
            } else {
                rng.random_range(-0.25..0.25)
            };
            phi0 + TAU * k as f64 / n_legs as f64 + jitter
        })
        .collect();
    phis.push(phi0 + TAU);
    // Angular half-width of each leg's junction zone on the ring.
    let delta = ((r_leg - r_in) + 0.5 * entry_xs.half_width_m().max(leg_xs.half_width_m()))
        / (r_in + 0.5 * ring_w)
        * 0.8;
    let exit_k = if n_legs == 4 && chance(rng, 0.5) {
        2
    } else {
        rng.random_range(1..n_legs)
    };
    // Ring roads: from leg k's zone to leg k+1's zone, counter-clockwise.
    let mut ring = Vec::with_capacity(n_legs);
    let ring_speed = (25.0_f64 / 3.6).min(g.open.speed_limit_mps);
    for k in 0..n_legs {
        let a0 = phis[k] + delta;
        let a1 = phis[k + 1] - delta;
        let arc = r_in * (a1 - a0);
        if arc < 3.0 {
            return Err(Reject::Unfit);
        }
        let start = o + unit(a0) * r_in;
        let mut b = ReferenceLineBuilder::new(Pose2::new(start.x, start.y, a0 + FRAC_PI_2));
        b.arc(arc, 1.0 / r_in)?;
        ring.push(side_road(
            g,
            "roundabout",
            class,
            b.build()?,
            &ring_xs,
            z,
            ring_speed,
        ));
    }
    // The central island, on the first ring road.
    {
        let road = &mut g.net.roads[ring[0].index()];
        let s = 0.5 * road.length_m();
        let pts: Vec<(f64, f64)> = (0..24)
            .map(|i| {
                let a = TAU * i as f64 / 24.0;
                ((r_in - 0.5) * a.cos(), (r_in - 0.5) * a.sin())
            })
            .collect();
        road.objects.push(RoadObject {
            id: ObjectId(0),
            kind: ObjectKind::TrafficIsland,
            s_m: s,
            t_m: r_in,
            t_end_m: r_in,
            heading_rad: 0.0,
            length_m: 2.0 * r_in - 1.0,
            width_m: 2.0 * r_in - 1.0,
            height_m: 0.15,
            outline: pts,
        });
    }
    let mut leg_roads = vec![LegEnd {
        road: g.open.road,
        contact: ContactPoint::End,
    }];
    let mut exit_road = None;
    for (k, phi) in phis.iter().enumerate().take(n_legs).skip(1) {
        let start = o + unit(*phi) * r_leg;
        let is_exit = k == exit_k;
        let len = if is_exit {
            rng.random_range(90.0..140.0)
        } else {
            rng.random_range(40.0..90.0)
        };
        let xs = if is_exit { &entry_xs } else { &leg_xs };
        let speed = g.open.speed_limit_mps;
        let id = side_road(
            g,
            if is_exit {
                "roundabout exit"
            } else {
                "roundabout leg"
            },
            class,
            straight_line(Pose2::new(start.x, start.y, *phi), len)?,
            xs,
            z,
            speed,
        );
        if is_exit {
            exit_road = Some(id);
        }
        leg_roads.push(LegEnd {
            road: id,
            contact: ContactPoint::Start,
        });
    }
    let mut route = Vec::new();
    for k in 0..n_legs {
        let ring_in = LegEnd {
            road: ring[(k + n_legs - 1) % n_legs],
            contact: ContactPoint::End,
        };
        let ring_out = LegEnd {
            road: ring[k],
            contact: ContactPoint::Start,
        };
        let legs = [ring_in, ring_out, leg_roads[k]];
        let infos: Vec<_> = legs.iter().map(|l| leg_info(&g.net, *l)).collect();
        let nr = infos[0].incoming.len();
        let mut movements: Vec<Movement> = straight_on(0, 1, nr).collect();
        let m_in = infos[2].incoming.len();
        for i in 0..m_in.min(nr) {
            movements.push(Movement {
                from: 2,
                from_lane: m_in - 1 - i,
                to: 1,
                to_lane: nr - 1 - i,
            });
        }
        let m_out = infos[2].outgoing.len();
        for i in 0..m_out.min(nr) {
            movements.push(Movement {
                from: 0,
                from_lane: nr - 1 - i,
                to: 2,
                to_lane: m_out - 1 - i,
            });
        }
        let (jid, conns) =
            build_junction(g, JunctionKind::Roundabout, "roundabout", &legs, &movements)?;
        give_way(g, jid, &[ring_in, ring_out], &[leg_roads[k]], false);
        if class == RoadClass::Urban {
            add_crosswalk(g, leg_roads[k]);
        }
        let straight_conn = connector_for(&movements, &conns, 0, 1);
        let entry_conn = connector_for(&movements, &conns, 2, 1);
        let exit_conn = connector_for(&movements, &conns, 0, 2);
        route.push((straight_conn, entry_conn, exit_conn));
    }
    push_connector(g, route[0].1)?;
    for (k, conns) in route.iter().enumerate().take(exit_k + 1).skip(1) {
        g.route_push(ring[k - 1]);
        push_connector(g, if k == exit_k { conns.2 } else { conns.0 })?;
    }
    let exit = exit_road.ok_or(Reject::Unfit)?;
    g.route_push(exit);
    g.set_open(exit);
    g.open.xs = entry_xs;
    Ok(())
}

fn urban_grid(g: &mut Gen<'_>, rng: &mut Rng) -> Result<(), Reject> {
    let cp = g.cp(RoadClass::Urban);
    let gp = g.p.urban_grid;
    let nx = uniform_u(rng, gp.columns) as usize;
    let ny = uniform_u(rng, gp.rows) as usize;
    let size = uniform(rng, gp.block_size_m);
    let cycle = uniform(rng, gp.signal_cycle_s);
    let main_xs = g.open.xs.clone();
    let street_xs = class_cross_section(RoadClass::Urban, &cp, rng, Some(1), g.p.centre_line_color);
    let h = main_xs.half_width_m().max(street_xs.half_width_m()) + 3.0;
    if size - 2.0 * h < 30.0 {
        return Err(Reject::Unfit);
    }
    let z = g.open.z_m;
    let speed = g.open.speed_limit_mps;
    let street_speed = speed_limit(&cp, rng);
    let p0 = g.open.pose;
    let (ex, ey) = (p0.tangent(), p0.normal());
    let hx = p0.heading_rad;
    let hy = hx + FRAC_PI_2;
    let r0 = rng.random_range(0..ny);
    let (turn_col, r1) = if ny > 1 && chance(rng, 0.5) {
        let mut r1 = rng.random_range(0..ny - 1);
        if r1 >= r0 {
            r1 += 1;
        }
        (rng.random_range(1..nx), r1)
    } else {
        (nx, r0)
    };
    let node = |i: usize, j: usize| -> Point2 {
        p0.point() + ex * (h + i as f64 * size) + ey * ((j as f64 - r0 as f64) * size)
    };
    let main_row = |j: usize| j == r0 || j == r1;
    let stub_len = |rng: &mut Rng| rng.random_range(40.0..90.0);
    let pose_at = |p: Point2, heading: f64| Pose2::new(p.x, p.y, heading);
    // Horizontal streets h_st[j][i] from node (i, j) to (i+1, j); vertical v_st[i][j] from (i, j) to (i, j+1).
    let mut h_st = vec![Vec::new(); ny];
    for (j, row) in h_st.iter_mut().enumerate() {
        for i in 0..nx - 1 {
            let xs = if main_row(j) { &main_xs } else { &street_xs };
            let line = straight_line(pose_at(node(i, j) + ex * h, hx), size - 2.0 * h)?;
            row.push(side_road(
                g,
                "street",
                RoadClass::Urban,
                line,
                xs,
                z,
                if main_row(j) { speed } else { street_speed },
            ));
        }
    }
    let mut v_st = vec![Vec::new(); nx];
    for (i, col) in v_st.iter_mut().enumerate() {
        for j in 0..ny - 1 {
            let line = straight_line(pose_at(node(i, j) + ey * h, hy), size - 2.0 * h)?;
            col.push(side_road(
                g,
                "street",
                RoadClass::Urban,
                line,
                &street_xs,
                z,
                street_speed,
            ));
        }
    }
    let exit_row = r1;
    let mut west = vec![None; ny];
    let mut east = vec![None; ny];
    let mut exit_road = None;
    for j in 0..ny {
        if j != r0 {
            // Short on the way in: the previous block ends just behind.
            let len = rng.random_range(25.0..45.0);
            let line = straight_line(pose_at(node(0, j) - ex * (h + len), hx), len)?;
            west[j] = Some(side_road(
                g,
                "street",
                RoadClass::Urban,
                line,
                &street_xs,
                z,
                street_speed,
            ));
        }
        let is_exit = j == exit_row;
        let len = if is_exit {
            rng.random_range(90.0..140.0)
        } else {
            stub_len(rng)
        };
        let line = straight_line(pose_at(node(nx - 1, j) + ex * h, hx), len)?;
        let xs = if is_exit { &main_xs } else { &street_xs };
        let id = side_road(
            g,
            "street",
            RoadClass::Urban,
            line,
            xs,
            z,
            if is_exit { speed } else { street_speed },
        );
        east[j] = Some(id);
        if is_exit {
            exit_road = Some(id);
        }
    }
    let mut south = Vec::with_capacity(nx);
    let mut north = Vec::with_capacity(nx);
    for i in 0..nx {
        let len = stub_len(rng);
        let line = straight_line(pose_at(node(i, 0) - ey * (h + len), hy), len)?;
        south.push(side_road(
            g,
            "street",
            RoadClass::Urban,
            line,
            &street_xs,
            z,
            street_speed,
        ));
        let len = stub_len(rng);
        let line = straight_line(pose_at(node(i, ny - 1) + ey * h, hy), len)?;
        north.push(side_road(
            g,
            "street",
            RoadClass::Urban,
            line,
            &street_xs,
            z,
            street_speed,
        ));
    }
    let end = |road: RoadId| LegEnd {
        road,
        contact: ContactPoint::End,
    };
    let start = |road: RoadId| LegEnd {
        road,
        contact: ContactPoint::Start,
    };
    // Legs of each node in the order W, E, S, N, and the connectors of each node.
    let mut node_conns = vec![vec![(Vec::new(), Vec::new()); ny]; nx];
    for i in 0..nx {
        for j in 0..ny {
            let w = if i == 0 {
                if j == r0 {
                    end(g.open.road)
                } else {
                    end(west[j].ok_or(Reject::Unfit)?)
                }
            } else {
                end(h_st[j][i - 1])
            };
            let e = if i + 1 == nx {
                start(east[j].ok_or(Reject::Unfit)?)
            } else {
                start(h_st[j][i])
            };
            let s = if j == 0 {
                end(south[i])
            } else {
                end(v_st[i][j - 1])
            };
            let n = if j + 1 == ny {
                start(north[i])
            } else {
                start(v_st[i][j])
            };
            let legs = [w, e, s, n];
            let infos: Vec<_> = legs.iter().map(|l| leg_info(&g.net, *l)).collect();
            let movements = intersection_movements(&infos);
            let (jid, conns) = build_junction(
                g,
                JunctionKind::Intersection,
                "grid junction",
                &legs,
                &movements,
            )?;
            let offset = (i as f64 * size / speed.max(1.0)).rem_euclid(cycle);
            signalise(g, jid, [&[w, e], &[s, n]], cycle, offset);
            for leg in legs {
                add_crosswalk(g, leg);
            }
            node_conns[i][j] = (movements, conns);
        }
    }
    // The route: along row r0 to the turn column, across to row r1, on to the east edge.
    const W: usize = 0;
    const E: usize = 1;
    const S: usize = 2;
    const N: usize = 3;
    let conn = |i: usize, j: usize, from: usize, to: usize| {
        let (m, c) = &node_conns[i][j];
        connector_for(m, c, from, to)
    };
    let mut i = 0;
    let mut j = r0;
    let mut from = W;
    loop {
        let turning_here = i == turn_col && j != r1;
        let to = if turning_here {
            if r1 > j { N } else { S }
        } else {
            E
        };
        push_connector(g, conn(i, j, from, to))?;
        match to {
            E if i + 1 == nx => break,
            E => {
                g.route_push(h_st[j][i]);
                i += 1;
                from = W;
            }
            N => {
                g.route_push(v_st[i][j]);
                j += 1;
                from = S;
            }
            _ => {
                let id = v_st[i][j - 1];
                g.route_m += g.net.road(id).length_m();
                g.net.main_route.push(RouteStep {
                    road: id,
                    forward: false,
                });
                j -= 1;
                from = N;
            }
        }
    }
    let exit = exit_road.ok_or(Reject::Unfit)?;
    g.route_push(exit);
    g.set_open(exit);
    g.open.xs = main_xs;
    Ok(())
}
