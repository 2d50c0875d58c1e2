//! Golden digests of OpenDRIVE exports: the same spec and seed must keep producing the same
//! bytes. A deliberate change to the generator or the writer updates the digests
//! (`UPDATE_GOLDEN=1 cargo test -p roadworld-cli --test opendrive_export_matches_golden_digests`)
//! and the diff of `tests/golden/xodr.sha256` is reviewed with it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use roadworld_export::xodr::to_xodr;
use roadworld_road::generate;
use roadworld_spec::load_spec;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;

#[test]
fn opendrive_exports_match_golden_digests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut actual = String::new();
    for spec in ["motorway", "rural", "urban", "mixed", "mixed-long"] {
        let s = load_spec(&root.join(format!("scenarios/{spec}.ron"))).unwrap();
        for seed in [0u64, 1, 42] {
            let net = generate(&s.road, seed).unwrap();
            let digest = Sha256::digest(to_xodr(&net).as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(actual, "{hex}  {spec} seed {seed}").unwrap();
        }
    }
    let golden = root.join("tests/golden/xodr.sha256");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap_or_default();
    assert_eq!(
        actual, expected,
        "OpenDRIVE output changed; review and run with UPDATE_GOLDEN=1"
    );
}
