//! `roadworld render` (also runnable as `roadworld-render`): film a scenario from the ego's
//! camera rig, headless.

use anyhow::{Context, Result, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use roadworld_render::job::{Job, run};
use roadworld_render::{Look, RenderOptions};
use roadworld_scene3d::{Rig, RigKind};
use std::path::PathBuf;

/// Render frames of a scenario from the ego's camera rig, with camera metadata.
#[derive(Debug, Parser)]
#[command(name = "roadworld render", version)]
struct Args {
    /// Scenario spec (RON), e.g. scenarios/urban.ron.
    #[arg(long)]
    spec: PathBuf,
    /// Seed; the same spec and seed give the same world.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Camera rig: front, surround (six cameras, nuScenes-like) or bev (top-down).
    #[arg(long, default_value = "front")]
    rig: String,
    /// Frames per second of sim time; frames fall on sim steps (10 Hz by default).
    #[arg(long, default_value_t = 10.0)]
    fps: f64,
    /// Sim seconds to film.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Image width and height in pixels.
    #[arg(long, default_value_t = 640)]
    width: u32,
    #[arg(long, default_value_t = 360)]
    height: u32,
    /// Horizontal field of view of the front camera, degrees.
    #[arg(long, default_value_t = 90.0)]
    hfov_deg: f64,
    /// Width of the ground the BEV camera sees, metres.
    #[arg(long, default_value_t = 80.0)]
    bev_extent_m: f64,
    /// Multisampling: 1 (off) or 4.
    #[arg(long, default_value_t = 4)]
    msaa: u32,
    /// Shading: fast (Lambert sun and fog, quick on a CPU) or pbr (Bevy's physically based
    /// materials).
    #[arg(long, default_value = "fast")]
    look: String,
    /// Distance at which fog hides everything, metres.
    #[arg(long, default_value_t = 400.0)]
    visibility_m: f32,
    /// Sun shadows (pbr look only; slow on a CPU).
    #[arg(long)]
    shadows: bool,
    /// PNG encoding threads.
    #[arg(long, default_value_t = 2)]
    png_threads: usize,
    /// Output folder (created if missing).
    #[arg(long)]
    out: PathBuf,
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let a = Args::parse();
    let Some(kind) = RigKind::parse(&a.rig) else {
        bail!("--rig must be front, surround or bev, got {:?}", a.rig);
    };
    if !(8..=8192).contains(&a.width) || !(8..=8192).contains(&a.height) {
        bail!(
            "--width and --height must be in [8, 8192], got {}x{}",
            a.width,
            a.height
        );
    }
    if !(a.hfov_deg > 1.0 && a.hfov_deg < 179.0) {
        bail!("--hfov-deg must be in (1, 179), got {}", a.hfov_deg);
    }
    if !(a.bev_extent_m.is_finite() && a.bev_extent_m > 1.0) {
        bail!("--bev-extent-m must be > 1, got {}", a.bev_extent_m);
    }
    if a.msaa != 1 && a.msaa != 4 {
        bail!("--msaa must be 1 or 4, got {}", a.msaa);
    }
    let Some(look) = Look::parse(&a.look) else {
        bail!("--look must be fast or pbr, got {:?}", a.look);
    };
    if !(a.visibility_m.is_finite() && a.visibility_m >= 20.0) {
        bail!("--visibility-m must be >= 20, got {}", a.visibility_m);
    }
    if a.shadows && look != Look::Pbr {
        bail!("--shadows needs --look pbr");
    }
    let spec = roadworld_spec::load_spec(&a.spec)?;
    let job = Job {
        spec,
        seed: a.seed,
        rig: Rig::new(
            kind,
            a.width,
            a.height,
            a.hfov_deg.to_radians(),
            a.bev_extent_m,
        ),
        fps: a.fps,
        seconds: a.seconds,
        out: a.out.clone(),
        options: RenderOptions {
            msaa_samples: a.msaa,
            shadows: a.shadows,
            visibility_m: a.visibility_m,
            look,
            ..RenderOptions::default()
        },
        writer_threads: a.png_threads,
    };
    let bar = ProgressBar::new((a.seconds * a.fps).round() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} frames  {per_sec}  eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = run(&job, |done, _| bar.set_position(done))
        .with_context(|| format!("render {} into {}", a.spec.display(), a.out.display()))?;
    bar.finish_and_clear();
    let secs = |d: std::time::Duration| d.as_secs_f64();
    println!(
        "{} frames x {} camera(s), {} triangles: scene {:.2} s, sim {:.2} s, render+readback {:.2} s ({:.1} frames/s), PNG encoding {:.2} s on {} thread(s), total {:.2} s",
        report.frames,
        report.cameras,
        report.triangles,
        secs(report.scene_build),
        secs(report.sim),
        secs(report.render),
        report.frames as f64 / secs(report.render).max(1e-9),
        secs(report.writers.encode),
        a.png_threads,
        secs(report.total)
    );
    println!(
        "  wrote {} ({} PNGs, {:.1} MB)",
        a.out.display(),
        report.writers.images,
        report.writers.bytes as f64 / 1e6
    );
    Ok(())
}
