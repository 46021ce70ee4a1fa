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


#: Guards the count of active ``arrow_pool_for_load`` blocks and the pool
#: that was the default before the first of them.
_POOL_LOCK = threading.Lock()
_pool_users = 0
_pool_before: pa.MemoryPool | None = None


def load_pool(kind: str) -> pa.MemoryPool:
    """Return the Arrow memory pool that suits loading a file of ``kind``.

    A CSV load reads the file into Arrow buffers and then copies each column
    into a NumPy array, which ``malloc`` allocates, while it frees the Arrow
    buffers column by column. With Arrow's system pool the two share the C
    library's heap, so the NumPy arrays reuse the freed memory. On the
    full-size twin this shortens the CSV load by about 15 % and lowers its
    peak memory by 140 to 170 MiB against mimalloc, pyarrow's default.

    A Parquet load hands Arrow's buffers to pandas without a copy, so the
    pool only has to get fresh memory quickly. On the full-size twin,
    jemalloc took the same time whatever process ran before, and mimalloc's
    time varied from run to run. Where pyarrow has no jemalloc, the default
    pool is kept. ``docs/benchmarks.md`` gives the commands behind both
    choices.
    """
    if kind != "parquet":
        return pa.system_memory_pool()
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.default_memory_pool()


@contextlib.contextmanager
def arrow_pool_for_load(kind: str) -> Iterator[None]:
    """Make ``load_pool(kind)`` Arrow's default memory pool for a while.

    Arrow's default pool is a process-wide setting. Blocks may overlap, as
    loads on several threads do: the first to enter switches the pool, the
    others keep it, and the last to exit puts back the pool that was the
    default before the first. Buffers remember the pool that allocated
    them, so arrays made inside the block stay valid after it.
    """
    global _pool_users, _pool_before
    with _POOL_LOCK:
        if _pool_users == 0:
            _pool_before = pa.default_memory_pool()
            pa.set_memory_pool(load_pool(kind))
        _pool_users += 1
    try:
        yield
    finally:
        with _POOL_LOCK:
            _pool_users -= 1
            if _pool_users == 0:
                pa.set_memory_pool(_pool_before)
                _pool_before = None
