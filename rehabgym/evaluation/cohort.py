"""Running a cohort: every therapist treats the same held-out seeded patients.

Each therapist's patients run together in one batched vector environment (one cortex batch,
one arm batch), in batches of their own, so a therapist's results do not depend on which
others are compared alongside. `CohortResult` holds what happened, one row per patient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from rehabgym.patient import N_DIRECTIONS
from rehabgym.therapists import SB3Therapist, Therapist, TherapistFactory, profile_of


@dataclass
class CohortResult:
    """What one therapist did to the held-out patients (one row per patient)."""

    name: str
    seeds: np.ndarray  # [N]
    scores: np.ndarray  # [N, T + 1] motor score, day 0 = the assessment after the stroke
    profiles: np.ndarray  # [N, T + 1, 8] per-direction scores
    actions: np.ndarray  # [N, T, len(nvec)]
    rewards: np.ndarray  # [N, T]
    dose: np.ndarray  # [N] dose used by the end of the episode

    @property
    def initial(self) -> np.ndarray:
        return self.scores[:, 0]

    @property
    def final(self) -> np.ndarray:
        return self.scores[:, -1]

    @property
    def returns(self) -> np.ndarray:
        """[N] episode return: what an RL therapist maximizes (score gain − cost of the dose)."""
        return self.rewards.sum(1)

    @property
    def recovery(self) -> np.ndarray:
        """(final − initial) / (100 − initial): the fraction of the impairment recovered."""
        room = 100.0 - self.initial
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(room > 1e-9, (self.final - self.initial) / room, np.nan)


def env_make_kwargs(env_config: str | dict[str, Any] | None,
                    env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments of `gymnasium.make`/`make_vec`: the env config, overrides, and a time
    limit equal to the configured horizon (the registered one is the default horizon's)."""
    kwargs: dict[str, Any] = {} if env_config is None else {"config": env_config}
    kwargs.update(env_kwargs or {})
    horizon = kwargs.get("horizon_days")
    if horizon is None and isinstance(env_config, dict):
        horizon = env_config.get("horizon_days")
    if horizon is not None and "max_episode_steps" not in kwargs:
        kwargs["max_episode_steps"] = int(horizon)
    return kwargs


def make_cohort_env(env_id: str, num_envs: int, env_kwargs: dict[str, Any]) -> gym.vector.VectorEnv:
    """The environment's native batched vector env (falls back to a SyncVectorEnv)."""
    try:
        return gym.make_vec(env_id, num_envs=num_envs,
                            vectorization_mode="vector_entry_point", **env_kwargs)
    except (gym.error.Error, ValueError, TypeError):
        return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync",
                            vector_kwargs={}, **env_kwargs)


def _row(info: dict[str, Any], i: int) -> dict[str, Any]:
    """Environment i's entries of a vector env's info dict."""
    out = {}
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info.get("_" + key)
        if mask is not None and not np.asarray(mask)[i]:
            continue
        out[key] = _row(value, i) if isinstance(value, dict) else value[i]
    return out


def _score(obs: np.ndarray, info: dict[str, Any]) -> float:
    return float(info["score"]) if "score" in info else 100.0 * float(obs[N_DIRECTIONS])


def run_cohort(
    therapists: dict[str, TherapistFactory],
    env_id: str,
    env_kwargs: dict[str, Any],
    seeds: Sequence[int],
    max_batch: int = 256,
    progress: bool = False,
) -> dict[str, CohortResult]:
    """Every therapist treats every seeded patient for one episode, in this process;
    `progress` shows a bar over the therapy days simulated. (`rehabgym evaluate` runs the same
    batches as chunks on worker processes or Ray: `evaluation.engine`.)

    Each therapist's patients are simulated in batches of their own (up to `max_batch`), so a
    therapist's results do not depend on which other therapists are compared alongside.
    """
    results = {}
    with tqdm(desc="comparison", unit="patient-day", disable=not progress) as bar:
        for name, therapist in therapists.items():
            rows: list[dict[str, Any]] = []
            for start in range(0, len(seeds), max_batch):
                part = seeds[start:start + max_batch]
                rows += run_batch([therapist] * len(part), part, env_id, env_kwargs, bar)
            results[name] = CohortResult(name=name, seeds=np.asarray(seeds),
                                         **stack_records(rows))
    return results


#: what `run_batch` records of each patient (a `CohortResult`'s arrays)
RECORD_KEYS = ("scores", "profiles", "actions", "rewards", "dose")


def stack_records(rows: Sequence[dict[str, Any]]) -> dict[str, np.ndarray]:
    """`run_batch`'s per-patient records as arrays, one row per patient."""
    return {key: np.stack([r[key] for r in rows]) if key != "dose"
            else np.array([r[key] for r in rows]) for key in RECORD_KEYS}


def run_batch(therapists: Sequence[TherapistFactory], seeds: Sequence[int], env_id: str,
              env_kwargs: dict[str, Any], bar: Any = None) -> list[dict[str, Any]]:
    """One episode of each seeded patient in one vector env, patient i treated by therapist
    i; one record per patient (scores, profiles, actions, rewards, dose). A patient's record
    does not depend on who shares its batch."""
    n = len(seeds)
    if len(therapists) != n:
        raise ValueError(f"therapists: expected one per seed ({n}), got {len(therapists)}")
    envs = make_cohort_env(env_id, n, env_kwargs)
    try:
        space = envs.single_action_space
        agents = [make(space, int(seed)) for make, seed in zip(therapists, seeds)]
        obs, info = envs.reset(seed=[int(seed) for seed in seeds])
        infos = [_row(info, i) for i in range(n)]
        for i, agent in enumerate(agents):
            agent.reset(obs[i], infos[i])
        rec: list[dict[str, list]] = [
            {"scores": [_score(obs[i], infos[i])], "profiles": [profile_of(obs[i], infos[i])],
             "actions": [], "rewards": [], "dose": [float(infos[i].get("dose", 0.0))]}
            for i in range(n)]
        running = np.ones(n, dtype=bool)
        while running.any():
            actions = _batch_actions(agents, obs, infos)
            obs, reward, terminated, truncated, info = envs.step(actions)
            infos = [_row(info, i) for i in range(n)]
            for i in np.flatnonzero(running):
                agents[i].observe(obs[i], float(reward[i]), infos[i])
                r = rec[i]
                r["actions"].append(actions[i].copy())
                r["rewards"].append(float(reward[i]))
                r["scores"].append(_score(obs[i], infos[i]))
                r["profiles"].append(profile_of(obs[i], infos[i]))
                r["dose"].append(float(infos[i].get("dose", math.nan)))
            if bar is not None:
                bar.update(int(running.sum()))
            running &= ~(np.asarray(terminated) | np.asarray(truncated))
    finally:
        envs.close()
    return [{"scores": np.array(r["scores"]), "profiles": np.array(r["profiles"]),
             "actions": np.array(r["actions"]), "rewards": np.array(r["rewards"]),
             "dose": r["dose"][-1]} for r in rec]


def _batch_actions(agents: list[Therapist], obs: np.ndarray,
                   infos: list[dict[str, Any]]) -> np.ndarray:
    """One action per environment; SB3 therapists of one model predict as one batch."""
    actions: list[np.ndarray | None] = [None] * len(agents)
    by_model: dict[int, list[int]] = {}
    for i, agent in enumerate(agents):
        if isinstance(agent, SB3Therapist):
            by_model.setdefault(id(agent.model), []).append(i)
        else:
            actions[i] = agent.act(obs[i], infos[i])
    for idx in by_model.values():
        seen = np.stack([agents[i].features(obs[i], infos[i])  # type: ignore[attr-defined]
                         for i in idx])
        batch = agents[idx[0]].act_batch(seen)  # type: ignore[attr-defined]
        for k, i in enumerate(idx):
            actions[i] = agents[i].decide(batch[k])  # type: ignore[attr-defined]
    return np.stack(actions)  # type: ignore[arg-type]
