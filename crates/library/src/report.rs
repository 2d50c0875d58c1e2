//! `roadworld stats`: what a library holds, as a table and as an HTML report with PNG plots
//! (event types, criticality histograms, road classes, weather, time of day).
//!
//! Everything comes from the index; the report's bytes depend only on it (no dates, fixed
//! fonts), so the same library gives the same report.

use crate::index::{EventRow, Found, Reader};
use crate::{LibraryError, index_path};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The font the plots are drawn with (DejaVu Sans, `assets/fonts`).
const FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Plot size in pixels.
const PLOT: (u32, u32) = (900, 480);

/// Per event type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventStats {
    pub events: u64,
    pub on_target: u64,
    pub collisions: u64,
    /// The event's least constant-velocity TTC (s), where it had one.
    pub min_ttc_s: Vec<f64>,
}

/// What a library holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    pub scenarios: u64,
    /// Scenarios that could not be made, by failure kind.
    pub failures: BTreeMap<String, u64>,
    pub by_event: BTreeMap<String, EventStats>,
    /// Scenarios per road class (a scenario counts once for each class it has).
    pub road_classes: BTreeMap<String, u64>,
    pub weather: BTreeMap<String, u64>,
    pub time_of_day_h: Vec<f64>,
    /// The scene's least TTC of the ego (constant velocity), PET and distance, where finite.
    pub min_ttc_s: Vec<f64>,
    pub pet_s: Vec<f64>,
    pub min_distance_m: Vec<f64>,
    pub collisions: u64,
    /// Scenarios with a collision that an evasive manoeuvre avoids, and that none does.
    pub avoidable_collisions: u64,
    pub unavoidable_collisions: u64,
    pub on_target: u64,
}

fn num(f: &Found, k: &str) -> Option<f64> {
    f.row
        .get(k)
        .and_then(serde_json::Value::as_f64)
        .filter(|v| v.is_finite())
}

fn text<'a>(f: &'a Found, k: &str) -> &'a str {
    f.row
        .get(k)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

/// Reads a library's index.
pub fn stats(library: &Path) -> Result<Stats, LibraryError> {
    let r = Reader::open(&index_path(library))?;
    Ok(collect(&r.query("1")?, &r.events()?, &r.failures()?))
}

fn collect(
    scenarios: &[Found],
    events: &[EventRow],
    failures: &[(u64, String, String, String, String)],
) -> Stats {
    let mut s = Stats {
        scenarios: scenarios.len() as u64,
        ..Stats::default()
    };
    for (_, _, _, kind, _) in failures {
        *s.failures.entry(kind.clone()).or_default() += 1;
    }
    for f in scenarios {
        for c in text(f, "road_classes").split(',').filter(|c| !c.is_empty()) {
            *s.road_classes.entry(c.to_string()).or_default() += 1;
        }
        *s.weather.entry(text(f, "weather").to_string()).or_default() += 1;
        s.time_of_day_h.extend(num(f, "time_of_day_h"));
        s.min_ttc_s.extend(num(f, "min_ttc_s"));
        s.pet_s.extend(num(f, "pet_s"));
        s.min_distance_m.extend(num(f, "min_distance_m"));
        let flag = |k: &str| f.row.get(k).and_then(serde_json::Value::as_i64);
        if flag("collision") == Some(1) {
            s.collisions += 1;
            match flag("avoidable") {
                Some(1) => s.avoidable_collisions += 1,
                Some(0) => s.unavoidable_collisions += 1,
                _ => {}
            }
        }
        s.on_target += u64::from(flag("on_target") == Some(1));
    }
    let with_events: std::collections::BTreeSet<u64> = events.iter().map(|e| e.idx).collect();
    let none = scenarios
        .iter()
        .filter(|f| !with_events.contains(&f.idx))
        .count() as u64;
    if none > 0 {
        s.by_event.entry("(no event)".into()).or_default().events = none;
    }
    for e in events {
        let x = s.by_event.entry(e.kind.clone()).or_default();
        x.events += 1;
        x.on_target += u64::from(e.on_target);
        x.collisions += u64::from(e.collision);
        x.min_ttc_s
            .extend(e.min_ttc_s.filter(|v| v.is_finite() && *v >= 0.0));
    }
    s
}

/// The `q`-quantile (0..1) of `v` by nearest rank; `None` when empty.
pub fn quantile(v: &[f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let k = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[k])
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.2}"))
}

impl Stats {
    /// The summary table (Markdown): per event type, then totals.
    pub fn table(&self) -> String {
        let mut t = String::from(
            "| event type | events | on target | with a collision | min TTC p10 / p50 / p90 (s) |\n\
             | --- | --- | --- | --- | --- |\n",
        );
        for (k, e) in &self.by_event {
            let _ = writeln!(
                t,
                "| {k} | {} | {} | {} | {} / {} / {} |",
                e.events,
                e.on_target,
                e.collisions,
                fmt_opt(quantile(&e.min_ttc_s, 0.1)),
                fmt_opt(quantile(&e.min_ttc_s, 0.5)),
                fmt_opt(quantile(&e.min_ttc_s, 0.9)),
            );
        }
        let failed: u64 = self.failures.values().sum();
        let _ = write!(
            t,
            "{} scenario(s) in the library ({} on target, {} with a collision: {} avoidable, {} not), {failed} not made",
            self.scenarios,
            self.on_target,
            self.collisions,
            self.avoidable_collisions,
            self.unavoidable_collisions
        );
        for (k, n) in &self.failures {
            let _ = write!(t, "; {n} {k}");
        }
        t
    }
}

fn plot_err(path: &Path) -> impl Fn(String) -> LibraryError + '_ {
    move |message| LibraryError::Invalid {
        path: path.display().to_string(),
        message: format!("could not draw the plot: {message}"),
    }
}

fn register_font() -> Result<(), String> {
    static ONCE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the bundled font could not be read".to_string())
    })
    .clone()
}

/// Draws into an RGB buffer and encodes it as PNG.
fn png(
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<Vec<u8>, String> {
    register_font()?;
    let (w, h) = PLOT;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        draw(&root)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).ok_or("buffer size")?;
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// A drawn plot (PNG bytes) or why it could not be drawn.
type Plot = Result<Vec<u8>, String>;

const BAR: RGBColor = RGBColor(52, 101, 164);

/// Horizontal bars, one per category, largest count first.
fn bars(title: &str, x_desc: &str, counts: &BTreeMap<String, u64>) -> Result<Vec<u8>, String> {
    let mut items: Vec<(&String, u64)> = counts.iter().map(|(k, v)| (k, *v)).collect();
    items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let names: Vec<String> = items.iter().map(|(k, _)| (*k).clone()).collect();
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let n = items.len().max(1) as u32;
    png(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(36)
            .y_label_area_size(190)
            .build_cartesian_2d(0u64..max + max / 10 + 1, (0u32..n).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n as usize)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc(x_desc)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(items.iter().enumerate().map(|(i, (_, v))| {
                let i = i as u32;
                let mut r = Rectangle::new(
                    [
                        (0, SegmentValue::Exact(i)),
                        (*v, SegmentValue::Exact(i + 1)),
                    ],
                    BAR.filled(),
                );
                r.set_margin(3, 3, 0, 0);
                r
            }))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// A histogram of `values` over `[lo, hi)` in `bins` bins (values outside are clamped into
/// the end bins).
fn histogram(
    title: &str,
    x_desc: &str,
    values: &[f64],
    lo: f64,
    hi: f64,
    bins: u32,
) -> Result<Vec<u8>, String> {
    let width = (hi - lo) / f64::from(bins);
    let mut counts = vec![0u64; bins as usize];
    for v in values {
        let k = ((v - lo) / width).floor().clamp(0.0, f64::from(bins - 1)) as usize;
        counts[k] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    png(|root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(lo..hi, 0u64..max + max / 10 + 1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(x_desc)
            .y_desc("scenarios")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(counts.iter().enumerate().map(|(k, c)| {
                let x0 = lo + width * k as f64;
                Rectangle::new(
                    [(x0 + width * 0.05, 0), (x0 + width * 0.95, *c)],
                    BAR.filled(),
                )
            }))
            .map_err(|e| e.to_string())?;
        Ok(())
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `index.html` and its PNG plots into `out`; returns the files written.
pub fn write_report(stats: &Stats, name: &str, out: &Path) -> Result<Vec<PathBuf>, LibraryError> {
    std::fs::create_dir_all(out).map_err(|source| LibraryError::Io {
        path: out.display().to_string(),
        source,
    })?;
    let events: BTreeMap<String, u64> = stats
        .by_event
        .iter()
        .map(|(k, e)| (k.clone(), e.events))
        .collect();
    let plots: Vec<(&str, &str, Plot)> = vec![
        (
            "events.png",
            "Event types",
            bars("Events by type", "events", &events),
        ),
        (
            "min_ttc.png",
            "Least time-to-collision of the ego (constant velocity), per scenario",
            histogram(
                "Least TTC of the ego per scenario",
                "TTC (s)",
                &stats.min_ttc_s,
                0.0,
                10.0,
                40,
            ),
        ),
        (
            "pet.png",
            "Post-encroachment time, per scenario",
            histogram("PET per scenario", "PET (s)", &stats.pet_s, 0.0, 10.0, 40),
        ),
        (
            "min_distance.png",
            "Least distance between the ego and another road user, per scenario",
            histogram(
                "Least distance to the ego per scenario",
                "distance (m)",
                &stats.min_distance_m,
                0.0,
                20.0,
                40,
            ),
        ),
        (
            "road_classes.png",
            "Road classes",
            bars("Scenarios by road class", "scenarios", &stats.road_classes),
        ),
        (
            "weather.png",
            "Weather",
            bars("Scenarios by weather", "scenarios", &stats.weather),
        ),
        (
            "time_of_day.png",
            "Time of day",
            histogram(
                "Scenarios by time of day",
                "local solar time (h)",
                &stats.time_of_day_h,
                0.0,
                24.0,
                24,
            ),
        ),
    ];
    let mut written = Vec::new();
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}: roadworld library report</title>\n\
         <style>body{{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #bbb;padding:4px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}img{{max-width:100%}}</style>\n\
         </head>\n<body>\n<h1>{0}</h1>\n<p>{1} scenario(s): {2} on target, {3} with a collision ({4} avoidable, {5} not); {6} not made.</p>\n",
        esc(name),
        stats.scenarios,
        stats.on_target,
        stats.collisions,
        stats.avoidable_collisions,
        stats.unavoidable_collisions,
        stats.failures.values().sum::<u64>()
    );
    html.push_str("<h2>Events</h2>\n<table>\n<tr><th>event type</th><th>events</th><th>on target</th><th>with a collision</th><th>min TTC p10 (s)</th><th>p50</th><th>p90</th></tr>\n");
    for (k, e) in &stats.by_event {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(k),
            e.events,
            e.on_target,
            e.collisions,
            fmt_opt(quantile(&e.min_ttc_s, 0.1)),
            fmt_opt(quantile(&e.min_ttc_s, 0.5)),
            fmt_opt(quantile(&e.min_ttc_s, 0.9))
        );
    }
    html.push_str("</table>\n");
    if !stats.failures.is_empty() {
        html.push_str("<h2>Not made</h2>\n<table>\n<tr><th>kind</th><th>scenarios</th></tr>\n");
        for (k, n) in &stats.failures {
            let _ = writeln!(html, "<tr><td>{}</td><td>{n}</td></tr>", esc(k));
        }
        html.push_str("</table>\n");
    }
    for (file, caption, bytes) in plots {
        let path = out.join(file);
        let bytes = bytes.map_err(plot_err(&path))?;
        roadworld_export::write_atomic(&path, &bytes)?;
        written.push(path);
        let _ = writeln!(
            html,
            "<h2>{0}</h2>\n<img src=\"{1}\" alt=\"{0}\" width=\"{2}\" height=\"{3}\">",
            esc(caption),
            file,
            PLOT.0,
            PLOT.1
        );
    }
    html.push_str("</body>\n</html>\n");
    let path = out.join("index.html");
    roadworld_export::write_atomic(&path, html.as_bytes())?;
    written.push(path);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&v, 0.5), Some(3.0));
        assert_eq!(quantile(&v, 0.9), Some(5.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn plots_are_pngs_of_the_asked_size_with_bars_drawn() {
        let mut counts = BTreeMap::new();
        counts.insert("cut_in".to_string(), 7);
        counts.insert("debris".to_string(), 2);
        let bytes = bars("Events", "events", &counts).expect("bars");
        let img = image::load_from_memory(&bytes).expect("png").to_rgb8();
        assert_eq!(img.dimensions(), PLOT);
        let blue = img
            .pixels()
            .filter(|p| p.0 == [BAR.0, BAR.1, BAR.2])
            .count();
        // Two bars, the longer 3.5 times the shorter: thousands of pixels of bar colour.
        assert!(blue > 10_000, "{blue} bar pixels");
        // Text was drawn: dark pixels beyond the axes.
        let dark = img.pixels().filter(|p| p.0.iter().all(|c| *c < 80)).count();
        assert!(dark > 500, "{dark} dark pixels");
        let h = histogram("TTC", "s", &[0.5, 0.6, 1.2, 9.9, 25.0], 0.0, 10.0, 20).expect("hist");
        assert_eq!(image::load_from_memory(&h).expect("png").width(), PLOT.0);
        // Same input, same bytes.
        assert_eq!(bars("Events", "events", &counts).expect("bars"), bytes);
    }
}
