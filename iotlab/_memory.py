"""Peak resident memory of the running process."""

from __future__ import annotations

import sys
from pathlib import Path


def peak_rss_mib() -> float:
    """Return this process's peak resident memory in MiB, or NaN if unknown.

    On Linux this is ``VmHWM`` from ``/proc/self/status``, which
    ``/proc/self/clear_refs`` can reset. ``ru_maxrss`` is the fallback
    elsewhere. It is not used on Linux, because it also counts the peak of
    the parent process up to the exec that started this one.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    try:
        import resource
    except ImportError:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in bytes on macOS and in KiB on Linux.
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024
