"""Train a PPO therapist on `rehabgym/Therapy-v2` with Stable-Baselines3, watch it in TensorBoard.

    python agents/ppo.py --timesteps 3200 --logdir runs/agents_ppo
    tensorboard --logdir runs/agents_ppo

A single-file script on the public API (in the spirit of CleanRL): copy it and change what you
like. Each step of the environment is one therapy day; an episode is `--horizon` days.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import rehabgym  # noqa: F401  (registers rehabgym/Therapy-v2)

ENV_ID = "rehabgym/Therapy-v2"


def final_score(model: PPO | None, env_kwargs: dict, seed: int) -> float:
    """Motor score of one held-out patient at the end of an episode (None: rest every day)."""
    env = gym.make(ENV_ID, **env_kwargs)
    obs, info = env.reset(seed=seed)
    rest = np.zeros(env.action_space.shape, dtype=np.int64)
    rest[0] = 8  # direction 8 = a rest day (the other entries do not matter then)
    done = False
    while not done:
        action = (model.predict(obs, deterministic=True)[0] if model is not None
                  else rest)
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    env.close()
    return info["score"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timesteps", type=int, default=3200, help="therapy days of training")
    p.add_argument("--n-envs", type=int, default=8, help="patients trained in parallel")
    p.add_argument("--horizon", type=int, default=10, help="therapy days per episode")
    p.add_argument("--eval-patients", type=int, default=8, help="held-out patients")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--logdir", default="runs/agents_ppo", help="TensorBoard and model folder")
    args = p.parse_args()

    env_kwargs = {"horizon_days": args.horizon, "max_episode_steps": args.horizon,
                  "repetition_levels": (10, 20, 40)}
    venv = make_vec_env(ENV_ID, n_envs=args.n_envs, seed=args.seed, env_kwargs=env_kwargs)
    model = PPO("MlpPolicy", venv, n_steps=2 * args.horizon, batch_size=4 * args.horizon,
                ent_coef=0.01, seed=args.seed, tensorboard_log=args.logdir, verbose=0)
    model.learn(args.timesteps, progress_bar=False)
    model.save(Path(args.logdir) / "model.zip")

    seeds = range(1_000_000, 1_000_000 + args.eval_patients)  # patients never trained on
    ppo = [final_score(model, env_kwargs, s) for s in seeds]
    rest = [final_score(None, env_kwargs, s) for s in seeds]
    print(f"final score on {args.eval_patients} held-out patients: PPO {np.mean(ppo):.1f}, "
          f"no therapy {np.mean(rest):.1f} (model: {Path(args.logdir) / 'model.zip'})")


if __name__ == "__main__":
    main()
