//! The `roadworld road` command end to end: outputs, determinism, left-hand traffic and bad
//! input (clear errors, non-zero exit, nothing written).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_roadworld"))
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
}

fn run_road(spec: &Path, seed: u64, out: &Path) -> std::process::Output {
    bin()
        .args(["road", "--spec"])
        .arg(spec)
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(out)
        .output()
        .expect("run roadworld")
}

#[test]
fn road_writes_opendrive_and_preview() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run_road(&scenario("mixed.ron"), 3, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let xodr = std::fs::read_to_string(out.join("road.xodr")).unwrap();
    assert!(xodr.contains("<header revMajor=\"1\" revMinor=\"7\""));
    assert!(xodr.contains("<junction "));
    let png = image::open(out.join("road.png")).unwrap();
    assert!(png.width() > 500 && png.height() > 100);
}

#[test]
fn same_spec_and_seed_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    for out in [&a, &b] {
        assert!(run_road(&scenario("mixed.ron"), 11, out).status.success());
    }
    assert!(run_road(&scenario("mixed.ron"), 12, &c).status.success());
    for f in ["road.xodr", "road.png"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
    assert_ne!(
        std::fs::read(a.join("road.xodr")).unwrap(),
        std::fs::read(c.join("road.xodr")).unwrap()
    );
}

#[test]
fn left_hand_traffic_mirrors_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("lht.ron");
    std::fs::write(
        &spec,
        "(name: \"lht\", road: (length_m: 3000.0, traffic_side: Left))",
    )
    .unwrap();
    let o = run_road(&spec, 5, &dir.path().join("out"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let xodr = std::fs::read_to_string(dir.path().join("out/road.xodr")).unwrap();
    assert!(xodr.contains("rule=\"LHT\"") && !xodr.contains("rule=\"RHT\""));
}

fn assert_rejected(spec_text: &str, expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("bad.ron");
    std::fs::write(&spec, spec_text).unwrap();
    let out = dir.path().join("out");
    let o = run_road(&spec, 1, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for e in expect {
        assert!(err.contains(e), "error should mention {e:?}: {err}");
    }
    assert!(!out.exists(), "nothing may be written for a bad spec");
}

#[test]
fn bad_specs_are_rejected_with_file_line_and_field() {
    assert_rejected(
        "(road: (length_m: -5.0))",
        &["bad.ron:1:19", "road.length_m", "got -5"],
    );
    assert_rejected(
        "(road: (\n  length_m: 5000.0,\n  widht: 3,\n))",
        &["bad.ron:3:", "widht"],
    );
    assert_rejected(
        "(road: (length_m: \"far\"))",
        &["bad.ron:1:", "road.length_m"],
    );
    assert_rejected(
        "(road: (zones: [(class: Highway, share: 1.0)]))",
        &["bad.ron:1:", "Highway"],
    );
    assert_rejected("(road: (length_m: 1e12))", &["road.length_m", "200000"]);
    assert_rejected(
        "(road: (rural: (lane_width_m: (min: 3.5, max: 3.0))))",
        &["road.rural.lane_width_m.max", "must be >= min"],
    );
    assert_rejected("(road: (length_m: 5000.0)", &["bad.ron:1:"]);
    assert_rejected("(road: (zones: []))", &["road.zones", "at least one zone"]);
}

#[test]
fn missing_spec_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_road(&dir.path().join("nope.ron"), 1, &dir.path().join("out"));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.ron"));
    assert!(!dir.path().join("out").exists());
}
