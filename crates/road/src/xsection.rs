//! Cross-sections: the lane layout of a road, and how roads change from one layout to another
//! (lane add, lane drop, median closing) through tapered lane sections.

use crate::model::{Lane, LaneSection, LaneType, MarkColor, MarkKind, RoadMark};
use roadworld_geom::{CubicProfile, Poly3};
use serde::{Deserialize, Serialize};

/// The lanes on one side of the reference line, from the inside out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SideLayout {
    /// Width of the median strip on this side (0: none).
    pub median_m: f64,
    /// Driving lane widths, inner first.
    pub driving_m: Vec<f64>,
    /// Lanes outside the driving lanes, in [`OUTER_ORDER`].
    pub outer: Vec<(LaneType, f64)>,
}

/// Canonical outward order of the lanes beyond the driving lanes.
pub const OUTER_ORDER: [LaneType; 5] = [
    LaneType::Shoulder,
    LaneType::Biking,
    LaneType::Parking,
    LaneType::Border,
    LaneType::Sidewalk,
];

fn outer_rank(t: LaneType) -> usize {
    OUTER_ORDER
        .iter()
        .position(|o| *o == t)
        .unwrap_or(OUTER_ORDER.len())
}

impl SideLayout {
    /// Total width.
    pub fn width_m(&self) -> f64 {
        self.median_m
            + self.driving_m.iter().sum::<f64>()
            + self.outer.iter().map(|o| o.1).sum::<f64>()
    }
    /// Width up to the outer edge of the driving lanes.
    pub fn carriageway_m(&self) -> f64 {
        self.median_m + self.driving_m.iter().sum::<f64>()
    }
    fn slots(&self) -> Vec<(Slot, LaneType, f64)> {
        let mut v = Vec::new();
        if self.median_m > 0.0 {
            v.push((Slot::Median, LaneType::Median, self.median_m));
        }
        for (k, w) in self.driving_m.iter().enumerate() {
            v.push((Slot::Driving(k as u8), LaneType::Driving, *w));
        }
        for (t, w) in &self.outer {
            v.push((Slot::Outer(outer_rank(*t) as u8), *t, *w));
        }
        v
    }
}

/// A road's full lane layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossSection {
    pub right: SideLayout,
    pub left: SideLayout,
    /// Marking on the reference line.
    pub center_mark: (MarkKind, MarkColor),
}

impl CrossSection {
    /// The layout with its sides swapped (as seen driving the other way).
    pub fn flipped(&self) -> Self {
        Self {
            right: self.left.clone(),
            left: self.right.clone(),
            center_mark: self.center_mark,
        }
    }
    /// Half of the widest side.
    pub fn half_width_m(&self) -> f64 {
        self.right.width_m().max(self.left.width_m())
    }
    /// Number of driving lanes in the `+s` (right) and `-s` (left) direction.
    pub fn driving_lanes(&self) -> (usize, usize) {
        (self.right.driving_m.len(), self.left.driving_m.len())
    }
}

/// Identity of a lane across sections: lanes with the same slot are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Slot {
    Median,
    Driving(u8),
    Outer(u8),
}

/// Lane sections under construction, with the slots that link them.
#[derive(Debug, Clone, Default)]
pub struct SectionsBuilder {
    sections: Vec<(LaneSection, Vec<Slot>, Vec<Slot>)>,
}

fn marks_for(kind: LaneType, next: Option<LaneType>, last_driving: bool) -> Vec<RoadMark> {
    let (mk, width) = match kind {
        LaneType::Median => (MarkKind::Solid, 0.15),
        LaneType::Driving if next == Some(LaneType::Driving) => (MarkKind::Broken, 0.15),
        LaneType::Driving if last_driving && next.is_some() => (MarkKind::Solid, 0.2),
        LaneType::Driving if last_driving => (MarkKind::Solid, 0.15),
        LaneType::Biking if next.is_some() => (MarkKind::Solid, 0.12),
        _ => (MarkKind::None, 0.0),
    };
    vec![RoadMark {
        s_offset_m: 0.0,
        kind: mk,
        color: MarkColor::White,
        width_m: width,
    }]
}

/// Widths of one side's lanes over a section: constant, or tapering from one layout to another
/// over the section's length (cubic with zero slope at both ends).
fn side_lanes(
    from: &SideLayout,
    to: &SideLayout,
    length_m: f64,
    sign: i32,
) -> (Vec<Lane>, Vec<Slot>) {
    let a = from.slots();
    let b = to.slots();
    let mut keys: Vec<Slot> = a.iter().map(|x| x.0).chain(b.iter().map(|x| x.0)).collect();
    keys.sort();
    keys.dedup();
    let find =
        |v: &[(Slot, LaneType, f64)], k: Slot| v.iter().find(|x| x.0 == k).map(|x| (x.1, x.2));
    let kinds: Vec<LaneType> = keys
        .iter()
        .map(|k| {
            find(&a, *k)
                .or_else(|| find(&b, *k))
                .map_or(LaneType::Border, |x| x.0)
        })
        .collect();
    let mut lanes = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let wa = find(&a, *k).map_or(0.0, |x| x.1);
        let wb = find(&b, *k).map_or(0.0, |x| x.1);
        let width = if (wa - wb).abs() < 1e-12 {
            CubicProfile::constant(wa)
        } else {
            CubicProfile::new(vec![Poly3::hermite(0.0, length_m, wa, 0.0, wb, 0.0)])
                .unwrap_or_default()
        };
        let last_driving =
            kinds[i] == LaneType::Driving && kinds.get(i + 1) != Some(&LaneType::Driving);
        lanes.push(Lane {
            id: sign * (i as i32 + 1),
            kind: kinds[i],
            width,
            marks: marks_for(kinds[i], kinds.get(i + 1).copied(), last_driving),
            speed_limit_mps: None,
            predecessor: None,
            successor: None,
        });
    }
    (lanes, keys)
}

impl SectionsBuilder {
    /// An empty list of sections.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a section from `s_m` with layout `xs`.
    pub fn uniform(&mut self, s_m: f64, xs: &CrossSection) -> &mut Self {
        self.taper(s_m, 1.0, xs, xs)
    }

    /// Adds a section from `s_m`, `length_m` long, whose lanes change from `from` to `to`:
    /// lanes only in `from` narrow to zero width, lanes only in `to` grow from zero.
    pub fn taper(
        &mut self,
        s_m: f64,
        length_m: f64,
        from: &CrossSection,
        to: &CrossSection,
    ) -> &mut Self {
        let (left, kl) = side_lanes(&from.left, &to.left, length_m, 1);
        let (right, kr) = side_lanes(&from.right, &to.right, length_m, -1);
        let center = Lane {
            id: 0,
            kind: LaneType::None,
            width: CubicProfile::zero(),
            marks: vec![RoadMark {
                s_offset_m: 0.0,
                kind: from.center_mark.0,
                color: from.center_mark.1,
                width_m: if from.center_mark.0 == MarkKind::None {
                    0.0
                } else {
                    0.15
                },
            }],
            speed_limit_mps: None,
            predecessor: None,
            successor: None,
        };
        self.sections.push((
            LaneSection {
                s_m,
                left,
                center,
                right,
            },
            kl,
            kr,
        ));
        self
    }

    /// The sections with lane links between consecutive sections.
    pub fn build(mut self) -> Vec<LaneSection> {
        for i in 1..self.sections.len() {
            let (head, tail) = self.sections.split_at_mut(i);
            let prev = &mut head[i - 1];
            let next = &mut tail[0];
            link_side(&mut prev.0.left, &prev.1, &mut next.0.left, &next.1);
            link_side(&mut prev.0.right, &prev.2, &mut next.0.right, &next.2);
        }
        self.sections.into_iter().map(|s| s.0).collect()
    }
}

fn link_side(a: &mut [Lane], ka: &[Slot], b: &mut [Lane], kb: &[Slot]) {
    for (ia, sa) in ka.iter().enumerate() {
        if let Some(ib) = kb.iter().position(|sb| sb == sa) {
            // A lane that has narrowed to nothing, or that starts from nothing, is not linked.
            let start_w = b[ib].width.value(0.0);
            if start_w <= 1e-9 {
                continue;
            }
            a[ia].successor = Some(b[ib].id);
            b[ib].predecessor = Some(a[ia].id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xs(n: usize, median: f64) -> CrossSection {
        let side = SideLayout {
            median_m: median,
            driving_m: vec![3.5; n],
            outer: vec![(LaneType::Shoulder, 2.5)],
        };
        CrossSection {
            right: side.clone(),
            left: side,
            center_mark: (MarkKind::None, MarkColor::White),
        }
    }

    #[test]
    fn lane_add_links_kept_lanes_and_grows_the_new_one() {
        let mut b = SectionsBuilder::new();
        b.uniform(0.0, &xs(2, 1.0))
            .taper(100.0, 80.0, &xs(2, 1.0), &xs(3, 1.0))
            .uniform(180.0, &xs(3, 1.0));
        let secs = b.build();
        assert_eq!(secs.len(), 3);
        // median, 3 driving, shoulder in the taper section
        assert_eq!(secs[1].right.len(), 5);
        let new_lane = &secs[1].right[3];
        assert_eq!(new_lane.kind, LaneType::Driving);
        assert!(new_lane.width.value(0.0).abs() < 1e-12);
        assert!((new_lane.width.value(80.0) - 3.5).abs() < 1e-9);
        assert_eq!(new_lane.predecessor, None);
        assert_eq!(new_lane.successor, Some(-4));
        // shoulder keeps its slot: -4 -> -5
        assert_eq!(secs[0].right[3].successor, Some(-5));
        assert_eq!(secs[0].right[1].successor, Some(-2));
    }
}
