//! Frames per second of headless rendering with readback, per rig and resolution, and the
//! PNG encoding cost measured apart. Prints JSON.
//!
//! `cargo bench -p roadworld-render --bench frames` (FRAMES=n to change the frame count).

use roadworld_render::capture::encode_png;
use roadworld_render::job::ego_poses;
use roadworld_render::{Look, RenderOptions, Renderer};
use roadworld_scene3d::{Rig, RigKind, Scenery, SceneryOptions};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let frames: usize = std::env::var("FRAMES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut json = String::from("{\n  \"runs\": [");
    let cases = [
        ("urban", RigKind::Front, 640, 360, 4, Look::Fast),
        ("urban", RigKind::Front, 640, 360, 1, Look::Fast),
        ("motorway", RigKind::Front, 640, 360, 4, Look::Fast),
        ("rural", RigKind::Front, 640, 360, 4, Look::Fast),
        ("urban", RigKind::Front, 1280, 720, 4, Look::Fast),
        ("urban", RigKind::Surround, 640, 360, 4, Look::Fast),
        ("urban", RigKind::Front, 640, 360, 4, Look::Pbr),
    ];
    for (i, (spec_name, rig_kind, w, h, msaa, look)) in cases.into_iter().enumerate() {
        let spec = roadworld_spec::load_spec(&root.join(format!("scenarios/{spec_name}.ron")))?;
        let (net, poses) = ego_poses(&spec, 3, 10.0, frames as f64 / 10.0)?;
        let scenery = Scenery::build(&net, &SceneryOptions::default());
        let rig = Rig::new(rig_kind, w, h, 90f64.to_radians(), 80.0);
        let opts = RenderOptions {
            msaa_samples: msaa,
            look,
            ..RenderOptions::default()
        };
        let mut r = Renderer::new(&scenery, &rig, &opts)?;
        let mut kept = Vec::new();
        let t0 = Instant::now();
        for (_, pose) in &poses {
            if let Some(f) = r.render(pose)? {
                kept.push(f);
            }
        }
        kept.extend(r.finish()?);
        let render_s = t0.elapsed().as_secs_f64();
        // PNG encoding, one thread, on every tenth frame's images.
        let sample: Vec<_> = kept
            .iter()
            .step_by(10)
            .flat_map(|f| f.images.iter())
            .collect();
        let t1 = Instant::now();
        let mut bytes = 0;
        for img in &sample {
            bytes += encode_png(img)?.len();
        }
        let encode_ms = 1e3 * t1.elapsed().as_secs_f64() / sample.len().max(1) as f64;
        let fps = kept.len() as f64 / render_s;
        let _ = write!(
            json,
            "{}\n    {{\"scene\": \"{spec_name}\", \"rig\": \"{}\", \"cameras\": {}, \"width\": {w}, \"height\": {h}, \"msaa\": {msaa}, \"look\": \"{look:?}\", \"frames\": {}, \"render_and_readback_frames_per_s\": {fps:.2}, \"camera_images_per_s\": {:.2}, \"png_encode_ms_per_image_one_thread\": {encode_ms:.2}, \"png_kb_per_image\": {:.1}}}",
            if i == 0 { "" } else { "," },
            rig_kind.name(),
            rig.cameras.len(),
            kept.len(),
            fps * rig.cameras.len() as f64,
            bytes as f64 / 1024.0 / sample.len().max(1) as f64,
        );
        eprintln!(
            "{spec_name} {} {w}x{h} msaa {msaa} {look:?}: {fps:.1} frames/s, PNG {encode_ms:.1} ms",
            rig_kind.name()
        );
    }
    json.push_str("\n  ]\n}");
    println!("{json}");
    Ok(())
}
