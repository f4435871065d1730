"""After a whole test run: fail if anything the agents or their tasks started is still on the host.

Looks for what every run leaves when cleanup is broken: processes naming the run
root (agents, plugins, monitors, logmon), JVMs in crunjar container cgroups,
crun containers under the run root, mounts under it, crunjar cgroups, and run
directories. Prints one line per leftover and exits 1 if there is any.

With ``--baseline FILE``, run once before the tests (``--save``) and once after,
only what appeared during the run counts: leftovers of earlier runs on a shared
host are reported but do not fail this one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "libraries"))

from nomadtest import runroot


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run-root", type=Path, default=runroot.run_root())
    parser.add_argument("--baseline", type=Path, help="what was there before the run")
    parser.add_argument("--save", action="store_true", help="write the baseline instead of checking")
    args = parser.parse_args()
    found = runroot.leftovers(args.run_root, host_wide=True)
    if args.save:
        args.baseline.parent.mkdir(parents=True, exist_ok=True)
        args.baseline.write_text(json.dumps(found, indent=1))
        return 0
    earlier = set(json.loads(args.baseline.read_text())) if args.baseline and args.baseline.is_file() else set()
    for item in found:
        print(f"{'left by an earlier run' if item in earlier else 'left behind'}: {item}")
    new = [item for item in found if item not in earlier]
    print(f"leftover check of {args.run_root}: {len(new)} item(s) left behind by this run")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
