//! `roadworld batch`, `query` and `export` as a user runs them: killed with SIGKILL in the
//! middle of a batch and run again, the library is the one an uninterrupted batch makes.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SPEC: &str = r#"(
    name: "short cut-in",
    road: (
        length_m: 2500.0,
        zones: [(class: Motorway, share: 1.0)],
        motorway: (lanes_per_direction: (min: 3, max: 3)),
    ),
    events: [(
        kind: CutIn(
            gap_m: Uniform(min: 5.0, max: 15.0),
            rel_speed_mps: Uniform(min: -5.0, max: -1.0),
            lateral_s: Uniform(min: 1.5, max: 3.0),
        ),
        window_s: (min: 8.0, max: 15.0),
        target: (min_ttc_s: (min: 1.0, max: 4.0)),
    )],
    sim: (duration_s: 35.0),
)"#;

fn roadworld() -> Command {
    Command::new(env!("CARGO_BIN_EXE_roadworld"))
}

fn setup(dir: &Path) -> std::path::PathBuf {
    std::fs::write(dir.join("cut.ron"), SPEC).expect("write");
    let lib = dir.join("lib.ron");
    std::fs::write(&lib, "(name: \"t\", entries: [(spec: \"cut.ron\")])").expect("write");
    lib
}

fn digests(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            let rel = p.strip_prefix(root).expect("root").display().to_string();
            let meta = std::fs::symlink_metadata(&p).expect("meta");
            if meta.file_type().is_symlink() {
                out.insert(
                    rel,
                    format!("-> {:?}", std::fs::read_link(&p).expect("link")),
                );
            } else if meta.is_dir() {
                walk(root, &p, out);
            } else {
                let bytes = std::fs::read(&p).expect("read");
                out.insert(rel, format!("{:x}", Sha256::digest(&bytes)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Recipes in a library that may be being written (files come and go under it).
fn recipes(dir: &Path) -> usize {
    fn walk(dir: &Path) -> usize {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return 0;
        };
        rd.flatten()
            .map(|e| {
                let p = e.path();
                if p.is_dir() {
                    walk(&p)
                } else {
                    usize::from(p.to_string_lossy().ends_with(".ron.gz"))
                }
            })
            .sum()
    }
    walk(&dir.join("recipes"))
}

fn batch_args(c: &mut Command, lib: &Path, out: &Path, count: u32) {
    c.args(["batch", "--spec"])
        .arg(lib)
        .args(["--count", &count.to_string(), "--seed", "5", "--jobs", "2"])
        .args(["--formats", "native,xodr", "--out"])
        .arg(out);
}

#[test]
fn a_batch_killed_mid_way_and_run_again_equals_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = setup(tmp.path());
    let whole = tmp.path().join("whole");
    let killed = tmp.path().join("killed");
    let count = 24;

    let mut c = roadworld();
    batch_args(&mut c, &lib, &whole, count);
    let o = c.output().expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Kill -9 once a few scenarios are in: the process must still be running then.
    let mut c = roadworld();
    batch_args(&mut c, &lib, &killed, count);
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let t0 = Instant::now();
    while recipes(&killed) < 3 && t0.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the batch finished before it could be killed"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let left = recipes(&killed);
    assert!(left < count as usize, "{left} recipes after the kill");

    // Run again: it goes on, cleans what was in flight, and the library is the same.
    let mut c = roadworld();
    batch_args(&mut c, &lib, &killed, count);
    let o = c.output().expect("resume");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("already there"), "{text}");
    assert_eq!(digests(&whole), digests(&killed));
}

/// A full disk, for real: the batch runs in a mount namespace of its own on a tmpfs of
/// 3 MiB (`unshare -rm`, util-linux; user namespaces or root), which fills up about half way
/// through the library (6.5 MB).
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_stops_the_batch_with_a_clear_error_and_resuming_elsewhere_finishes_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = setup(tmp.path());
    let whole = tmp.path().join("whole");
    let mnt = tmp.path().join("mnt");
    let copy = tmp.path().join("copy");
    std::fs::create_dir(&mnt).expect("mkdir");
    let count = 6;

    let mut c = roadworld();
    batch_args(&mut c, &lib, &whole, count);
    let o = c.output().expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // In the namespace: mount, run the batch onto the small disk, keep its exit status and
    // stderr, and copy what it left out before the mount goes away with the namespace.
    let script = r#"mount -t tmpfs -o size=3m none "$1" || exit 90
"$2" batch --spec "$3" --count "$4" --seed 5 --jobs 2 --formats native,xodr --out "$1/lib" 2> "$5.stderr"
echo $? > "$5.rc"
cp -a "$1/lib" "$5""#;
    let o = Command::new("unshare")
        .args(["-rm", "sh", "-c", script, "sh"])
        .arg(&mnt)
        .arg(env!("CARGO_BIN_EXE_roadworld"))
        .arg(&lib)
        .arg(count.to_string())
        .arg(&copy)
        .output()
        .expect("unshare (util-linux) runs");
    assert!(
        o.status.success(),
        "could not run the batch on a tmpfs in a mount namespace: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rc = std::fs::read_to_string(copy.with_extension("rc")).expect("rc");
    let stderr = std::fs::read_to_string(copy.with_extension("stderr")).expect("stderr");
    assert_eq!(rc.trim(), "1", "{stderr}");
    let line = stderr.lines().last().unwrap_or_default();
    assert!(
        line.starts_with("error: ")
            && line.contains("No space left on device")
            && line.contains("/mnt/lib/"),
        "{stderr}"
    );
    assert_eq!(line.matches("No space left on device").count(), 1, "{line}");
    let made = recipes(&copy);
    assert!(made >= 1 && made < count as usize, "{made} recipes");

    // The library it left is consistent: run again on a disk with room, it is the library
    // an uninterrupted batch makes.
    let mut c = roadworld();
    batch_args(&mut c, &lib, &copy, count);
    let o = c.output().expect("resume");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(digests(&whole), digests(&copy));
}

#[test]
fn query_and_export_find_and_materialise_what_the_index_says() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = setup(tmp.path());
    let dir = tmp.path().join("lib");
    let o = roadworld()
        .args(["batch", "--spec"])
        .arg(&lib)
        .args(["--count", "4", "--out"])
        .arg(&dir)
        .output()
        .expect("batch");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = roadworld()
        .arg("query")
        .arg(&dir)
        .args(["--event", "cut_in", "--max-ttc", "4", "--jsonl"])
        .output()
        .expect("query");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(
            l["event_types"]
                .as_str()
                .is_some_and(|t| t.contains("cut_in"))
        );
        assert!(l["min_ttc_s"].as_f64().is_some_and(|t| t <= 4.0), "{l}");
    }
    // Nothing has a TTC below 0.
    let o = roadworld()
        .arg("query")
        .arg(&dir)
        .args(["--where", "min_ttc_s < 0", "--jsonl"])
        .output()
        .expect("query");
    assert!(o.status.success());
    assert!(o.stdout.is_empty());
    // Stats: the table per event type, and a report whose page shows every plot it wrote.
    let report = tmp.path().join("report");
    let o = roadworld()
        .arg("stats")
        .arg(&dir)
        .arg("--html")
        .arg(&report)
        .output()
        .expect("stats");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("| cut_in | 4 |"), "{table}");
    assert!(table.contains("4 scenario(s) in the library"), "{table}");
    let html = std::fs::read_to_string(report.join("index.html")).expect("index.html");
    let mut pngs = 0;
    for e in std::fs::read_dir(&report).expect("report") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "png") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                html.contains(&format!("src=\"{name}\"")),
                "{name} not on the page"
            );
            assert!(std::fs::read(&p).expect("png").starts_with(b"\x89PNG"));
            pngs += 1;
        }
    }
    assert_eq!(pngs, 7);
    // A bad expression is an error naming it.
    let o = roadworld()
        .arg("query")
        .arg(&dir)
        .args(["--where", "no_such_column = 1"])
        .output()
        .expect("query");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no_such_column"));
    // Export what the query found.
    let out = tmp.path().join("sel");
    let o = roadworld()
        .arg("export")
        .arg(&dir)
        .args([
            "--where",
            "event = 'cut_in'",
            "--formats",
            "native",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("export");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let d = digests(&out);
    let all = roadworld()
        .arg("query")
        .arg(&dir)
        .args(["--where", "event = 'cut_in'", "--jsonl"])
        .output()
        .expect("query");
    let n = String::from_utf8_lossy(&all.stdout).lines().count();
    assert!(n >= lines.len() && n > 0);
    for name in ["summary.ron", "scenario.ron", "trajectories.rwtraj"] {
        assert_eq!(d.keys().filter(|k| k.ends_with(name)).count(), n, "{name}");
    }
    assert!(
        !d.keys().any(|k| k.ends_with(".xodr")),
        "only native was asked for"
    );
}

#[test]
fn a_malformed_library_spec_is_a_clear_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    setup(tmp.path());
    let lib = tmp.path().join("bad.ron");
    std::fs::write(
        &lib,
        "(name: \"t\",\n entries: [(spec: \"cut.ron\", weight: -2.0)])",
    )
    .expect("write");
    let out = tmp.path().join("lib");
    let o = roadworld()
        .args(["batch", "--spec"])
        .arg(&lib)
        .args(["--count", "2", "--out"])
        .arg(&out)
        .output()
        .expect("batch");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.ron:2:") && err.contains("entries[0].weight"),
        "{err}"
    );
    assert!(!out.exists());
}
