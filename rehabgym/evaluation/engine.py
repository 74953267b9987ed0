"""Therapists treating patients in chunks that run anywhere: the engine of `rehabgym trial`
and `rehabgym evaluate`.

A chunk is a plain-data task (`ChunkTask`): patient seeds, each one's therapist (an index into
the task's therapist specs; a model's file travels inside the task, so a Ray worker on another
machine needs no shared disk), the environment id and its `gymnasium.make` keyword arguments.
`treat_chunk` treats each patient for one episode with `run_batch`. A patient's result depends
on its seed, its therapist and the environment only, never on the other patients of its chunk,
the worker or the backend.

Backends run chunk tasks and yield each result as it finishes: `local` (spawned worker
processes on this machine, or this process for one worker) and `ray` (one Ray Core task per
chunk, on a cluster at `address` or on a local one started for the run). A worker's allocator
maps blocks of 4 MB and more (`limit_heap`), which keeps a big chunk's memory from creeping up
day after day; a trial also runs each chunk's simulation on one thread, so parallelism comes
from chunks.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from rehabgym.config import load_yaml, to_dict
from rehabgym.evaluation.cohort import run_batch, stack_records
from rehabgym.runtime.heap import limit_heap
from rehabgym.runtime.threads import torch_threads
from rehabgym.stages import Stages
from rehabgym.therapists import TherapistFactory, heuristic_factory, load_sb3_model, sb3_factory
from rehabgym.therapists.registry import resolve_spec

BACKENDS = ("local", "ray")


class ChunkError(RuntimeError):
    """A chunk failed; the message names the chunk and, where it can, the patient."""


@dataclass(frozen=True)
class ArmTherapist:
    """An arm's therapist as a task carries it: the spec, and a model file's bytes."""

    spec: str
    model: bytes | None = None

    @classmethod
    def of(cls, spec: str) -> ArmTherapist:
        """The therapist of `spec` as a task carries it: a model's file read, a tuned file's
        values written into the spec (workers on other machines read neither file)."""
        if ":" not in spec:
            return cls(resolve_spec(spec))
        return cls(spec, Path(spec.split(":", 1)[1]).read_bytes())


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of patients: everything a worker needs, as plain data."""

    index: int
    seeds: tuple[int, ...]
    arms: tuple[int, ...] = ()  # each patient's therapist (index into `therapists`)
    therapists: tuple[ArmTherapist, ...] = ()
    env_id: str = "rehabgym/Therapy-v2"
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # of `gymnasium.make`, plain data
    sample: bool = False

    def describe(self) -> str:
        return f"chunk {self.index} (patient seeds {self.seeds[0]}..{self.seeds[-1]})"


def on_one_thread(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """`gymnasium.make` keyword arguments of rehabgym's therapy environments whose patients
    simulate on one thread (the config's other settings kept): what a task needs where
    parallelism comes from processes. The numbers do not change (`ClosedLoop`)."""
    kwargs = dict(env_kwargs)
    if "patient" in kwargs:
        kwargs["patient"] = {**to_dict(kwargs["patient"]), "nthread": 1}
        return kwargs
    config = kwargs.get("config")
    config = {} if config is None else load_yaml(config) if isinstance(config, (str, Path)) \
        else to_dict(config)
    kwargs["config"] = {**config, "patient": {**(config.get("patient") or {}), "nthread": 1}}
    return kwargs


# ---------------------------------------------------------------- what a worker runs
def treat_chunk(task: ChunkTask) -> dict[str, np.ndarray]:
    """Every patient of the chunk treated by its therapist for one episode: scores and
    per-direction profiles by therapy day, actions, rewards and dose (`run_batch`)."""
    factories = [_factory(t, task.sample) for t in task.therapists]
    kwargs = task.env_kwargs
    try:
        with torch_threads(1):
            rows = run_batch([factories[a] for a in task.arms], task.seeds, task.env_id, kwargs)
    except Exception as exc:
        raise ChunkError(_blame(task, factories, kwargs, exc)) from exc
    return {"seeds": np.asarray(task.seeds, dtype=np.int64),
            "arms": np.asarray(task.arms, dtype=np.int64), **stack_records(rows)}


def _blame(task: ChunkTask, factories: list[TherapistFactory], kwargs: dict[str, Any],
           exc: BaseException) -> str:
    """The error of a failed chunk, naming the first of its patients that fails alone (a
    patient's episode does not depend on the others, so the culprit fails alone too)."""
    what = f"{task.describe()}: {type(exc).__name__}: {exc}"
    for seed, arm in zip(task.seeds, task.arms):
        try:
            with torch_threads(1):
                run_batch([factories[arm]], [seed], task.env_id, kwargs)
        except Exception as alone:
            return (f"{task.describe()}: patient seed {seed} (arm {task.therapists[arm].spec!r})"
                    f" fails: {type(alone).__name__}: {alone}")
    return what + " (every patient runs alone: the failure needs the whole chunk)"


def _factory(therapist: ArmTherapist, sample: bool) -> TherapistFactory:
    if therapist.model is None:
        return heuristic_factory(therapist.spec)
    algorithm = therapist.spec.split(":", 1)[0]
    return sb3_factory(_model(algorithm, therapist.model), deterministic=not sample)


@lru_cache(maxsize=8)
def _model(algorithm: str, data: bytes) -> Any:
    """A model from its file's bytes (loaded once per worker process)."""
    digest = hashlib.sha256(data).hexdigest()[:16]
    with tempfile.TemporaryDirectory(prefix="rehabgym-model-") as folder:
        path = Path(folder) / f"{digest}.zip"
        path.write_bytes(data)
        return load_sb3_model(path, algorithm)


# ---------------------------------------------------------------- backends
ChunkFn = Callable[[ChunkTask], dict[str, np.ndarray]]


def run_chunks(fn: ChunkFn, tasks: Sequence[ChunkTask], backend: str = "local",
               workers: int | None = None, address: str | None = None
               ) -> Iterator[tuple[ChunkTask, dict[str, np.ndarray]]]:
    """`fn` on every task, on `backend`; yields (task, result) as each finishes. A failing
    task raises its error (a `ChunkError` naming the chunk) after the tasks already
    running have finished and been yielded."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: {backend!r} is not one of {list(BACKENDS)}")
    if not tasks:
        return iter(())
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers: must be >= 1, got {workers}")
    if backend == "ray":
        return _ray(fn, tasks, workers, address)
    return _local(fn, tasks, workers)


def run_stages(stages: Stages, name: str, tasks: Sequence[ChunkTask], fn: ChunkFn,
               unit: str = "patient", per_patient: int = 1, backend: str = "local",
               workers: int | None = None, address: str | None = None, progress: bool = True
               ) -> list[dict[str, np.ndarray]]:
    """Every task's result, in order: those an earlier run saved in `stages` read back, the
    rest run on the backend and each saved as soon as it finishes (stage `<name>_<index>`),
    with a progress bar of `per_patient` `unit`s a patient."""
    results: dict[int, dict[str, np.ndarray]] = {}
    for task in tasks:
        done = stages.load_arrays(f"{name}_{task.index:05d}", announce=False)
        if done is not None:
            results[task.index] = done
    if results:
        print(f"{stages.label}: {len(results)} of {len(tasks)} {name} chunks finished in an "
              f"earlier run, read from {stages.folder}", file=sys.stderr)
    todo = [t for t in tasks if t.index not in results]
    total = sum(len(t.seeds) for t in tasks) * per_patient
    left = sum(len(t.seeds) for t in todo) * per_patient
    with tqdm(total=total, desc=name, unit=unit, disable=not progress,
              initial=total - left) as bar:
        for task, result in run_chunks(fn, todo, backend, workers, address):
            stages.save_arrays(f"{name}_{task.index:05d}", result)
            results[task.index] = result
            bar.update(len(task.seeds) * per_patient)
    return [results[t.index] for t in tasks]


def _local(fn: ChunkFn, tasks: Sequence[ChunkTask], workers: int
           ) -> Iterator[tuple[ChunkTask, dict[str, np.ndarray]]]:
    if workers == 1 or len(tasks) == 1:
        for task in tasks:
            yield task, fn(task)
        return
    # spawned workers: a forked child would inherit torch's and the loop's threads mid-state
    with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=get_context("spawn"),
                             initializer=limit_heap) as pool:
        pending = {pool.submit(fn, task): task for task in tasks}
        error = None
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                if future.exception() is not None:
                    error = error or future.exception()
                    for other in pending:
                        other.cancel()
                    continue
                yield task, future.result()
        if error is not None:
            raise error


def _ray(fn: ChunkFn, tasks: Sequence[ChunkTask], workers: int, address: str | None
         ) -> Iterator[tuple[ChunkTask, dict[str, np.ndarray]]]:
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError("backend 'ray' needs Ray: pip install -e \".[ray]\"") from exc
    started = not ray.is_initialized()
    if started:
        # a cluster at `address`, else a local one with `workers` CPUs
        ray.init(address=address, num_cpus=None if address else workers,
                 include_dashboard=False, log_to_driver=False)
    try:
        # a worker that dies (killed, out of memory) is retried; an error of the chunk is not
        remote = ray.remote(num_cpus=1, max_retries=3, retry_exceptions=False)(_in_worker)
        pending = {remote.remote(fn, task): task for task in tasks}
        error = None
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                task = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:
                    error = error or _unwrap(exc)
                    for other in pending:
                        ray.cancel(other)
                    continue
                yield task, result
        if error is not None:
            raise error
    finally:
        if started:
            ray.shutdown()


def _in_worker(fn: ChunkFn, task: ChunkTask) -> dict[str, np.ndarray]:
    """`fn(task)` in a Ray worker, whose allocator is set as a local worker's is."""
    limit_heap()
    return fn(task)


def _unwrap(exc: BaseException) -> BaseException:
    """The chunk's own error inside Ray's wrapper (its message names the chunk)."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
