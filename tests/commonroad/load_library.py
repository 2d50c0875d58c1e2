#!/usr/bin/env python3
"""Run the shared CommonRoad loader (commonroad-io + drivability checker,
`../shared/validators/load_commonroad.py`) over a library's CommonRoad exports, with
collisions allowed (a library of critical scenarios holds some), and fail on every error
but one known kind: a truck or bus crossing the road boundary. Long vehicles follow lane
centres with a rigid box, so on tight junction corners the box clips the inner kerb (see
the README's CommonRoad section); those are counted and printed, not failed.

Exit 0 = every file loads and every error is of the known kind, 1 = otherwise,
2 = usage or tool error.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

KNOWN = re.compile(r"^  ERROR obstacle \d+ \((truck|bus)\) crosses the road boundary "
                   r"at time step \d+$")


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: load_library.py VALIDATORS_DIR PATH...", file=sys.stderr)
        return 2
    loader = Path(sys.argv[1]) / "load_commonroad.py"
    p = subprocess.run([sys.executable, str(loader), "--allow-collisions", *sys.argv[2:]],
                       capture_output=True, text=True)
    if p.returncode == 2:
        print(p.stdout + p.stderr, file=sys.stderr)
        return 2
    lines = p.stdout.splitlines()
    known = [l for l in lines if KNOWN.match(l)]
    unknown = [l for l in lines if l.startswith("  ERROR") and not KNOWN.match(l)]
    # A FAIL without the per-file summary is a file the tools could not read.
    unread = [l for l in lines if l.startswith("FAIL") and "planning problems;" not in l]
    files = [l for l in lines if l.startswith(("OK", "FAIL"))]
    collisions = [l for l in lines if l.startswith("  warn") and "collide" in l]
    for l in unknown + unread:
        print(l)
    print(f"{len(files)} file(s): {len(unread)} unreadable, {len(unknown)} error(s), "
          f"{len(collisions)} collision(s) between road users (allowed), "
          f"{len(known)} truck/bus crossing(s) of the road boundary (known, allowed)")
    print(lines[-1] if lines else "no output")
    return 1 if unknown or unread or not files else 0


if __name__ == "__main__":
    sys.exit(main())
