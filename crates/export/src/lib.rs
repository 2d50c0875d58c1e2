//! Exports of roadworld networks.
//!
//! - [`xodr`]: ASAM OpenDRIVE 1.7 (`.xodr`), validated in CI against the official XSD and
//!   read back by a third-party reader;
//! - [`xosc`]: ASAM OpenSCENARIO 1.2 (`.xosc`) of a recorded scenario, validated in CI against
//!   the official XSD and parsed by a third-party reader;
//! - [`commonroad`]: CommonRoad 2020a (`.cr.xml`): lanelet network, obstacles with their
//!   trajectories and the ego's planning problem, validated in CI against the official XSD
//!   and loaded by commonroad-io and the drivability checker;
//! - [`preview`]: a top-down picture of a network for people (`road.png`);
//! - [`animation`]: an animated top-down GIF of a rollout following the ego (`sim.gif`);
//! - [`write_atomic`]: every file is written under a temporary name and renamed into place,
//!   so a failed run never leaves a half-written output.

#![forbid(unsafe_code)]

pub mod animation;
pub mod commonroad;
#[cfg(test)]
mod fixture;
pub mod preview;
mod xml;
pub mod xodr;
pub mod xosc;

use std::io::Write;
use std::path::Path;

/// Errors from writing exports.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: could not encode image: {source}")]
    Image {
        path: String,
        source: image::ImageError,
    },
}

/// Indices kept by greedy thinning of `n` points: from each kept index, the furthest next
/// index `j` such that `fits(anchor, j)` (the segment anchor..j stands for every point
/// between) is kept next; the first and last are always kept.
pub(crate) fn thin_by(n: usize, mut fits: impl FnMut(usize, usize) -> bool) -> Vec<usize> {
    if n <= 2 {
        return (0..n).collect();
    }
    let mut keep = vec![0];
    let mut anchor = 0;
    for j in 1..n - 1 {
        if !fits(anchor, j + 1) {
            keep.push(j);
            anchor = j;
        }
    }
    keep.push(n - 1);
    keep
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let io = |source| ExportError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".roadworld-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
