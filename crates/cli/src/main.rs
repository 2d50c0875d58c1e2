//! `roadworld`: procedural driving worlds from RON specs.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use rayon::prelude::*;
use roadworld_export::{preview, write_atomic, xodr};
use roadworld_road::{Network, generate, invariants::check_invariants};
use roadworld_spec::{ScenarioSpec, load_spec};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(
    name = "roadworld",
    version,
    about = "Procedural, deterministic driving worlds"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a road network: writes road.xodr (OpenDRIVE 1.7) and road.png (top-down preview).
    Road {
        /// Scenario spec (RON), e.g. scenarios/mixed-long.ron.
        #[arg(long)]
        spec: PathBuf,
        /// Seed; the same spec and seed always give the same bytes.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Generate this many networks, seeds `seed .. seed + count`, into `out/seed-<N>/`.
        #[arg(long)]
        count: Option<u64>,
        /// Skip the PNG preview.
        #[arg(long)]
        no_preview: bool,
        /// Longest side of the preview in pixels (at most 4 px per metre).
        #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(200..=16000))]
        preview_px: u32,
        /// Also write lanes.csv: lane centre points every 0.5 m (for cross-checks with other readers).
        #[arg(long)]
        lane_samples: bool,
    },
    /// Check a spec without generating anything.
    Check {
        #[arg(long)]
        spec: PathBuf,
    },
}

fn lane_samples_csv(net: &Network) -> String {
    let mut out = String::from("road,section,lane,s,x,y,z\n");
    for road in &net.roads {
        for (i, sec) in road.sections.iter().enumerate() {
            for lane in sec.side_lanes() {
                for (s, p, z) in road.lane_center_line(i, lane.id, 0.5) {
                    let _ = writeln!(
                        out,
                        "{},{},{},{:.4},{:.4},{:.4},{:.4}",
                        road.id.0, i, lane.id, s, p.x, p.y, z
                    );
                }
            }
        }
    }
    out
}

fn check_seed(spec: &ScenarioSpec, spec_path: &Path, seed: u64) -> Result<()> {
    let net = generate(&spec.road, seed)
        .with_context(|| format!("{}: seed {seed}", spec_path.display()))?;
    let violations = check_invariants(&net);
    if let Some(v) = violations.first() {
        bail!(
            "{}: seed {seed}: the network breaks {} invariant(s), first: {v}",
            spec_path.display(),
            violations.len()
        );
    }
    Ok(())
}

struct Outputs {
    files: Vec<(PathBuf, Vec<u8>)>,
    summary: String,
}

fn build(
    spec: &ScenarioSpec,
    spec_path: &Path,
    seed: u64,
    out: &Path,
    png: Option<u32>,
    lanes: bool,
) -> Result<Outputs> {
    let t0 = Instant::now();
    let mut net = generate(&spec.road, seed)
        .with_context(|| format!("{}: seed {seed}", spec_path.display()))?;
    net.name = if spec.name.is_empty() {
        format!("roadworld seed {seed}")
    } else {
        format!("{} seed {seed}", spec.name)
    };
    let gen_ms = t0.elapsed().as_secs_f64() * 1e3;
    let violations = check_invariants(&net);
    if !violations.is_empty() {
        let list: Vec<String> = violations
            .iter()
            .take(10)
            .map(|v| format!("  {v}"))
            .collect();
        bail!(
            "{}: seed {seed}: the network breaks {} invariant(s):\n{}",
            spec_path.display(),
            violations.len(),
            list.join("\n")
        );
    }
    let mut files = vec![(out.join("road.xodr"), xodr::to_xodr(&net).into_bytes())];
    if let Some(max_side_px) = png {
        let opts = preview::PreviewOptions {
            max_side_px,
            ..preview::PreviewOptions::default()
        };
        let bytes = preview::render_png(&net, opts).context("encoding road.png")?;
        files.push((out.join("road.png"), bytes));
    }
    if lanes {
        files.push((out.join("lanes.csv"), lane_samples_csv(&net).into_bytes()));
    }
    let summary = format!(
        "seed {seed}: {} roads, {} junctions, {} signals, {} objects; main route {:.0} m of {:.0} m of road; generated in {gen_ms:.1} ms",
        net.roads.len(),
        net.junctions.len(),
        net.signals().count(),
        net.objects().count(),
        net.main_route_length_m(),
        net.total_length_m(),
    );
    Ok(Outputs { files, summary })
}

fn write_all(outputs: &Outputs) -> Result<()> {
    for (path, bytes) in &outputs.files {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_atomic(path, bytes)?;
    }
    Ok(())
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Check { spec } => {
            let s = load_spec(&spec)?;
            println!(
                "{}: ok ({} m route, {} zone(s))",
                spec.display(),
                s.road.length_m,
                s.road.zones.len()
            );
        }
        Command::Road {
            spec: spec_path,
            seed,
            out,
            count,
            no_preview,
            preview_px,
            lane_samples,
        } => {
            let png = (!no_preview).then_some(preview_px);
            let spec = load_spec(&spec_path)?;
            match count {
                None => {
                    let o = build(&spec, &spec_path, seed, &out, png, lane_samples)?;
                    write_all(&o)?;
                    println!("{}", o.summary);
                    for (p, _) in &o.files {
                        println!("  wrote {}", p.display());
                    }
                }
                Some(n) => {
                    // Check every seed first (generation and invariants, in parallel), so a
                    // failure anywhere writes nothing; then build and write in small chunks
                    // to keep memory flat.
                    let seeds: Vec<u64> = (seed..seed + n).collect();
                    seeds
                        .par_iter()
                        .try_for_each(|&sd| check_seed(&spec, &spec_path, sd))?;
                    for chunk in seeds.chunks(16) {
                        let built: Vec<Outputs> = chunk
                            .par_iter()
                            .map(|&sd| {
                                build(
                                    &spec,
                                    &spec_path,
                                    sd,
                                    &out.join(format!("seed-{sd}")),
                                    png,
                                    lane_samples,
                                )
                            })
                            .collect::<Result<_>>()?;
                        for o in &built {
                            write_all(o)?;
                        }
                    }
                    println!("{n} networks written under {}", out.display());
                }
            }
        }
    }
    Ok(())
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
