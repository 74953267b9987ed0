"""Policies that start from what a rule knows: cloned from a heuristic, or a residual of one.

Behaviour cloning: an SB3 policy trained to imitate a heuristic therapist.

The heuristic treats training patients; each day's observation and action is a demonstration.
The policy's action heads are fitted by maximum likelihood (the negative log-probability of
the heuristic's action), written on SB3's own policy so the clone is an ordinary SB3 model:
a baseline (`ppo:<clone.zip>`) and a warm start for PPO. (The `imitation` package pins older
Gymnasium and SB3 releases than this project's.)

A residual policy at no correction: SB3's categorical heads read logits from one linear layer
(`policy.action_net`, initialised near zero, so every value starts equally likely); a residual
learner should start at its heuristic instead, its most probable correction none, with some
probability left to explore.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import stable_baselines3
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv

from rehabgym.atomic import atomic_path, write_text
from rehabgym.config import save_config
from rehabgym.evaluation.cohort import run_batch
from rehabgym.evaluation.engine import on_one_thread
from rehabgym.therapists import Therapist, heuristic_factory
from rehabgym.therapists.residual import zero_correction
from rehabgym.training.config import TrainConfig


class _Recorder(Therapist):
    """A heuristic that keeps what it saw and did."""

    def __init__(self, inner: Therapist, log: list[tuple[np.ndarray, np.ndarray]]) -> None:
        super().__init__(inner.action_space)
        self.inner, self.log = inner, log

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        self.inner.reset(obs, info)

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        action = self.inner.act(obs, info)
        self.log.append((np.asarray(obs, dtype=np.float32).copy(), np.asarray(action).copy()))
        return action

    def observe(self, obs: np.ndarray, reward: float, info: dict[str, Any]) -> None:
        self.inner.observe(obs, reward, info)


def _demonstrate(spec: str, seeds: Sequence[int], env_id: str,
                 env_kwargs: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    log: list[tuple[np.ndarray, np.ndarray]] = []
    base = heuristic_factory(spec)

    def factory(space: spaces.Space, seed: int | None = None) -> Therapist:
        return _Recorder(base(space, seed), log)

    run_batch([factory] * len(seeds), list(seeds), env_id, env_kwargs)
    return np.stack([o for o, _ in log]), np.stack([a for _, a in log]).astype(np.int64)


def demonstrations(spec: str, seeds: Sequence[int], env_id: str, env_kwargs: dict[str, Any],
                   workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """([M, obs_dim] observations, [M, entries] actions): the heuristic `spec` treating each seeded
    patient for one episode (split over `workers` processes; None: the cores)."""
    workers = min(workers or os.cpu_count() or 1, len(seeds))
    if workers <= 1:
        return _demonstrate(spec, seeds, env_id, env_kwargs)
    chunks = [list(c) for c in np.array_split(list(seeds), workers)]
    kwargs = on_one_thread(env_kwargs)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        parts = list(pool.map(_demonstrate, [spec] * len(chunks), chunks,
                              [env_id] * len(chunks), [kwargs] * len(chunks)))
    return np.concatenate([o for o, _ in parts]), np.concatenate([a for _, a in parts])


def imitation_loss(policy: Any, obs: np.ndarray, actions: np.ndarray) -> float:
    """Mean negative log-probability of `actions` under `policy` (nats per day)."""
    with torch.no_grad():
        _, log_prob, _ = policy.evaluate_actions(
            torch.as_tensor(obs, dtype=torch.float32, device=policy.device),
            torch.as_tensor(actions, device=policy.device))
    return float(-log_prob.mean())


def clone(policy: Any, obs: np.ndarray, actions: np.ndarray, epochs: int = 200,
          batch_size: int = 256, learning_rate: float = 3e-3, seed: int = 0) -> list[float]:
    """Fit `policy`'s action distribution to the demonstrations (in place); the loss of each
    epoch over all demonstrations. The value head is left as it is."""
    if len(obs) != len(actions) or len(obs) == 0:
        raise ValueError(f"demonstrations: {len(obs)} observations, {len(actions)} actions")
    generator = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(obs, dtype=torch.float32, device=policy.device)
    y = torch.as_tensor(actions, device=policy.device)
    params = [p for name, p in policy.named_parameters() if "value_net" not in name]
    optimizer = torch.optim.Adam(params, lr=learning_rate)
    losses = []
    policy.set_training_mode(True)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size].to(policy.device)
            _, log_prob, _ = policy.evaluate_actions(x[idx], y[idx])
            loss = -log_prob.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        losses.append(imitation_loss(policy, obs, actions))
    policy.set_training_mode(False)
    return losses


def agreement(policy: Any, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """[entries] the fraction of days on which the policy's most probable action matches each
    entry of the heuristic's."""
    predicted, _ = policy.predict(np.asarray(obs, dtype=np.float32), deterministic=True)
    return (np.asarray(predicted) == np.asarray(actions)).mean(axis=0)


def clone_report(losses: list[float], before: float, held_out: np.ndarray) -> dict[str, Any]:
    """What a cloning did, as data: the loss before and each epoch's, and the agreement with
    the heuristic on held-out patients' days per action entry."""
    return {"loss_before": before, "loss_after": losses[-1], "losses": losses,
            "held_out_agreement": [float(a) for a in held_out]}


def clone_into(cfg: TrainConfig, model: Any, file: Path) -> dict[str, Any]:
    """Clone `cfg.warm_start` into `model`'s policy from its days with `warm_start_patients`
    training patients; save the clone to `file` and what the cloning did beside it
    (`<file stem>.json`), and return that. The agreement is measured on the held-out
    patients of the periodic evaluation (`eval_seed`, `eval_patients`)."""
    spec = cfg.warm_start
    if spec is None:
        raise ValueError("warm_start: the config names no heuristic to clone")
    kwargs = cfg.eval_kwargs()
    workers = cfg.env_workers
    train_seeds = range(cfg.seed, cfg.seed + cfg.warm_start_patients)
    obs, actions = demonstrations(spec, train_seeds, cfg.env_id, kwargs, workers)
    held_obs, held_actions = demonstrations(
        spec, range(cfg.eval_seed, cfg.eval_seed + cfg.eval_patients), cfg.env_id, kwargs,
        workers)
    before = imitation_loss(model.policy, obs, actions)
    losses = clone(model.policy, obs, actions, epochs=cfg.warm_start_epochs, seed=cfg.seed)
    report = {"therapist": spec, "demonstrations": len(obs),
              **clone_report(losses, before, agreement(model.policy, held_obs, held_actions))}
    with atomic_path(file) as tmp:
        model.save(tmp)
    write_text(file.with_suffix(".json"), json.dumps(report, indent=1) + "\n")
    return report


class _SpacesOnly(gym.Env):
    """An environment that only has spaces: what an SB3 model needs to be built."""

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space) -> None:
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        raise RuntimeError("a model built for cloning is not trained on an environment")

    def step(self, action: Any) -> Any:
        raise RuntimeError("a model built for cloning is not trained on an environment")


def clone_heuristic(cfg: TrainConfig, out: Path) -> dict[str, Any]:
    """`rehabgym clone`: a new `cfg.algorithm` model of the run's environment cloned from
    `cfg.warm_start`, saved as `out/model.zip` (with `model.json` and `config.yaml`)."""
    env = gym.make(cfg.env_id, **cfg.eval_kwargs())
    try:
        stub = _SpacesOnly(env.observation_space, env.action_space)
    finally:
        env.close()
    cls = getattr(stable_baselines3, cfg.algorithm.upper())
    model = cls(cfg.policy, DummyVecEnv([lambda: stub]), seed=cfg.seed, device=cfg.device,
                verbose=0, **cfg.hyperparameters)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    return clone_into(cfg, model, out / "model.zip")


def start_at_no_correction(policy: Any, keep: float) -> None:
    """Set `policy`'s action head so each entry's zero correction has probability `keep` (the
    other values share the rest) whatever the observation: the weights are zeroed and the
    biases set, so the argmax policy is the heuristic until training moves it."""
    space = policy.action_space
    if not isinstance(space, spaces.MultiDiscrete):
        raise ValueError(f"start_at_no_correction: needs a MultiDiscrete policy, got {space}")
    if not 0.0 < keep < 1.0:
        raise ValueError(f"keep: {keep} is outside (0, 1)")
    nvec = np.asarray(space.nvec, dtype=np.int64)
    # the correction space's first entry counts one value more than the env's direction entry
    zero = zero_correction(np.array([nvec[0] - 1, *nvec[1:]]))
    bias = []
    for n, z in zip(nvec, zero):
        head = torch.zeros(int(n))
        head[int(z)] = math.log(keep * (n - 1) / (1.0 - keep))
        bias.append(head)
    net = policy.action_net
    with torch.no_grad():
        net.weight.zero_()
        net.bias.copy_(torch.cat(bias))
