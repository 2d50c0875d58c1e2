//! Recorded trajectories: per actor per step its pose, motion, lane and lights, in a compact
//! binary form (`.rwtraj`). Actors that never move (parked cars) are stored once, not every
//! step.
//!
//! # The `.rwtraj` layout (version 3)
//!
//! Values are quantised, and each moving sample is stored as the difference from the same
//! actor's previous sample, so a file is about a third of raw floats (12-16 bytes per sample
//! instead of 42). Integers are LEB128 varints (`uv`: unsigned; `zv`: zigzag-signed), fixed
//! fields little-endian.
//!
//! ```text
//! magic    8 bytes  "RWTRAJ\0\x03"
//! step_s   f64
//! lanes    uv n, then n x (uv road, uv section, zv lane id)
//! actors   uv n, then n x (uv id, u8 kind (ActorKind::ALL index), u8 ego,
//!                          f32 length_m, f32 width_m, f32 height_m,
//!                          zv first_frame, zv last_frame  (-1 for u32::MAX))
//! statics  uv n, then n x (uv actor, the nine sample fields below as zv, absolute)
//! frames   uv n, then per frame: uv count, then per sample:
//!          zv actor - previous sample's actor in this frame (the first: actor + 1),
//!          then zv (q - q_prev) for each field, q_prev being the same actor's previous
//!          sample (0 before its first)
//! ```
//!
//! Sample fields and quanta: x, y, z (1 mm), heading (1e-4 rad), speed (1 mm/s),
//! acceleration (1 mm/s²), s, t (1 mm), lane (index into the lane table), flags. Reading
//! gives each value as `q * quantum` in `f32`: within half a quantum of what was recorded
//! (the very `f32` recorded where `f32` is coarser than the quantum, e.g. positions beyond
//! 16 km from the origin), and writing what was read gives the same bytes again. [`Recording::from_bytes`] also reads
//! version 2 (raw little-endian floats, 42 bytes per sample).

use crate::ActorId;
use crate::lanes::LaneMap;
use crate::world::{ActorPose, World};
use roadworld_road::LaneRef;
use roadworld_spec::ActorKind;

/// One actor at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Index into [`Recording::actors`].
    pub actor: u32,
    pub x_m: f32,
    pub y_m: f32,
    pub z_m: f32,
    pub heading_rad: f32,
    pub speed_mps: f32,
    pub accel_mps2: f32,
    /// Road coordinates on the actor's lane's road.
    pub s_m: f32,
    pub t_m: f32,
    /// Index into [`Recording::lanes`].
    pub lane: u32,
    /// [`crate::flags`].
    pub flags: u16,
}

impl Sample {
    /// The float fields, in file order: x, y, z, heading, speed, acceleration, s, t.
    pub fn floats(&self) -> [f32; 8] {
        [
            self.x_m,
            self.y_m,
            self.z_m,
            self.heading_rad,
            self.speed_mps,
            self.accel_mps2,
            self.s_m,
            self.t_m,
        ]
    }
}

/// An actor of a recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActorRecord {
    pub id: ActorId,
    pub kind: ActorKind,
    pub length_m: f32,
    pub width_m: f32,
    pub height_m: f32,
    pub ego: bool,
    /// First recorded frame.
    pub first_frame: u32,
    /// Last recorded frame (inclusive); `u32::MAX` while alive.
    pub last_frame: u32,
}

/// A whole rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub step_s: f64,
    pub actors: Vec<ActorRecord>,
    /// The lane table samples refer to.
    pub lanes: Vec<LaneRef>,
    /// Start of each frame in `samples`, plus the end.
    pub frame_starts: Vec<u32>,
    /// Samples of the moving actors, frame by frame.
    pub samples: Vec<Sample>,
    /// Actors that never move (parked cars): one sample each, standing for every frame from
    /// the actor's first to its last; not repeated in `samples`.
    pub statics: Vec<Sample>,
}

const MAGIC_V2: &[u8; 8] = b"RWTRAJ\0\x02";
const MAGIC: &[u8; 8] = b"RWTRAJ\0\x03";

/// Quanta of the sample fields x, y, z, heading, speed, acceleration, s, t.
pub const QUANTA: [f64; 8] = [1e-3, 1e-3, 1e-3, 1e-4, 1e-3, 1e-3, 1e-3, 1e-3];

/// The nine integer fields of a sample: the quantised floats, then the lane.
fn quantise(s: &Sample) -> [i64; 9] {
    let f = s.floats();
    let mut q = [0i64; 9];
    for k in 0..8 {
        q[k] = (f64::from(f[k]) / QUANTA[k]).round() as i64;
    }
    q[8] = i64::from(s.lane);
    q
}

fn unquantise(actor: u32, q: &[i64; 9], flags: u16) -> Option<Sample> {
    let f = |k: usize| (q[k] as f64 * QUANTA[k]) as f32;
    Some(Sample {
        actor,
        x_m: f(0),
        y_m: f(1),
        z_m: f(2),
        heading_rad: f(3),
        speed_mps: f(4),
        accel_mps2: f(5),
        s_m: f(6),
        t_m: f(7),
        lane: u32::try_from(q[8]).ok()?,
        flags,
    })
}

fn put_uv(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_zv(out: &mut Vec<u8>, v: i64) {
    put_uv(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn frame_no(v: u32) -> i64 {
    if v == u32::MAX { -1 } else { i64::from(v) }
}

impl Recording {
    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.frame_starts.len().saturating_sub(1)
    }

    /// The samples of the moving actors in frame `k`, in actor order.
    pub fn frame(&self, k: usize) -> &[Sample] {
        let (a, b) = (
            self.frame_starts[k] as usize,
            self.frame_starts[k + 1] as usize,
        );
        &self.samples[a..b]
    }

    /// The static actors present in frame `k`.
    pub fn statics_at(&self, k: usize) -> impl Iterator<Item = &Sample> {
        self.statics.iter().filter(move |s| {
            let a = &self.actors[s.actor as usize];
            a.first_frame as usize <= k && (a.last_frame == u32::MAX || k <= a.last_frame as usize)
        })
    }

    /// Every actor present in frame `k`: the moving ones, then the static ones.
    pub fn frame_all(&self, k: usize) -> impl Iterator<Item = &Sample> {
        self.frame(k).iter().chain(self.statics_at(k))
    }

    /// The binary form (`.rwtraj` version 3, see the module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + (self.samples.len() + self.statics.len()) * 16 + self.actors.len() * 24,
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.step_s.to_le_bytes());
        put_uv(&mut out, self.lanes.len() as u64);
        for l in &self.lanes {
            put_uv(&mut out, u64::from(l.road.0));
            put_uv(&mut out, u64::from(l.section));
            put_zv(&mut out, i64::from(l.lane));
        }
        put_uv(&mut out, self.actors.len() as u64);
        for a in &self.actors {
            put_uv(&mut out, u64::from(a.id.0));
            out.push(
                ActorKind::ALL
                    .iter()
                    .position(|k| *k == a.kind)
                    .unwrap_or(0) as u8,
            );
            out.push(u8::from(a.ego));
            for v in [a.length_m, a.width_m, a.height_m] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            put_zv(&mut out, frame_no(a.first_frame));
            put_zv(&mut out, frame_no(a.last_frame));
        }
        put_uv(&mut out, self.statics.len() as u64);
        for s in &self.statics {
            put_uv(&mut out, u64::from(s.actor));
            for q in quantise(s) {
                put_zv(&mut out, q);
            }
            put_uv(&mut out, u64::from(s.flags));
        }
        put_uv(&mut out, self.frames() as u64);
        let mut prev = vec![([0i64; 9], 0u16); self.actors.len()];
        for k in 0..self.frames() {
            let f = self.frame(k);
            put_uv(&mut out, f.len() as u64);
            let mut last_actor = -1i64;
            for s in f {
                put_zv(&mut out, i64::from(s.actor) - last_actor);
                last_actor = i64::from(s.actor);
                let q = quantise(s);
                let (pq, pf) = prev.get(s.actor as usize).copied().unwrap_or_default();
                for j in 0..9 {
                    put_zv(&mut out, q[j] - pq[j]);
                }
                put_zv(&mut out, i64::from(s.flags) - i64::from(pf));
                if let Some(p) = prev.get_mut(s.actor as usize) {
                    *p = (q, s.flags);
                }
            }
        }
        out
    }

    /// The recording as CSV (header row, then one row per moving actor per frame in frame
    /// order; actors that never move, parked cars, one row each at their first frame with
    /// `static` 1). Values as recorded (shortest round-trip decimal of each `f32`); `road`,
    /// `section`, `lane` are the OpenDRIVE lane of the sample; `flags` as in
    /// [`crate::flags`].
    pub fn to_csv(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(64 + (self.samples.len() + self.statics.len()) * 110);
        out.push_str("frame,time_s,actor,id,kind,ego,static,x_m,y_m,z_m,heading_rad,speed_mps,accel_mps2,road,section,lane,s_m,t_m,flags\n");
        let mut row = |k: usize, s: &Sample, standing: bool| {
            let a = &self.actors[s.actor as usize];
            let _ = write!(
                out,
                "{k},{},{},{},{},{},{}",
                (k as f64 * self.step_s * 1e6).round() / 1e6,
                s.actor,
                a.id.0,
                a.kind.name(),
                u8::from(a.ego),
                u8::from(standing)
            );
            for v in [
                s.x_m,
                s.y_m,
                s.z_m,
                s.heading_rad,
                s.speed_mps,
                s.accel_mps2,
            ] {
                let _ = write!(out, ",{v}");
            }
            match self.lanes.get(s.lane as usize) {
                Some(l) => {
                    let _ = write!(out, ",{},{},{}", l.road.0, l.section, l.lane);
                }
                None => out.push_str(",,,"),
            }
            let _ = writeln!(out, ",{},{},{}", s.s_m, s.t_m, s.flags);
        };
        let mut statics: Vec<&Sample> = self.statics.iter().collect();
        statics.sort_by_key(|s| (self.actors[s.actor as usize].first_frame, s.actor));
        let mut next_static = statics.into_iter().peekable();
        for k in 0..self.frames() {
            while let Some(s) =
                next_static.next_if(|s| self.actors[s.actor as usize].first_frame as usize <= k)
            {
                row(k, s, true);
            }
            for s in self.frame(k) {
                row(k, s, false);
            }
        }
        out
    }

    /// Reads the binary form back (version 3, or version 2); `None` if it is not one.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let v3 = match b.get(..8)? {
            m if m == MAGIC => true,
            m if m == MAGIC_V2 => false,
            _ => return None,
        };
        let mut r = Reader { b, i: 8, v3 };
        let step_s = f64::from_le_bytes(r.take(8)?.try_into().ok()?);
        let nl = r.count()?;
        let mut lanes = Vec::with_capacity(nl.min(1 << 20));
        for _ in 0..nl {
            lanes.push(LaneRef {
                road: roadworld_road::RoadId(r.unsigned()?),
                section: r.unsigned()?,
                lane: r.signed()?,
            });
        }
        let na = r.count()?;
        let mut actors = Vec::with_capacity(na.min(1 << 20));
        for _ in 0..na {
            let id = ActorId(r.unsigned()?);
            let kind = *ActorKind::ALL.get(r.take(1)?[0] as usize)?;
            let ego = r.take(1)?[0] != 0;
            actors.push(ActorRecord {
                id,
                kind,
                ego,
                length_m: r.f32()?,
                width_m: r.f32()?,
                height_m: r.f32()?,
                first_frame: r.frame_no()?,
                last_frame: r.frame_no()?,
            });
        }
        let ns = r.count()?;
        let mut statics = Vec::with_capacity(ns.min(1 << 20));
        for _ in 0..ns {
            let s = r.static_sample()?;
            if s.actor as usize >= actors.len() {
                return None;
            }
            statics.push(s);
        }
        let nf = r.count()?;
        let mut frame_starts = Vec::with_capacity(nf.min(1 << 24) + 1);
        let mut samples = Vec::new();
        // Version 3: each actor's last sample, which the next one is coded against.
        let mut prev = vec![([0i64; 9], 0u16); if v3 { actors.len() } else { 0 }];
        frame_starts.push(0);
        for _ in 0..nf {
            let n = r.count()?;
            let mut last_actor = -1i64;
            for _ in 0..n {
                samples.push(if v3 {
                    r.delta_sample(&mut prev, &mut last_actor)?
                } else {
                    r.sample()?
                });
            }
            frame_starts.push(u32::try_from(samples.len()).ok()?);
        }
        (r.i == b.len()).then_some(Self {
            step_s,
            actors,
            lanes,
            frame_starts,
            samples,
            statics,
        })
    }
}

#[cfg(test)]
fn write_sample(out: &mut Vec<u8>, s: &Sample) {
    out.extend_from_slice(&s.actor.to_le_bytes());
    for v in s.floats() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&s.lane.to_le_bytes());
    out.extend_from_slice(&s.flags.to_le_bytes());
}

/// A sample of an actor at `p` (flags left empty).
fn sample_of(actor: u32, p: &ActorPose, speed_mps: f64, accel_mps2: f64, lane: u32) -> Sample {
    Sample {
        actor,
        x_m: p.x_m as f32,
        y_m: p.y_m as f32,
        z_m: p.z_m as f32,
        heading_rad: p.heading_rad as f32,
        speed_mps: speed_mps as f32,
        accel_mps2: accel_mps2 as f32,
        s_m: p.s_m as f32,
        t_m: p.t_m as f32,
        lane,
        flags: 0,
    }
}

/// Reads the fields of a `.rwtraj` file: integers are LEB128 (zigzag when signed) in version
/// 3 and little-endian 32-bit words in version 2; floats are little-endian f32 in both.
struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    v3: bool,
}

impl<'a> Reader<'a> {
    /// A count of what follows.
    fn count(&mut self) -> Option<usize> {
        usize::try_from(if self.v3 {
            self.uv()?
        } else {
            u64::from(self.u32()?)
        })
        .ok()
    }
    fn unsigned(&mut self) -> Option<u32> {
        if self.v3 {
            u32::try_from(self.uv()?).ok()
        } else {
            self.u32()
        }
    }
    fn signed(&mut self) -> Option<i32> {
        if self.v3 {
            i32::try_from(self.zv()?).ok()
        } else {
            Some(self.u32()? as i32)
        }
    }
    /// A frame number, `u32::MAX` for none (written -1 in version 3).
    fn frame_no(&mut self) -> Option<u32> {
        if !self.v3 {
            return self.u32();
        }
        match self.zv()? {
            -1 => Some(u32::MAX),
            v => u32::try_from(v).ok(),
        }
    }
    /// A parked actor's one sample: quantised in version 3, raw in version 2.
    fn static_sample(&mut self) -> Option<Sample> {
        if !self.v3 {
            return self.sample();
        }
        let actor = u32::try_from(self.uv()?).ok()?;
        let mut q = [0i64; 9];
        for v in &mut q {
            *v = self.zv()?;
        }
        let flags = u16::try_from(self.uv()?).ok()?;
        unquantise(actor, &q, flags)
    }
    /// A moving actor's sample in version 3: the actor as a step from the frame's last one,
    /// the fields as steps from that actor's `prev` sample (updated).
    fn delta_sample(
        &mut self,
        prev: &mut [([i64; 9], u16)],
        last_actor: &mut i64,
    ) -> Option<Sample> {
        let actor = last_actor.checked_add(self.zv()?)?;
        *last_actor = actor;
        let p = prev.get_mut(usize::try_from(actor).ok()?)?;
        for j in 0..9 {
            p.0[j] = p.0[j].checked_add(self.zv()?)?;
        }
        p.1 = u16::try_from(i64::from(p.1).checked_add(self.zv()?)?).ok()?;
        unquantise(actor as u32, &p.0, p.1)
    }
    fn uv(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.i)?;
            self.i += 1;
            v |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn zv(&mut self) -> Option<i64> {
        let u = self.uv()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.i..self.i.checked_add(n)?)?;
        self.i += n;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn f32(&mut self) -> Option<f32> {
        Some(f32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn sample(&mut self) -> Option<Sample> {
        Some(Sample {
            actor: self.u32()?,
            x_m: self.f32()?,
            y_m: self.f32()?,
            z_m: self.f32()?,
            heading_rad: self.f32()?,
            speed_mps: self.f32()?,
            accel_mps2: self.f32()?,
            s_m: self.f32()?,
            t_m: self.f32()?,
            lane: self.u32()?,
            flags: u16::from_le_bytes(self.take(2)?.try_into().ok()?),
        })
    }
}

/// Collects a recording while the world runs.
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    rec: Recording,
    /// Recording index of each vehicle and each walker (in the world's order).
    vehicles: Vec<u32>,
    walkers: Vec<u32>,
    /// Whether each walker's static sample is recorded (parked cars).
    walker_static: Vec<bool>,
    /// Frames the recording is expected to reach (0: unknown), to size `samples` once.
    expected_frames: u64,
}

impl Recorder {
    /// A recorder whose samples are sized for about `expected_frames` frames once the first
    /// frame shows how many actors move (see [`crate::World::record_for`]); 0 lets them grow.
    pub(crate) fn new(
        step_s: f64,
        map: &LaneMap,
        side_lanes: &[LaneRef],
        expected_frames: u64,
    ) -> Self {
        Self {
            rec: Recording {
                step_s,
                actors: Vec::new(),
                lanes: map
                    .lanes
                    .iter()
                    .map(|l| l.lane)
                    .chain(side_lanes.iter().copied())
                    .collect(),
                frame_starts: vec![0],
                samples: Vec::new(),
                statics: Vec::new(),
            },
            vehicles: Vec::new(),
            walkers: Vec::new(),
            walker_static: Vec::new(),
            expected_frames,
        }
    }

    fn add_actor(&mut self, id: ActorId, body: &crate::kinds::Body, ego: bool, alive: bool) -> u32 {
        let frame = self.rec.frames() as u32;
        self.rec.actors.push(ActorRecord {
            id,
            kind: body.kind,
            length_m: body.length_m as f32,
            width_m: body.width_m as f32,
            height_m: body.height_m as f32,
            ego,
            first_frame: if alive { frame } else { u32::MAX },
            last_frame: if alive { u32::MAX } else { 0 },
        });
        self.rec.actors.len() as u32 - 1
    }

    pub(crate) fn capture(&mut self, w: &World) {
        while self.vehicles.len() < w.actors.len() {
            let a = &w.actors[self.vehicles.len()];
            let r = self.add_actor(a.id, &a.body, a.ego, a.alive);
            self.vehicles.push(r);
        }
        while self.walkers.len() < w.walkers.len() {
            let a = &w.walkers[self.walkers.len()];
            let r = self.add_actor(a.id, &a.body, false, a.alive);
            self.walkers.push(r);
            self.walker_static.push(false);
        }
        let most = w.actors.len() + w.walkers.len();
        let samples = &mut self.rec.samples;
        if samples.capacity() - samples.len() < most {
            // Out of room. Knowing how long the recording will be, take room for the rest
            // at the rate so far (10% over, as traffic varies); else grow by doubling.
            let frames = self.rec.frame_starts.len() as u64 - 1;
            let left = self.expected_frames.saturating_sub(frames);
            let per_frame = samples.len() as u64 / frames.max(1);
            match usize::try_from(left.saturating_mul(per_frame) / 10 * 11) {
                Ok(rest) if frames > 0 && left > 0 => samples.reserve_exact(rest.max(most)),
                _ => samples.reserve(most),
            }
        }
        for (k, a) in w.actors.iter().enumerate() {
            if a.alive {
                let s = sample_of(
                    self.vehicles[k],
                    &a.pose,
                    a.speed_mps,
                    a.accel_mps2,
                    a.lane.0,
                );
                self.rec.samples.push(Sample {
                    flags: a.flags,
                    ..s
                });
            }
        }
        for (k, a) in w.walkers.iter().enumerate() {
            if !a.alive {
                continue;
            }
            let s = sample_of(
                self.walkers[k],
                &a.pose,
                a.speed_mps,
                a.accel_mps2,
                a.rec_lane,
            );
            let s = Sample {
                flags: a.flags,
                ..s
            };
            if a.flags & crate::flags::PARKED != 0 {
                // Stands where it was placed for good: once, in the static table.
                if !self.walker_static[k] {
                    self.walker_static[k] = true;
                    self.rec.statics.push(s);
                }
            } else {
                self.rec.samples.push(s);
            }
        }
        self.rec.frame_starts.push(self.rec.samples.len() as u32);
    }

    pub(crate) fn spawned(&mut self, _idx: u32, _step: u64) {}

    pub(crate) fn despawned(&mut self, idx: u32, _step: u64) {
        if let Some(&r) = self.vehicles.get(idx as usize) {
            self.end(r);
        }
    }

    pub(crate) fn side_despawned(&mut self, idx: u32) {
        if let Some(&r) = self.walkers.get(idx as usize) {
            self.end(r);
        }
    }

    fn end(&mut self, r: u32) {
        let last = self.rec.frames().saturating_sub(1) as u32;
        if let Some(a) = self.rec.actors.get_mut(r as usize) {
            a.last_frame = last;
        }
    }

    pub(crate) fn recording(&self) -> &Recording {
        &self.rec
    }

    pub(crate) fn finish(self, _w: &World) -> Recording {
        self.rec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three actors over 40 frames: one appears late and leaves early, one turns through the
    /// +-pi seam and changes lanes and lights, and a parked car.
    fn recording() -> Recording {
        let actor = |id, kind, first_frame, last_frame| ActorRecord {
            id: ActorId(id),
            kind,
            length_m: 4.61,
            width_m: 1.83,
            height_m: 1.47,
            ego: id == 0,
            first_frame,
            last_frame,
        };
        let mut samples = Vec::new();
        let mut frame_starts = vec![0];
        for k in 0..40u32 {
            let t = k as f32 * 0.1;
            samples.push(Sample {
                actor: 0,
                x_m: 48_123.457 + 27.3 * t,
                y_m: -913.25 - 0.4 * t * t,
                z_m: 12.345,
                heading_rad: (3.1 + 0.01 * k as f32 + std::f32::consts::PI)
                    .rem_euclid(std::f32::consts::TAU)
                    - std::f32::consts::PI,
                speed_mps: 27.3 - 0.8 * t,
                accel_mps2: -0.8,
                s_m: 1_500.0 + 27.3 * t,
                t_m: if k < 20 { -1.75 } else { 1.75 },
                lane: if k < 20 { 3 } else { 4 },
                flags: if k % 7 == 0 { 5 } else { 1 },
            });
            if (10..30).contains(&k) {
                samples.push(Sample {
                    actor: 2,
                    x_m: 40.0 - 1.3 * t,
                    y_m: 2.5,
                    z_m: 0.0,
                    heading_rad: std::f32::consts::PI,
                    speed_mps: 1.3,
                    accel_mps2: 0.0,
                    s_m: 12.0,
                    t_m: 4.2,
                    lane: 9,
                    flags: 0,
                });
            }
            frame_starts.push(samples.len() as u32);
        }
        Recording {
            step_s: 0.1,
            actors: vec![
                actor(0, ActorKind::Car, 0, u32::MAX),
                actor(5, ActorKind::Car, 0, u32::MAX),
                actor(9, ActorKind::Pedestrian, 10, 29),
            ],
            lanes: vec![
                LaneRef {
                    road: roadworld_road::RoadId(3),
                    section: 1,
                    lane: -2,
                };
                10
            ],
            frame_starts,
            samples,
            statics: vec![Sample {
                actor: 1,
                x_m: -20.5,
                y_m: 7.25,
                z_m: 0.5,
                heading_rad: 1.0,
                speed_mps: 0.0,
                accel_mps2: 0.0,
                s_m: 30.0,
                t_m: 5.0,
                lane: 7,
                flags: 8,
            }],
        }
    }

    fn close(a: &Sample, b: &Sample) -> bool {
        let (fa, fb) = (a.floats(), b.floats());
        a.actor == b.actor
            && a.lane == b.lane
            && a.flags == b.flags
            && (0..8).all(|k| {
                // Half a quantum, plus f32 rounding of large values.
                let tol = QUANTA[k] * 0.5 + f64::from(fa[k].abs()) * 1.2e-7;
                (f64::from(fa[k]) - f64::from(fb[k])).abs() <= tol
            })
    }

    #[test]
    fn samples_come_back_within_half_a_quantum_and_rewrite_to_the_same_bytes() {
        let rec = recording();
        let bytes = rec.to_bytes();
        let back = Recording::from_bytes(&bytes).expect("read back");
        assert_eq!(back.actors, rec.actors);
        assert_eq!(back.lanes, rec.lanes);
        assert_eq!(back.frame_starts, rec.frame_starts);
        assert_eq!(back.step_s, rec.step_s);
        for (a, b) in rec
            .samples
            .iter()
            .chain(&rec.statics)
            .zip(back.samples.iter().chain(&back.statics))
        {
            assert!(close(a, b), "{a:?}\n{b:?}");
        }
        assert_eq!(back.to_bytes(), bytes);
        // Deltas: far fewer bytes than raw floats.
        let n = rec.samples.len() + rec.statics.len();
        assert!(
            bytes.len() < n * 20,
            "{} bytes for {n} samples",
            bytes.len()
        );
    }

    #[test]
    fn csv_has_a_row_per_moving_actor_per_frame_and_one_per_parked_car() {
        let rec = recording();
        let csv = rec.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("frame,time_s,actor,id,kind,"));
        assert_eq!(lines.len(), 1 + rec.samples.len() + rec.statics.len());
        let cols = lines[0].split(',').count();
        assert!(lines.iter().all(|l| l.split(',').count() == cols));
        // The parked car stands from frame 0: its row comes first.
        assert!(
            lines[1].starts_with("0,0,1,5,car,0,1,-20.5,7.25,0.5,1,0,0,3,1,-2,30,5,8"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("0,0,0,0,car,1,0,48123.457,"),
            "{}",
            lines[2]
        );
        // Frame 39 is at 3.9 s (not 3.9000000000000004).
        assert!(lines.last().unwrap().starts_with("39,3.9,0,"));
    }

    #[test]
    fn version_2_files_still_read_exactly() {
        let rec = recording();
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC_V2);
        out.extend_from_slice(&rec.step_s.to_le_bytes());
        out.extend_from_slice(&(rec.lanes.len() as u32).to_le_bytes());
        for l in &rec.lanes {
            out.extend_from_slice(&l.road.0.to_le_bytes());
            out.extend_from_slice(&l.section.to_le_bytes());
            out.extend_from_slice(&l.lane.to_le_bytes());
        }
        out.extend_from_slice(&(rec.actors.len() as u32).to_le_bytes());
        for a in &rec.actors {
            out.extend_from_slice(&a.id.0.to_le_bytes());
            out.push(ActorKind::ALL.iter().position(|k| *k == a.kind).unwrap() as u8);
            out.push(u8::from(a.ego));
            for v in [a.length_m, a.width_m, a.height_m] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&a.first_frame.to_le_bytes());
            out.extend_from_slice(&a.last_frame.to_le_bytes());
        }
        out.extend_from_slice(&(rec.statics.len() as u32).to_le_bytes());
        for s in &rec.statics {
            write_sample(&mut out, s);
        }
        out.extend_from_slice(&(rec.frames() as u32).to_le_bytes());
        for k in 0..rec.frames() {
            out.extend_from_slice(&(rec.frame(k).len() as u32).to_le_bytes());
            for s in rec.frame(k) {
                write_sample(&mut out, s);
            }
        }
        assert_eq!(Recording::from_bytes(&out), Some(rec));
    }

    #[test]
    fn damaged_files_are_refused_not_misread() {
        let bytes = recording().to_bytes();
        for cut in [0, 7, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(Recording::from_bytes(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Recording::from_bytes(&longer), None);
        let mut other = bytes.clone();
        other[7] = 9;
        assert_eq!(Recording::from_bytes(&other), None);
        // Every byte flipped in turn: refused or read, never a panic.
        for i in 8..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0xff;
            let _ = Recording::from_bytes(&b);
        }
    }
}
