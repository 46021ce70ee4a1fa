"""Peak resident memory of the running process, and Arrow's allocator."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa


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


#: Guards the count of active ``arrow_allocates_with_malloc`` blocks and the
#: pool that was the default before the first of them.
_POOL_LOCK = threading.Lock()
_pool_users = 0
_pool_before: pa.MemoryPool | None = None


@contextlib.contextmanager
def arrow_allocates_with_malloc() -> Iterator[None]:
    """Make Arrow allocate through the C library's ``malloc`` for a while.

    A load reads a file into Arrow buffers and then builds NumPy arrays, which
    ``malloc`` allocates, while it frees the Arrow buffers column by column.
    With pyarrow's default pool (mimalloc) the freed memory stays in a pool
    that NumPy cannot use, so new arrays touch fresh pages. Through
    ``malloc`` the two share one heap. On the full-size twin this shortens
    the CSV load by about 15 % and lowers its peak memory by 140 to 170 MiB
    (``docs/benchmarks.md`` gives the command).

    Arrow's default pool is a process-wide setting. Blocks may overlap, as
    loads on several threads do: the first to enter switches the pool, and
    the last to exit puts back the pool that was the default before the
    first. Buffers remember the pool that allocated them, so arrays made
    inside the block stay valid after it.
    """
    global _pool_users, _pool_before
    with _POOL_LOCK:
        if _pool_users == 0:
            _pool_before = pa.default_memory_pool()
            pa.set_memory_pool(pa.system_memory_pool())
        _pool_users += 1
    try:
        yield
    finally:
        with _POOL_LOCK:
            _pool_users -= 1
            if _pool_users == 0:
                pa.set_memory_pool(_pool_before)
                _pool_before = None
