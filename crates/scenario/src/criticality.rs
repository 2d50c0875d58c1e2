//! Criticality measures between the ego and other road users, on recorded trajectories.
//!
//! Definitions (footprints are oriented boxes; "velocity" is speed along the heading):
//! - **TTC, constant velocity**: both keep their velocity vectors; the first time their boxes
//!   touch (a ray cast against the Minkowski difference, exact), within [`HORIZON_S`].
//! - **TTC, path-based**: both keep their speeds but follow the paths they actually drove
//!   (their recorded positions from that instant on, straight on past the end); the first
//!   time the boxes overlap, stepped every [`PATH_STEP_S`].
//! - **Time headway**: for another road user ahead in the ego's corridor (its box overlaps the
//!   ego's width, heading within 60 degrees), bumper-to-bumper gap over the ego's speed.
//! - **PET** (post-encroachment time): the ground both boxes cover during the window is
//!   gridded ([`PET_CELL_M`]); per shared cell, the time from the first user leaving it to the
//!   second entering; the least over cells (0 when they were there at once).
//! - **DRAC** (deceleration rate to avoid a crash): the closing speed over twice the constant
//!   velocity TTC, i.e. `dv^2 / (2 gap)` when following; the largest over time.
//! - **Required deceleration**: the least constant deceleration of the ego that avoids
//!   contact while the other keeps its acceleration (both stop at standstill, nobody
//!   reverses), found by bisection on stepped motion; evaluated where the TTC is below
//!   [`REQUIRED_DECEL_BELOW_TTC_S`].
//! - **Distance**: the least distance between the boxes; **collision**: the boxes overlap.

use roadworld_geom::{Obb, Vector2};
use roadworld_sim::Recording;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// How far ahead time-to-collision looks.
pub const HORIZON_S: f64 = 10.0;
/// Time step of the path-based prediction.
pub const PATH_STEP_S: f64 = 0.05;
/// Grid cell of the PET conflict areas.
pub const PET_CELL_M: f64 = 0.25;
/// Interpolated positions per frame for PET.
pub const PET_SUBSTEPS: usize = 5;
/// Required deceleration is computed where the constant-velocity TTC is below this.
pub const REQUIRED_DECEL_BELOW_TTC_S: f64 = 6.0;
/// Largest deceleration searched for.
pub const MAX_DECEL_SEARCHED_MPS2: f64 = 20.0;

/// A road user at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    pub x_m: f64,
    pub y_m: f64,
    pub heading_rad: f64,
    pub speed_mps: f64,
    pub accel_mps2: f64,
}

impl State {
    fn velocity(&self) -> Vector2 {
        self.velocity_with(self.heading_rad.sin_cos())
    }

    /// [`State::velocity`] given the heading's sine and cosine.
    fn velocity_with(&self, (s, c): (f64, f64)) -> Vector2 {
        Vector2::new(c, s) * self.speed_mps
    }
}

/// A road user's footprint and its states, one per frame where it exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Index of the actor in the recording it came from.
    pub actor: u32,
    pub length_m: f64,
    pub width_m: f64,
    /// Frame of `states[0]`.
    pub first_frame: usize,
    pub states: Vec<State>,
}

impl Track {
    /// The state at frame `k`, if the actor exists then.
    pub fn at(&self, k: usize) -> Option<&State> {
        k.checked_sub(self.first_frame)
            .and_then(|i| self.states.get(i))
    }

    fn body(&self, s: &State) -> Obb {
        Obb::new(s.x_m, s.y_m, s.heading_rad, self.length_m, self.width_m)
    }

    /// Frames where it exists.
    pub fn frames(&self) -> Range<usize> {
        self.first_frame..self.first_frame + self.states.len()
    }
}

/// Tracks of the given actors of a recording (one pass over the samples), in the order asked.
pub fn tracks(rec: &Recording, actors: &[u32]) -> Vec<Track> {
    // Each recorded actor's place in `out` (the last asked, as a map would keep).
    let mut slot = vec![usize::MAX; rec.actors.len()];
    let mut out: Vec<Track> = actors
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            slot[a as usize] = i;
            let r = &rec.actors[a as usize];
            Track {
                actor: a,
                length_m: r.length_m as f64,
                width_m: r.width_m as f64,
                first_frame: r.first_frame as usize,
                states: Vec::new(),
            }
        })
        .collect();
    for k in 0..rec.frames() {
        for s in rec.frame_all(k) {
            if let Some(&i) = slot.get(s.actor as usize).filter(|&&i| i != usize::MAX) {
                let t = &mut out[i];
                if t.states.is_empty() {
                    t.first_frame = k;
                }
                if t.first_frame + t.states.len() == k {
                    t.states.push(State {
                        x_m: s.x_m as f64,
                        y_m: s.y_m as f64,
                        heading_rad: s.heading_rad as f64,
                        speed_mps: s.speed_mps as f64,
                        accel_mps2: s.accel_mps2 as f64,
                    });
                }
            }
        }
    }
    out
}

/// The constant-velocity TTC of two road users at frame `k`, as [`measure`] takes it (`None`
/// when one is not there, or they do not touch within [`HORIZON_S`]).
pub fn ttc_at(a: &Track, b: &Track, k: usize) -> Option<f64> {
    let (sa, sb) = (a.at(k)?, b.at(k)?);
    ttc_constant_velocity(&a.body(sa), sa.velocity(), &b.body(sb), sb.velocity())
}

/// Constant-velocity time to collision of two boxes (0 when they overlap).
pub fn ttc_constant_velocity(a: &Obb, va: Vector2, b: &Obb, vb: Vector2) -> Option<f64> {
    a.first_contact(b, va - vb, HORIZON_S)
}

/// Gap and closing speed to `other` if it is ahead in the ego's corridor: its box overlaps
/// the ego's width, it is in front, heading within 60 degrees of the ego's.
pub fn leader_gap(
    ego: &State,
    ego_dims: [f64; 2],
    other: &State,
    dims: [f64; 2],
) -> Option<(f64, f64)> {
    leader_gap_with(ego, ego.heading_rad.sin_cos(), ego_dims, other, dims)
}

/// [`leader_gap`] given the sine and cosine of the ego's heading (the same answer).
fn leader_gap_with(
    ego: &State,
    (s, c): (f64, f64),
    ego_dims: [f64; 2],
    other: &State,
    dims: [f64; 2],
) -> Option<(f64, f64)> {
    let (dx, dy) = (other.x_m - ego.x_m, other.y_m - ego.y_m);
    let along = dx * c + dy * s;
    let across = -dx * s + dy * c;
    // Behind, or beside beyond any turn of its box (its extent across is at most half its
    // length plus half its width): out of the corridor, before any trigonometry.
    if along <= 0.0 || across.abs() >= 0.5 * ego_dims[1] + 0.5 * (dims[0] + dims[1]) {
        return None;
    }
    let rel = other.heading_rad - ego.heading_rad;
    if rel.cos() < 0.5 {
        return None;
    }
    // The other's extent across and along the ego's axis.
    let (rs, rc) = rel.sin_cos();
    let half_across = 0.5 * (dims[0] * rs.abs() + dims[1] * rc.abs());
    let half_along = 0.5 * (dims[0] * rc.abs() + dims[1] * rs.abs());
    if across.abs() >= 0.5 * ego_dims[1] + half_across {
        return None;
    }
    let gap = along - 0.5 * ego_dims[0] - half_along;
    let closing = ego.speed_mps - other.speed_mps * rc;
    Some((gap.max(0.0), closing))
}

/// Time headway to a leader: gap over the ego's speed (`None` when standing).
pub fn time_headway(gap_m: f64, ego_speed_mps: f64) -> Option<f64> {
    (ego_speed_mps > 0.1).then(|| gap_m / ego_speed_mps)
}

/// Deceleration rate to avoid a crash: closing speed over twice the time to collision.
pub fn drac(closing_speed_mps: f64, ttc_s: f64) -> f64 {
    if ttc_s <= 0.0 {
        f64::INFINITY
    } else {
        closing_speed_mps.max(0.0) / (2.0 * ttc_s)
    }
}

/// Position and speed after `t` seconds of constant acceleration `a` from speed `v`, stopping
/// at standstill (no reversing).
fn travel(v: f64, a: f64, t: f64) -> (f64, f64) {
    if a < 0.0 && v + a * t < 0.0 {
        let stop = -v / a;
        (v * stop + 0.5 * a * stop * stop, 0.0)
    } else {
        (v * t + 0.5 * a * t * t, v + a * t)
    }
}

/// Whether the ego braking at `decel` (along its heading) touches the other, which keeps its
/// acceleration along its own heading, within the horizon.
fn contact_while_braking(
    ego: &State,
    ed: [f64; 2],
    other: &State,
    od: [f64; 2],
    decel: f64,
) -> bool {
    let (es, ec) = ego.heading_rad.sin_cos();
    let (os, oc) = other.heading_rad.sin_cos();
    let steps = (HORIZON_S / PATH_STEP_S) as usize;
    for k in 0..=steps {
        let t = k as f64 * PATH_STEP_S;
        let (de, ve) = travel(ego.speed_mps, -decel, t);
        let (d_o, _) = travel(other.speed_mps, other.accel_mps2, t);
        let a = Obb::new(
            ego.x_m + de * ec,
            ego.y_m + de * es,
            ego.heading_rad,
            ed[0],
            ed[1],
        );
        let b = Obb::new(
            other.x_m + d_o * oc,
            other.y_m + d_o * os,
            other.heading_rad,
            od[0],
            od[1],
        );
        if a.overlaps_with((es, ec), &b, (os, oc)) {
            return true;
        }
        // Ego standing and the other moving away or standing too: nothing more happens.
        if ve == 0.0 && other.speed_mps + other.accel_mps2 * t <= 0.0 {
            return false;
        }
    }
    false
}

/// The least constant deceleration of the ego that avoids the other (see the module docs);
/// `None` when even [`MAX_DECEL_SEARCHED_MPS2`] does not, 0 when no braking is needed.
pub fn required_deceleration(
    ego: &State,
    ed: [f64; 2],
    other: &State,
    od: [f64; 2],
) -> Option<f64> {
    if !contact_while_braking(ego, ed, other, od, 0.0) {
        return Some(0.0);
    }
    if contact_while_braking(ego, ed, other, od, MAX_DECEL_SEARCHED_MPS2) {
        return None;
    }
    let (mut lo, mut hi) = (0.0, MAX_DECEL_SEARCHED_MPS2);
    while hi - lo > 0.01 {
        let mid = 0.5 * (lo + hi);
        if contact_while_braking(ego, ed, other, od, mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(hi)
}

/// A path as driven: cumulative arc length over a track's positions from a frame on.
struct Path<'a> {
    track: &'a Track,
    /// Arc length at each state of the track.
    arc: Vec<f64>,
    /// The body's heading on the stretch from each state on (along the stretch to the next
    /// state, or the state's own heading where that stretch is too short or there is
    /// none), with its sine and cosine: worked out when first needed (`NaN` until then).
    dir: Vec<(f64, (f64, f64))>,
}

impl<'a> Path<'a> {
    fn new(track: &'a Track) -> Self {
        let mut arc = Vec::with_capacity(track.states.len());
        let mut acc = 0.0;
        for (i, s) in track.states.iter().enumerate() {
            if i > 0 {
                let p = &track.states[i - 1];
                acc += (s.x_m - p.x_m).hypot(s.y_m - p.y_m);
            }
            arc.push(acc);
        }
        let dir = vec![(f64::NAN, (f64::NAN, f64::NAN)); arc.len()];
        Self { track, arc, dir }
    }

    /// The state the body is past at arc length `l`: the last whose arc length is at most
    /// `l` (the first where none is), looked for from state `from` on when that one is
    /// (the arc lengths only grow).
    fn index_at(&self, l: f64, from: usize) -> usize {
        if self.arc.get(from).is_some_and(|&a| a <= l) {
            let mut i = from;
            while self.arc.get(i + 1).is_some_and(|&a| a <= l) {
                i += 1;
            }
            return i;
        }
        self.arc.partition_point(|&a| a <= l).saturating_sub(1)
    }

    /// The heading on the stretch from state `i` (see [`Path::dir`]), and its sine and
    /// cosine.
    fn heading(&mut self, i: usize) -> (f64, (f64, f64)) {
        if self.dir[i].0.is_nan() {
            let st = &self.track.states;
            let heading = match st.get(i + 1) {
                Some(n) if self.arc[i + 1] - self.arc[i] > 1e-6 => {
                    (n.y_m - st[i].y_m).atan2(n.x_m - st[i].x_m)
                }
                _ => st[i].heading_rad,
            };
            self.dir[i] = (heading, heading.sin_cos());
        }
        self.dir[i]
    }

    /// The box at arc length `l` along the path (straight on past its end), with its
    /// heading's sine and cosine, and the state it is past (see [`Path::index_at`]).
    fn body_at(&mut self, l: f64, from: usize) -> (Obb, (f64, f64), usize) {
        let i = self.index_at(l, from);
        let (heading, sc) = self.heading(i);
        let st = &self.track.states;
        let s = &st[i];
        let (x, y) = if i + 1 < st.len() {
            let n = &st[i + 1];
            let seg = self.arc[i + 1] - self.arc[i];
            let u = if seg > 1e-9 {
                (l - self.arc[i]) / seg
            } else {
                0.0
            };
            (s.x_m + u * (n.x_m - s.x_m), s.y_m + u * (n.y_m - s.y_m))
        } else {
            let (sin, cos) = sc;
            let extra = l - self.arc[i];
            (s.x_m + extra * cos, s.y_m + extra * sin)
        };
        let body = Obb::new(x, y, heading, self.track.length_m, self.track.width_m);
        (body, sc, i)
    }
}

/// Path-based time to collision at frame `k` (see the module docs), if under `below_s`
/// where given: what a search to the horizon finds, where that is under it.
fn ttc_along_paths(
    ego: &mut Path,
    other: &mut Path,
    k: usize,
    below_s: Option<f64>,
) -> Option<f64> {
    let ie = k - ego.track.first_frame;
    let io = k - other.track.first_frame;
    let (ve, vo) = (
        ego.track.states[ie].speed_mps,
        other.track.states[io].speed_mps,
    );
    let steps = (HORIZON_S / PATH_STEP_S) as usize;
    // Centres approach at most at ve + vo: steps before the earliest possible contact are
    // skipped (the same steps are looked at as stepping through every one would find).
    let reach = 0.5
        * (ego.track.length_m.hypot(ego.track.width_m)
            + other.track.length_m.hypot(other.track.width_m));
    let closing = ve + vo;
    let (ae, ao) = (ego.arc[ie], other.arc[io]);
    // Each body's state at the last step, to look on from.
    let (mut at_e, mut at_o) = (ie, io);
    let mut j = 0;
    while j <= steps {
        let t = j as f64 * PATH_STEP_S;
        if below_s.is_some_and(|b| t >= b) {
            return None;
        }
        let (a, sa, ne) = ego.body_at(ae + ve * t, at_e);
        let (b, sb, no) = other.body_at(ao + vo * t, at_o);
        (at_e, at_o) = (ne, no);
        if a.overlaps_with(sa, &b, sb) {
            return Some(t);
        }
        let d = (a.center - b.center).norm() - reach;
        if d > 0.0 && closing <= 1e-9 {
            return None;
        }
        j += if d > 0.0 {
            ((d / closing / PATH_STEP_S).floor() as usize).max(1)
        } else {
            1
        };
    }
    None
}

/// `v.floor() as i64`, without a call to libm's `floor` (the same value for every `v`,
/// NaN and out of range included: both saturate).
#[inline]
fn floor_i64(v: f64) -> i64 {
    let t = v as i64;
    if (t as f64) > v {
        t.saturating_sub(1)
    } else {
        t
    }
}

/// `v.ceil() as i64`, as [`floor_i64`].
#[inline]
fn ceil_i64(v: f64) -> i64 {
    let t = v as i64;
    if (t as f64) < v {
        t.saturating_add(1)
    } else {
        t
    }
}

/// Calls `f(i, j0, j1)` with the grid cells whose centre a body covers, column by column:
/// in column `i`, rows `j0..=j1`.
///
/// Each column of the body's bounding box is cut to the rows the box can reach there (from
/// each pair of sides not parallel to the column, widened by a row for rounding), and the
/// rows left are tested exactly from each end inwards: the cells are the ones a test of the
/// whole bounding box finds, in the same order, at a fraction of the tests for a box turned
/// off the grid. (A column's covered rows are one run: each side pair's test is an absolute
/// value of a quantity that only grows or only shrinks with the row, rounding included.)
fn for_covered_runs(t: &Track, s: &State, mut f: impl FnMut(i64, i64, i64)) {
    let (sin, cos) = s.heading_rad.sin_cos();
    let c = t.body(s).corners_with((sin, cos));
    let (lo_x, hi_x) = c
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.x), h.max(p.x)));
    let (lo_y, hi_y) = c
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.y), h.max(p.y)));
    let (hl, hw, x, y) = (0.5 * t.length_m, 0.5 * t.width_m, s.x_m, s.y_m);
    let cell = |v: f64| floor_i64(v / PET_CELL_M);
    let (row_lo, row_hi) = (cell(lo_y), cell(hi_y));
    for i in cell(lo_x)..=cell(hi_x) {
        let dx = (i as f64 + 0.5) * PET_CELL_M - x;
        let (mut lo, mut hi) = (row_lo, row_hi);
        // Rows where `|offset + dy * slope| <= half` can hold (`dy` of the row's centre).
        let mut cut = |offset: f64, slope: f64, half: f64| {
            if slope.abs() > 1e-6 {
                let (a, b) = ((-half - offset) / slope, (half - offset) / slope);
                let (a, b) = (a.min(b), a.max(b));
                lo = lo.max(floor_i64((a + y) / PET_CELL_M - 0.5) - 1);
                hi = hi.min(ceil_i64((b + y) / PET_CELL_M - 0.5) + 1);
            }
        };
        cut(dx * cos, sin, hl);
        cut(-dx * sin, cos, hw);
        let inside = |j: i64| {
            let dy = (j as f64 + 0.5) * PET_CELL_M - y;
            (dx * cos + dy * sin).abs() <= hl && (-dx * sin + dy * cos).abs() <= hw
        };
        while lo <= hi && !inside(lo) {
            lo += 1;
        }
        while hi > lo && !inside(hi) {
            hi -= 1;
        }
        if lo <= hi {
            f(i, lo, hi);
        }
    }
}

/// Fine cells per side of a coarse cell (for skipping positions away from the other's ground
/// before rasterising).
const COARSE_CELLS: i64 = 16;

/// Cells per coarse block (a block is `COARSE_CELLS` fine cells on a side).
const BLOCK_CELLS: usize = (COARSE_CELLS * COARSE_CELLS) as usize;
/// A fine cell nobody covered.
const EMPTY_TICK: u32 = u32::MAX;

/// First and last tick in each fine cell of one coarse block (`EMPTY_TICK` where none),
/// row-major by the cell's offset in the block.
type Block = [(u32, u32); BLOCK_CELLS];

/// The cells a track covers over `frames`: first and last tick in each, kept in dense
/// blocks of [`COARSE_CELLS`] x [`COARSE_CELLS`] fine cells (one hash lookup per block
/// instead of one per cell). With `near` (a set of coarse cells), only positions whose
/// bounding box touches one of them are rasterised.
#[derive(Debug, Default)]
struct Occupancy {
    /// Coarse cells holding covered cells: where their fine cells are in `blocks`.
    index: HashMap<(i64, i64), usize>,
    blocks: Vec<Block>,
}

/// The coarse cells of a body's bounding box.
fn coarse_box(t: &Track, s: &State) -> [(i64, i64); 2] {
    let c = t.body(s).corners();
    let (mut lo, mut hi) = ((i64::MAX, i64::MAX), (i64::MIN, i64::MIN));
    for p in c {
        let (i, j) = (
            floor_i64(p.x / PET_CELL_M).div_euclid(COARSE_CELLS),
            floor_i64(p.y / PET_CELL_M).div_euclid(COARSE_CELLS),
        );
        lo = (lo.0.min(i), lo.1.min(j));
        hi = (hi.0.max(i), hi.1.max(j));
    }
    [lo, hi]
}

/// The coarse block of a fine cell, and the cell's place in it.
#[inline]
fn block_of((i, j): (i64, i64)) -> ((i64, i64), usize) {
    let (bi, bj) = (i.div_euclid(COARSE_CELLS), j.div_euclid(COARSE_CELLS));
    let (oi, oj) = (i.rem_euclid(COARSE_CELLS), j.rem_euclid(COARSE_CELLS));
    ((bi, bj), (oi * COARSE_CELLS + oj) as usize)
}

/// For each coarse block a track may cover over some frames, a span of ticks that holds
/// every tick it covers a fine cell of that block: found per frame from the segment between
/// its centres, widened by its circumradius, without rasterising. The gap between two
/// tracks' spans of a block ([`span_gap`]) is a lower bound on their PET in each of its
/// cells.
#[derive(Debug, Default)]
struct CoarseSpans(HashMap<(i64, i64), (u32, u32)>);

/// The coarse cells (least and greatest column and row) a body can touch anywhere
/// between two states: those of the segment between their centres, widened by its
/// circumradius (and a centimetre for rounding).
fn segment_blocks(t: &Track, s0: &State, s1: &State) -> [(i64, i64); 2] {
    let reach = 0.5 * t.length_m.hypot(t.width_m) + 0.01;
    let block = |v: f64| floor_i64(v / PET_CELL_M).div_euclid(COARSE_CELLS);
    [
        (
            block(s0.x_m.min(s1.x_m) - reach),
            block(s0.y_m.min(s1.y_m) - reach),
        ),
        (
            block(s0.x_m.max(s1.x_m) + reach),
            block(s0.y_m.max(s1.y_m) + reach),
        ),
    ]
}

impl CoarseSpans {
    fn new(t: &Track, frames: Range<usize>) -> Self {
        let mut out = HashMap::default();
        for k in frames.clone() {
            let Some(s0) = t.at(k) else { continue };
            let s1 = t.at(k + 1).filter(|_| k + 1 < frames.end).unwrap_or(s0);
            let [(lo_i, lo_j), (hi_i, hi_j)] = segment_blocks(t, s0, s1);
            let first = u32::try_from(k * PET_SUBSTEPS).unwrap_or(EMPTY_TICK - 1);
            let last = u32::try_from(k * PET_SUBSTEPS + PET_SUBSTEPS - 1).unwrap_or(EMPTY_TICK - 1);
            for i in lo_i..=hi_i {
                for j in lo_j..=hi_j {
                    let e = out.entry((i, j)).or_insert((first, last));
                    e.1 = last;
                }
            }
        }
        Self(out)
    }
}

/// Ticks between two spans of ticks (first, last): from the end of the earlier to the start
/// of the later, less one (0 when they overlap), as [`pet_between`] counts them per cell.
fn span_gap((a_in, a_out): (u32, u32), (b_in, b_out): (u32, u32)) -> u32 {
    if a_out < b_in {
        b_in - a_out - 1
    } else if b_out < a_in {
        a_in - b_out - 1
    } else {
        0
    }
}

/// Whether two states put a body on the same ground (the same place and heading, bit for
/// bit: every position interpolated between them is that one).
fn same_pose(a: &State, b: &State) -> bool {
    a.x_m.to_bits() == b.x_m.to_bits()
        && a.y_m.to_bits() == b.y_m.to_bits()
        && a.heading_rad.to_bits() == b.heading_rad.to_bits()
}

impl Occupancy {
    fn new(t: &Track, frames: Range<usize>, near: Option<&HashSet<(i64, i64)>>) -> Self {
        Self::rasterise(t, frames, near, true)
    }

    /// [`Occupancy::new`]; with `standing`, a stretch of frames at one pose (a parked car,
    /// a queue at a red light) is rasterised once for all its ticks: each of its cells gets
    /// the stretch's first tick where it had none and its last tick, as a tick-by-tick walk
    /// would give it.
    fn rasterise(
        t: &Track,
        frames: Range<usize>,
        near: Option<&HashSet<(i64, i64)>>,
        standing: bool,
    ) -> Self {
        // Positions between frames are interpolated, [`PET_SUBSTEPS`] per frame.
        let mut out = Occupancy::default();
        // The block written last (cells of one position mostly share it).
        let mut last: Option<((i64, i64), usize)> = None;
        let tick_of = |tick: usize| u32::try_from(tick).unwrap_or(EMPTY_TICK - 1);
        // Whether coarse cells `lo..=hi` hold one of `near`.
        let touches = |[lo, hi]: [(i64, i64); 2]| {
            near.is_none_or(|n| (lo.0..=hi.0).any(|i| (lo.1..=hi.1).any(|j| n.contains(&(i, j)))))
        };
        let mut k = frames.start;
        while k < frames.end {
            let Some(s0) = t.at(k) else {
                k += 1;
                continue;
            };
            let next_of = |k: usize| t.at(k + 1).filter(|_| k + 1 < frames.end);
            if standing && next_of(k).is_some_and(|s1| same_pose(s0, s1)) {
                // Frames `k..m` stand at `s0` over all their ticks.
                let mut m = k + 1;
                while next_of(m).is_some_and(|s1| same_pose(s0, s1)) {
                    m += 1;
                }
                if touches(coarse_box(t, s0)) {
                    let first = tick_of(k * PET_SUBSTEPS);
                    let end = tick_of((m - 1) * PET_SUBSTEPS + PET_SUBSTEPS - 1);
                    out.cover(t, s0, &mut last, first, end);
                }
                k = m;
                continue;
            }
            let next = next_of(k);
            // Skipped when no position between this one and the next can touch.
            let reach = match next {
                Some(s1) => segment_blocks(t, s0, s1),
                None => coarse_box(t, s0),
            };
            if !touches(reach) {
                k += 1;
                continue;
            }
            let subs = if next.is_some() { PET_SUBSTEPS } else { 1 };
            for j in 0..subs {
                let u = j as f64 / PET_SUBSTEPS as f64;
                let s = match next {
                    Some(s1) => State {
                        x_m: s0.x_m + u * (s1.x_m - s0.x_m),
                        y_m: s0.y_m + u * (s1.y_m - s0.y_m),
                        heading_rad: s0.heading_rad
                            + u * roadworld_geom::normalize_angle(s1.heading_rad - s0.heading_rad),
                        ..*s0
                    },
                    None => *s0,
                };
                let tick = tick_of(k * PET_SUBSTEPS + j);
                out.cover(t, &s, &mut last, tick, tick);
            }
            k += 1;
        }
        out
    }

    /// Marks the cells `t`'s body covers at `s` as covered from tick `first` to `end` (a
    /// cell keeps the first tick it already had).
    fn cover(
        &mut self,
        t: &Track,
        s: &State,
        last: &mut Option<((i64, i64), usize)>,
        first: u32,
        end: u32,
    ) {
        for_covered_runs(t, s, |i, j0, j1| {
            // The run block by block: a block's cells of one column lie side by side.
            let mut j = j0;
            while j <= j1 {
                let (key, at) = block_of((i, j));
                let n = (COARSE_CELLS - j.rem_euclid(COARSE_CELLS)).min(j1 - j + 1);
                let block = match *last {
                    Some((k, b)) if k == key => b,
                    _ => {
                        let blocks = &mut self.blocks;
                        let b = *self.index.entry(key).or_insert_with(|| {
                            blocks.push([(EMPTY_TICK, EMPTY_TICK); BLOCK_CELLS]);
                            blocks.len() - 1
                        });
                        *last = Some((key, b));
                        b
                    }
                };
                for e in &mut self.blocks[block][at..at + n as usize] {
                    if e.0 == EMPTY_TICK {
                        e.0 = first;
                    }
                    e.1 = end;
                }
                j += n;
            }
        });
    }
}

/// PET between two occupancies: the least time and the frame the second entered.
fn pet_between(ca: &Occupancy, cb: &Occupancy, step_s: f64) -> Option<(f64, usize)> {
    let mut best: Option<(f64, usize)> = None;
    let (small, large) = if ca.blocks.len() <= cb.blocks.len() {
        (ca, cb)
    } else {
        (cb, ca)
    };
    for (key, &ia) in &small.index {
        let Some(&ib) = large.index.get(key) else {
            continue;
        };
        let (sa, sb) = (&small.blocks[ia], &large.blocks[ib]);
        for (&(a_in, a_out), &(b_in, b_out)) in sa.iter().zip(sb.iter()) {
            if a_in == EMPTY_TICK || b_in == EMPTY_TICK {
                continue;
            }
            // The first leaves between its last tick and the next, the second enters between
            // the tick before its first and that one: the midpoints are one tick apart less.
            let (gap_ticks, entered) = if a_out < b_in {
                (b_in - a_out - 1, b_in)
            } else if b_out < a_in {
                (a_in - b_out - 1, a_in)
            } else {
                (0, a_in.max(b_in))
            };
            let pet = f64::from(gap_ticks) * step_s / PET_SUBSTEPS as f64;
            let entered = entered as usize / PET_SUBSTEPS;
            // Least PET, then earliest: the same whatever order the cells come in.
            if best.is_none_or(|(p, f)| (pet, entered) < (p, f)) {
                best = Some((pet, entered));
            }
        }
    }
    best
}

/// Post-encroachment time of two tracks over frames `frames` (see the module docs): the
/// least time and the frame at which the second user entered that cell; `None` when their
/// paths do not share ground.
pub fn post_encroachment_time(
    a: &Track,
    b: &Track,
    frames: Range<usize>,
    step_s: f64,
) -> Option<(f64, usize)> {
    let ca = Occupancy::new(a, frames.clone(), None);
    let cb = Occupancy::new(b, frames, Some(&ca.index.keys().copied().collect()));
    pet_between(&ca, &cb, step_s)
}

/// An extreme value of a measure: the value, when, and against whom.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Extreme {
    pub value: f64,
    pub at_s: f64,
    /// The other road user (index into the recording's actors).
    pub actor: u32,
}

/// Criticality of the ego against a set of others over a window of frames.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Criticality {
    pub min_ttc_s: Option<Extreme>,
    pub min_ttc_path_s: Option<Extreme>,
    pub min_thw_s: Option<Extreme>,
    pub pet_s: Option<Extreme>,
    pub max_drac_mps2: Option<Extreme>,
    pub max_required_decel_mps2: Option<Extreme>,
    pub min_distance_m: Option<Extreme>,
    /// The first overlap of boxes.
    pub collision: Option<Extreme>,
}

fn keep_min(slot: &mut Option<Extreme>, value: f64, at_s: f64, actor: u32) {
    if slot.is_none_or(|e| value < e.value) {
        *slot = Some(Extreme { value, at_s, actor });
    }
}

fn keep_max(slot: &mut Option<Extreme>, value: f64, at_s: f64, actor: u32) {
    if slot.is_none_or(|e| value > e.value) {
        *slot = Some(Extreme { value, at_s, actor });
    }
}

/// Every measure of the ego against each of `others` over `frames` (steps of `step_s`).
pub fn measure(ego: &Track, others: &[Track], frames: Range<usize>, step_s: f64) -> Criticality {
    measure_pruned(ego, others, frames, step_s, true)
}

/// [`measure`]; with `prune`, measures that the distance between the boxes rules out are
/// skipped, and so is rasterising a road user whose coarse PET bound cannot beat the least
/// PET so far (the result is the same: the tests compare).
fn measure_pruned(
    ego: &Track,
    others: &[Track],
    frames: Range<usize>,
    step_s: f64,
    prune: bool,
) -> Criticality {
    let mut c = Criticality::default();
    let ed = [ego.length_m, ego.width_m];
    let mut ego_path = Path::new(ego);
    // The sine and cosine of the ego's heading in each frame, for every other.
    let ego_sc: Vec<(f64, f64)> = ego.states.iter().map(|s| s.heading_rad.sin_cos()).collect();
    // The ego's ground over the whole window, once, when first needed (the others' only
    // near it); its coarse spans rule out most others' PET without rasterising them.
    let mut ego_cells: Option<Occupancy> = None;
    let ego_spans = CoarseSpans::new(ego, frames.clone());
    for other in others {
        let od = [other.length_m, other.width_m];
        let reach_m = 0.5 * (ego.length_m.hypot(ego.width_m) + other.length_m.hypot(other.width_m));
        let mut other_path: Option<Path> = None;
        let mut both = frames.start.max(ego.first_frame).max(other.first_frame)
            ..frames.end.min(ego.frames().end).min(other.frames().end);
        if both.is_empty() {
            both = 0..0;
        }
        for k in both.clone() {
            let (Some(e), Some(o)) = (ego.at(k), other.at(k)) else {
                continue;
            };
            let esc = ego_sc[k - ego.first_frame];
            let t = k as f64 * step_s;
            let (eb, ob) = (ego.body(e), other.body(o));
            // The boxes are at least this far apart (centres less the circumradii), less a
            // metre for rounding: measures that this rules out are not computed, and give
            // what they would have (no new extreme, no contact within the horizon).
            let apart_m = if prune {
                (o.x_m - e.x_m).hypot(o.y_m - e.y_m) - reach_m - 1.0
            } else {
                f64::MIN
            };
            if c.min_distance_m.is_none_or(|m| apart_m < m.value) {
                let dist = eb.distance(&ob);
                keep_min(&mut c.min_distance_m, dist, t, other.actor);
                if dist == 0.0 && c.collision.is_none() {
                    c.collision = Some(Extreme {
                        value: 0.0,
                        at_s: t,
                        actor: other.actor,
                    });
                }
            }
            // Neither moves farther than its speed times the horizon (their closing speed
            // is at most the sum of their speeds).
            let speeds = e.speed_mps.abs() + o.speed_mps.abs();
            if apart_m <= speeds * HORIZON_S {
                let osc = o.heading_rad.sin_cos();
                let (ve, vo) = (e.velocity_with(esc), o.velocity_with(osc));
                let closing = (ve - vo).norm();
                let ttc = if apart_m > closing * HORIZON_S {
                    None
                } else {
                    eb.first_contact_with(esc, &ob, osc, ve - vo, HORIZON_S)
                };
                if let Some(ttc) = ttc {
                    keep_min(&mut c.min_ttc_s, ttc, t, other.actor);
                    keep_max(&mut c.max_drac_mps2, drac(closing, ttc), t, other.actor);
                    if ttc < REQUIRED_DECEL_BELOW_TTC_S {
                        let req = required_deceleration(e, ed, o, od).unwrap_or(f64::INFINITY);
                        keep_max(&mut c.max_required_decel_mps2, req, t, other.actor);
                    }
                }
                // A path-based TTC replaces the least so far only if under it: none is
                // looked for beyond it, nor where the distance rules it out before then.
                let below_s = c.min_ttc_path_s.filter(|_| prune).map(|m| m.value);
                if apart_m <= speeds * below_s.map_or(HORIZON_S, |b| b.min(HORIZON_S)) {
                    let other_path = other_path.get_or_insert_with(|| Path::new(other));
                    if let Some(ttc) = ttc_along_paths(&mut ego_path, other_path, k, below_s) {
                        keep_min(&mut c.min_ttc_path_s, ttc, t, other.actor);
                    }
                }
            }
            if let Some((gap, _)) = leader_gap_with(e, esc, ed, o, od)
                && let Some(thw) = time_headway(gap, e.speed_mps)
            {
                keep_min(&mut c.min_thw_s, thw, t, other.actor);
            }
        }
        // The coarse cells where the other could cross the ego's ground closer in time than
        // the least PET so far (an equal one would not replace it): only positions that can
        // reach them are rasterised (every cell elsewhere is at least that far apart in
        // time). None: no ground in common, or none close enough.
        let near = if prune {
            let spans = CoarseSpans::new(other, both.clone());
            let near: HashSet<(i64, i64)> = ego_spans
                .0
                .iter()
                .filter(|&(key, &a)| {
                    spans.0.get(key).is_some_and(|&b| {
                        let pet = f64::from(span_gap(a, b)) * step_s / PET_SUBSTEPS as f64;
                        c.pet_s.is_none_or(|p| pet < p.value)
                    })
                })
                .map(|(&key, _)| key)
                .collect();
            if near.is_empty() {
                continue;
            }
            Some(near)
        } else {
            None
        };
        let ego_cells = ego_cells.get_or_insert_with(|| Occupancy::new(ego, frames.clone(), None));
        // Nor where the ego covers no cell.
        let near = near.map(|mut n| {
            n.retain(|key| ego_cells.index.contains_key(key));
            n
        });
        let other_cells = Occupancy::new(other, both, near.as_ref());
        if let Some((pet, k)) = pet_between(ego_cells, &other_cells, step_s) {
            keep_min(&mut c.pet_s, pet, k as f64 * step_s, other.actor);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn pruning_by_distance_changes_no_measure_of_example_scenes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
        for (name, seed) in [
            ("cut-in", 9),
            ("red-light-runner", 5),
            ("lead-hard-brake", 7),
        ] {
            let spec = roadworld_spec::load_spec(&dir.join(format!("{name}.ron"))).unwrap();
            let g = crate::generate::generate(&spec, seed, false).unwrap();
            let rec = &g.recording;
            let ego = rec.actors.iter().position(|a| a.ego).unwrap() as u32;
            // Everyone who comes within 200 m of the ego: near and far frames both.
            let mut others = std::collections::BTreeSet::new();
            for k in 0..rec.frames() {
                let f = rec.frame(k);
                let Some(e) = f.iter().find(|s| s.actor == ego) else {
                    continue;
                };
                for s in f {
                    if s.actor != ego && (s.x_m - e.x_m).hypot(s.y_m - e.y_m) < 200.0 {
                        others.insert(s.actor);
                    }
                }
            }
            let all: Vec<u32> = std::iter::once(ego).chain(others).collect();
            let mut ts = tracks(rec, &all);
            let ego_track = ts.remove(0);
            assert!(ts.len() > 20, "{name}: {} others", ts.len());
            // Whole scene, and a window in the middle.
            for frames in [0..rec.frames(), rec.frames() / 3..rec.frames() / 2] {
                let pruned = measure_pruned(&ego_track, &ts, frames.clone(), rec.step_s, true);
                let full = measure_pruned(&ego_track, &ts, frames.clone(), rec.step_s, false);
                assert_eq!(pruned, full, "{name} frames {frames:?}");
                assert!(
                    full.min_distance_m.is_some() && full.min_ttc_path_s.is_some(),
                    "{name} frames {frames:?}: nothing to measure"
                );
            }
        }
    }

    const CAR: [f64; 2] = [4.0, 2.0];

    fn st(x: f64, y: f64, heading: f64, v: f64, a: f64) -> State {
        State {
            x_m: x,
            y_m: y,
            heading_rad: heading,
            speed_mps: v,
            accel_mps2: a,
        }
    }

    /// A track moving at constant acceleration along its heading (stopping at rest).
    fn track(actor: u32, s0: State, frames: usize, dt: f64) -> Track {
        let (sin, cos) = s0.heading_rad.sin_cos();
        let states = (0..frames)
            .map(|k| {
                let (d, v) = travel(s0.speed_mps, s0.accel_mps2, k as f64 * dt);
                let a = if v == 0.0 { 0.0 } else { s0.accel_mps2 };
                st(s0.x_m + d * cos, s0.y_m + d * sin, s0.heading_rad, v, a)
            })
            .collect();
        Track {
            actor,
            length_m: CAR[0],
            width_m: CAR[1],
            first_frame: 0,
            states,
        }
    }

    #[test]
    fn constant_speed_approach_to_a_slower_leader() {
        // Ego at 20 m/s, leader 50 m ahead (centres) at 10 m/s: gap 46 m, closing 10 m/s.
        let ego = track(0, st(0.0, 0.0, 0.0, 20.0, 0.0), 10, 0.1);
        let lead = track(1, st(50.0, 0.0, 0.0, 10.0, 0.0), 10, 0.1);
        let c = measure(&ego, std::slice::from_ref(&lead), 0..1, 0.1);
        assert_relative_eq!(c.min_ttc_s.unwrap().value, 4.6, epsilon = 1e-9);
        assert_relative_eq!(c.min_ttc_path_s.unwrap().value, 4.6, epsilon = PATH_STEP_S);
        // THW = 46 / 20; DRAC = 10^2 / (2 * 46).
        assert_relative_eq!(c.min_thw_s.unwrap().value, 2.3, epsilon = 1e-9);
        assert_relative_eq!(c.max_drac_mps2.unwrap().value, 100.0 / 92.0, epsilon = 1e-9);
        // Required: lose 10 m/s of closing speed within 46 m: 100 / 92 m/s^2.
        let req = c.max_required_decel_mps2.unwrap().value;
        assert!((req - 100.0 / 92.0).abs() < 0.03, "{req}");
        assert_relative_eq!(c.min_distance_m.unwrap().value, 46.0, epsilon = 1e-9);
        assert!(c.collision.is_none());
    }

    #[test]
    fn stopped_obstacle_ahead() {
        // Ego at 25 m/s, a stopped car with 62.5 m between the boxes: TTC 2.5 s,
        // DRAC 25^2 / (2 * 62.5) = 5 m/s^2, the same as the deceleration required.
        let ego = st(0.0, 0.0, 0.0, 25.0, 0.0);
        let stopped = st(66.5, 0.0, 0.0, 0.0, 0.0);
        let (eb, sb) = (
            Obb::new(0.0, 0.0, 0.0, 4.0, 2.0),
            Obb::new(66.5, 0.0, 0.0, 4.0, 2.0),
        );
        let ttc = ttc_constant_velocity(&eb, ego.velocity(), &sb, stopped.velocity()).unwrap();
        assert_relative_eq!(ttc, 2.5, epsilon = 1e-9);
        assert_relative_eq!(drac(25.0, ttc), 5.0, epsilon = 1e-9);
        let req = required_deceleration(&ego, CAR, &stopped, CAR).unwrap();
        assert!((req - 5.0).abs() < 0.05, "{req}");
        // A braking leader: at 25 m/s braking at 6 m/s^2 with a 12 m gap it stops after
        // 52.08 m; the ego must stop within 64.08 m: 625 / 128.17 = 4.88.
        let lead = st(16.0, 0.0, 0.0, 25.0, -6.0);
        let req = required_deceleration(&ego, CAR, &lead, CAR).unwrap();
        assert!(
            (req - 625.0 / (2.0 * (12.0 + 625.0 / 12.0))).abs() < 0.05,
            "{req}"
        );
        // A wall 5 m ahead at 25 m/s needs more than anyone can brake.
        let wall = st(9.0, 0.0, 0.0, 0.0, 0.0);
        assert_eq!(required_deceleration(&ego, CAR, &wall, CAR), None);
        // Following with a gap and no closing speed: nothing needed.
        let same = st(30.0, 0.0, 0.0, 25.0, 0.0);
        assert_eq!(required_deceleration(&ego, CAR, &same, CAR), Some(0.0));
    }

    #[test]
    fn crossing_paths_collide_and_give_zero_pet() {
        // Ego along +x from -50, other along +y from -50, both 10 m/s: contact at 4.7 s.
        let dt = 0.1;
        let ego = track(0, st(-50.0, 0.0, 0.0, 10.0, 0.0), 100, dt);
        let other = track(
            1,
            st(0.0, -50.0, std::f64::consts::FRAC_PI_2, 10.0, 0.0),
            100,
            dt,
        );
        let c = measure(&ego, std::slice::from_ref(&other), 0..100, dt);
        assert_relative_eq!(c.min_ttc_s.unwrap().value, 0.0);
        let first = c.collision.unwrap();
        assert!((first.at_s - 4.7).abs() <= dt + 1e-9, "{first:?}");
        assert_eq!(c.pet_s.unwrap().value, 0.0);
        // At the start the constant-velocity TTC is the contact time.
        let (e0, o0) = (ego.at(0).unwrap(), other.at(0).unwrap());
        let ttc =
            ttc_constant_velocity(&ego.body(e0), e0.velocity(), &other.body(o0), o0.velocity());
        assert_relative_eq!(ttc.unwrap(), 4.7, epsilon = 1e-9);
    }

    #[test]
    fn crossing_paths_one_after_the_other_give_the_pet() {
        // The other crosses first: its rear leaves the ego's path (|y| <= 1 for the ego's
        // width, x in [-1, 1]) when its centre reaches y = 3 at 5.3 s; the ego's front
        // reaches x = -1 at (48 - 1) / 10 + 2 = 6.7 s (it starts 20 m further back).
        let dt = 0.1;
        let ego = track(0, st(-70.0, 0.0, 0.0, 10.0, 0.0), 120, dt);
        let other = track(
            1,
            st(0.0, -50.0, std::f64::consts::FRAC_PI_2, 10.0, 0.0),
            120,
            dt,
        );
        let (pet, k) = post_encroachment_time(&ego, &other, 0..120, dt).unwrap();
        // Cells of 0.25 m (0.0125 s at 10 m/s each side), 0.02 s ticks.
        assert!((pet - 1.4).abs() <= 0.05, "{pet}");
        assert!((k as f64 * dt - 6.7).abs() <= 0.15, "{k}");
        let c = measure(&ego, std::slice::from_ref(&other), 0..120, dt);
        assert!(c.collision.is_none());
        assert!(c.min_distance_m.unwrap().value > 0.5);
        // The paths cross only geometrically: constant velocity never finds contact.
        assert!(c.min_ttc_s.is_none(), "{:?}", c.min_ttc_s);
    }

    #[test]
    fn path_based_ttc_follows_a_curving_leader() {
        // The leader turns off to the left on a 20 m radius: at constant velocity it is a
        // leader 26 m ahead closing at 10 m/s (TTC 2.6 s); along the paths it has left the
        // ego's line before the ego gets there.
        let dt = 0.1;
        let ego = track(0, st(0.0, 0.0, 0.0, 15.0, 0.0), 100, dt);
        let states = (0..100)
            .map(|k| {
                let t = k as f64 * dt;
                let ang = 5.0 * t / 20.0;
                st(
                    30.0 + 20.0 * ang.sin(),
                    20.0 - 20.0 * ang.cos(),
                    ang,
                    5.0,
                    0.0,
                )
            })
            .collect();
        let lead = Track {
            actor: 1,
            length_m: 4.0,
            width_m: 2.0,
            first_frame: 0,
            states,
        };
        let c = measure(&ego, std::slice::from_ref(&lead), 0..1, dt);
        let cv = c.min_ttc_s.unwrap().value;
        assert_relative_eq!(cv, 26.0 / 10.0, epsilon = 1e-9);
        let path = c.min_ttc_path_s.map(|e| e.value);
        assert_eq!(path, None, "cv {cv}");
    }

    #[test]
    fn a_path_based_ttc_right_at_the_horizon_is_measured() {
        // Head-on at 1 m/s towards a standing ego: the boxes (4 m long) first overlap after
        // 9.975 s, so at the horizon's own step.
        let ego = track(0, st(0.0, 0.0, 0.0, 0.0, 0.0), 5, 0.1);
        let other = track(1, st(13.975, 0.0, std::f64::consts::PI, 1.0, 0.0), 5, 0.1);
        for prune in [true, false] {
            let c = measure_pruned(&ego, std::slice::from_ref(&other), 0..1, 0.1, prune);
            assert_eq!(c.min_ttc_path_s.map(|e| e.value), Some(HORIZON_S));
        }
    }

    #[test]
    fn leaders_only_in_the_corridor() {
        let e = st(0.0, 0.0, 0.0, 20.0, 0.0);
        assert!(leader_gap(&e, CAR, &st(30.0, 1.9, 0.0, 10.0, 0.0), CAR).is_some());
        assert!(leader_gap(&e, CAR, &st(30.0, 2.1, 0.0, 10.0, 0.0), CAR).is_none());
        assert!(leader_gap(&e, CAR, &st(-30.0, 0.0, 0.0, 10.0, 0.0), CAR).is_none());
        // Oncoming: not a leader (TTC covers it).
        assert!(leader_gap(&e, CAR, &st(30.0, 0.0, 3.1, 10.0, 0.0), CAR).is_none());
        let (gap, closing) = leader_gap(&e, CAR, &st(30.0, 0.0, 0.0, 15.0, 0.0), CAR).unwrap();
        assert_relative_eq!(gap, 26.0);
        assert_relative_eq!(closing, 5.0);
    }

    /// Every cell of the bounding box whose centre the exact test puts inside (what
    /// [`for_covered_runs`] stands for).
    fn cells_by_scanning_the_bounding_box(t: &Track, s: &State) -> Vec<(i64, i64)> {
        let c = t.body(s).corners();
        let (lo_x, hi_x) = c
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.x), h.max(p.x)));
        let (lo_y, hi_y) = c
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(p.y), h.max(p.y)));
        let (sin, cos) = s.heading_rad.sin_cos();
        let (hl, hw) = (0.5 * t.length_m, 0.5 * t.width_m);
        let cell = |v: f64| (v / PET_CELL_M).floor() as i64;
        let mut out = Vec::new();
        for i in cell(lo_x)..=cell(hi_x) {
            for j in cell(lo_y)..=cell(hi_y) {
                let dx = (i as f64 + 0.5) * PET_CELL_M - s.x_m;
                let dy = (j as f64 + 0.5) * PET_CELL_M - s.y_m;
                if (dx * cos + dy * sin).abs() <= hl && (-dx * sin + dy * cos).abs() <= hw {
                    out.push((i, j));
                }
            }
        }
        out
    }

    fn covered(t: &Track, s: &State) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for_covered_runs(t, s, |i, j0, j1| out.extend((j0..=j1).map(|j| (i, j))));
        out
    }

    fn body(length_m: f64, width_m: f64) -> Track {
        Track {
            actor: 0,
            length_m,
            width_m,
            first_frame: 0,
            states: Vec::new(),
        }
    }

    #[test]
    fn covered_cells_are_the_bounding_box_scan_on_and_off_the_grid_axes() {
        // Boxes square to the grid, on cell centres and edges, where rounding decides.
        for heading in [
            0.0,
            FRAC_PI_2,
            PI,
            -FRAC_PI_2,
            1e-7,
            FRAC_PI_2 - 1e-7,
            FRAC_PI_4,
        ] {
            for (x, y) in [
                (0.0, 0.0),
                (0.125, 0.125),
                (1.0, -2.5),
                (50_000.125, -49_999.875),
            ] {
                for (l, w) in [(4.0, 2.0), (4.5, 1.75), (0.25, 0.25), (12.0, 2.5)] {
                    let (t, s) = (body(l, w), st(x, y, heading, 0.0, 0.0));
                    let want = cells_by_scanning_the_bounding_box(&t, &s);
                    assert!(!want.is_empty() || l < 0.5);
                    assert_eq!(covered(&t, &s), want, "{x} {y} {heading} {l}x{w}");
                }
            }
        }
    }

    use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

    proptest::proptest! {
        #[test]
        fn covered_cells_are_the_bounding_box_scan(
            x in -60_000.0..60_000.0f64,
            y in -60_000.0..60_000.0f64,
            heading in -7.0..7.0f64,
            quarter in 0..4i32,
            near_axis in proptest::bool::ANY,
            l in 0.2..20.0f64,
            w in 0.2..4.0f64,
        ) {
            // Half the cases a hair off a grid axis, where the row cut is narrowest.
            let heading = if near_axis {
                f64::from(quarter) * FRAC_PI_2 + heading * 1e-6
            } else {
                heading
            };
            let (t, s) = (body(l, w), st(x, y, heading, 0.0, 0.0));
            proptest::prop_assert_eq!(covered(&t, &s), cells_by_scanning_the_bounding_box(&t, &s));
        }

        #[test]
        fn rasterised_cells_survive_shortcuts_and_lie_in_their_coarse_spans(
            x in -40.0..40.0f64,
            y in -40.0..40.0f64,
            heading in -3.2..3.2f64,
            turn in -0.5..0.5f64,
            v in 0.0..15.0f64,
            stops in proptest::collection::vec(0usize..3, 2..6),
        ) {
            // A car crossing the origin's surroundings in legs, standing between them (as at
            // a red light) for 0 to 2 frames of each 8, and a second one standing then going
            // along the x axis.
            let mut states = Vec::new();
            let (mut px, mut py, mut h) = (x, y, heading);
            for &stop in &stops {
                for k in 0..8 {
                    if k >= 8 - stop {
                        states.push(st(px, py, h, 0.0, 0.0));
                        continue;
                    }
                    states.push(st(px, py, h, v, 0.0));
                    px += v * 0.1 * h.cos();
                    py += v * 0.1 * h.sin();
                    h += turn * 0.1;
                }
            }
            let n = states.len();
            let a = Track { actor: 0, length_m: CAR[0], width_m: CAR[1], first_frame: 0, states };
            let mut b = track(1, st(-30.0, 0.5, 0.0, 8.0, 0.0), n, 0.1);
            for s in b.states.iter_mut().take(n / 3) {
                *s = st(-30.0, 0.5, 0.0, 0.0, 0.0);
            }
            let frames = 0..n;
            let ca = Occupancy::rasterise(&a, frames.clone(), None, true);
            let by_tick = Occupancy::rasterise(&a, frames.clone(), None, false);
            proptest::prop_assert_eq!(ca.blocks.len(), by_tick.blocks.len());
            for (key, &i) in &ca.index {
                proptest::prop_assert_eq!(ca.blocks[i], by_tick.blocks[by_tick.index[key]]);
            }
            // Every cell's ticks lie in its block's coarse span (so a block's span gap bounds
            // its cells' PETs from below).
            let cb = Occupancy::new(&b, frames.clone(), None);
            for (t, cells) in [(&a, &ca), (&b, &cb)] {
                let spans = CoarseSpans::new(t, frames.clone());
                for (key, &i) in &cells.index {
                    let (lo, hi) = spans.0[key];
                    for &(first, last) in cells.blocks[i].iter().filter(|c| c.0 != EMPTY_TICK) {
                        proptest::prop_assert!(lo <= first && last <= hi, "{:?} outside {:?}", (first, last), (lo, hi));
                    }
                }
            }
            // Rasterised only near some of `a`'s blocks, `b` has the same cells in those.
            let some: HashSet<(i64, i64)> = ca.index.keys().copied().step_by(2).collect();
            let near = Occupancy::new(&b, frames.clone(), Some(&some));
            for key in &some {
                let full = cb.index.get(key).map(|&i| cb.blocks[i]);
                let part = near.index.get(key).map(|&i| near.blocks[i]);
                proptest::prop_assert_eq!(full, part, "block {:?}", key);
            }
        }

        #[test]
        fn floor_and_ceil_to_integers_match_the_library(v in proptest::num::f64::ANY) {
            proptest::prop_assert_eq!(floor_i64(v), v.floor() as i64);
            proptest::prop_assert_eq!(ceil_i64(v), v.ceil() as i64);
        }
    }

    #[test]
    fn floor_and_ceil_to_integers_at_the_edges() {
        for v in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            -1.0,
            1.0,
            -1e-300,
            2.5e15 + 0.5,
            -(2f64.powi(52)) - 0.5,
            9.3e18,
            -9.3e18,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            assert_eq!(floor_i64(v), v.floor() as i64, "{v}");
            assert_eq!(ceil_i64(v), v.ceil() as i64, "{v}");
        }
    }
}
