//! Library specs: what a batch draws its scenarios from (`scenarios/libraries/*.ron`).
//!
//! A library spec names scenario specs (paths relative to the library file) with weights;
//! scenario `i` of a batch with seed `S` takes its seed from [`scenario_seed`]`(S, i)` and
//! picks its spec with a weighted draw from that seed's own stream, so any scenario of a
//! library can be made again on its own, in any order, on any machine.
//!
//! ```ron
//! (
//!     name: "long-tail",
//!     entries: [
//!         (spec: "cut-in.ron", weight: 2.0),
//!         (spec: "gauntlet.ron"),
//!     ],
//! )
//! ```

use crate::{ScenarioSpec, SpecError, parse_checked, read_spec_text, stream_seed};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// At most this many entries in a library spec.
pub const MAX_ENTRIES: usize = 1000;

/// A library spec as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibrarySpec {
    /// A name for people (reports, the index).
    pub name: String,
    /// The scenario specs scenarios are drawn from.
    pub entries: Vec<LibraryEntry>,
}

/// One scenario spec of a library and how often it is drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryEntry {
    /// Path of the scenario spec, relative to the library file.
    pub spec: String,
    /// Relative weight (default 1).
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

/// A library spec with its scenario specs loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Library {
    pub spec: LibrarySpec,
    /// One per entry, in order.
    pub scenarios: Vec<ScenarioSpec>,
}

/// Stream label for the spec draw of a library scenario.
const PICK_STREAM: u64 = 0x4C49_4252_4152_5931;
/// Stream label for library scenario seeds.
const SEED_STREAM: u64 = 0x4C49_4252_5345_4544;

/// The seed of scenario `index` of a library batched with `seed`.
pub fn scenario_seed(seed: u64, index: u64) -> u64 {
    stream_seed(stream_seed(seed, SEED_STREAM), index)
}

impl Library {
    /// The entry scenario `index` of a batch with `seed` is drawn from (weighted).
    pub fn pick(&self, seed: u64, index: u64) -> usize {
        let total: f64 = self.spec.entries.iter().map(|e| e.weight).sum();
        let mut rng =
            ChaCha8Rng::seed_from_u64(stream_seed(scenario_seed(seed, index), PICK_STREAM));
        let mut x = rng.random_range(0.0..total);
        for (i, e) in self.spec.entries.iter().enumerate() {
            if x < e.weight {
                return i;
            }
            x -= e.weight;
        }
        // Rounding at the top end: the last entry with weight.
        self.spec
            .entries
            .iter()
            .rposition(|e| e.weight > 0.0)
            .unwrap_or(0)
    }
}

fn check(spec: &LibrarySpec) -> Result<(), (String, String)> {
    if spec.name.len() > 200 {
        return Err((
            "name".into(),
            format!("at most 200 characters, got {}", spec.name.len()),
        ));
    }
    if spec.entries.is_empty() {
        return Err(("entries".into(), "needs at least one scenario spec".into()));
    }
    if spec.entries.len() > MAX_ENTRIES {
        return Err((
            "entries".into(),
            format!("at most {MAX_ENTRIES} entries, got {}", spec.entries.len()),
        ));
    }
    for (i, e) in spec.entries.iter().enumerate() {
        if !(e.weight.is_finite() && (0.0..=1e6).contains(&e.weight)) {
            return Err((
                format!("entries[{i}].weight"),
                format!("must be in [0, 1000000], got {}", e.weight),
            ));
        }
        if e.spec.is_empty() {
            return Err((format!("entries[{i}].spec"), "empty path".into()));
        }
    }
    if spec.entries.iter().all(|e| e.weight == 0.0) {
        return Err((
            "entries".into(),
            "every weight is 0: nothing to draw".into(),
        ));
    }
    Ok(())
}

/// Parses a library spec from text; `file` names it in errors. The scenario specs are not
/// read (see [`load_library`]).
pub fn parse_library(text: &str, file: &str) -> Result<LibrarySpec, SpecError> {
    parse_checked(text, file, check)
}

/// Reads a library spec and every scenario spec it names (relative to its folder). An error
/// in a scenario spec names that file.
pub fn load_library(path: &Path) -> Result<Library, SpecError> {
    let text = read_spec_text(path)?;
    let spec = parse_library(&text, &path.display().to_string())?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let scenarios = spec
        .entries
        .iter()
        .map(|e| crate::load_spec(&entry_path(&dir, &e.spec)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Library { spec, scenarios })
}

fn entry_path(dir: &Path, spec: &str) -> PathBuf {
    dir.join(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib(weights: &[f64]) -> Library {
        let spec = LibrarySpec {
            name: "t".into(),
            entries: weights
                .iter()
                .map(|&w| LibraryEntry {
                    spec: "x.ron".into(),
                    weight: w,
                })
                .collect(),
        };
        let scenarios =
            vec![crate::parse_spec("(name: \"x\")", "x.ron").expect("spec"); weights.len()];
        Library { spec, scenarios }
    }

    #[test]
    fn picks_follow_the_weights_and_skip_zero_weights() {
        let l = lib(&[3.0, 0.0, 1.0]);
        let mut counts = [0usize; 3];
        for i in 0..4000 {
            counts[l.pick(7, i)] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = counts[0] as f64 / 4000.0;
        assert!((0.72..0.78).contains(&share), "{counts:?}");
    }

    #[test]
    fn scenario_seeds_differ_per_index_and_per_batch_seed() {
        assert_ne!(scenario_seed(1, 0), scenario_seed(1, 1));
        assert_ne!(scenario_seed(1, 0), scenario_seed(2, 0));
        assert_eq!(scenario_seed(5, 9), scenario_seed(5, 9));
    }

    #[test]
    fn bad_weights_and_unknown_fields_point_at_the_value() {
        let e = parse_library(
            "(name: \"l\", entries: [(spec: \"a.ron\"), (spec: \"b.ron\", weight: -1.0)])",
            "l.ron",
        )
        .expect_err("negative weight");
        assert_eq!(e.path, "entries[1].weight");
        assert!(e.message.contains("-1"), "{e}");
        let e = parse_library(
            "(name: \"l\", entries: [(spec: \"a.ron\", wieght: 1.0)])",
            "l.ron",
        )
        .expect_err("unknown field");
        assert!(e.to_string().contains("wieght"), "{e}");
        let e = parse_library("(name: \"l\", entries: [])", "l.ron").expect_err("empty");
        assert_eq!(e.path, "entries");
    }

    #[test]
    fn a_bad_scenario_spec_is_reported_with_its_own_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("lib.ron"),
            "(name: \"l\", entries: [(spec: \"bad.ron\")])",
        )
        .expect("write");
        std::fs::write(dir.path().join("bad.ron"), "(name: \"b\", colour: 3)").expect("write");
        let e = load_library(&dir.path().join("lib.ron")).expect_err("bad entry");
        assert!(e.file.ends_with("bad.ron"), "{e}");
        let e = load_library(&dir.path().join("none.ron")).expect_err("missing");
        assert!(e.message.contains("cannot read"), "{e}");
    }
}
