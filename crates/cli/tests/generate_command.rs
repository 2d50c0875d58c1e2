//! The `roadworld generate` command end to end: the files it writes, the resolved spec
//! reproducing the scenario byte for byte, and bad input writing nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
}

fn generate(spec: &Path, seed: u64, out: &Path, preview: bool) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_roadworld"));
    c.args(["generate", "--spec"])
        .arg(spec)
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(out);
    if !preview {
        c.arg("--no-preview");
    }
    c.output().expect("run roadworld")
}

#[test]
fn generate_writes_the_resolved_spec_trajectories_summary_and_preview() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = generate(&scenario("cut-in.ron"), 1, &out, true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("1. cut_in"), "{stdout}");
    for f in [
        "scenario.ron",
        "road.xodr",
        "trajectories.rwtraj",
        "summary.ron",
        "preview.gif",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let summary = std::fs::read_to_string(out.join("summary.ron")).unwrap();
    assert!(summary.contains("kind: \"cut_in\""), "{summary}");
    assert!(summary.contains("min_ttc_s"), "{summary}");
    let gif = image::open(out.join("preview.gif")).unwrap();
    assert_eq!(gif.width(), 480);
}

#[test]
fn the_resolved_spec_gives_the_same_scenario_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let o = generate(&scenario("cut-in.ron"), 4, &a, false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Any --seed: the resolved spec carries its own.
    let o = generate(&a.join("scenario.ron"), 77, &b, false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "scenario.ron",
        "road.xodr",
        "trajectories.rwtraj",
        "summary.ron",
    ] {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{f} differs");
    }
}

#[test]
fn a_malformed_event_is_a_clear_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("bad.ron");
    std::fs::write(&spec, "(events: [(kind: CutIn(gap_m: Fixed(-2.0)))])\n").unwrap();
    let out = dir.path().join("out");
    let o = generate(&spec, 1, &out, false);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.ron:1:") && err.contains("events[0].kind.CutIn.gap_m"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn generate_with_tries_prints_a_line_per_try_the_last_on_target() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_roadworld"))
        .args(["generate", "--spec"])
        .arg(scenario("pull-out.ron"))
        .args(["--seed", "3", "--no-preview", "--tries", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    let tries: usize = stdout
        .split(" (")
        .nth(1)
        .and_then(|s| s.split(" tries to meet").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no try count in {stdout}"));
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("try ")).collect();
    assert_eq!(lines.len(), tries, "{stderr}");
    let (last, before) = lines.split_last().unwrap();
    assert!(last.starts_with(&format!("try {tries}: seed ")), "{last}");
    assert!(last.contains("rolled out, on target;"), "{last}");
    assert!(
        before.iter().all(|l| l.contains("rolled out, missed;")),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains("events[0] pull_out ") && l.contains("ttc_s ")),
        "{stderr}"
    );
}
