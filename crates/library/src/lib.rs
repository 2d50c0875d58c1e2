//! Scenario libraries: many scenarios drawn from a library spec, made in parallel, stored as
//! recipes and indexed in SQLite so that a test suite can ask for what it needs.
//!
//! A library is a folder:
//!
//! ```text
//! lib/
//!   library.ron                 the manifest: engine, library name, batch seed, entries
//!   index.sqlite                the index (see [`index`])
//!   recipes/000/000/000000042.ron.gz
//!                               scenario 42's recipe (see [`recipe`]); at most 1000 per folder
//!   scenarios/000/000/000000042/  materialised outputs (`--formats`), when asked for
//!   roads/<hash>.xodr           each distinct road network once, by content hash
//! ```
//!
//! Scenario `i` of a batch with seed `S` is made from [`roadworld_spec::library::scenario_seed`]
//! and the entry drawn for it, and nothing else: the library is the same bytes whatever the
//! number of jobs, the shard split, or how often the batch was interrupted and resumed.
//!
//! Every file is written under a temporary name and renamed into place; a scenario's index
//! row is committed after its files. Killed at any moment, a batch loses only the scenarios
//! in flight; run again, it cleans their leftovers and goes on.

#![forbid(unsafe_code)]

pub mod index;
pub mod recipe;
pub mod report;

use rayon::prelude::*;
use recipe::{Recipe, content_hash};
use roadworld_export::{ExportError, write_atomic};
use roadworld_scenario::{Generated, TargetError, TargetOptions, generate_targeted};
use roadworld_spec::library::{Library, scenario_seed};
use roadworld_spec::{ScenarioSpec, SpecError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The engine that makes scenarios; recipes and the index carry it.
pub const ENGINE: &str = concat!("roadworld ", env!("CARGO_PKG_VERSION"));

/// Errors from making or reading a library.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Index {
        path: String,
        source: rusqlite::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// The manifest (`library.ron`): what a library was made from. A batch into an existing
/// library must agree with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub engine: String,
    pub name: String,
    pub seed: u64,
    pub entries: Vec<ManifestEntry>,
}

/// One entry of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    pub spec: String,
    pub weight: f64,
    /// Hash of the spec as parsed (every default filled in), so an edited spec is noticed.
    pub spec_hash: String,
}

impl Manifest {
    fn new(lib: &Library, seed: u64) -> Self {
        Self {
            engine: ENGINE.into(),
            name: lib.spec.name.clone(),
            seed,
            entries: lib
                .spec
                .entries
                .iter()
                .zip(&lib.scenarios)
                .map(|(e, s)| ManifestEntry {
                    spec: e.spec.clone(),
                    weight: e.weight,
                    spec_hash: spec_hash(s),
                })
                .collect(),
        }
    }
}

fn spec_hash(s: &ScenarioSpec) -> String {
    content_hash(roadworld_spec::to_ron(s).as_bytes())
}

/// Outputs made for each scenario besides its recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Formats {
    /// `scenario.ron`, `summary.ron`, `trajectories.rwtraj` in the scenario's folder.
    pub native: bool,
    /// `road.xodr` (ASAM OpenDRIVE 1.7): stored once per distinct road under `roads/`, linked
    /// from the scenario's folder.
    pub xodr: bool,
    /// `scenario.xosc` (ASAM OpenSCENARIO 1.2, every road user on its recorded trajectory);
    /// brings `road.xodr`, which it refers to.
    pub xosc: bool,
    /// `scenario.cr.xml` (CommonRoad 2020a: lanelets, obstacles, the ego's planning problem).
    pub commonroad: bool,
    /// `trajectories.csv`: the trajectories as CSV (one row per actor per step).
    pub csv: bool,
}

impl Formats {
    /// Parses `native,xodr,xosc,commonroad,csv` (`xosc` brings `xodr`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut f = Formats::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "native" => f.native = true,
                "xodr" => f.xodr = true,
                "xosc" => {
                    f.xosc = true;
                    f.xodr = true;
                }
                "commonroad" => f.commonroad = true,
                "csv" => f.csv = true,
                other => {
                    return Err(format!(
                        "unknown format {other:?} (known: native, xodr, xosc, commonroad, csv)"
                    ));
                }
            }
        }
        Ok(f)
    }

    fn any(self) -> bool {
        self.native || self.xodr || self.xosc || self.commonroad || self.csv
    }
}

/// How to run a batch.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Scenarios `0..count` (of this shard).
    pub count: u64,
    pub seed: u64,
    /// Worker threads (0: one per core).
    pub jobs: usize,
    /// `(i, n)`: only the indices `k` with `k % n == i`.
    pub shard: Option<(u64, u64)>,
    pub formats: Formats,
    /// A scenario still running after this long is named in a [`BatchEvent::Slow`] (again
    /// each time its running time doubles). Scenarios take about a second or two, so one
    /// that runs for minutes is most likely an engine bug that would otherwise only show as
    /// a progress bar that stopped. Only the events depend on this clock, never the library.
    pub slow_after: Duration,
}

impl BatchOptions {
    /// The default of [`BatchOptions::slow_after`].
    pub const SLOW_AFTER: Duration = Duration::from_secs(120);
}

/// What a batch tells its caller while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchEvent<'a> {
    /// `done` of the `total` scenarios to make are finished (made or failed).
    Progress { done: u64, total: u64 },
    /// Scenario `index` (library entry `entry`, scenario seed `seed`) has been running for
    /// `running` and is not finished: see [`BatchOptions::slow_after`].
    Slow {
        index: u64,
        seed: u64,
        entry: &'a str,
        running: Duration,
    },
}

/// Why a scenario is not in the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureKind {
    /// Targeted generation gave up: no try met the entry's targets (an expected outcome for
    /// hard targets; the batch reports how many).
    MissedTarget,
    /// Generation failed.
    Error,
    /// Generation panicked (a bug).
    Panic,
}

impl FailureKind {
    /// As written in the index.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::MissedTarget => "missed_target",
            FailureKind::Error => "error",
            FailureKind::Panic => "panic",
        }
    }
}

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchReport {
    /// Indices of this batch (shard) in `0..count`.
    pub wanted: u64,
    /// Already in the library when it started.
    pub already: u64,
    /// Made now.
    pub made: u64,
    /// Could not be made now: (index, why, message). Recorded in the index; not retried.
    pub failed: Vec<(u64, FailureKind, String)>,
    /// Made now and on target.
    pub on_target: u64,
}

/// Where scenario `index`'s files go, relative to the library: `recipes/AAA/BBB/` and
/// `scenarios/AAA/BBB/` with `AAA = index / 10^6`, `BBB = index / 1000 % 1000`.
pub fn shard_dir(index: u64) -> String {
    format!("{:03}/{:03}", index / 1_000_000, (index / 1000) % 1000)
}

/// The recipe's path in the library.
pub fn recipe_path(index: u64) -> String {
    format!("recipes/{}/{index:09}.ron.gz", shard_dir(index))
}

/// The folder of scenario `index`'s materialised outputs.
pub fn scenario_dir(index: u64) -> String {
    format!("scenarios/{}/{index:09}", shard_dir(index))
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> LibraryError + '_ {
    move |source| LibraryError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Opens or starts the library at `out` for `lib` with `seed`: checks or writes the manifest,
/// and returns it.
fn prepare(out: &Path, lib: &Library, seed: u64) -> Result<Manifest, LibraryError> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let path = out.join("library.ron");
    let want = Manifest::new(lib, seed);
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        let have: Manifest = ron::from_str(&text).map_err(|e| LibraryError::Invalid {
            path: path.display().to_string(),
            message: format!("not a library manifest: {e}"),
        })?;
        if have != want {
            let what = if have.engine != want.engine {
                format!("engine {} (this is {})", have.engine, want.engine)
            } else if have.seed != want.seed {
                format!("seed {} (asked {})", have.seed, want.seed)
            } else {
                "different library entries or specs".to_string()
            };
            return Err(LibraryError::Invalid {
                path: path.display().to_string(),
                message: format!(
                    "this library was made with {what}; use a new folder or the same spec and seed"
                ),
            });
        }
        return Ok(want);
    }
    let text =
        ron::ser::to_string_pretty(&want, ron::ser::PrettyConfig::default()).map_err(|e| {
            LibraryError::Invalid {
                path: path.display().to_string(),
                message: format!("could not serialise the manifest: {e}"),
            }
        })?;
    write_atomic(&path, text.as_bytes())?;
    Ok(want)
}

/// Removes what an interrupted batch left: temporary files anywhere in the library, and
/// recipes and scenario folders without an index row.
fn clean(out: &Path, finished: &BTreeSet<u64>) -> Result<(), LibraryError> {
    fn walk(dir: &Path, depth: usize, finished: &BTreeSet<u64>) -> Result<(), LibraryError> {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Ok(());
        };
        for e in rd {
            let e = e.map_err(io_err(dir))?;
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().map_err(io_err(&p))?.is_dir();
            if name.starts_with(".roadworld-") && name.ends_with(".tmp") {
                if is_dir {
                    std::fs::remove_dir_all(&p).map_err(io_err(&p))?;
                } else {
                    std::fs::remove_file(&p).map_err(io_err(&p))?;
                }
                continue;
            }
            let index: Option<u64> = name.split('.').next().and_then(|n| n.parse().ok());
            if depth == 2 {
                // A recipe file or a scenario folder.
                if index.is_some_and(|i| !finished.contains(&i)) {
                    if is_dir {
                        std::fs::remove_dir_all(&p).map_err(io_err(&p))?;
                    } else {
                        std::fs::remove_file(&p).map_err(io_err(&p))?;
                    }
                }
            } else if is_dir {
                walk(&p, depth + 1, finished)?;
            }
        }
        Ok(())
    }
    walk(&out.join("recipes"), 0, finished)?;
    walk(&out.join("scenarios"), 0, finished)?;
    // Temporary files of the index rewrite and of roads.
    for dir in [out.to_path_buf(), out.join("roads")] {
        walk_flat_tmp(&dir)?;
    }
    Ok(())
}

fn walk_flat_tmp(dir: &Path) -> Result<(), LibraryError> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd {
        let e = e.map_err(io_err(dir))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if (name.starts_with(".roadworld-") && name.ends_with(".tmp")) || name == "index.sqlite.tmp"
        {
            std::fs::remove_file(e.path()).map_err(io_err(&e.path()))?;
        }
    }
    Ok(())
}

/// A scenario made by a worker, its files written.
struct Made {
    recipe: Recipe,
    facts: index::RowFacts,
}

enum Outcome {
    Made(Box<Made>),
    /// The scenario could not be made (recorded, the batch goes on).
    Failed {
        index: u64,
        seed: u64,
        entry: String,
        kind: FailureKind,
        message: String,
    },
    /// Writing failed: the batch stops.
    Fatal(LibraryError),
}

fn facts(spec: &ScenarioSpec, spec_hash: &str, seed: u64, index: u64) -> index::RowFacts {
    let env = roadworld_spec::draw_environment(spec, spec.seed.unwrap_or(seed));
    let mut classes: Vec<&str> = spec
        .road
        .zones
        .iter()
        .filter(|z| z.share > 0.0)
        .map(|z| z.class.name())
        .collect();
    classes.sort_unstable();
    classes.dedup();
    index::RowFacts {
        seed,
        spec_hash: spec_hash.to_string(),
        road_classes: classes.join(","),
        route_length_m: spec.road.length_m,
        weather: env.weather.name().to_string(),
        time_of_day_h: env.time_of_day_h,
        friction: env.friction,
        recipe_path: recipe_path(index),
    }
}

/// What the OpenSCENARIO export of a generated scenario says besides its recording (the road
/// is `road.xodr` beside it).
pub fn xosc_info(g: &Generated) -> roadworld_export::xosc::XoscInfo<'_> {
    roadworld_export::xosc::XoscInfo {
        name: &g.spec.name,
        description: &g.spec.description,
        road_file: "road.xodr",
        environment: roadworld_spec::draw_environment(
            &g.spec,
            g.spec.seed.unwrap_or(g.summary.seed),
        ),
        duration_s: g.summary.duration_s,
    }
}

/// The CommonRoad benchmark id of scenario `index` (`ZAM`: the fictitious country CommonRoad
/// uses for generated maps).
pub fn benchmark_id(index: u64) -> String {
    format!("ZAM_Roadworld-1_{}_T-1", index + 1)
}

/// CommonRoad scenario tags of a generated scenario: `simulated`, its road classes and what
/// its events are.
pub fn commonroad_tags(g: &Generated) -> Vec<&'static str> {
    let mut tags = vec!["simulated"];
    for z in g.spec.road.zones.iter().filter(|z| z.share > 0.0) {
        tags.push(match z.class.name() {
            "motorway" => "interstate",
            "rural" => "rural",
            _ => "urban",
        });
    }
    for e in &g.summary.events {
        tags.push("critical");
        match e.kind.as_str() {
            "cut_in" | "aggressive_merge" | "construction_zone" => tags.push("cut_in"),
            "lead_hard_brake" | "stopped_vehicle" | "debris" => tags.push("emergency_braking"),
            "wrong_way_driver" => tags.push("oncoming_traffic"),
            "red_light_runner" | "unprotected_left_turn" | "pull_out" => tags.push("intersection"),
            _ => {}
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    tags.retain(|t| seen.insert(*t));
    tags
}

/// Road users further than this from the ego all along are left out of CommonRoad exports.
pub const COMMONROAD_RADIUS_M: f64 = 200.0;

/// Seconds a CommonRoad export starts before the scene's most critical moment.
pub const COMMONROAD_LEAD_S: f64 = 5.0;
/// Seconds a CommonRoad export goes on after it.
pub const COMMONROAD_TRAIL_S: f64 = 3.0;

/// A scenario's CommonRoad export: [`COMMONROAD_LEAD_S`] before the scene's most critical
/// moment (the ego's least time-to-collision, else its first contact) to
/// [`COMMONROAD_TRAIL_S`] after, starting once the ego and that road user are in the scene;
/// without such a moment, from when every event's road users are in the scene to its end.
/// The header remarks give roadworld's own measure there, for cross-checks.
pub fn to_commonroad(g: &Generated, index: u64) -> String {
    use roadworld_export::commonroad as cr;
    let rec = &g.recording;
    let scene = &g.summary.scene;
    let critical = scene
        .min_ttc_s
        .map(|e| ("least constant-velocity TTC (s)", e))
        .or(scene.collision.map(|e| ("first contact", e)));
    let (frames, remarks) = match critical {
        Some((what, e)) => {
            let at = (e.at_s / rec.step_s).round() as usize;
            let frames =
                cr::window_around(rec, at, &[e.actor], COMMONROAD_LEAD_S, COMMONROAD_TRAIL_S);
            let remark = format!(
                "roadworld {what}: {:.4} at {:.3} s of the scene (time step {}) with actor {}",
                e.value,
                e.at_s,
                at as i64 - frames.start as i64,
                e.actor
            );
            // The pair's TTC at every time step, for cross-checks against other tools.
            let mut series = format!(
                "roadworld constant-velocity TTC (s) with actor {} by time step:",
                e.actor
            );
            if let Some(ego) = rec.actors.iter().position(|a| a.ego) {
                let t = roadworld_scenario::criticality::tracks(rec, &[ego as u32, e.actor]);
                for (step, k) in frames.clone().enumerate() {
                    match roadworld_scenario::criticality::ttc_at(&t[0], &t[1], k) {
                        Some(v) => {
                            let _ = write!(series, " {step}:{v:.4}");
                        }
                        None => {
                            let _ = write!(series, " {step}:-");
                        }
                    }
                }
            }
            (frames, vec![remark, series])
        }
        None => {
            let needed: Vec<u32> = g
                .summary
                .events
                .iter()
                .flat_map(|e| e.actors.iter().copied())
                .collect();
            (cr::window(rec, &needed), Vec::new())
        }
    };
    let id = benchmark_id(index);
    let tags = commonroad_tags(g);
    cr::to_commonroad(
        &g.network,
        rec,
        &cr::CommonRoadInfo {
            benchmark_id: &id,
            environment: roadworld_spec::draw_environment(
                &g.spec,
                g.spec.seed.unwrap_or(g.summary.seed),
            ),
            tags: &tags,
            frames,
            radius_m: Some(COMMONROAD_RADIUS_M),
            remarks: &remarks,
        },
    )
}

/// Writes a scenario's materialised outputs into `dir` (and its road under `roads/`).
fn write_outputs(
    root: &Path,
    index: u64,
    g: &Generated,
    formats: Formats,
) -> Result<(), LibraryError> {
    if !formats.any() {
        return Ok(());
    }
    let rel = scenario_dir(index);
    let dir = root.join(&rel);
    // Built in a temporary folder beside it, then renamed into place.
    let parent = dir.parent().unwrap_or(root);
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    let tmp = parent.join(format!(".roadworld-{index:09}.tmp"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    if formats.native {
        write_atomic(
            &tmp.join("scenario.ron"),
            roadworld_spec::to_ron(&g.spec).as_bytes(),
        )?;
        let summary = ron::ser::to_string_pretty(&g.summary, ron::ser::PrettyConfig::default())
            .map_err(|e| LibraryError::Invalid {
                path: rel.clone(),
                message: format!("could not serialise the summary: {e}"),
            })?;
        write_atomic(&tmp.join("summary.ron"), summary.as_bytes())?;
        write_atomic(&tmp.join("trajectories.rwtraj"), &g.recording.to_bytes())?;
    }
    if formats.xosc {
        write_atomic(
            &tmp.join("scenario.xosc"),
            roadworld_export::xosc::to_xosc(&g.recording, &xosc_info(g)).as_bytes(),
        )?;
    }
    if formats.csv {
        write_atomic(
            &tmp.join("trajectories.csv"),
            g.recording.to_csv().as_bytes(),
        )?;
    }
    if formats.commonroad {
        write_atomic(
            &tmp.join("scenario.cr.xml"),
            to_commonroad(g, index).as_bytes(),
        )?;
    }
    if formats.xodr {
        let xodr = roadworld_export::xodr::to_xodr(&g.network);
        let hash = content_hash(xodr.as_bytes());
        let roads = root.join("roads");
        std::fs::create_dir_all(&roads).map_err(io_err(&roads))?;
        let road = roads.join(format!("{hash}.xodr"));
        if !road.exists() {
            write_atomic(&road, xodr.as_bytes())?;
        }
        let link = tmp.join("road.xodr");
        let target = format!("../../../../roads/{hash}.xodr");
        link_or_copy(&target, &road, &link)?;
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
    }
    std::fs::rename(&tmp, &dir).map_err(io_err(&dir))?;
    Ok(())
}

#[cfg(unix)]
fn link_or_copy(target: &str, _road: &Path, link: &Path) -> Result<(), LibraryError> {
    std::os::unix::fs::symlink(target, link).map_err(io_err(link))
}

#[cfg(not(unix))]
fn link_or_copy(_target: &str, road: &Path, link: &Path) -> Result<(), LibraryError> {
    std::fs::copy(road, link).map(|_| ()).map_err(io_err(link))
}

/// Makes scenario `index`; `manifest` is the library's (its entries' spec hashes go into the
/// index row).
fn make(
    lib: &Library,
    manifest: &Manifest,
    root: &Path,
    seed: u64,
    index: u64,
    formats: Formats,
) -> Outcome {
    let entry = lib.pick(seed, index);
    let name = lib.spec.entries[entry].spec.clone();
    let s = scenario_seed(seed, index);
    let spec = &lib.scenarios[entry];
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        generate_targeted(spec, s, TargetOptions::default())
    }));
    let t = match run {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            let kind = match e {
                TargetError::Missed { .. } => FailureKind::MissedTarget,
                _ => FailureKind::Error,
            };
            return Outcome::Failed {
                index,
                seed: s,
                entry: name,
                kind,
                message: e.to_string(),
            };
        }
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into());
            return Outcome::Failed {
                index,
                seed: s,
                entry: name,
                kind: FailureKind::Panic,
                message: format!("panic: {message}"),
            };
        }
    };
    let g = t.generated;
    let recipe = Recipe {
        engine: ENGINE.into(),
        index,
        entry: name,
        tries: t.tries,
        spec: roadworld_spec::to_ron(&g.spec),
        summary: g.summary.clone(),
    };
    let written = (|| {
        write_outputs(root, index, &g, formats)?;
        let path = root.join(recipe_path(index));
        if let Some(p) = path.parent() {
            std::fs::create_dir_all(p).map_err(io_err(p))?;
        }
        write_atomic(&path, &recipe.encode()?)?;
        Ok::<_, LibraryError>(())
    })();
    if let Err(e) = written {
        return Outcome::Fatal(e);
    }
    Outcome::Made(Box::new(Made {
        facts: facts(&g.spec, &manifest.entries[entry].spec_hash, s, index),
        recipe,
    }))
}

/// A scenario being made, for [`BatchEvent::Slow`] (its seed and entry follow from its index).
struct Running {
    since: Instant,
    /// Named when it has run this long.
    warn_after: Duration,
}

/// The scenarios being made, by index.
#[derive(Default)]
struct InFlight(Mutex<BTreeMap<u64, Running>>);

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Running>> {
        // A panic while holding the lock leaves the map as valid as before.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Tells `events` of every scenario of the batch with `seed` that has run past its warning
    /// time, and doubles it.
    fn name_slow(&self, lib: &Library, seed: u64, events: &(dyn Fn(BatchEvent) + Sync)) {
        let now = Instant::now();
        for (&index, r) in self.lock().iter_mut() {
            let running = now.saturating_duration_since(r.since);
            if running >= r.warn_after {
                r.warn_after = (r.warn_after * 2).max(running);
                events(BatchEvent::Slow {
                    index,
                    seed: scenario_seed(seed, index),
                    entry: &lib.spec.entries[lib.pick(seed, index)].spec,
                    running,
                });
            }
        }
    }
}

/// Makes the scenarios of a batch that the library at `out` does not have yet, in parallel,
/// then writes the final index. `events` hears of progress after each scenario and of
/// scenarios that run far too long.
pub fn batch(
    lib: &Library,
    out: &Path,
    opts: BatchOptions,
    events: &(dyn Fn(BatchEvent) + Sync),
) -> Result<BatchReport, LibraryError> {
    if let Some((i, n)) = opts.shard
        && (n == 0 || i >= n)
    {
        return Err(LibraryError::Invalid {
            path: out.display().to_string(),
            message: format!("shard {i}/{n}: needs 0 <= i < n"),
        });
    }
    let manifest = prepare(out, lib, opts.seed)?;
    let mut index = index::Index::open(&out.join("index.sqlite"))?;
    let finished = index.finished()?;
    clean(out, &finished)?;
    let wanted: Vec<u64> = (0..opts.count)
        .filter(|k| opts.shard.is_none_or(|(i, n)| k % n == i))
        .collect();
    let todo: Vec<u64> = wanted
        .iter()
        .copied()
        .filter(|k| !finished.contains(k))
        .collect();
    let mut report = BatchReport {
        wanted: wanted.len() as u64,
        already: (wanted.len() - todo.len()) as u64,
        ..Default::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs)
        .build()
        .map_err(|e| LibraryError::Invalid {
            path: out.display().to_string(),
            message: format!("could not start {} worker threads: {e}", opts.jobs),
        })?;
    let stop = AtomicBool::new(false);
    let total = todo.len() as u64;
    let mut fatal: Option<LibraryError> = None;
    let in_flight = InFlight::default();
    // How often to look for slow scenarios while none finishes.
    let poll = (opts.slow_after / 4).clamp(Duration::from_millis(10), Duration::from_secs(5));
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<Outcome>();
        let stop = &stop;
        let todo = &todo;
        let in_flight = &in_flight;
        scope.spawn(move || {
            pool.install(|| {
                todo.par_iter().for_each_with(tx, |tx, &k| {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    in_flight.lock().insert(
                        k,
                        Running {
                            since: Instant::now(),
                            warn_after: opts.slow_after,
                        },
                    );
                    let outcome = make(lib, &manifest, out, opts.seed, k, opts.formats);
                    in_flight.lock().remove(&k);
                    let _ = tx.send(outcome);
                });
            });
        });
        let mut done = 0;
        loop {
            let outcome = match rx.recv_timeout(poll) {
                Ok(o) => o,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    in_flight.name_slow(lib, opts.seed, events);
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            };
            in_flight.name_slow(lib, opts.seed, events);
            if fatal.is_some() {
                continue;
            }
            let r = match outcome {
                Outcome::Made(m) => {
                    let on = m.recipe.summary.on_target;
                    index.add(&m.recipe, &m.facts).map(|()| {
                        report.made += 1;
                        report.on_target += u64::from(on);
                    })
                }
                Outcome::Failed {
                    index: k,
                    seed,
                    entry,
                    kind,
                    message,
                } => index.fail(k, seed, &entry, kind, &message).map(|()| {
                    report.failed.push((k, kind, message));
                }),
                Outcome::Fatal(e) => Err(e),
            };
            if let Err(e) = r {
                stop.store(true, Ordering::Relaxed);
                fatal = Some(e);
                continue;
            }
            done += 1;
            events(BatchEvent::Progress { done, total });
        }
    });
    if let Some(e) = fatal {
        return Err(e);
    }
    report.failed.sort();
    index.finish()?;
    Ok(report)
}

/// Makes a library scenario again from its recipe and writes its outputs (`formats`) under
/// `out` in the same layout as an eager batch (`scenarios/...`, `roads/...`): the same bytes.
/// Fails if the engine makes a different scenario from the recipe (another engine version).
pub fn materialise(
    library: &Path,
    recipe_rel: &str,
    out: &Path,
    formats: Formats,
) -> Result<u64, LibraryError> {
    let path = library.join(recipe_rel);
    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
    let shown = path.display().to_string();
    let recipe = Recipe::decode(&bytes, &shown)?;
    let spec = roadworld_spec::parse_spec(&recipe.spec, &shown)?;
    let seed = spec.seed.ok_or_else(|| LibraryError::Invalid {
        path: shown.clone(),
        message: "the recipe's spec has no seed".into(),
    })?;
    let t = generate_targeted(&spec, seed, TargetOptions::default()).map_err(|e| {
        LibraryError::Invalid {
            path: shown.clone(),
            message: format!("could not make the scenario again: {e}"),
        }
    })?;
    if t.generated.summary != recipe.summary {
        return Err(LibraryError::Invalid {
            path: shown,
            message: format!(
                "the scenario made again differs from the recipe's (made by {}, this is {ENGINE})",
                recipe.engine
            ),
        });
    }
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    write_outputs(out, recipe.index, &t.generated, formats)?;
    Ok(recipe.index)
}

/// Combines libraries made from the same library spec and seed (shards, or batches run on
/// other machines) into `out`, which may already hold some of them: every scenario of each
/// is copied in (recipe, materialised outputs, roads) and indexed. The result is the library
/// one batch over all their scenarios would have made. Returns the scenarios taken in.
pub fn merge(out: &Path, inputs: &[PathBuf]) -> Result<u64, LibraryError> {
    let manifest = |dir: &Path| -> Result<Manifest, LibraryError> {
        let path = dir.join("library.ron");
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        ron::from_str(&text).map_err(|e| LibraryError::Invalid {
            path: path.display().to_string(),
            message: format!("not a library manifest: {e}"),
        })
    };
    let Some(first) = inputs.first() else {
        return Err(LibraryError::Invalid {
            path: out.display().to_string(),
            message: "nothing to merge".into(),
        });
    };
    let want = manifest(first)?;
    for dir in &inputs[1..] {
        if manifest(dir)? != want {
            return Err(LibraryError::Invalid {
                path: dir.join("library.ron").display().to_string(),
                message: format!(
                    "made from another library spec, seed or engine than {}",
                    first.display()
                ),
            });
        }
    }
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    let out_manifest = out.join("library.ron");
    if out_manifest.exists() {
        if manifest(out)? != want {
            return Err(LibraryError::Invalid {
                path: out_manifest.display().to_string(),
                message: "made from another library spec, seed or engine than the inputs".into(),
            });
        }
    } else {
        let bytes = std::fs::read(first.join("library.ron")).map_err(io_err(first))?;
        write_atomic(&out_manifest, &bytes)?;
    }
    let mut index = index::Index::open(&index_path(out))?;
    let have = index.finished()?;
    clean(out, &have)?;
    let mut taken = 0;
    for dir in inputs {
        let reader = index::Reader::open(&index_path(dir))?;
        for f in reader.query("1")? {
            if have.contains(&f.idx) {
                continue;
            }
            copy_tree(&dir.join(&f.recipe), &out.join(&f.recipe))?;
            let sd = scenario_dir(f.idx);
            if dir.join(&sd).exists() {
                copy_tree(&dir.join(&sd), &out.join(&sd))?;
            }
            taken += 1;
        }
        copy_tree(&dir.join("roads"), &out.join("roads"))?;
        drop(reader);
        index.absorb(&index_path(dir))?;
    }
    index.finish()?;
    Ok(taken)
}

/// Copies a file, a symlink or a folder (recursively), each file atomically; files already
/// at the destination are kept (library files are content-addressed or per index).
fn copy_tree(from: &Path, to: &Path) -> Result<(), LibraryError> {
    let meta = match std::fs::symlink_metadata(from) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(from)(e)),
    };
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(io_err(to))?;
        let mut names: Vec<_> = std::fs::read_dir(from)
            .map_err(io_err(from))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io_err(from))?;
        names.sort();
        for n in names {
            copy_tree(&from.join(&n), &to.join(&n))?;
        }
        return Ok(());
    }
    if std::fs::symlink_metadata(to).is_ok() {
        return Ok(());
    }
    if let Some(p) = to.parent() {
        std::fs::create_dir_all(p).map_err(io_err(p))?;
    }
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).map_err(io_err(from))?;
        return link_or_copy(&target.to_string_lossy(), from, to);
    }
    let bytes = std::fs::read(from).map_err(io_err(from))?;
    write_atomic(to, &bytes)?;
    Ok(())
}

/// The library's index file.
pub fn index_path(library: &Path) -> PathBuf {
    library.join("index.sqlite")
}
