"""Measure the time and peak memory of ``iotlab.twin.make_twin``.

Each size runs in a fresh subprocess, so that the peak resident memory
(``ru_maxrss`` of the child) belongs to that one call. The table lists wall
time of ``make_twin`` alone, the child's peak resident memory including the
Python interpreter and imported libraries, and the frame's own size.

Usage::

    python benchmarks/bench_twin.py [--rows 50000 1231411] [--threads 2]

``--threads`` caps the BLAS and OpenMP threads of the child; ``make_twin``
itself runs on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
from iotlab.twin import make_twin
rows = int(sys.argv[1])
start = time.perf_counter()
frame = make_twin(rows, seed=0)
seconds = time.perf_counter() - start
frame_bytes = int(frame.memory_usage(deep=True).sum())
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": rows, "seconds": seconds, "peak_kib": peak_kib,
                  "frame_bytes": frame_bytes}))
"""


def measure(rows: int, threads: int) -> dict:
    """Run ``make_twin(rows)`` in a child process and return its figures."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(rows)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Print a table of time and memory per twin size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[50_000, 200_000, 1_231_411],
        help="twin sizes in rows (default: 50000 200000 1231411)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="BLAS/OpenMP threads (default 2)"
    )
    args = parser.parse_args(argv)
    print(
        f"# make_twin benchmark: Python {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs visible, "
        f"{args.threads} BLAS threads"
    )
    print("| rows | seconds | peak RSS (MiB) | frame (MiB) |")
    print("| ---: | ---: | ---: | ---: |")
    for rows in args.rows:
        figures = measure(rows, args.threads)
        print(
            f"| {rows:,} | {figures['seconds']:.1f} | "
            f"{figures['peak_kib'] / 1024:,.0f} | "
            f"{figures['frame_bytes'] / 2**20:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
