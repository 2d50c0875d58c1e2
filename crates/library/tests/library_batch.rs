//! Batches: the same library whatever the number of jobs, resumable, materialised later
//! byte for byte, and refused cleanly where the input or the folder is wrong.

use roadworld_library::index::Reader;
use roadworld_library::{BatchEvent, BatchOptions, Formats, batch, index_path, materialise, merge};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

const CUT_IN: &str = r#"(
    name: "short cut-in",
    road: (
        length_m: 2500.0,
        zones: [(class: Motorway, share: 1.0)],
        motorway: (lanes_per_direction: (min: 3, max: 3)),
    ),
    traffic: (density_per_km_lane: (motorway: 8.0, rural: 6.0, urban: 10.0)),
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

const PLAIN: &str = r#"(
    name: "plain rural",
    road: (length_m: 2000.0, zones: [(class: Rural, share: 1.0)]),
    sim: (duration_s: 30.0),
)"#;

fn library_spec(dir: &Path) -> roadworld_spec::Library {
    std::fs::write(dir.join("cut.ron"), CUT_IN).expect("write");
    std::fs::write(dir.join("plain.ron"), PLAIN).expect("write");
    std::fs::write(
        dir.join("lib.ron"),
        "(name: \"test\", entries: [(spec: \"cut.ron\", weight: 2.0), (spec: \"plain.ron\")])",
    )
    .expect("write");
    roadworld_spec::load_library(&dir.join("lib.ron")).expect("library spec")
}

fn opts(count: u64, jobs: usize, formats: Formats) -> BatchOptions {
    BatchOptions {
        count,
        seed: 11,
        jobs,
        shard: None,
        formats,
        slow_after: BatchOptions::SLOW_AFTER,
    }
}

/// SHA-256 of every file under `dir` (symlinks as their targets' paths), by relative path.
fn digests(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let e = e.expect("entry");
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .expect("under root")
                .display()
                .to_string();
            let ft = e.file_type().expect("file type");
            if ft.is_symlink() {
                let t = std::fs::read_link(&p).expect("link");
                out.insert(rel, format!("-> {}", t.display()));
            } else if ft.is_dir() {
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

/// Every output format.
const ALL: Formats = Formats {
    native: true,
    xodr: true,
    xosc: true,
    commonroad: true,
    csv: true,
};

/// The native files only.
const NATIVE: Formats = Formats {
    native: true,
    xodr: false,
    xosc: false,
    commonroad: false,
    csv: false,
};

const NONE: &(dyn Fn(BatchEvent) + Sync) = &|_| {};

#[test]
fn one_job_and_two_jobs_make_the_same_library_byte_for_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = library_spec(tmp.path());
    let all = ALL;
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let ra = batch(&lib, &a, opts(8, 1, all), NONE).expect("batch jobs 1");
    let rb = batch(&lib, &b, opts(8, 2, all), NONE).expect("batch jobs 2");
    assert_eq!(ra, rb);
    assert_eq!(ra.made + ra.failed.len() as u64, 8, "{ra:?}");
    assert!(ra.made >= 6, "{ra:?}");
    let (da, db) = (digests(&a), digests(&b));
    assert_eq!(da, db);
    // Recipes, the index, the manifest and every materialised output are there.
    assert!(da.contains_key("index.sqlite") && da.contains_key("library.ron"));
    let recipes = da.keys().filter(|k| k.ends_with(".ron.gz")).count() as u64;
    assert_eq!(recipes, ra.made);
    let trajectories = da
        .keys()
        .filter(|k| k.ends_with("trajectories.rwtraj"))
        .count() as u64;
    assert_eq!(trajectories, ra.made);
    // Both entries were drawn, and the index has a row for each scenario made.
    let found = Reader::open(&index_path(&a))
        .expect("index")
        .query("1")
        .expect("query");
    assert_eq!(found.len() as u64, ra.made);
    let entries: std::collections::BTreeSet<_> = found
        .iter()
        .map(|f| f.row["entry"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
}

#[test]
fn recipes_are_small_and_materialise_to_the_bytes_a_batch_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = library_spec(tmp.path());
    let all = ALL;
    let eager = tmp.path().join("eager");
    let lazy = tmp.path().join("lazy");
    let r = batch(&lib, &eager, opts(6, 2, all), NONE).expect("eager batch");
    batch(&lib, &lazy, opts(6, 2, Formats::default()), NONE).expect("recipe batch");
    let reader = Reader::open(&index_path(&lazy)).expect("index");
    // Recipes-only: the same index and recipes as the eager batch.
    let (de, dl) = (digests(&eager), digests(&lazy));
    for (k, v) in &dl {
        assert_eq!(de.get(k), Some(v), "{k}");
    }
    for k in dl.keys().filter(|k| k.ends_with(".ron.gz")) {
        let size = std::fs::metadata(lazy.join(k)).expect("recipe").len();
        assert!(size <= 5 * 1024, "{k}: {size} bytes");
    }
    // Materialised later, only the cut-ins, into another folder.
    let out = tmp.path().join("materialised");
    let cut_ins = reader.query("event = 'cut_in'").expect("query");
    assert!(!cut_ins.is_empty() && (cut_ins.len() as u64) < r.made);
    for f in &cut_ins {
        materialise(&lazy, &f.recipe, &out, all).expect("materialise");
    }
    let dm = digests(&out);
    assert!(!dm.is_empty());
    for (k, v) in &dm {
        assert_eq!(de.get(k), Some(v), "{k} differs from the eager batch's");
    }
    let scenario_files = dm.keys().filter(|k| k.starts_with("scenarios/")).count();
    // scenario.ron, summary.ron, trajectories.rwtraj, trajectories.csv, scenario.xosc,
    // scenario.cr.xml, road.xodr.
    assert_eq!(scenario_files, 7 * cut_ins.len());
}

#[test]
fn a_batch_resumes_where_it_stopped_and_cleans_what_was_in_flight() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = library_spec(tmp.path());
    let whole = tmp.path().join("whole");
    let parts = tmp.path().join("parts");
    batch(&lib, &whole, opts(7, 2, Formats::default()), NONE).expect("whole");
    // First the first four, then leftovers of work in flight (a temporary file, a recipe
    // without an index row), then all seven.
    let first = batch(&lib, &parts, opts(4, 2, Formats::default()), NONE).expect("first");
    assert_eq!(first.already, 0);
    let shard = parts.join("recipes/000/000");
    std::fs::write(shard.join(".roadworld-abc.tmp"), b"half").expect("write");
    std::fs::write(shard.join("000000006.ron.gz"), b"half a recipe").expect("write");
    let second = batch(&lib, &parts, opts(7, 2, Formats::default()), NONE).expect("second");
    assert_eq!(second.already, 4);
    assert_eq!(second.made + second.failed.len() as u64, 3);
    assert_eq!(digests(&whole), digests(&parts));
}

#[test]
fn a_scenario_running_past_the_warning_time_is_named_and_the_library_is_the_same() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = library_spec(tmp.path());
    let plain = tmp.path().join("plain");
    let warned = tmp.path().join("warned");
    batch(&lib, &plain, opts(4, 2, Formats::default()), NONE).expect("plain");
    // Every scenario is "slow" at once: each is named while it runs, with its seed and entry.
    let heard = std::sync::Mutex::new(Vec::new());
    let events = |e: BatchEvent| {
        let e = match e {
            BatchEvent::Progress { done, total } => (0, done, total, String::new()),
            BatchEvent::Slow {
                index, seed, entry, ..
            } => (1, index, seed, entry.to_string()),
        };
        heard.lock().expect("events").push(e);
    };
    let options = BatchOptions {
        slow_after: std::time::Duration::ZERO,
        ..opts(4, 2, Formats::default())
    };
    let report = batch(&lib, &warned, options, &events).expect("warned");
    let heard = heard.into_inner().expect("events");
    let progress: Vec<_> = heard.iter().filter(|e| e.0 == 0).collect();
    assert_eq!(progress.len(), 4, "{heard:?}");
    assert_eq!(progress.last().map(|e| (e.1, e.2)), Some((4, 4)));
    let slow: Vec<_> = heard.iter().filter(|e| e.0 == 1).collect();
    assert!(!slow.is_empty(), "{heard:?}");
    for (_, index, seed, entry) in slow {
        assert!(*index < 4);
        assert_eq!(*seed, roadworld_spec::library::scenario_seed(11, *index));
        assert_eq!(*entry, lib.spec.entries[lib.pick(11, *index)].spec);
    }
    assert_eq!(report.made + report.failed.len() as u64, 4);
    assert_eq!(digests(&plain), digests(&warned));
}

#[test]
fn shards_cover_the_library_between_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = library_spec(tmp.path());
    let whole = tmp.path().join("whole");
    batch(&lib, &whole, opts(6, 2, Formats::default()), NONE).expect("whole");
    let mut seen = Vec::new();
    for i in 0..3 {
        let dir = tmp.path().join(format!("shard{i}"));
        let mut o = opts(6, 1, Formats::default());
        o.shard = Some((i, 3));
        let r = batch(&lib, &dir, o, NONE).expect("shard");
        assert_eq!(r.wanted, 2);
        let d = digests(&dir);
        for (k, v) in d.iter().filter(|(k, _)| k.ends_with(".ron.gz")) {
            assert_eq!(digests(&whole).get(k), Some(v), "{k}");
            seen.push(k.clone());
        }
    }
    seen.sort();
    let whole_recipes: Vec<_> = digests(&whole)
        .into_keys()
        .filter(|k| k.ends_with(".ron.gz"))
        .collect();
    assert_eq!(seen, whole_recipes);
    // Merged (two at once, then the third into the result), the shards are the whole
    // library, byte for byte.
    let merged = tmp.path().join("merged");
    let shard = |i: u32| tmp.path().join(format!("shard{i}"));
    let n = merge(&merged, &[shard(0), shard(1)]).expect("merge");
    assert_eq!(n, 4);
    assert_eq!(
        merge(&merged, &[shard(2), shard(1)]).expect("merge again"),
        2
    );
    assert_eq!(digests(&whole), digests(&merged));
    // A library of another seed is not merged in.
    let other = tmp.path().join("other");
    let mut o = opts(1, 1, Formats::default());
    o.seed = 99;
    batch(&lib, &other, o, NONE).expect("other");
    let e = merge(&merged, &[other]).expect_err("another seed");
    assert!(e.to_string().contains("library.ron"), "{e}");
    assert_eq!(digests(&whole), digests(&merged));
}

#[test]
fn a_library_made_with_another_seed_or_spec_is_not_mixed_into() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = library_spec(tmp.path());
    let dir = tmp.path().join("lib");
    batch(&lib, &dir, opts(1, 1, Formats::default()), NONE).expect("batch");
    let before = digests(&dir);
    let mut o = opts(2, 1, Formats::default());
    o.seed = 12;
    let e = batch(&lib, &dir, o, NONE).expect_err("another seed");
    assert!(e.to_string().contains("seed 11 (asked 12)"), "{e}");
    let mut other = lib.clone();
    other.spec.entries[0].weight = 5.0;
    let e = batch(&other, &dir, opts(2, 1, Formats::default()), NONE).expect_err("another spec");
    assert!(e.to_string().contains("library.ron"), "{e}");
    assert_eq!(before, digests(&dir), "nothing written");
}

#[test]
fn an_output_folder_that_cannot_be_made_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = library_spec(tmp.path());
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"x").expect("write");
    let e = batch(
        &lib,
        &file.join("lib"),
        opts(1, 1, Formats::default()),
        NONE,
    )
    .expect_err("not a folder");
    assert!(e.to_string().contains("a-file"), "{e}");
}

#[test]
fn a_recipe_made_by_another_engine_is_refused_not_materialised_wrongly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let lib = library_spec(tmp.path());
    let dir = tmp.path().join("lib");
    batch(&lib, &dir, opts(1, 1, Formats::default()), NONE).expect("batch");
    let rel = roadworld_library::recipe_path(0);
    let bytes = std::fs::read(dir.join(&rel)).expect("recipe");
    let mut r = roadworld_library::recipe::Recipe::decode(&bytes, &rel).expect("decode");
    r.summary.duration_s += 1.0;
    r.engine = "roadworld 0.0.1".into();
    std::fs::write(dir.join(&rel), r.encode().expect("encode")).expect("write");
    let out = tmp.path().join("out");
    let e = materialise(&dir, &rel, &out, NATIVE).expect_err("differs");
    assert!(e.to_string().contains("roadworld 0.0.1"), "{e}");
    assert!(!out.join(roadworld_library::scenario_dir(0)).exists());
    std::fs::write(dir.join(&rel), b"not gzip").expect("write");
    let e = materialise(&dir, &rel, &out, NATIVE).expect_err("corrupt");
    assert!(e.to_string().contains("not a gzip'd recipe"), "{e}");
}

#[test]
fn the_default_library_draws_from_every_example_spec_with_events() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let lib =
        roadworld_spec::load_library(&root.join("libraries/default.ron")).expect("default library");
    let mut with_events: Vec<String> = std::fs::read_dir(&root)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .filter(|p| {
            !roadworld_spec::load_spec(p)
                .expect("example spec")
                .events
                .is_empty()
        })
        .map(|p| format!("../{}", p.file_name().unwrap_or_default().to_string_lossy()))
        .collect();
    with_events.sort();
    let mut listed: Vec<String> = lib.spec.entries.iter().map(|e| e.spec.clone()).collect();
    listed.sort();
    assert_eq!(listed, with_events);
}
