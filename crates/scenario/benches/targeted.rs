//! Targeted generation over the example specs: for each spec in `scenarios/` whose events ask
//! for a target, `SAMPLES` scenarios (default 200, seeds 0..SAMPLES, in parallel), and a
//! table of how many met the target, the tries it took and the acceptance rate (scenarios
//! delivered over scenarios rolled out). Each delivered scenario is the full run of its
//! resolved spec, measured again: "on target" counts those whose every targeted event met
//! its target there.
//!
//! `cargo bench -p roadworld-scenario --bench targeted` (`SAMPLES=30` for a quicker table,
//! `ONLY=cut-in,debris` for some of the specs).

use rayon::prelude::*;
use roadworld_scenario::{TargetOptions, generate_targeted};
use std::path::Path;
use std::time::Instant;

fn main() {
    let samples: u64 = std::env::var("SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut specs: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    specs.sort();
    // `ONLY=a,b`: just the specs whose file names contain one of these.
    if let Ok(only) = std::env::var("ONLY") {
        let keep: Vec<&str> = only.split(',').collect();
        specs.retain(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            keep.iter().any(|k| name.contains(k))
        });
    }
    println!(
        "| spec | event | target | samples | on target | gave up | tries (mean / max) | acceptance | s per scenario |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for path in specs {
        let spec = roadworld_spec::load_spec(&path).expect("example spec");
        let Some(e) = spec.events.iter().find(|e| e.target.is_set()) else {
            continue;
        };
        let target = e
            .target
            .ranges()
            .iter()
            .map(|(n, r)| format!("{n} in [{}, {}]", r.min, r.max))
            .chain(e.target.avoidable.map(|a| format!("avoidable {a}")))
            .collect::<Vec<_>>()
            .join(", ");
        let t0 = Instant::now();
        let results: Vec<(bool, u32)> = (0..samples)
            .into_par_iter()
            .map(
                |seed| match generate_targeted(&spec, seed, TargetOptions::default()) {
                    Ok(t) => (t.generated.summary.on_target, t.tries),
                    Err(_) => (false, TargetOptions::default().max_tries),
                },
            )
            .collect();
        let secs = t0.elapsed().as_secs_f64();
        let on = results.iter().filter(|r| r.0).count();
        let tries: u32 = results.iter().map(|r| r.1).sum();
        let max = results.iter().map(|r| r.1).max().unwrap_or(0);
        println!(
            "| {} | {} | {} | {} | {} ({:.1}%) | {} | {:.1} / {} | {:.1}% | {:.2} |",
            path.file_name().unwrap_or_default().to_string_lossy(),
            e.kind.name(),
            target,
            samples,
            on,
            100.0 * on as f64 / samples as f64,
            results.len() - on,
            tries as f64 / samples as f64,
            max,
            100.0 * on as f64 / tries.max(1) as f64,
            secs / samples as f64,
        );
    }
}
