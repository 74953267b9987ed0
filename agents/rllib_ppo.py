"""Train a PPO therapist on `rehabgym/Therapy-v2` with RLlib (Ray's distributed RL library).

    python agents/rllib_ppo.py --iterations 20 --env-runners 2 --out runs/agents_rllib
    python agents/rllib_ppo.py --address auto ...   # on a running Ray cluster

RLlib's env runners are Ray actors, each simulating its own patients: on a cluster of several
machines they run wherever Ray places them. Each actor makes the environment through the
creator registered below, which imports rehabgym in that process (so every node needs the
package installed, as any Ray job does); nothing assumes a shared file system: the results
come back to this driver, and the checkpoint is written here. Public API only: copy it and
change what you like.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ENV_ID = "rehabgym/Therapy-v2"
RLLIB_ENV = "rehabgym_therapy"  # the name the env runners know the environment by


def make_env(env_config: dict[str, Any]) -> Any:
    """The therapy environment in an env runner's process (it registers on import)."""
    import gymnasium as gym

    import rehabgym  # noqa: F401  (registers rehabgym/Therapy-v2 in this process)

    kwargs = dict(env_config)
    horizon = kwargs.get("horizon_days")
    if horizon is not None:
        kwargs.setdefault("max_episode_steps", horizon)
    return gym.make(ENV_ID, **kwargs)


def build(env_config: dict[str, Any], env_runners: int, horizon: int, seed: int) -> Any:
    """An RLlib PPO algorithm on the therapy environment."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.tune.registry import register_env

    register_env(RLLIB_ENV, make_env)
    batch = max(env_runners, 1) * horizon * 2  # two episodes per runner per iteration
    config = (PPOConfig()
              .environment(RLLIB_ENV, env_config=env_config)
              .env_runners(num_env_runners=env_runners, num_envs_per_env_runner=1,
                           rollout_fragment_length=horizon, num_cpus_per_env_runner=1)
              .learners(num_learners=0)
              .training(train_batch_size=batch, minibatch_size=horizon, num_epochs=4, lr=3e-4)
              .debugging(seed=seed))
    return config.build_algo()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=20, help="RLlib training iterations")
    p.add_argument("--env-runners", type=int, default=2, help="env runner actors")
    p.add_argument("--horizon", type=int, default=10, help="therapy days per episode")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--address", default=None,
                   help="Ray cluster address (default: start a local one)")
    p.add_argument("--env-config", default=None,
                   help="JSON of TherapyEnvConfig overrides, e.g. '{\"cohort\": \"mild\"}'")
    p.add_argument("--out", default="runs/agents_rllib", help="checkpoint and results folder")
    args = p.parse_args(argv)

    import ray

    env_config = {"horizon_days": args.horizon, "repetition_levels": [10, 20, 40],
                  **json.loads(args.env_config or "{}")}
    started = not ray.is_initialized()
    if started:
        ray.init(address=args.address, num_cpus=None if args.address else args.env_runners + 1,
                 include_dashboard=False, log_to_driver=False)
    try:
        algo = build(env_config, args.env_runners, env_config["horizon_days"], args.seed)
        try:
            returns = []
            for i in range(args.iterations):
                result = algo.train()
                runners = result.get("env_runners", {})
                returns.append(float(runners.get("episode_return_mean", float("nan"))))
                print(f"iteration {i + 1}: mean episode return {returns[-1]:.2f}, "
                      f"{runners.get('num_env_steps_sampled_lifetime', 0)} days simulated")
            out = Path(args.out).resolve()
            checkpoint = algo.save_to_path(str(out / "checkpoint"))
        finally:
            algo.stop()
    finally:
        if started:
            ray.shutdown()
    summary = {"iterations": args.iterations, "episode_return_mean": returns,
               "checkpoint": str(checkpoint)}
    (out / "results.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"checkpoint: {checkpoint}")
    return summary


if __name__ == "__main__":
    main()
