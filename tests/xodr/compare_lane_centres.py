#!/usr/bin/env python3
"""Cross-check roadworld's lane geometry against a third-party OpenDRIVE reader (pyxodr).

For every `road.xodr` with a `lanes.csv` beside it (written by
`roadworld road --lane-samples`: our lane centre points, every 0.5 m), pyxodr parses the
file and computes every lane's centre line by its own geometry code. Each point pyxodr
computes must lie within --tol-m (default 0.01 m) of our centre line, and both must cover
the same stretch (end points within the sampling step). Every lane we wrote must exist in
pyxodr's network and vice versa.

Usage: compare_lane_centres.py [--tol-m 0.01] [--resolution 0.1] [--jobs N] DIR_OR_FILE...
Prints OK/FAIL per file and ends with 'N passed, N failed'; exit 0 only if all pass.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np


def load_ours(path: Path) -> dict[tuple[str, int, int], np.ndarray]:
    """Our lane centre points by (road, section, lane). numpy's C parser reads the tens of
    megabytes of a long network several times faster than the csv module."""
    with path.open() as f:
        header = f.readline().strip().split(",")
    cols = [header.index(c) for c in ("road", "section", "lane", "x", "y")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a header-only file is an empty network, not a warning
        rows = np.loadtxt(path, delimiter=",", skiprows=1, usecols=cols, ndmin=2)
    lanes: dict[tuple[str, int, int], list] = defaultdict(list)
    if len(rows) == 0:
        return {}
    # The rows of a lane come together; split where (road, section, lane) changes.
    cuts = np.flatnonzero((rows[1:, :3] != rows[:-1, :3]).any(axis=1)) + 1
    for chunk in np.split(rows, cuts):
        road, section, lane = chunk[0, :3]
        lanes[(str(int(road)), int(section), int(lane))].append(chunk[:, 3:5])
    return {k: np.vstack(v) for k, v in lanes.items()}


def extend(line: np.ndarray, by_m: float) -> np.ndarray:
    """The polyline with straight extensions along its end tangents, so that a point of the
    other reader's line that overshoots an end is measured laterally, not along the lane
    (pyxodr offsets along forward-difference normals, which shifts end points along-track)."""
    if len(line) < 2:
        return line
    def tip(p, q):
        d = p - q
        n = np.linalg.norm(d)
        return p + d / n * by_m if n > 0 else p
    return np.vstack([tip(line[0], line[1]), line, tip(line[-1], line[-2])])


def dist_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance from each point to a densely sampled polyline: exact distance to the two
    segments beside the nearest vertex."""
    from scipy.spatial import cKDTree

    if len(line) == 1:
        return np.linalg.norm(points - line[0], axis=1)
    _, k = cKDTree(line).query(points)
    a = line[:-1]
    ab = line[1:] - a
    ab2 = np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-18)
    best = None
    for lo in (np.maximum(k - 1, 0), np.minimum(k, len(line) - 2)):
        d = points - a[lo]
        e = ab[lo]
        t = np.clip(np.einsum("ij,ij->i", d, e) / ab2[lo], 0.0, 1.0)
        d -= t[:, None] * e
        square = np.einsum("ij,ij->i", d, d)
        best = square if best is None else np.minimum(best, square)
    return np.sqrt(best)


def nudge(ours: dict[tuple[str, int, int], np.ndarray], by_m: float) -> str:
    """Moves the middle point of our longest lane sideways by `by_m` (along the normal of its
    neighbours' chord), for the self-test; returns which lane it moved."""
    key = max(ours, key=lambda k: len(ours[k]))
    line = ours[key]
    j = len(line) // 2
    d = line[j + 1] - line[j - 1]
    line[j] += np.array([-d[1], d[0]]) / np.linalg.norm(d) * by_m
    return f"road {key[0]} section {key[1]} lane {key[2]} point {j}"


def check(xodr: Path, tol: float, resolution: float, nudge_m: float = 0.0) -> bool:
    from pyxodr.road_objects.network import RoadNetwork

    csv_path = xodr.with_name("lanes.csv")
    if not csv_path.exists():
        print(f"FAIL {xodr}: no lanes.csv beside it (run roadworld road --lane-samples)")
        return False
    ours = load_ours(csv_path)
    if nudge_m:
        print(f"moved {nudge(ours, nudge_m)} by {nudge_m * 1000:.0f} mm sideways")
    net = RoadNetwork(str(xodr), resolution=resolution)
    seen = set()
    worst = (0.0, None)
    errors = []
    n_points = 0
    for road in net.get_roads():
        for i, ls in enumerate(road.lane_sections):
            for lane in ls.lanes:
                key = (str(road.id), i, int(lane.id))
                seen.add(key)
                theirs = np.asarray(lane.centre_line, dtype=float)[:, :2]
                if key not in ours:
                    errors.append(f"road {key[0]} section {i} lane {key[2]}: in pyxodr only")
                    continue
                mine = ours[key]
                if len(theirs) == 0:
                    continue
                d = dist_to_polyline(theirs, extend(mine, resolution + 0.5))
                n_points += len(d)
                k = int(d.argmax())
                if d[k] > worst[0]:
                    worst = (float(d[k]), f"road {key[0]} section {i} lane {key[2]} at ({theirs[k][0]:.2f}, {theirs[k][1]:.2f})")
                if d[k] > tol:
                    errors.append(f"road {key[0]} section {i} lane {key[2]}: pyxodr centre point "
                                  f"({theirs[k][0]:.3f}, {theirs[k][1]:.3f}) is {d[k]:.4f} m from ours")
                # Same extent: the ends agree within the two samplings' steps.
                for end_t, end_m in ((theirs[0], mine[0]), (theirs[-1], mine[-1])):
                    gap = float(np.linalg.norm(end_t - end_m))
                    if gap > resolution + 0.5 + tol:
                        errors.append(f"road {key[0]} section {i} lane {key[2]}: ends differ by {gap:.3f} m")
    for key in sorted(set(ours) - seen):
        errors.append(f"road {key[0]} section {key[1]} lane {key[2]}: written by roadworld, missing in pyxodr")
    ok = not errors
    for e in errors[:20]:
        print(f"  ERROR {e}")
    print(f"{'OK  ' if ok else 'FAIL'} {xodr}: {len(seen)} lanes, {n_points} pyxodr points, "
          f"max distance {worst[0] * 1000:.2f} mm ({worst[1]})")
    return ok


def check_safe(f: Path, tol: float, resolution: float, nudge_m: float = 0.0,
               prefix: str = "") -> bool:
    """`check`, its output printed at once; a crash fails the file, except in the self-test,
    where only a distance the comparison measured may count as caught."""
    import contextlib
    import io

    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf):
            ok = check(f, tol, resolution, nudge_m)
    except Exception as e:  # a reader crash is a failure of the file
        if nudge_m:
            raise
        buf.write(f"FAIL {f}: {type(e).__name__}: {e}\n")
        ok = False
    print("".join(prefix + line for line in buf.getvalue().splitlines(True)), end="", flush=True)
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--tol-m", type=float, default=0.01)
    ap.add_argument("--resolution", type=float, default=0.1,
                    help="pyxodr sampling step in m (default 0.1)")
    ap.add_argument("--jobs", type=int, default=1, help="files checked in parallel")
    ap.add_argument("--self-test", action="store_true",
                    help="then check that the first file fails once one of our centre points "
                         "is moved sideways by twice the tolerance")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    files = []
    for p in map(Path, a.paths):
        files += sorted(p.rglob("road.xodr")) if p.is_dir() else [p]
    if not files:
        print("error: no road.xodr found", file=sys.stderr)
        return 2
    import functools
    import multiprocessing

    # Imported once here, so that every forked worker starts with them loaded (pyxodr pulls
    # in matplotlib: about a second per file otherwise).
    import pyxodr.road_objects.network  # noqa: F401
    import scipy.spatial  # noqa: F401

    run = functools.partial(check_safe, tol=a.tol_m, resolution=a.resolution)
    # One process per file: pyxodr caches computed geometry for the life of the process, so a
    # long-lived worker grows by the size of every network it has read.
    pool = multiprocessing.get_context("fork").Pool(max(1, a.jobs), maxtasksperchild=1)
    with pool:
        results = pool.map(run, files, chunksize=1)
    failed = sum(not ok for ok in results)
    print(f"lane centres: {len(files) - failed} passed, {failed} failed")
    if a.self_test:
        caught = not check_safe(files[0], a.tol_m, a.resolution, 2 * a.tol_m, "self-test: ")
        print(f"self-test: {'caught' if caught else 'NOT caught, so this check cannot fail'}")
        failed += not caught
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
