"""How the simulation shares the machine's cores between its own threads and the libraries'.

The closed loop splits big batches of brains over threads of its own (`ClosedLoop`) and keeps
numpy's BLAS on one thread: a threaded BLAS product rounds differently from a single-threaded
one, so results would depend on the machine's cores, and its workers would fight the loop's.
The simulation runs torch on one thread while it works and gives the caller's setting back after
(`torch_threads`, `on_one_torch_thread`), so it changes nothing in the user's process. The
plasticity's big products, run between batches of reaches, may use more of torch's threads,
which split them by patient, never inside a sum, so that changes no number.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import torch
from threadpoolctl import ThreadpoolController


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # looks up the loaded BLAS libraries once


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread inside the block."""
    with _controller().limit(limits=1, user_api="blas"):
        yield


F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads set to `n` inside the block, restored after it."""
    before = torch.get_num_threads()
    if n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def on_one_torch_thread(method: F) -> F:
    """`method` run with torch on one thread, the caller's setting restored after it: the
    simulation's numbers do not depend on it, and the user's torch keeps its threads."""
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with torch_threads(1):
            return method(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
