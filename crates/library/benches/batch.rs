//! Library batch figures, printed as JSON: scenarios per second at the asked number of jobs
//! (recipes + index, nothing materialised), bytes stored per scenario, materialisation time
//! per scenario (every format, csv included, from the recipes), and the process's peak RSS
//! at the end of the batch (`batch_peak_rss_mib`) and at the very end, materialisation
//! included (`peak_rss_mib`).
//!
//! `cargo bench -p roadworld-library --bench batch` with `COUNT` (default 100), `JOBS`
//! (default 2; run once per job count, so the peak RSS is that run's), `SPEC` (default
//! `scenarios/libraries/default.ron`) and `MATERIALISE` (scenarios to materialise, default 10).

use roadworld_library::index::Reader;
use roadworld_library::{BatchOptions, Formats, batch, index_path, materialise};
use std::path::{Path, PathBuf};
use std::time::Instant;

// The allocator `roadworld` uses, so the figures are the command's.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn bytes_under(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.flatten()
            .map(|e| {
                let p = e.path();
                if p.is_dir() {
                    bytes_under(&p)
                } else {
                    e.metadata().map_or(0, |m| m.len())
                }
            })
            .sum()
    })
}

/// Peak resident set size of this process (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let count: u64 = env("COUNT", 100);
    let jobs: usize = env("JOBS", 2);
    let n_mat: usize = env("MATERIALISE", 10);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let spec: PathBuf = std::env::var("SPEC").map_or_else(
        |_| root.join("scenarios/libraries/default.ron"),
        PathBuf::from,
    );
    let lib = roadworld_spec::load_library(&spec).expect("library spec");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("lib");
    let t0 = Instant::now();
    let report = batch(
        &lib,
        &dir,
        BatchOptions {
            count,
            seed: 1,
            jobs,
            shard: None,
            formats: Formats::default(),
            slow_after: BatchOptions::SLOW_AFTER,
        },
        &|_| {},
    )
    .expect("batch");
    let secs = t0.elapsed().as_secs_f64();
    let batch_peak = peak_rss_mib().unwrap_or(f64::NAN);
    let stored = bytes_under(&dir);
    let found = Reader::open(&index_path(&dir))
        .expect("index")
        .query("1")
        .expect("query");
    let out = tmp.path().join("materialised");
    let t1 = Instant::now();
    let mut materialised = 0;
    for f in found.iter().take(n_mat) {
        materialise(
            &dir,
            &f.recipe,
            &out,
            Formats {
                native: true,
                xodr: true,
                xosc: true,
                commonroad: true,
                csv: true,
            },
        )
        .expect("materialise");
        materialised += 1;
    }
    let mat_secs = t1.elapsed().as_secs_f64();
    println!(
        "{{\"spec\": {:?}, \"count\": {count}, \"jobs\": {jobs}, \"made\": {}, \"failed\": {}, \"seconds\": {secs:.2}, \"scenarios_per_s\": {:.3}, \"stored_bytes_per_scenario\": {:.0}, \"materialised\": {materialised}, \"materialise_ms_per_scenario\": {:.0}, \"batch_peak_rss_mib\": {batch_peak:.1}, \"peak_rss_mib\": {:.1}}}",
        spec.display().to_string(),
        report.made,
        report.failed.len(),
        count as f64 / secs,
        stored as f64 / report.made.max(1) as f64,
        1e3 * mat_secs / materialised.max(1) as f64,
        peak_rss_mib().unwrap_or(f64::NAN),
    );
}
