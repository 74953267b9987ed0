"""Giving memory the allocator keeps back to the system, where the C library allows it.

A patient's day allocates large temporary buffers (recorded rates and noise, products of the
reward rule) whose sizes change with every session. glibc keeps freed blocks of such sizes in
its heaps rather than returning them, so a long run's resident memory creeps up although live
memory is flat (measured: 1,000 random days, +13 % RSS without trimming, flat with it).
`trim_heap` asks glibc to return them (`malloc_trim`); elsewhere it does nothing.

Within a day the same happens faster than a trim can help: glibc raises its mmap threshold
each time a large block is freed (up to 32 MB), after which blocks of a few MB come from the
heap and fragment it, so a big batch's peak grows day after day (measured with `rehabgym
bench memory`: 12.7 MB per patient after 2 days, 16.3 after 5). `limit_heap` fixes the
threshold instead (`mallopt(M_MMAP_THRESHOLD)`): blocks of 4 MB and more are mapped and
returned on free (5.9 MB per patient after 5 days), at the cost of the page faults of fresh
mappings. It changes the whole process's allocator, so only processes rehabgym owns call it:
a trial's workers and the `rehabgym trial` command, never an import.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


@lru_cache(maxsize=1)
def _malloc_trim() -> Any | None:
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None  # not on musl
    if trim is None:
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


#: blocks of this size and more are mapped of their own (see the module docstring)
MMAP_THRESHOLD = 4 * 2**20
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def limit_heap(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at `threshold` bytes for this process (a no-op elsewhere);
    True when it was set. For processes rehabgym owns only (see the module docstring)."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, int(threshold)))


def trim_heap() -> bool:
    """Return freed heap memory to the system; True when the C library could."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
