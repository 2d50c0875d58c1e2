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

// jemalloc rather than the system allocator: in a long library batch glibc's malloc kept
// growing the resident set with the scenes made (peak RSS 243 MiB after 172 scenes, 312 MiB
// after 528, two jobs), while jemalloc hands freed pages back; see the batch bench.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod library;

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
    /// Roll the world forward: writes trajectories.rwtraj (every moving actor at every step,
    /// parked cars once),
    /// summary.ron (counts, speeds, densities, invariant checks), road.xodr and sim.gif (an
    /// animated top-down view following the ego).
    Sim {
        /// Scenario spec (RON), e.g. scenarios/urban.ron.
        #[arg(long)]
        spec: PathBuf,
        /// Seed; the same spec and seed always give the same bytes.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Simulated time in seconds (default: the spec's `sim.duration_s`).
        #[arg(long)]
        seconds: Option<f64>,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Skip the animated preview.
        #[arg(long)]
        no_preview: bool,
    },
    /// Generate a scenario with its events: writes scenario.ron (the resolved spec: every
    /// drawn value fixed, with its seed; `generate --spec scenario.ron` gives it again),
    /// trajectories.rwtraj, road.xodr, scenario.xosc (OpenSCENARIO 1.2), summary.ron (per
    /// event: what and when, its road users,
    /// criticality, solvability, target misses) and preview.gif (top-down, events ringed and
    /// numbered as in the summary).
    Generate {
        /// Scenario spec (RON), e.g. scenarios/cut-in.ron.
        #[arg(long)]
        spec: PathBuf,
        /// Seed (a resolved spec keeps its own).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Skip the animated preview.
        #[arg(long)]
        no_preview: bool,
        /// Print each try of the search for the targets on stderr: its seed, how long it
        /// was rolled out, and per event the outcome, the drawn parameters and what missed.
        #[arg(long)]
        tries: bool,
    },
    /// Time the world model on its benchmark workloads and print the figures as JSON.
    Bench {
        /// Repetitions per workload (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: u32,
    },
    /// Make a scenario library: scenarios drawn from a library spec, in parallel, stored as
    /// recipes (resolved spec + summary, a few KB each) with an SQLite index (index.sqlite).
    /// Run again on the same folder, it goes on where it stopped.
    Batch {
        /// Library spec (RON), e.g. scenarios/library.ron.
        #[arg(long)]
        spec: PathBuf,
        /// Scenarios 0..count.
        #[arg(long)]
        count: u64,
        /// Batch seed: scenario i takes its seed from (seed, i).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Library folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Worker threads (0: one per core). The library is the same whatever the number.
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Only the scenarios i with i % N == k: `--shard k/N`.
        #[arg(long, value_parser = library::parse_shard)]
        shard: Option<(u64, u64)>,
        /// Also write these outputs per scenario now: native (scenario.ron, summary.ron,
        /// trajectories.rwtraj), xodr (road.xodr, each road once under roads/), xosc
        /// (scenario.xosc, OpenSCENARIO 1.2; brings xodr), commonroad (scenario.cr.xml,
        /// CommonRoad 2020a around the scene's most critical moment), csv
        /// (trajectories.csv).
        #[arg(long, default_value = "")]
        formats: String,
    },
    /// List the scenarios of a library that match (one line each, or JSON lines).
    Query {
        /// Library folder.
        library: PathBuf,
        /// Scenarios with an event of this type (catalog name, e.g. cut_in).
        #[arg(long)]
        event: Option<String>,
        /// Minimum TTC at most this (s): the event's with --event, else the scene's.
        #[arg(long)]
        max_ttc: Option<f64>,
        /// Only avoidable ones (no collision as driven, or an evasive manoeuvre avoids it).
        #[arg(long)]
        avoidable: bool,
        /// Only unavoidable ones.
        #[arg(long)]
        unavoidable: bool,
        /// Only scenarios with a collision.
        #[arg(long)]
        collision: bool,
        /// An SQL expression over the columns of the view scenario_events, e.g.
        /// "event = 'cut_in' AND event_min_ttc_s < 1.5 AND weather = 'rain'".
        #[arg(long = "where")]
        where_: Option<String>,
        /// JSON lines: every column of each scenario's index row.
        #[arg(long)]
        jsonl: bool,
        /// Print at most this many.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Materialise the scenarios of a library that match: the same bytes a batch with these
    /// formats would have written.
    Export {
        /// Library folder.
        library: PathBuf,
        /// An SQL expression over the columns of the view scenario_events (default: all).
        #[arg(long = "where", default_value = "1")]
        where_: String,
        /// Outputs: native, xodr, xosc, commonroad, csv.
        #[arg(long, default_value = "native,xosc")]
        formats: String,
        /// Output folder (same layout as the library: scenarios/..., roads/...).
        #[arg(long)]
        out: PathBuf,
    },
    /// Combine libraries made from the same library spec and seed (e.g. the shards of a
    /// batch run on several machines) into one: the library one batch would have made.
    Merge {
        /// The combined library (created if missing; may already hold some of them).
        #[arg(long)]
        out: PathBuf,
        /// The libraries to take in.
        #[arg(required = true)]
        libraries: Vec<PathBuf>,
    },
    /// What a library holds: the table per event type, and an HTML report with PNG plots
    /// (event types, TTC, PET and distance histograms, road classes, weather, time of day).
    Stats {
        /// Library folder.
        library: PathBuf,
        /// Where to write the report (default: the library's `report` folder).
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Check a spec without generating anything.
    Check {
        #[arg(long)]
        spec: PathBuf,
    },
    /// Render frames of a scenario from the ego's camera rig (front, surround or bev), with
    /// camera metadata, headless. Runs the `roadworld-render` program beside this one (built
    /// with `cargo build --release -p roadworld-render`, which brings in Bevy); `roadworld
    /// render --help` lists its options.
    #[command(disable_help_flag = true)]
    Render {
        /// Arguments for roadworld-render, e.g. --spec scenarios/urban.ron --out frames/.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

/// Runs `roadworld-<name>` from this program's folder (or the PATH) with `args`, and exits
/// with its status.
fn run_companion(name: &str, args: &[std::ffi::OsString]) -> Result<()> {
    let program = format!("roadworld-{name}");
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(&program)))
        .filter(|p| p.is_file());
    let path = beside.unwrap_or_else(|| PathBuf::from(&program));
    let status = match std::process::Command::new(&path).args(args).status() {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "`roadworld {name}` needs the {program} program, which is not built: run `cargo build --release -p roadworld-{name}` (it brings in Bevy; about 15 minutes the first time)"
        ),
        Err(e) => return Err(e).with_context(|| format!("running {}", path.display())),
    };
    std::process::exit(status.code().unwrap_or(1));
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

/// What `roadworld sim` reports in summary.ron.
#[derive(Debug, serde::Serialize)]
struct SimSummary {
    spec: String,
    seed: u64,
    seconds: f64,
    step_s: f64,
    frames: usize,
    samples: usize,
    actors: usize,
    actors_by_kind: std::collections::BTreeMap<String, usize>,
    most_at_once: usize,
    ego: String,
    ego_distance_m: f64,
    /// Over moving motor vehicles.
    mean_speed_mps: f64,
    parked_cars: usize,
    density_target_per_class: [f64; 3],
    /// Mean vehicles per class after the warm-up.
    density_mean_per_class: [f64; 3],
    /// Where the density strayed more than 20% (empty when held).
    density_violations: Vec<String>,
    collisions: usize,
    off_road: usize,
    limit_breaches: usize,
    stalls: usize,
}

fn simulate(
    spec: &ScenarioSpec,
    spec_path: &Path,
    seed: u64,
    seconds: f64,
    out: &Path,
    gif: bool,
) -> Result<Outputs> {
    let t0 = Instant::now();
    let mut net = generate(&spec.road, seed)
        .with_context(|| format!("{}: seed {seed}", spec_path.display()))?;
    net.name = format!("{} seed {seed}", spec.name);
    let mut world = roadworld_sim::World::new(net.clone(), spec, seed)
        .with_context(|| format!("{}: seed {seed}", spec_path.display()))?;
    let steps = (seconds / world.step_s).round() as u64;
    world.record_for(steps);
    for _ in 0..steps {
        world.step();
    }
    let sim_ms = t0.elapsed().as_secs_f64() * 1e3;
    let ego = format!("{:?}", world.ego_status);
    let target = world.density_trace.target;
    let density_mean = world.density_trace.mean();
    let rec = world
        .take_recording()
        .context("the recording was not started")?;
    let report = roadworld_sim::check::Report::new(&rec, &net, &world.density_trace);
    let collisions = report.collisions.len();
    let off_road = report.off_road.len();
    let limit_breaches = report.limits.len();
    let stalls = report.stalls.len();
    let density_violations: Vec<String> = report.density.iter().map(|v| v.detail.clone()).collect();
    let mut by_kind = std::collections::BTreeMap::new();
    for a in &rec.actors {
        *by_kind.entry(a.kind.name().to_string()).or_insert(0) += 1;
    }
    let (mut ego_dist, mut last) = (0.0, None::<(f32, f32)>);
    let (mut speed_sum, mut moving_samples) = (0.0, 0usize);
    let mut parked = std::collections::BTreeSet::new();
    let mut most = 0;
    for k in 0..rec.frames() {
        let f: Vec<_> = rec.frame_all(k).collect();
        most = most.max(f.len());
        for smp in f {
            if smp.flags & roadworld_sim::flags::PARKED != 0 {
                parked.insert(smp.actor);
            } else if rec.actors[smp.actor as usize].kind.is_motor_vehicle() {
                speed_sum += smp.speed_mps as f64;
                moving_samples += 1;
            }
            if smp.flags & roadworld_sim::flags::EGO != 0 {
                if let Some((x, y)) = last {
                    ego_dist += (((smp.x_m - x).powi(2) + (smp.y_m - y).powi(2)) as f64).sqrt();
                }
                last = Some((smp.x_m, smp.y_m));
            }
        }
    }
    let summary = SimSummary {
        spec: spec.name.clone(),
        seed,
        seconds,
        step_s: rec.step_s,
        frames: rec.frames(),
        samples: rec.samples.len(),
        actors: rec.actors.len(),
        actors_by_kind: by_kind,
        most_at_once: most,
        ego,
        ego_distance_m: (ego_dist * 10.0).round() / 10.0,
        mean_speed_mps: ((speed_sum / moving_samples.max(1) as f64) * 100.0).round() / 100.0,
        parked_cars: parked.len(),
        density_target_per_class: target.map(|t| (t * 10.0).round() / 10.0),
        density_mean_per_class: density_mean.map(|s| (s * 10.0).round() / 10.0),
        density_violations,
        collisions,
        off_road,
        limit_breaches,
        stalls,
    };
    let mut files = vec![
        (out.join("road.xodr"), xodr::to_xodr(&net).into_bytes()),
        (out.join("trajectories.rwtraj"), rec.to_bytes()),
        (
            out.join("summary.ron"),
            ron::ser::to_string_pretty(&summary, ron::ser::PrettyConfig::default())
                .context("writing the summary")?
                .into_bytes(),
        ),
    ];
    if gif {
        let bytes = roadworld_export::animation::render_gif(
            &net,
            &rec,
            roadworld_export::animation::AnimationOptions::default(),
        )
        .context("encoding sim.gif")?;
        files.push((out.join("sim.gif"), bytes));
    }
    let text = format!(
        "seed {seed}: {:.0} s in {sim_ms:.0} ms: {} actors ({} at most at once), {} samples, ego {} after {:.0} m; collisions {collisions}, off road {off_road}, limit breaches {limit_breaches}, stalls {stalls}, density {}",
        seconds,
        rec.actors.len(),
        most,
        rec.samples.len(),
        summary.ego,
        summary.ego_distance_m,
        if summary.density_violations.is_empty() {
            "held".to_string()
        } else {
            summary.density_violations.join("; ")
        },
    );
    Ok(Outputs {
        files,
        summary: text,
    })
}

/// A line per try of a targeted generation (see `generate --tries`).
fn tries_text(log: &[roadworld_scenario::Try]) -> String {
    let mut text = String::new();
    for (k, t) in log.iter().enumerate() {
        let _ = write!(
            text,
            "try {}: seed {}, {:.1} s rolled out, {}",
            k + 1,
            t.seed,
            t.simulated_s,
            if t.on_target { "on target" } else { "missed" }
        );
        for e in &t.events {
            let params: Vec<String> = e
                .parameters
                .iter()
                .map(|(n, v)| format!("{n} {v:.3}"))
                .collect();
            let _ = write!(
                text,
                "; events[{}] {} {} ({}){}",
                e.index,
                e.kind,
                e.outcome,
                params.join(", "),
                if e.misses.is_empty() {
                    String::new()
                } else {
                    format!(": {}", e.misses.join(", "))
                }
            );
        }
        text.push('\n');
    }
    text
}

fn generate_scenario(
    spec: &ScenarioSpec,
    spec_path: &Path,
    seed: u64,
    out: &Path,
    gif: bool,
    show_tries: bool,
) -> Result<Outputs> {
    let t0 = Instant::now();
    let t = roadworld_scenario::generate_targeted(
        spec,
        seed,
        roadworld_scenario::TargetOptions::default(),
    );
    if show_tries {
        match &t {
            Ok(t) => eprint!("{}", tries_text(&t.log)),
            Err(roadworld_scenario::TargetError::Missed { log, .. }) => {
                eprint!("{}", tries_text(log));
            }
            Err(_) => {}
        }
    }
    let t = t.with_context(|| format!("{}: seed {seed}", spec_path.display()))?;
    let g = t.generated;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    let mut files = vec![
        (
            out.join("scenario.ron"),
            roadworld_spec::to_ron(&g.spec).into_bytes(),
        ),
        (
            out.join("road.xodr"),
            xodr::to_xodr(&g.network).into_bytes(),
        ),
        (out.join("trajectories.rwtraj"), g.recording.to_bytes()),
        (
            out.join("scenario.xosc"),
            roadworld_export::xosc::to_xosc(&g.recording, &roadworld_library::xosc_info(&g))
                .into_bytes(),
        ),
        (
            out.join("summary.ron"),
            ron::ser::to_string_pretty(&g.summary, ron::ser::PrettyConfig::default())
                .context("writing the summary")?
                .into_bytes(),
        ),
    ];
    if gif {
        let markers: Vec<_> = g
            .summary
            .events
            .iter()
            .filter_map(|e| {
                Some(roadworld_export::animation::Marker {
                    number: e.index + 1,
                    actors: e.actors.clone(),
                    from_s: e.start_s?,
                    to_s: e.end_s.unwrap_or(g.summary.duration_s),
                })
            })
            .collect();
        let bytes = roadworld_export::animation::render_gif_marked(
            &g.network,
            &g.recording,
            roadworld_export::animation::AnimationOptions::default(),
            &markers,
        )
        .context("encoding preview.gif")?;
        files.push((out.join("preview.gif"), bytes));
    }
    let mut text = format!(
        "seed {}: {:.0} s, {} road users, generated in {ms:.0} ms{}; {} event(s){}",
        g.summary.seed,
        g.summary.duration_s,
        g.summary.actors,
        if t.tries > 1 {
            format!(" ({} tries to meet the targets)", t.tries)
        } else {
            String::new()
        },
        g.summary.events.len(),
        if g.spec.events.iter().any(|e| e.target.is_set()) {
            if g.summary.on_target {
                ", on target"
            } else {
                ", OFF TARGET"
            }
        } else {
            ""
        }
    );
    let fmt = |e: Option<roadworld_scenario::criticality::Extreme>| {
        e.map_or("-".to_string(), |e| format!("{:.2}", e.value))
    };
    for e in &g.summary.events {
        let _ = write!(
            text,
            "\n  {}. {} ({}): {}, min TTC {} s, min THW {} s, PET {} s, min distance {} m, max DRAC {} m/s², {}{}",
            e.index + 1,
            e.kind,
            e.start_s
                .map_or("-".to_string(), |t| format!("at {t:.1} s")),
            e.outcome,
            fmt(e.criticality.min_ttc_s),
            fmt(e.criticality.min_thw_s),
            fmt(e.criticality.pet_s),
            fmt(e.criticality.min_distance_m),
            fmt(e.criticality.max_drac_mps2),
            match (&e.criticality.collision, &e.solvability) {
                (None, _) => "no collision".to_string(),
                (Some(c), Some(s)) if s.avoidable =>
                    format!("collision at {:.1} s, avoidable", c.at_s),
                (Some(c), _) => format!("collision at {:.1} s, unavoidable", c.at_s),
            },
            if e.misses.is_empty() {
                String::new()
            } else {
                format!("; missed: {}", e.misses.join(", "))
            }
        );
    }
    Ok(Outputs {
        files,
        summary: text,
    })
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn bench_world(spec: &ScenarioSpec, seed: u64) -> Result<roadworld_sim::World> {
    let net = generate(&spec.road, seed)?;
    Ok(roadworld_sim::World::new(net, spec, seed)?)
}

/// `roadworld bench`: the three workloads of the world model, as JSON on stdout.
fn bench(runs: u32) -> Result<String> {
    use roadworld_sim::workloads;
    let runs = runs.max(1);
    // (1) SUMO-comparable: rollout only, recording on.
    let spec = workloads::sumo_comparable();
    let (mut t1, mut updates, mut mean_live) = (Vec::new(), 0, 0.0);
    for _ in 0..runs {
        let mut w = bench_world(&spec, 1)?;
        w.record_for(1500);
        let t = Instant::now();
        for _ in 0..1500 {
            w.step();
        }
        let rec = w.take_recording().context("recording")?;
        t1.push(t.elapsed().as_secs_f64());
        updates = rec.samples.len();
        mean_live = updates as f64 / rec.frames() as f64;
    }
    let s1 = median(t1);
    // (2) mixed 6 km, 150 s, end to end.
    let spec = workloads::mixed_6km();
    let (mut t2, mut actors2, mut live2) = (Vec::new(), 0, 0.0);
    for _ in 0..runs {
        let t = Instant::now();
        let mut w = bench_world(&spec, 1)?;
        w.record_for(1500);
        for _ in 0..1500 {
            w.step();
        }
        let rec = w.take_recording().context("recording")?;
        t2.push(t.elapsed().as_secs_f64());
        actors2 = rec.actors.len();
        live2 = rec.samples.len() as f64 / rec.frames() as f64;
    }
    let s2 = median(t2);
    // (3) scaling.
    let mut rows = Vec::new();
    for n in [10u32, 100, 1000, 10_000] {
        let spec = workloads::scaling(n);
        let net = generate(&spec.road, 1)?;
        let reps = if n >= 10_000 { runs.min(3) } else { runs };
        let mut ts = Vec::new();
        let mut live = 0.0;
        for _ in 0..reps {
            let mut w = roadworld_sim::World::new(net.clone(), &spec, 1)?;
            let t = Instant::now();
            let mut sum = 0usize;
            for _ in 0..300 {
                w.step();
                sum += w.live().count();
            }
            ts.push(t.elapsed().as_secs_f64());
            live = sum as f64 / 300.0;
        }
        rows.push((n, live, median(ts)));
    }
    let mut json = String::from("{\n");
    let _ = writeln!(
        json,
        "  \"sumo_comparable\": {{\"vehicles_mean\": {mean_live:.1}, \"steps\": 1500, \"vehicle_updates\": {updates}, \"seconds\": {s1:.4}, \"vehicle_updates_per_s\": {:.0}}},",
        updates as f64 / s1
    );
    let _ = writeln!(
        json,
        "  \"mixed_6km_150s_end_to_end\": {{\"actors_total\": {actors2}, \"actors_mean\": {live2:.1}, \"milliseconds\": {:.2}}},",
        s2 * 1e3
    );
    json.push_str("  \"scaling_300_steps\": [");
    for (k, (n, live, t)) in rows.iter().enumerate() {
        let _ = write!(
            json,
            "{}{{\"actors\": {n}, \"actors_mean\": {live:.1}, \"milliseconds\": {:.2}}}",
            if k > 0 { ", " } else { "" },
            t * 1e3
        );
    }
    json.push_str("],\n  \"scaling_time_ratios\": [");
    for k in 1..rows.len() {
        let _ = write!(
            json,
            "{}{:.2}",
            if k > 1 { ", " } else { "" },
            rows[k].2 / rows[k - 1].2
        );
    }
    json.push_str("]\n}");
    Ok(json)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Bench { runs } => println!("{}", bench(runs)?),
        Command::Render { args } => run_companion("render", &args)?,
        Command::Batch {
            spec,
            count,
            seed,
            out,
            jobs,
            shard,
            formats,
        } => library::run_batch(&spec, &out, count, seed, jobs, shard, &formats)?,
        Command::Query {
            library: lib,
            event,
            max_ttc,
            avoidable,
            unavoidable,
            collision,
            where_,
            jsonl,
            limit,
        } => {
            let f = library::filter(
                event.as_deref(),
                max_ttc,
                avoidable,
                unavoidable,
                collision,
                where_.as_deref(),
            )?;
            library::run_query(&lib, &f, jsonl, limit)?;
        }
        Command::Stats { library: lib, html } => library::run_stats(&lib, html.as_deref())?,
        Command::Merge { out, libraries } => {
            let n = roadworld_library::merge(&out, &libraries)
                .with_context(|| format!("merge into {}", out.display()))?;
            println!(
                "{}: {n} scenario(s) taken in from {} librar{}",
                out.display(),
                libraries.len(),
                if libraries.len() == 1 { "y" } else { "ies" }
            );
        }
        Command::Export {
            library: lib,
            where_,
            formats,
            out,
        } => library::run_export(&lib, &where_, &formats, &out)?,
        Command::Sim {
            spec: spec_path,
            seed,
            seconds,
            out,
            no_preview,
        } => {
            let spec = load_spec(&spec_path)?;
            let seconds = seconds.unwrap_or(spec.sim.duration_s);
            if !(seconds.is_finite() && (0.0..=86_400.0).contains(&seconds)) {
                bail!("--seconds must be in [0, 86400], got {seconds}");
            }
            let o = simulate(&spec, &spec_path, seed, seconds, &out, !no_preview)?;
            write_all(&o)?;
            println!("{}", o.summary);
            for (p, _) in &o.files {
                println!("  wrote {}", p.display());
            }
        }
        Command::Generate {
            spec: spec_path,
            seed,
            out,
            no_preview,
            tries,
        } => {
            let spec = load_spec(&spec_path)?;
            let o = generate_scenario(&spec, &spec_path, seed, &out, !no_preview, tries)?;
            write_all(&o)?;
            println!("{}", o.summary);
            for (p, _) in &o.files {
                println!("  wrote {}", p.display());
            }
        }
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

/// The error and its causes on one line, each cause once (library errors already name
/// their source in their message).
fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {}", report(&e));
        std::process::exit(1);
    }
}
