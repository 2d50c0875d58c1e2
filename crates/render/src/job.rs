//! `roadworld render`: roll a scenario's world forward and film it from the ego's rig.
//!
//! Output layout under the output folder:
//! - `rig.json`: the conventions, and each camera's lens (`K`) and mount
//!   (`vehicle_from_camera`);
//! - `<camera>/<frame>.png`: the frame (RGB, 8 bit), frame `k` showing sim time `k / fps`;
//! - `<camera>/<frame>.json`: time, `K`, `world_from_vehicle`, `world_from_camera` and
//!   `camera_from_world` of that frame.

use crate::capture::{PngWriter, WriterStats};
use crate::headless::{RenderError, RenderOptions, Renderer};
use nalgebra::Isometry3;
use roadworld_scene3d::camera::{rows, rows3, world_from_vehicle};
use roadworld_scene3d::{Rig, Scenery, SceneryOptions};
use roadworld_spec::ScenarioSpec;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a render job failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("seed {seed}: {source}")]
    Road {
        seed: u64,
        source: roadworld_road::GenError,
    },
    #[error("seed {seed}: {source}")]
    Sim {
        seed: u64,
        source: roadworld_sim::SimError,
    },
    #[error(
        "--fps {fps} does not fit the sim step of {step_s} s: frames must fall on sim steps (e.g. --fps {max_fps})"
    )]
    Fps { fps: f64, step_s: f64, max_fps: f64 },
    #[error("--seconds must be in (0, 86400], got {0}")]
    Seconds(f64),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{0}")]
    Write(String),
    #[error("the ego left the world at {0:.1} s")]
    NoEgo(f64),
}

/// What to render.
#[derive(Debug, Clone)]
pub struct Job {
    pub spec: ScenarioSpec,
    pub seed: u64,
    pub rig: Rig,
    pub fps: f64,
    pub seconds: f64,
    pub out: PathBuf,
    pub options: RenderOptions,
    /// PNG encoding threads.
    pub writer_threads: usize,
}

/// What a job did, for people and benchmarks.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub frames: u64,
    pub cameras: usize,
    pub triangles: usize,
    pub scene_build: Duration,
    /// Rendering and reading back (the loop, without the sim and without waiting for writers).
    pub render: Duration,
    pub sim: Duration,
    pub writers: WriterStats,
    pub total: Duration,
}

#[derive(Serialize)]
struct RigJson<'a> {
    conventions: &'static str,
    rig: &'a str,
    cameras: Vec<CameraJson<'a>>,
}

#[derive(Serialize)]
struct CameraJson<'a> {
    name: &'a str,
    lens: &'a roadworld_scene3d::Lens,
    k: [[f64; 3]; 3],
    vehicle_from_camera: [[f64; 4]; 4],
}

#[derive(Serialize)]
struct FrameJson {
    frame: u64,
    time_s: f64,
    camera: String,
    width_px: u32,
    height_px: u32,
    k: [[f64; 3]; 3],
    world_from_vehicle: [[f64; 4]; 4],
    world_from_camera: [[f64; 4]; 4],
    camera_from_world: [[f64; 4]; 4],
}

/// The conventions, as written into `rig.json`.
pub const CONVENTIONS: &str = "World: the road network's frame (OpenDRIVE), x east, y north, z up, metres. \
Vehicle (ISO 8855): origin on the ground under the vehicle's reference point (its box centre), x forward, y left, z up; turns with the heading only. \
Camera (OpenCV): x right, y down, z along the optical axis. \
Pixels: (0,0) is the top-left corner of the top-left pixel; pixel (i,j) has its centre at (i+0.5, j+0.5). \
Pinhole: u = fx*x/z + cx, v = fy*y/z + cy. Orthographic: u = px_per_m*x + cx, v = px_per_m*y + cy. \
Matrices are row-major; a_from_b maps coordinates in frame b to frame a.";

/// The rig's description, as written into `rig.json`.
pub fn rig_json(rig: &Rig) -> String {
    let doc = RigJson {
        conventions: CONVENTIONS,
        rig: &rig.name,
        cameras: rig
            .cameras
            .iter()
            .map(|c| CameraJson {
                name: &c.name,
                lens: &c.lens,
                k: rows3(&c.lens.k()),
                vehicle_from_camera: rows(&c.vehicle_from_camera.to_homogeneous()),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The metadata of one camera's frame.
pub fn frame_json(
    cam: &roadworld_scene3d::Camera,
    frame: u64,
    time_s: f64,
    world_from_vehicle: &Isometry3<f64>,
) -> String {
    let world_from_camera = world_from_vehicle * cam.vehicle_from_camera;
    let (w, h) = cam.lens.size_px();
    let doc = FrameJson {
        frame,
        time_s,
        camera: cam.name.clone(),
        width_px: w,
        height_px: h,
        k: rows3(&cam.lens.k()),
        world_from_vehicle: rows(&world_from_vehicle.to_homogeneous()),
        world_from_camera: rows(&world_from_camera.to_homogeneous()),
        camera_from_world: rows(&world_from_camera.inverse().to_homogeneous()),
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// How many sim steps lie between frames, if frames fall on sim steps.
pub fn steps_per_frame(fps: f64, step_s: f64) -> Option<u64> {
    if !(fps.is_finite() && fps > 0.0) {
        return None;
    }
    let n = (1.0 / (fps * step_s)).round();
    (n >= 1.0 && (n * step_s * fps - 1.0).abs() < 1e-9).then_some(n as u64)
}

/// `(sim time, world_from_vehicle)` of the ego, per frame.
pub type EgoPoses = Vec<(f64, Isometry3<f64>)>;

/// The road network of `spec` and `seed`, and the ego's pose at every frame of `seconds` of
/// rollout at `fps`: `(sim time, world_from_vehicle)`.
pub fn ego_poses(
    spec: &ScenarioSpec,
    seed: u64,
    fps: f64,
    seconds: f64,
) -> Result<(roadworld_road::Network, EgoPoses), JobError> {
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
        return Err(JobError::Seconds(seconds));
    }
    let mut net = roadworld_road::generate(&spec.road, seed)
        .map_err(|source| JobError::Road { seed, source })?;
    net.name = format!("{} seed {seed}", spec.name);
    let mut world = roadworld_sim::World::new(net.clone(), spec, seed)
        .map_err(|source| JobError::Sim { seed, source })?;
    let every = steps_per_frame(fps, world.step_s).ok_or(JobError::Fps {
        fps,
        step_s: world.step_s,
        max_fps: 1.0 / world.step_s,
    })?;
    let frames = (seconds * fps).round().max(1.0) as u64;
    let mut poses = Vec::with_capacity(frames as usize);
    for k in 0..frames {
        if k > 0 {
            for _ in 0..every {
                world.step();
            }
        }
        let snap = world.snapshot();
        let ego = snap
            .actors
            .iter()
            .find(|a| a.flags & roadworld_sim::flags::EGO != 0)
            .ok_or(JobError::NoEgo(snap.time_s))?;
        poses.push((
            snap.time_s,
            world_from_vehicle(ego.x_m, ego.y_m, ego.z_m, ego.heading_rad),
        ));
    }
    Ok((net, poses))
}

/// Renders a job; `progress(done, total)` after each frame.
pub fn run(job: &Job, mut progress: impl FnMut(u64, u64)) -> Result<Report, JobError> {
    let t0 = Instant::now();
    let (net, poses) = ego_poses(&job.spec, job.seed, job.fps, job.seconds)?;
    let sim = t0.elapsed();
    let t1 = Instant::now();
    let scenery = Scenery::build(&net, &SceneryOptions::default());
    let scene_build = t1.elapsed();
    let frames = poses.len() as u64;
    // The renderer first: without a graphics device nothing is written.
    let mut renderer = Renderer::new(&scenery, &job.rig, &job.options)?;
    let write_err = |e: std::io::Error, p: &Path| JobError::Write(format!("{}: {e}", p.display()));
    std::fs::create_dir_all(&job.out).map_err(|e| write_err(e, &job.out))?;
    for cam in &job.rig.cameras {
        let d = job.out.join(&cam.name);
        std::fs::create_dir_all(&d).map_err(|e| write_err(e, &d))?;
    }
    let rig_path = job.out.join("rig.json");
    roadworld_export::write_atomic(&rig_path, rig_json(&job.rig).as_bytes())
        .map_err(|e| JobError::Write(e.to_string()))?;
    let writer = PngWriter::new(job.writer_threads);
    let mut render = Duration::ZERO;
    let mut deliver = |frame: crate::Frame| -> Result<(), JobError> {
        let (time_s, pose) = poses[frame.index as usize];
        for (cam, img) in job.rig.cameras.iter().zip(frame.images) {
            let stem = job.out.join(&cam.name).join(format!("{:06}", frame.index));
            let json = frame_json(cam, frame.index, time_s, &pose);
            roadworld_export::write_atomic(&stem.with_extension("json"), json.as_bytes())
                .map_err(|e| JobError::Write(e.to_string()))?;
            writer
                .write(stem.with_extension("png"), img)
                .map_err(JobError::Write)?;
        }
        progress(frame.index + 1, frames);
        Ok(())
    };
    for (_, pose) in &poses {
        let t = Instant::now();
        let done = renderer.render(pose)?;
        render += t.elapsed();
        if let Some(f) = done {
            deliver(f)?;
        }
    }
    let t = Instant::now();
    let last = renderer.finish()?;
    render += t.elapsed();
    if let Some(f) = last {
        deliver(f)?;
    }
    let writers = writer.finish().map_err(JobError::Write)?;
    Ok(Report {
        frames,
        cameras: job.rig.cameras.len(),
        triangles: scenery.triangles(),
        scene_build,
        render,
        sim,
        writers,
        total: t0.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_fall_on_sim_steps() {
        assert_eq!(steps_per_frame(10.0, 0.1), Some(1));
        assert_eq!(steps_per_frame(5.0, 0.1), Some(2));
        assert_eq!(steps_per_frame(2.5, 0.1), Some(4));
        assert_eq!(steps_per_frame(20.0, 0.05), Some(1));
        assert_eq!(steps_per_frame(20.0, 0.1), None);
        assert_eq!(steps_per_frame(3.0, 0.1), None);
        assert_eq!(steps_per_frame(0.0, 0.1), None);
        assert_eq!(steps_per_frame(f64::NAN, 0.1), None);
    }
}
