#!/usr/bin/env python3
"""Cross-check roadworld's time-to-collision against CommonRoad-CriMe's.

For each CommonRoad export (`scenario.cr.xml`, as `roadworld batch/export --formats
commonroad` writes it), the header remark gives roadworld's least constant-velocity TTC of
the ego, the time step where it occurs and the road user it is against. This script keeps
only the ego and that road user in a copy of the file (CriMe measures the ego against every
obstacle and, with commonroad-clcs 2025, stops at the first one outside the ego's
curvilinear frame), runs the shared validator `crime_metrics.py --measures TTC` over
`--steps` time steps either side, and compares:

- `crime_at`: CriMe's TTC at the same time step,
- `crime_min`: CriMe's least TTC over the steps evaluated,

with roadworld's value (relative difference; `agree` when within --tol, default 5%).
Prints one line per scene and a summary; `--csv` writes the table.

Exit 0 = ran (differences are reported, not failed: they are definitional, see the
README), 1 = `--min-agree` was given and fewer scenes agreed, 2 = usage or tool error.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REMARK = re.compile(
    r"<!-- roadworld least constant-velocity TTC \(s\): ([-0-9.e]+) at ([0-9.]+) s of the "
    r"scene \(time step (-?\d+)\) with actor (\d+) -->")
SERIES = re.compile(r"<!-- roadworld constant-velocity TTC \(s\) with actor \d+ by time step:([^>]*)-->")
ACTOR = re.compile(r"<!-- actor (\d+) \((\w+) \d+(, the ego)?\) -->")
OBSTACLE = re.compile(r'<(dynamicObstacle|staticObstacle) id="(\d+)">')


def pair_file(text: str, keep: set[int]) -> str:
    """The document with only the obstacles in `keep` (one element per line, as written)."""
    out, skip = [], None
    for line in text.splitlines(keepends=True):
        if skip:
            if line.startswith(f"</{skip}>"):
                skip = None
            continue
        m = OBSTACLE.match(line)
        if m and int(m.group(2)) not in keep:
            skip = m.group(1)
            continue
        out.append(line)
    return "".join(out)


STATE = re.compile(r"<(?:initialState|state)><position><point><x>([-0-9.]+)</x><y>([-0-9.]+)</y>"
                   r"</point></position><orientation><exact>([-0-9.]+)</exact></orientation>"
                   r"<time><exact>(\d+)</exact></time><velocity><exact>([-0-9.]+)</exact>"
                   r"</velocity><acceleration><exact>([-0-9.]+)</exact>")


def states(text: str, obstacle: int) -> dict[int, tuple]:
    """Every state of an obstacle by time step: (x, y, heading, speed, acceleration)."""
    start = re.search(rf'<(dynamicObstacle|staticObstacle) id="{obstacle}">', text)
    if not start:
        return {}
    end = text.index(f"</{start.group(1)}>", start.end())
    out = {int(m.group(4)): tuple(float(m.group(k)) for k in (1, 2, 3, 5, 6))
           for m in STATE.finditer(text, start.end(), end)}
    if not out:  # a static obstacle: one pose, standing
        p = re.search(r"<x>([-0-9.]+)</x><y>([-0-9.]+)</y>.*?<exact>([-0-9.]+)</exact>",
                      text[start.end():end], re.S)
        out = {-1: (float(p.group(1)), float(p.group(2)), float(p.group(3)), 0.0, 0.0)}
    return out


def steady_follow(e: tuple, o: tuple) -> bool:
    """Where CriMe's TTC and a constant-velocity TTC mean the same: the other is ahead in
    the ego's lane going its way (or standing), on a lane heading east, and both keep their
    speed (equal accelerations)."""
    dx, dy = o[0] - e[0], o[1] - e[1]
    c, s = math.cos(e[2]), math.sin(e[2])
    lon, lat = dx * c + dy * s, -dx * s + dy * c
    dh = abs((o[2] - e[2] + math.pi) % (2 * math.pi) - math.pi)
    return (lon > 0 and abs(lat) <= 1.5 and (dh <= 0.3 or o[3] <= 0.1)
            and math.cos(e[2]) >= math.cos(0.3) and abs(e[4] - o[4]) <= 0.1
            and abs(e[4]) <= 0.1)


def state_at(by_step: dict[int, tuple], step: int):
    """The state at a time step, or the last one when there is none then (a static
    obstacle's one pose); None for no states."""
    if step in by_step:
        return by_step[step]
    return by_step[max(by_step)] if by_step else None


def situation(se: dict[int, tuple], so: dict[int, tuple], step: int) -> str:
    """How the pair stands at the step, in the terms that decide whether CriMe's TTC can
    agree with a two-dimensional constant-velocity TTC (see the README's cross-check);
    `se`, `so`: the ego's and the other's states by time step."""
    e, o = state_at(se, step), state_at(so, step)
    e0 = state_at(se, 0)
    if e is None or o is None or e0 is None:
        return "unknown"
    dx, dy = o[0] - e[0], o[1] - e[1]
    c, s = math.cos(e[2]), math.sin(e[2])
    lon, lat = dx * c + dy * s, -dx * s + dy * c
    dh = abs((o[2] - e[2] + math.pi) % (2 * math.pi) - math.pi)
    if o[3] > 0.1 and 0.5 < dh < 2.6:
        return "crossing"
    if o[3] > 0.1 and dh >= 2.6:
        return "oncoming"
    if lon < 0:
        return "behind"
    if abs(lat) > 1.5:
        return "beside"
    if abs((e[2] - e0[2] + math.pi) % (2 * math.pi) - math.pi) > 0.2:
        return "ahead, ego turned"
    if math.cos(e[2]) < math.cos(0.3):
        return "ahead, not eastbound"
    if abs(e[4] - o[4]) > 0.1:
        return "ahead, eastbound, accelerations differ"
    return "ahead, eastbound, steady"


def check(path: Path, args) -> dict:
    text = path.read_text()
    row = {"file": str(path)}
    m = REMARK.search(text)
    if not m:
        return {**row, "status": "no TTC remark"}
    ours, step, actor = float(m.group(1)), int(m.group(3)), int(m.group(4))
    row.update(ours=ours, step=step, actor=actor)
    ids, ego, other, kind = {}, None, None, None
    lines = text.splitlines()
    for i, line in enumerate(lines[:-1]):
        a = ACTOR.match(line)
        if a:
            o = OBSTACLE.match(lines[i + 1])
            if o:
                ids[int(a.group(1))] = int(o.group(2))
                if a.group(3):
                    ego = int(o.group(2))
                if int(a.group(1)) == actor:
                    kind = a.group(2)
    other = ids.get(actor)
    if other is None:
        return {**row, "status": f"actor {actor} not written (outside the window)"}
    se, so = states(text, ego), states(text, other)
    row.update(kind=kind, ego_id=ego, other_id=other, situation=situation(se, so, step))
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "pair.xml"
        f.write_text(pair_file(text, {ego, other}))
        out_csv = Path(tmp) / "ttc.csv"
        t0 = max(0, step - args.steps)
        cmd = [args.python, args.crime, str(f), "--ego-id", str(ego), "--measures", "TTC",
               "--time-start", str(t0), "--time-end", str(step + args.steps), "--csv", str(out_csv)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if not out_csv.exists():
            msg = (p.stdout + p.stderr).strip().splitlines()
            return {**row, "status": "CriMe failed: " + (msg[-1] if msg else f"exit {p.returncode}")}
        vals = {}
        with open(out_csv) as fh:
            for r in csv.DictReader(fh):
                v = float(r["value"])
                vals[int(r["time_step"])] = v
    # Step by step, where the two definitions meet.
    series = {}
    m = SERIES.search(text)
    if m:
        for item in m.group(1).split():
            k, v = item.split(":")
            series[int(k)] = math.inf if v == "-" else float(v)
    compared = agreed = 0
    for k, cv in vals.items():
        ours_k = series.get(k)
        e, o = se.get(k), so.get(k, so.get(-1))
        if (ours_k is None or e is None or o is None or math.isnan(cv) or math.isinf(cv)
                or math.isinf(ours_k) or not steady_follow(e, o)):
            continue
        compared += 1
        agreed += abs(cv - ours_k) <= args.tol * ours_k
    row.update(steps_compared=compared, steps_agreed=agreed)
    at = vals.get(step, math.nan)
    finite = [v for v in vals.values() if not math.isnan(v) and not math.isinf(v)]
    mn = min(finite) if finite else math.inf
    rel = lambda v: abs(v - ours) / ours if ours > 0 and not math.isnan(v) and not math.isinf(v) else math.inf
    row.update(crime_at=at, crime_min=mn, rel_at=rel(at), rel_min=rel(mn),
               status="agree" if min(rel(at), rel(mn)) <= args.tol else "differ")
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="library folders or .cr.xml files")
    here = Path(__file__).resolve()
    ap.add_argument("--crime", default=str(here.parents[2] / ".." / "shared" / "validators" / "crime_metrics.py"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--steps", type=int, default=80,
                    help="time steps either side to evaluate (default 80: the whole window)")
    ap.add_argument("--tol", type=float, default=0.05)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--csv")
    ap.add_argument("--min-agree", type=float, help="fail when fewer than this share agree")
    a = ap.parse_args()
    if not Path(a.crime).is_file():
        print(f"error: no CriMe validator at {a.crime}", file=sys.stderr)
        return 2
    files: list[Path] = []
    for p in map(Path, a.paths):
        files += sorted(p.rglob("*.cr.xml")) if p.is_dir() else [p]
    files = files[: a.limit] if a.limit else files
    if not files:
        print("error: no .cr.xml files", file=sys.stderr)
        return 2
    with ThreadPoolExecutor(a.jobs) as ex:
        rows = list(ex.map(lambda f: check(f, a), files))
    for r in rows:
        if "crime_at" in r:
            print(f"{r['status']:<6} {r['file']}: ours {r['ours']:.3f} s vs {r['kind']} "
                  f"{r['situation']} "
                  f"(step {r['step']}); CriMe {r['crime_at']:.3f} s there, least "
                  f"{r['crime_min']:.3f} s (diff {100 * r['rel_at']:.1f}% / {100 * r['rel_min']:.1f}%); "
                  f"steady following at {r['steps_compared']} step(s), {r['steps_agreed']} within tolerance")
        else:
            print(f"{r['status']}: {r['file']}")
    measured = [r for r in rows if "crime_at" in r]
    agree = [r for r in measured if r["status"] == "agree"]
    print(f"crime cross-check: {len(rows)} scene(s), {len(measured)} measured by CriMe, "
          f"{len(agree)} within {100 * a.tol:.0f}%")
    steps = sum(r["steps_compared"] for r in measured)
    steps_ok = sum(r["steps_agreed"] for r in measured)
    print(f"time steps of steady following in an eastbound lane (where the definitions meet): "
          f"{steps} in {sum(r['steps_compared'] > 0 for r in measured)} scene(s), "
          f"{steps_ok} within {100 * a.tol:.0f}%")
    kinds = sorted({r.get("situation", "-") for r in measured})
    print("| situation | scenes | within tol | CriMe infinite |")
    print("| --- | --- | --- | --- |")
    for k in kinds:
        rs = [r for r in measured if r.get("situation") == k]
        print(f"| {k} | {len(rs)} | {sum(r['status'] == 'agree' for r in rs)} | "
              f"{sum(math.isinf(r['crime_min']) for r in rs)} |")
    if a.csv:
        keys = ["file", "status", "situation", "ours", "step", "actor", "kind", "ego_id", "other_id",
                "crime_at", "crime_min", "rel_at", "rel_min", "steps_compared", "steps_agreed"]
        with open(a.csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, keys, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    if a.min_agree is not None and len(agree) < a.min_agree * len(rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
