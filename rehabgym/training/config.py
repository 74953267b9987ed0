"""`TrainConfig`: every default of a training run; one YAML per experiment overrides it."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import stable_baselines3

from rehabgym.config import (
    ConfigError,
    Count,
    NonNegativeInt,
    OpenFraction,
    Range,
    check_fields,
    load_config,
    load_yaml,
)
from rehabgym.evaluation import env_make_kwargs
from rehabgym.therapists import BASELINES, heuristic_factory

#: the main job's experiment (`rehabgym train` without --config)
DEFAULT_EXPERIMENT = "configs/ppo_therapy.yaml"


@dataclass
class TrainConfig:
    """Every default of a training run (one YAML per experiment overrides them).

    Attributes:
        experiment: run folder name under `out_root`.
        algorithm: "ppo", "a2c" or "dqn" (DQN trains on the Discrete flattening).
        policy: SB3 policy name.
        hyperparameters: keyword arguments of the SB3 algorithm (checked against its signature).
        env_id: registered environment id.
        env_config: environment config: a YAML path (relative to the experiment YAML's folder,
            or to the working directory for a dict config) or a mapping; None keeps the
            environment's defaults. The saved config.yaml holds it inlined.
        env_kwargs: further keyword arguments of `gymnasium.make` (overrides of env_config).
        n_envs: patients simulated in parallel while training.
        vec_env: "native" (the environment's batched vector env behind an SB3 adapter),
            "dummy" or "subproc" (SB3 vector envs of single environments).
        env_workers: processes the native vector env's patients are split over, each on one
            thread (`ShardedVectorEnv`: on 2 cores 1.5x the patient-days of one process with
            threads; the same patients, their numbers equal to float rounding). None: the
            cores, at most n_envs; 1: this process. A resume needs the run's own value.
        normalize_reward: scale rewards by a running estimate of the return's spread (SB3's
            `VecNormalize`, rewards only), so the critic fits returns of order one whatever
            the cohort; saved with checkpoints and restored on resume.
        bootstrap_horizon: at the end of an episode (a truncation after `horizon_days`),
            bootstrap the value of the last observation, as SB3 does for time limits. False
            treats the horizon as the end of the task (the therapy day is in the observation),
            so the return is the score gained by the end of the episode.
        total_timesteps: therapy days of training in total (resume counts the days done).
        seed: seed of the run (policy initialisation, training patients).
        eval_every: timesteps between evaluations on held-out patients (0: only at the end).
        eval_in_background: run the periodic evaluations on a worker process while training
            goes on (logged at the timestep of the policy they evaluated, with the numbers an
            evaluation in this process gives); False pauses training for each. The worker
            makes the environment from its id, so the id must be one importing rehabgym
            registers.
        eval_patients: held-out patients of the periodic evaluation.
        eval_seed: first seed of the held-out patients (eval_seed, eval_seed + 1, …).
        final_eval_patients: held-out patients of the comparison after training (0: skip it).
        workers: processes of the comparison after training, each therapist's patients one
            task (the numbers do not depend on it; None: the cores; 1: this process).
        baselines: heuristic therapists the agent is compared with after training: names, or
            names with arguments such as "round_robin(assistance=0, reps=3)" (level indices).
        checkpoint_every: timesteps between checkpoints (0: none).
        deterministic_eval: evaluate the agent by its most probable action; False samples its
            policy (seeded per patient) and the comparison adds the argmax policy as
            "<algorithm>_argmax".
        out_root: root folder of runs.
        progress_bar: show a progress bar.
        device: torch device of the policy.
        residual: a heuristic's spec (e.g. "adaptive"): the agent learns a correction of that
            heuristic's daily action (`therapists.residual`) instead of the action itself, and
            starts at no correction, i.e. at the heuristic; None: the action itself.
        residual_keep: with `residual`, the starting policy's probability of keeping each
            entry of the heuristic's action (its most probable correction is none, so its
            argmax is the heuristic; the rest is exploration).
        eval_baselines: heuristics treated once on the periodic evaluation's patients, drawn
            beside the agent in TensorBoard (`reference/final_score/<name>`); no therapy is
            always treated (the control of `recovery/gain_over_no_therapy`).
        warm_start: a heuristic's spec: before training, the policy is cloned from it
            (behaviour cloning on `warm_start_patients` training patients, seeds from `seed`),
            saved as `clone.zip` and compared after training as "<spec> (cloned)"; None: the
            policy starts untrained.
        warm_start_patients: training patients whose days with the heuristic are the
            demonstrations.
        warm_start_epochs: passes over the demonstrations.
    """

    experiment: str = "ppo_therapy"
    algorithm: Literal["ppo", "a2c", "dqn"] = "ppo"
    policy: str = "MlpPolicy"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    env_id: str = "rehabgym/Therapy-v2"
    env_config: str | dict[str, Any] | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_envs: Annotated[int, Range(1, 1024)] = 4
    vec_env: Literal["native", "dummy", "subproc"] = "native"
    env_workers: Count | None = None
    normalize_reward: bool = False
    bootstrap_horizon: bool = True
    total_timesteps: Count = 10_000
    seed: NonNegativeInt = 0
    eval_every: NonNegativeInt = 2_000
    eval_in_background: bool = True
    eval_patients: Count = 8
    eval_seed: NonNegativeInt = 1_000_000
    final_eval_patients: NonNegativeInt = 20
    workers: Count | None = None
    baselines: list[str] = field(default_factory=lambda: list(BASELINES))
    checkpoint_every: NonNegativeInt = 5_000
    deterministic_eval: bool = True
    out_root: str = "runs"
    progress_bar: bool = True
    device: str = "cpu"
    eval_baselines: list[str] = field(default_factory=lambda: ["adaptive"])
    residual: str | None = None
    residual_keep: OpenFraction = 0.8
    warm_start: str | None = None
    warm_start_patients: Count = 32
    warm_start_epochs: Count = 200

    def __post_init__(self) -> None:
        check_fields(self)
        specs = [(k, s) for k in ("baselines", "eval_baselines") for s in getattr(self, k)]
        specs += [(k, getattr(self, k)) for k in ("residual", "warm_start")
                  if getattr(self, k) is not None]
        for key, spec in specs:
            try:
                heuristic_factory(spec)
            except ValueError as exc:
                raise ConfigError(f"{key}: {exc}") from exc
        for key in ("residual", "warm_start"):
            if getattr(self, key) is not None and self.algorithm == "dqn":
                raise ConfigError(f"{key}: needs the MultiDiscrete action distribution; "
                                  f"algorithm 'dqn' has none; allowed: 'ppo', 'a2c'")
        if self.residual is not None and self.warm_start is not None:
            raise ConfigError("warm_start: a residual policy starts at its heuristic already; "
                              "allowed with residual: null")
        if self.residual is not None and self.vec_env != "native":
            raise ConfigError(f"residual: runs on the native vector env; vec_env "
                              f"{self.vec_env!r} is not allowed with it; allowed: 'native'")
        if self.algorithm == "dqn" and not self.deterministic_eval:
            raise ConfigError("deterministic_eval: dqn has no action distribution to sample; "
                              "allowed: true")
        allowed = _algorithm_arguments(self.algorithm)
        bad = sorted(set(self.hyperparameters) - allowed)
        if bad:
            raise ConfigError(f"unknown key(s) {['hyperparameters.' + k for k in bad]} for "
                              f"{self.algorithm}; allowed: {sorted(allowed)}")

    def make_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `gymnasium.make` for this run's environment."""
        kwargs = env_make_kwargs(self.env_config, self.env_kwargs)
        if self.algorithm == "dqn":
            kwargs["action_type"] = "discrete"
        return kwargs

    def eval_kwargs(self) -> dict[str, Any]:
        """Environment kwargs for evaluation: always the MultiDiscrete action the heuristics
        use."""
        return {**self.make_kwargs(), "action_type": "multidiscrete"}


def _algorithm_arguments(algorithm: str) -> set[str]:
    cls = getattr(stable_baselines3, algorithm.upper())
    params = set(inspect.signature(cls.__init__).parameters)
    return params - {"self", "policy", "env", "_init_setup_model", "tensorboard_log", "seed",
                     "device", "verbose"}


def load_train_config(source: str | Path | dict[str, Any]) -> TrainConfig:
    """A `TrainConfig` from a YAML file or dict; an env_config path is read and inlined so
    the saved config is complete (a missing env config file fails here, naming it).
    Relative env_config paths are relative to the folder of the YAML file that names them."""
    cfg = load_config(TrainConfig, source)
    if isinstance(cfg.env_config, str):
        path = Path(cfg.env_config)
        if not path.is_absolute() and not isinstance(source, dict):
            path = Path(source).parent / path
        try:
            cfg.env_config = load_yaml(path)
        except ConfigError as exc:
            raise ConfigError(f"env_config: {exc}") from exc
    return cfg
