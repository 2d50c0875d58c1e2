//! `roadworld batch`, `query` and `export`: scenario libraries.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use roadworld_library::index::Reader;
use roadworld_library::{
    BatchEvent, BatchOptions, FailureKind, Formats, batch, index_path, materialise,
};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// `--shard i/N`.
pub fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("expected i/N (e.g. 0/4), got {text:?}"))?;
    let i: u64 = i
        .trim()
        .parse()
        .map_err(|e| format!("shard index {i:?}: {e}"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|e| format!("shard count {n:?}: {e}"))?;
    if n == 0 || i >= n {
        return Err(format!("needs 0 <= i < N, got {i}/{n}"));
    }
    Ok((i, n))
}

/// `roadworld batch`.
pub fn run_batch(
    spec: &Path,
    out: &Path,
    count: u64,
    seed: u64,
    jobs: usize,
    shard: Option<(u64, u64)>,
    formats: &str,
) -> Result<()> {
    let formats = Formats::parse(formats).map_err(|e| anyhow::anyhow!("--formats: {e}"))?;
    let lib = roadworld_spec::load_library(spec)?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} scenarios, {per_sec}, ETA {eta}",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    let t0 = Instant::now();
    let report = batch(
        &lib,
        out,
        BatchOptions {
            count,
            seed,
            jobs,
            shard,
            formats,
            slow_after: BatchOptions::SLOW_AFTER,
        },
        &|event| match event {
            BatchEvent::Progress { done, total } => {
                if bar.length() != Some(total) {
                    bar.set_length(total);
                }
                bar.set_position(done);
            }
            BatchEvent::Slow {
                index,
                seed,
                entry,
                running,
            } => bar.println(format!(
                "warning: scenario {index} ({entry}, seed {seed}) has been running for {:.0} s; \
                 scenarios take seconds, so this is likely an engine bug: please report it with \
                 `roadworld generate --spec <the library's {entry}> --seed {seed}`",
                running.as_secs_f64()
            )),
        },
    )
    .with_context(|| format!("batch into {}", out.display()))?;
    bar.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{}: {} scenario(s) of {} ({}), {} already there, {} made in {secs:.1} s ({:.2} /s), {} on target, {} not made ({} gave up on their targets)",
        out.display(),
        report.wanted,
        count,
        shard.map_or("all".to_string(), |(i, n)| format!("shard {i}/{n}")),
        report.already,
        report.made,
        report.made as f64 / secs.max(1e-9),
        report.on_target,
        report.failed.len(),
        report
            .failed
            .iter()
            .filter(|f| f.1 == FailureKind::MissedTarget)
            .count(),
    );
    println!("{}", summary_table(out)?);
    for (k, kind, m) in report.failed.iter().take(10) {
        eprintln!("  scenario {k} ({}): {m}", kind.name());
    }
    let broken = report
        .failed
        .iter()
        .filter(|f| f.1 != FailureKind::MissedTarget)
        .count();
    if broken > 0 {
        bail!(
            "{broken} scenario(s) failed with an error or a panic; they are listed in the index (table failures, kind error/panic) and are not retried"
        );
    }
    Ok(())
}

/// Per event type: events, on target, collisions, min TTC percentiles; then the totals.
fn summary_table(library: &Path) -> Result<String> {
    Ok(roadworld_library::report::stats(library)?.table())
}

/// `roadworld stats`: the table, and the HTML report.
pub fn run_stats(library: &Path, html: Option<&Path>) -> Result<()> {
    let stats = roadworld_library::report::stats(library)
        .with_context(|| format!("stats of {}", library.display()))?;
    println!("{}", stats.table());
    let out = html.map_or_else(|| library.join("report"), Path::to_path_buf);
    let name = library.file_name().map_or_else(
        || library.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let files = roadworld_library::report::write_report(&stats, &name, &out)
        .with_context(|| format!("report into {}", out.display()))?;
    println!(
        "report: {} ({} plots)",
        out.join("index.html").display(),
        files.len() - 1
    );
    Ok(())
}

/// The SQL filter from `roadworld query`'s flags.
pub fn filter(
    event: Option<&str>,
    max_ttc_s: Option<f64>,
    avoidable: bool,
    unavoidable: bool,
    collision: bool,
    sql: Option<&str>,
) -> Result<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(e) = event {
        if !e.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            bail!("--event: expected a catalog name like cut_in, got {e:?}");
        }
        parts.push(format!("event = '{e}'"));
    }
    let prefix = if event.is_some() { "event_" } else { "" };
    if let Some(t) = max_ttc_s {
        if !t.is_finite() {
            bail!("--max-ttc: expected a number of seconds, got {t}");
        }
        parts.push(format!("{prefix}min_ttc_s <= {t:?}"));
    }
    if avoidable && unavoidable {
        bail!("--avoidable and --unavoidable: choose one");
    }
    if avoidable {
        parts.push(format!("{prefix}avoidable = 1"));
    }
    if unavoidable {
        parts.push(format!("{prefix}avoidable = 0"));
    }
    if collision {
        parts.push(format!("{prefix}collision = 1"));
    }
    if let Some(w) = sql {
        parts.push(format!("({w})"));
    }
    Ok(if parts.is_empty() {
        "1".into()
    } else {
        parts.join(" AND ")
    })
}

/// `roadworld query`: prints the scenarios found, a line each or JSON lines.
pub fn run_query(library: &Path, filter: &str, jsonl: bool, limit: Option<usize>) -> Result<()> {
    let r = Reader::open(&index_path(library))?;
    let found = r
        .query(filter)
        .with_context(|| format!("query {filter:?}"))?;
    let n = found.len();
    let shown = limit.unwrap_or(usize::MAX);
    let mut out = String::new();
    for f in found.iter().take(shown) {
        if jsonl {
            let _ = writeln!(out, "{}", serde_json::Value::Object(f.row.clone()));
        } else {
            let g = |k: &str| {
                f.row.get(k).map_or("-".to_string(), |v| match v {
                    serde_json::Value::Null => "-".into(),
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(x) => x
                        .as_f64()
                        .filter(|_| !x.is_i64())
                        .map_or(x.to_string(), |x| format!("{x:.2}")),
                    v => v.to_string(),
                })
            };
            let _ = writeln!(
                out,
                "{:>9} {} {} [{}] min TTC {} s, PET {} s, collision {}, avoidable {}, {}",
                f.idx,
                g("id"),
                g("entry"),
                g("event_types"),
                g("min_ttc_s"),
                g("pet_s"),
                g("collision"),
                g("avoidable"),
                f.recipe,
            );
        }
    }
    print!("{out}");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    if !jsonl {
        eprintln!("{n} scenario(s) found");
    }
    Ok(())
}

/// `roadworld export`: materialises the scenarios a query finds.
pub fn run_export(library: &Path, filter: &str, formats: &str, out: &Path) -> Result<()> {
    let formats = Formats::parse(formats).map_err(|e| anyhow::anyhow!("--formats: {e}"))?;
    let r = Reader::open(&index_path(library))?;
    let found = r
        .query(filter)
        .with_context(|| format!("query {filter:?}"))?;
    use rayon::prelude::*;
    let t0 = Instant::now();
    found
        .par_iter()
        .try_for_each(|f| materialise(library, &f.recipe, out, formats).map(|_| ()))?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{} scenario(s) materialised under {} in {secs:.1} s ({:.0} ms each)",
        found.len(),
        out.display(),
        1e3 * secs / found.len().max(1) as f64
    );
    Ok(())
}
