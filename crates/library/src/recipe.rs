//! A scenario's recipe: what the library stores by default for each scenario.
//!
//! Generation is deterministic, so a scenario is fully described by its resolved spec (every
//! drawn value fixed, with the seed the scenario was made from) and the engine that made it.
//! The recipe keeps those and the scenario's summary (criticality, events, solvability), as
//! RON compressed with gzip (`zcat x.ron.gz` reads it): about 2-3 KB for a scenario that
//! would take megabytes as trajectories.

use crate::LibraryError;
use roadworld_scenario::Summary;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};

/// A recipe is refused when it unpacks to more than this (a corrupt or hostile file).
const MAX_RECIPE_BYTES: u64 = 16 << 20;

/// One scenario of a library, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// The engine that made it (`roadworld 0.1.0`).
    pub engine: String,
    /// Its index in the library.
    pub index: u64,
    /// The library entry (scenario spec file) it was drawn from.
    pub entry: String,
    /// Scenarios rolled out to meet the entry's targets.
    pub tries: u32,
    /// The resolved spec, as [`roadworld_spec::to_ron`] writes it: generating it again gives
    /// the scenario again.
    pub spec: String,
    /// What the scenario's summary says.
    pub summary: Summary,
}

impl Recipe {
    /// Content hash: the engine and the resolved spec (hex SHA-256, 32 characters), so the same
    /// scenario made twice has the same id.
    pub fn id(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.engine.as_bytes());
        h.update([0]);
        h.update(self.spec.as_bytes());
        hex(&h.finalize()[..16])
    }

    /// The stored bytes: RON, gzip at the best compression (no timestamp, no file name).
    pub fn encode(&self) -> Result<Vec<u8>, LibraryError> {
        let text = ron::ser::to_string(self).map_err(|e| LibraryError::Invalid {
            path: format!("recipe {}", self.index),
            message: format!("could not serialise: {e}"),
        })?;
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::best());
        let io = |source| LibraryError::Io {
            path: format!("recipe {}", self.index),
            source,
        };
        gz.write_all(text.as_bytes()).map_err(io)?;
        gz.finish().map_err(io)
    }

    /// Reads stored bytes back; `path` names the file in errors.
    pub fn decode(bytes: &[u8], path: &str) -> Result<Self, LibraryError> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_RECIPE_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| LibraryError::Invalid {
                path: path.to_string(),
                message: format!("not a gzip'd recipe: {e}"),
            })?;
        ron::from_str(&text).map_err(|e| LibraryError::Invalid {
            path: path.to_string(),
            message: format!("recipe: {e}"),
        })
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Hex SHA-256 of some bytes (32 characters).
pub(crate) fn content_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes)[..16])
}
