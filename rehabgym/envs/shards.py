"""`ShardedVectorEnv`: a registered id's native vector env split over worker processes.

On a few cores, processes beat threads: one process simulating 16 patients on one thread
does 10.9 patient-days per second, the same with two threads 12.2, and two processes of 8
patients each on one thread 18.5 (docs/results/benchmarks.md): the closed loop's Python work
between its matrix products holds the GIL. Each shard is the id's own vector env
(`gymnasium.make_vec(..., vectorization_mode="vector_entry_point")`) of a contiguous block of
the sub-environments, in a spawned process; the parent sends every shard its part of a call
before waiting for any, so the shards work at once.

Sub-environment i reset with seed s is the single env reset with s + i, as in the unsplit
vector env, so the patients are the same patients whatever the number of shards (their
numbers too: a patient does not depend on the others of its batch). Autoreset is the shards'
own (`NEXT_STEP` for rehabgym's ids: they end their episodes together). `get_state` and
`set_state` hold one state per shard, for an exact resume with as many shards.
"""

from __future__ import annotations

import traceback
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rehabgym.envs.registration import register_envs
from rehabgym.envs.vector import slot_seeds


def _serve(pipe: Connection, env_id: str, num_envs: int, kwargs: dict[str, Any]) -> None:
    """A shard's process: its vector env, answering the parent's calls until "close"."""
    # glibc's allocator left as it is (no `limit_heap`): a shard of a few patients holds
    # little, and a fresh mapping of every big buffer costs it 11 % of its speed (measured)
    register_envs()
    try:
        env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point",
                           **kwargs)
        pipe.send(("ok", (env.single_observation_space, env.single_action_space,
                          env.metadata.get("autoreset_mode"))))
    except Exception as exc:  # noqa: BLE001 - the parent raises it
        _send_error(pipe, exc)
        return
    while True:
        command, args = pipe.recv()
        try:
            if command == "close":
                env.close()
                pipe.send(("ok", None))
                return
            if command == "reset":
                out: Any = env.reset(**args)
            elif command == "step":
                out = env.step(args)
            elif command == "get_state":
                out = env.unwrapped.get_state()
            elif command == "set_state":
                out = env.unwrapped.set_state(args)
            else:
                raise ValueError(f"unknown command {command!r}")
            pipe.send(("ok", out))
        except Exception as exc:  # noqa: BLE001 - the parent raises it
            _send_error(pipe, exc)


def _send_error(pipe: Connection, exc: Exception) -> None:
    """The shard's error and its traceback, for the parent to raise as its own."""
    text = traceback.format_exc()
    try:
        pipe.send(("error", (exc, text)))
    except Exception:  # noqa: BLE001 - an error that does not pickle goes as its text
        pipe.send(("error", (None, text)))


class ShardedVectorEnv(VectorEnv):
    """`num_envs` sub-environments of `env_id` in `shards` worker processes.

    Args:
        env_id: a registered id with a vector entry point (rehabgym's ids).
        num_envs: sub-environments in all.
        shards: worker processes (at most `num_envs`); shard k holds a contiguous block.
        **kwargs: keyword arguments of `gymnasium.make_vec` for every shard (plain data).
    """

    def __init__(self, env_id: str, num_envs: int, shards: int, **kwargs: Any) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)) \
                or num_envs < 1:
            raise ValueError(f"num_envs: must be an integer >= 1, got {num_envs!r}")
        if isinstance(shards, bool) or not isinstance(shards, (int, np.integer)) or shards < 1:
            raise ValueError(f"shards: must be an integer >= 1, got {shards!r}")
        self.num_envs = int(num_envs)
        k = min(int(shards), self.num_envs)
        self.bounds = np.linspace(0, self.num_envs, k + 1).round().astype(int)
        ctx = get_context("spawn")  # a forked child would inherit threads mid-state
        self._pipes: list[Connection] = []
        self._procs = []
        for lo, hi in zip(self.bounds[:-1], self.bounds[1:]):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, env_id, int(hi - lo), kwargs),
                               daemon=True)
            proc.start()
            child.close()
            self._pipes.append(parent)
            self._procs.append(proc)
        try:
            first = self._gather()[0]
        except BaseException:
            self.close()
            raise
        self.single_observation_space, self.single_action_space, mode = first
        self.metadata = {"render_modes": [], "autoreset_mode": mode or AutoresetMode.NEXT_STEP}
        self.render_mode = None
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    @property
    def shards(self) -> int:
        return len(self._pipes)

    # ------------------------------------------------------------------ Gymnasium API
    def reset(self, *, seed: int | list[int | None] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        n = self.num_envs
        seeds = slot_seeds(seed, n)
        per_slot = options is not None and isinstance(options.get("lesion"), (list, tuple))
        if per_slot and len(options["lesion"]) != n:
            raise ValueError(f"options['lesion']: expected {n} lesions, got "
                             f"{len(options['lesion'])}")
        calls = []
        for lo, hi in self._blocks():
            part = seeds[lo:hi]
            opts = {**options, "lesion": list(options["lesion"][lo:hi])} if per_slot \
                else options
            calls.append({"seed": None if all(s is None for s in part) else part,
                          "options": opts})
        results = self._call("reset", calls)
        return (np.concatenate([obs for obs, _ in results]),
                self._merge_infos([info for _, info in results]))

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        actions = np.asarray(actions)
        if len(actions) != self.num_envs:
            raise ValueError(f"actions: expected {self.num_envs} actions, got {len(actions)}")
        results = self._call("step", [actions[lo:hi] for lo, hi in self._blocks()])
        obs, rewards, terminated, truncated, infos = zip(*results)
        return (np.concatenate(obs), np.concatenate(rewards), np.concatenate(terminated),
                np.concatenate(truncated), self._merge_infos(list(infos)))

    def get_state(self) -> dict[str, Any]:
        """Every shard's state (`TherapyVectorEnv.get_state`), in order."""
        return {"shards": self._call("get_state", [None] * self.shards)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from `get_state`'s state of an env split into as many shards."""
        parts = state.get("shards") if isinstance(state, dict) else None
        if not isinstance(parts, list) or len(parts) != self.shards:
            got = len(parts) if isinstance(parts, list) else "no"
            raise ValueError(f"state: of {got} shards, this env has {self.shards} (resume "
                             "with the run's own env_workers)")
        self._call("set_state", parts)

    def close_extras(self, **kwargs: Any) -> None:
        for pipe in self._pipes:
            try:
                pipe.send(("close", None))
                pipe.recv()
            except (OSError, EOFError):
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        self._pipes, self._procs = [], []

    # ------------------------------------------------------------------ internals
    def _blocks(self) -> list[tuple[int, int]]:
        return [(int(lo), int(hi)) for lo, hi in zip(self.bounds[:-1], self.bounds[1:])]

    def _call(self, command: str, args: list[Any]) -> list[Any]:
        """`command` on every shard at once (shard k with args[k]); their answers in order."""
        for pipe, arg in zip(self._pipes, args):
            pipe.send((command, arg))
        return self._gather()

    def _gather(self) -> list[Any]:
        """Every shard's answer; a shard's error is raised here as it was raised there (a
        bad action is the same `ValueError` as in one process), its traceback the cause."""
        answers = []
        for pipe in self._pipes:
            try:
                answers.append(pipe.recv())
            except EOFError:
                answers.append(("error", (None, "the shard's process died")))
        for status, payload in answers:
            if status != "ok":
                exc, text = payload
                cause = RuntimeError(f"in a shard of the vector env:\n{text}")
                raise (exc if exc is not None else cause) from cause
        return [payload for _, payload in answers]

    def _merge_infos(self, parts: list[dict[str, Any]]) -> dict[str, Any]:
        """The shards' vector infos as one: each key's array over every sub-environment, with
        its `_key` mask (False where a shard did not report the key)."""
        sizes = [hi - lo for lo, hi in self._blocks()]
        return _merge(parts, sizes)


def _merge(parts: list[dict[str, Any]], sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    keys = list(dict.fromkeys(k for part in parts for k in part if not k.startswith("_")))
    for key in keys:
        values = [part.get(key) for part in parts]
        if any(isinstance(v, dict) for v in values):
            out[key] = _merge([v if isinstance(v, dict) else {} for v in values], sizes)
        else:
            given = next(np.asarray(v) for v in values if v is not None)
            out[key] = np.concatenate([
                np.asarray(v) if v is not None else np.zeros((n, *given.shape[1:]), given.dtype)
                for v, n in zip(values, sizes)])
        out["_" + key] = np.concatenate([
            np.asarray(part.get("_" + key, np.zeros(n, bool))) if key in part
            else np.zeros(n, bool) for part, n in zip(parts, sizes)])
    return out
