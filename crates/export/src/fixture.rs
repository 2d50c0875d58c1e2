//! Hand-made recordings for the exporters' unit tests.

use roadworld_sim::ActorId;
use roadworld_sim::record::{ActorRecord, Recording, Sample};
use roadworld_spec::ActorKind;

/// A road user 1.8 m wide and 1.5 m high, present from `first_frame` to `last_frame`
/// (`u32::MAX`: to the end).
pub(crate) fn actor(
    id: u32,
    kind: ActorKind,
    length_m: f32,
    ego: bool,
    first_frame: u32,
    last_frame: u32,
) -> ActorRecord {
    ActorRecord {
        id: ActorId(id),
        kind,
        length_m,
        width_m: 1.8,
        height_m: 1.5,
        ego,
        first_frame,
        last_frame,
    }
}

/// A sample heading along +x on lane 0 (s = x), not accelerating.
pub(crate) fn sample(actor: u32, x_m: f32, y_m: f32, speed_mps: f32) -> Sample {
    Sample {
        actor,
        x_m,
        y_m,
        z_m: 0.0,
        heading_rad: 0.0,
        speed_mps,
        accel_mps2: 0.0,
        s_m: x_m,
        t_m: 0.0,
        lane: 0,
        flags: 0,
    }
}

/// A recording at 0.1 s steps with frames 0 to 30, whose frame `k` holds `frame(k)`.
pub(crate) fn recording(
    actors: Vec<ActorRecord>,
    frame: impl Fn(u32) -> Vec<Sample>,
    statics: Vec<Sample>,
) -> Recording {
    let mut samples = Vec::new();
    let mut frame_starts = vec![0];
    for k in 0..=30u32 {
        samples.extend(frame(k));
        frame_starts.push(samples.len() as u32);
    }
    Recording {
        step_s: 0.1,
        actors,
        lanes: Vec::new(),
        frame_starts,
        samples,
        statics,
    }
}
