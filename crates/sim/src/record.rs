//! Recorded trajectories: per actor per step its pose, motion, lane and lights, in a compact
//! binary form (`.rwtraj`, little-endian, 42 bytes per sample). Actors that never move
//! (parked cars) are stored once, not every step.

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

const MAGIC: &[u8; 8] = b"RWTRAJ\0\x02";

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

    /// The binary form: magic, step, lane table, actor table, static actors, frames.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + (self.samples.len() + self.statics.len()) * 42 + self.actors.len() * 32,
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.step_s.to_le_bytes());
        out.extend_from_slice(&(self.lanes.len() as u32).to_le_bytes());
        for l in &self.lanes {
            out.extend_from_slice(&l.road.0.to_le_bytes());
            out.extend_from_slice(&l.section.to_le_bytes());
            out.extend_from_slice(&l.lane.to_le_bytes());
        }
        out.extend_from_slice(&(self.actors.len() as u32).to_le_bytes());
        for a in &self.actors {
            out.extend_from_slice(&a.id.0.to_le_bytes());
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
            out.extend_from_slice(&a.first_frame.to_le_bytes());
            out.extend_from_slice(&a.last_frame.to_le_bytes());
        }
        out.extend_from_slice(&(self.statics.len() as u32).to_le_bytes());
        for s in &self.statics {
            write_sample(&mut out, s);
        }
        out.extend_from_slice(&(self.frames() as u32).to_le_bytes());
        for k in 0..self.frames() {
            let f = self.frame(k);
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            for s in f {
                write_sample(&mut out, s);
            }
        }
        out
    }

    /// Reads the binary form back.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let mut r = Reader { b, i: 0 };
        if r.take(8)? != MAGIC {
            return None;
        }
        let step_s = f64::from_le_bytes(r.take(8)?.try_into().ok()?);
        let nl = r.u32()? as usize;
        let mut lanes = Vec::with_capacity(nl.min(1 << 20));
        for _ in 0..nl {
            lanes.push(LaneRef {
                road: roadworld_road::RoadId(r.u32()?),
                section: r.u32()?,
                lane: r.u32()? as i32,
            });
        }
        let na = r.u32()? as usize;
        let mut actors = Vec::with_capacity(na.min(1 << 20));
        for _ in 0..na {
            let id = ActorId(r.u32()?);
            let kind = *ActorKind::ALL.get(r.take(1)?[0] as usize)?;
            let ego = r.take(1)?[0] != 0;
            actors.push(ActorRecord {
                id,
                kind,
                ego,
                length_m: r.f32()?,
                width_m: r.f32()?,
                height_m: r.f32()?,
                first_frame: r.u32()?,
                last_frame: r.u32()?,
            });
        }
        let ns = r.u32()? as usize;
        let mut statics = Vec::with_capacity(ns.min(1 << 20));
        for _ in 0..ns {
            let s = r.sample()?;
            if s.actor as usize >= actors.len() {
                return None;
            }
            statics.push(s);
        }
        let nf = r.u32()? as usize;
        let mut frame_starts = Vec::with_capacity(nf.min(1 << 24) + 1);
        let mut samples = Vec::new();
        frame_starts.push(0);
        for _ in 0..nf {
            let n = r.u32()? as usize;
            for _ in 0..n {
                samples.push(r.sample()?);
            }
            frame_starts.push(samples.len() as u32);
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

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
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
}

impl Recorder {
    pub(crate) fn new(step_s: f64, map: &LaneMap, side_lanes: &[LaneRef]) -> Self {
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
        self.rec.samples.reserve(w.actors.len() + w.walkers.len());
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

    pub(crate) fn finish(self, _w: &World) -> Recording {
        self.rec
    }
}
