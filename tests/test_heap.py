"""The allocator settings a trial's workers use: big blocks go back to the system on free."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHURN = """
import sys
import numpy as np
from rehabgym.runtime.heap import limit_heap
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
if sys.argv[1] == "limited":
    assert limit_heap()
big = np.ones(2**21)  # 16 MB freed: glibc's threshold would rise to it
del big
start = rss()
blocks = [np.ones(5 * 2**17) for _ in range(20)]  # 20 x 5 MB, then all but the last freed
keep = blocks[-1]
del blocks
print(rss() - start)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_a_limited_heap_returns_freed_blocks_and_the_default_keeps_them():
    held = {mode: float(subprocess.run([sys.executable, "-c", CHURN, mode], check=True,
                                       capture_output=True, text=True).stdout)
            for mode in ("limited", "default")}
    assert held["limited"] < 15  # only the block still in use
    assert held["default"] > 60  # the freed blocks stay in the heap, below the kept one
