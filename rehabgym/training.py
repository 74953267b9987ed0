"""Training an RL therapist with Stable-Baselines3 (`rehabgym train --config configs/x.yaml`).

One YAML per experiment fills a `TrainConfig`. A run writes into
`<out_root>/<experiment>/<timestamp>/`: `config.yaml` (resolved, the env config inlined),
`command.txt`, TensorBoard events (SB3's scalars, `recovery/…` and `therapy/…` from periodic
evaluation on held-out seeded patients, figures, hyperparameters), `checkpoints/`, `model.zip`,
and after training `evaluation/`: the agent against every baseline therapist on the same
held-out patients (Markdown, CSV, figures). `--resume <checkpoint.zip>` continues the timestep
count of an interrupted run in its own folder.
"""

from __future__ import annotations

import inspect
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, CheckpointCallback
from stable_baselines3.common.logger import Figure, HParam, configure
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    SubprocVecEnv,
    VecEnv,
    VecEnvWrapper,
    VecMonitor,
    VecNormalize,
)

from rehabgym.config import ConfigError, load_config, load_yaml, save_config
from rehabgym.evaluation import (
    CohortResult,
    TherapistFactory,
    before_after_figure,
    env_make_kwargs,
    mean_ci,
    run_cohort,
    save_report,
)
from rehabgym.therapists import (
    ALGORITHMS,
    HEURISTICS,
    REST,
    heuristic_factory,
    sb3_factory,
)

TB_ONLY = ("stdout", "log", "json", "csv")  # logger formats that cannot show figures/hparams


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
        eval_patients: held-out patients of the periodic evaluation.
        eval_seed: first seed of the held-out patients (eval_seed, eval_seed + 1, …).
        final_eval_patients: held-out patients of the comparison after training (0: skip it).
        baselines: heuristic therapists the agent is compared with after training: names, or
            names with arguments such as "round_robin(assistance=0, reps=3)" (level indices).
        checkpoint_every: timesteps between checkpoints (0: none).
        deterministic_eval: evaluate the agent by its most probable action; False samples its
            policy (seeded per patient) and the comparison adds the argmax policy as
            "<algorithm>_argmax".
        out_root: root folder of runs.
        progress_bar: show a progress bar.
        device: torch device of the policy.
    """

    experiment: str = "ppo_therapy"
    algorithm: Literal["ppo", "a2c", "dqn"] = "ppo"
    policy: str = "MlpPolicy"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    env_id: str = "rehabgym/Therapy-v0"
    env_config: str | dict[str, Any] | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    n_envs: int = 4
    vec_env: Literal["native", "dummy", "subproc"] = "native"
    normalize_reward: bool = False
    bootstrap_horizon: bool = True
    total_timesteps: int = 10_000
    seed: int = 0
    eval_every: int = 2_000
    eval_patients: int = 8
    eval_seed: int = 1_000_000
    final_eval_patients: int = 20
    baselines: list[str] = field(default_factory=lambda: list(HEURISTICS))
    checkpoint_every: int = 5_000
    deterministic_eval: bool = True
    out_root: str = "runs"
    progress_bar: bool = True
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(f"algorithm: {self.algorithm!r} is not one of {list(ALGORITHMS)}")
        for name, low in (("total_timesteps", 1), ("n_envs", 1), ("eval_every", 0),
                          ("eval_patients", 1), ("final_eval_patients", 0),
                          ("checkpoint_every", 0), ("seed", 0), ("eval_seed", 0)):
            value = getattr(self, name)
            if value < low:
                raise ConfigError(f"{name}: must be >= {low}, got {value}")
        for spec in self.baselines:
            try:
                heuristic_factory(spec)
            except ValueError as exc:
                raise ConfigError(f"baselines: {exc}") from exc
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


def _algorithm_arguments(algorithm: str) -> set[str]:
    import stable_baselines3

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


# ---------------------------------------------------------------- vector envs for SB3


class NativeVecEnvAdapter(VecEnv):
    """A Gymnasium `VectorEnv` (the environment's batched patients) seen as an SB3 `VecEnv`.

    SB3 expects a finished sub-env to be reset within the same step, with the last observation
    in `infos[i]["terminal_observation"]`. Gymnasium vector envs either do that (same-step
    autoreset, final obs in `info["final_obs"]`) or reset on the next step; with a fixed horizon
    every patient finishes on the same day, and the adapter then resets them all at once.
    Episode statistics (`info["episode"]`) are added for SB3's `rollout/ep_rew_mean`.
    """

    def __init__(self, envs: gym.vector.VectorEnv) -> None:
        self.envs = envs  # first: SB3's constructor reads render_mode through get_attr
        super().__init__(envs.num_envs, envs.single_observation_space, envs.single_action_space)
        mode = envs.metadata.get("autoreset_mode")
        self.same_step = getattr(mode, "value", mode) == "SameStep"
        self._actions: np.ndarray | None = None
        self._returns = np.zeros(self.num_envs)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)
        self._t0 = time.time()

    def reset(self) -> np.ndarray:
        seeds = self._seeds
        seed = None if all(s is None for s in seeds) else [int(s or 0) for s in seeds]
        obs, _ = self.envs.reset(seed=seed, options=self._options[0] if self._options else None)
        self._reset_seeds()
        self._reset_options()
        self._returns[:] = 0
        self._lengths[:] = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, reward, terminated, truncated, info = self.envs.step(self._actions)
        done = np.asarray(terminated) | np.asarray(truncated)
        self._returns += reward
        self._lengths += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if done.any():
            if self.same_step:
                final = info.get("final_obs")
                terminal = [final[i] for i in range(self.num_envs)]
            elif done.all():
                terminal = list(obs)
                obs, _ = self.envs.reset()
            else:
                raise RuntimeError(
                    "patients finished on different days under next-step autoreset; use "
                    "vec_env: dummy (or an environment with same-step autoreset)")
            for i in np.flatnonzero(done):
                infos[i]["terminal_observation"] = terminal[i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                infos[i]["episode"] = {"r": float(self._returns[i]), "l": int(self._lengths[i]),
                                       "t": round(time.time() - self._t0, 6)}
            self._returns[done] = 0
            self._lengths[done] = 0
        return obs, np.asarray(reward, dtype=np.float32), done, infos

    def close(self) -> None:
        self.envs.close()

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self.envs, attr_name, None)] * len(self._get_indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self.envs, attr_name, value)

    def env_method(self, method_name: str, *args: Any, indices: Any = None,
                   **kwargs: Any) -> list[Any]:
        result = getattr(self.envs, method_name)(*args, **kwargs)
        return [result] * len(self._get_indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        return [False] * len(self._get_indices(indices))


def make_train_env(cfg: TrainConfig) -> VecEnv:
    """The training vector env of `cfg` as an SB3 VecEnv, seeded with `cfg.seed`."""
    kwargs = cfg.make_kwargs()
    if cfg.vec_env == "native":
        venv: VecEnv = NativeVecEnvAdapter(gym.make_vec(
            cfg.env_id, num_envs=cfg.n_envs, vectorization_mode="vector_entry_point", **kwargs))
    else:
        fns = [_EnvFactory(cfg.env_id, kwargs) for _ in range(cfg.n_envs)]
        venv = VecMonitor(DummyVecEnv(fns) if cfg.vec_env == "dummy" else SubprocVecEnv(fns))
    venv.seed(cfg.seed)
    if not cfg.bootstrap_horizon:
        venv = EpisodeEndIsTerminal(venv)
    if cfg.normalize_reward:
        venv = VecNormalize(venv, norm_obs=False, norm_reward=True,
                            gamma=cfg.hyperparameters.get("gamma", 0.99))
    return venv


class EpisodeEndIsTerminal(VecEnvWrapper):
    """Clears SB3's `TimeLimit.truncated` flag, so the last day of an episode is not
    bootstrapped: for a fixed horizon that the observation shows, the episode end is the end
    of the task."""

    def reset(self) -> np.ndarray:
        return self.venv.reset()

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, reward, done, infos = self.venv.step_wait()
        for info in infos:
            info.pop("TimeLimit.truncated", None)
        return obs, reward, done, infos


class _EnvFactory:
    """Picklable `gymnasium.make` call (SubprocVecEnv sends it to the workers)."""

    def __init__(self, env_id: str, kwargs: dict[str, Any]) -> None:
        self.env_id, self.kwargs = env_id, kwargs

    def __call__(self) -> gym.Env:
        import rehabgym.envs  # noqa: F401 - registers the environments in a fresh worker

        return gym.make(self.env_id, **self.kwargs)


# ---------------------------------------------------------------- callbacks


def eval_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """Environment kwargs for evaluation: always the MultiDiscrete action the heuristics use."""
    return {**cfg.make_kwargs(), "action_type": "multidiscrete"}


class RecoveryEvalCallback(BaseCallback):
    """Every `eval_every` timesteps: the current policy treats the held-out patients; logs
    `recovery/final_score`, `recovery/gain_over_no_therapy`, `recovery/recovery_fraction`,
    `recovery/score_dir_k`, `therapy/dose`, `therapy/rest_fraction`, and figures (recovery
    curves, the schedule as a day × direction heat map). Hyperparameters go to the HParams tab.
    """

    def __init__(self, cfg: TrainConfig, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.cfg = cfg
        self.seeds = [cfg.eval_seed + i for i in range(cfg.eval_patients)]
        self.last_eval = -1
        self.control: CohortResult | None = None
        self.history: list[tuple[int, float]] = []

    def _on_training_start(self) -> None:
        hparams: dict[str, Any] = {
            "algorithm": self.cfg.algorithm, "n_envs": self.cfg.n_envs,
            "total_timesteps": self.cfg.total_timesteps, "seed": self.cfg.seed,
            "env_id": self.cfg.env_id}
        for key, value in self.cfg.hyperparameters.items():
            if isinstance(value, (int, float, str, bool)):
                hparams[key] = value
        metrics = {"recovery/final_score": 0.0, "recovery/gain_over_no_therapy": 0.0}
        self.logger.record("hparams", HParam(hparams, metrics), exclude=TB_ONLY)
        if self.last_eval < 0 and self.num_timesteps == 0:
            self.evaluate()  # the untrained policy: the starting point of every curve

    def _on_step(self) -> bool:
        every = self.cfg.eval_every
        if every and self.num_timesteps // every > max(self.last_eval, 0) // every:
            self.evaluate()
        return True

    def _on_training_end(self) -> None:
        if self.num_timesteps != self.last_eval:
            self.evaluate()
        fig = before_after_figure(self.cfg.env_id, eval_kwargs(self.cfg), self._agent,
                                  self.seeds[0], title=f"patient {self.seeds[0]}: the agent's "
                                  f"therapy after {self.num_timesteps} training days")
        if fig is not None:
            self.logger.record("figures/reach_before_after", Figure(fig, close=True),
                               exclude=TB_ONLY)
            self.logger.dump(self.num_timesteps)

    @property
    def _agent(self) -> TherapistFactory:
        """The current policy as a per-patient therapist factory."""
        return sb3_factory(self.model, deterministic=self.cfg.deterministic_eval)

    def evaluate(self) -> CohortResult:
        """Treat the held-out patients with the current policy and log what happened."""
        plan: dict[str, Any] = {"agent": self._agent}
        if self.control is None:
            plan["no_therapy"] = heuristic_factory("no_therapy")
        results = run_cohort(plan, self.cfg.env_id, eval_kwargs(self.cfg), self.seeds)
        self.control = results.get("no_therapy", self.control)
        res = results["agent"]
        assert self.control is not None
        self.log_results(res, self.control)
        self.last_eval = self.num_timesteps
        return res

    def log_results(self, res: CohortResult, control: CohortResult) -> None:
        import matplotlib.pyplot as plt

        from rehabgym.evaluation import recovery_curves_figure, schedule_figure

        log = self.logger
        final = float(np.mean(res.final))
        log.record("recovery/final_score", final)
        log.record("recovery/gain_over_no_therapy", float(np.mean(res.final - control.final)))
        log.record("recovery/recovery_fraction", mean_ci(res.recovery)[0])
        for k, score in enumerate(res.profiles[:, -1].mean(axis=0)):
            log.record(f"recovery/score_dir_{k}", float(score))
        log.record("therapy/dose", float(np.nanmean(res.dose)))
        log.record("therapy/rest_fraction", float(np.mean(res.actions[:, :, 0] == REST)))
        figs = {"figures/recovery_curves": recovery_curves_figure({"agent": res,
                                                                   "no_therapy": control}),
                "figures/schedule": schedule_figure(res)}
        for tag, fig in figs.items():
            log.record(tag, Figure(fig, close=True), exclude=TB_ONLY)
            plt.close(fig)
        log.dump(self.num_timesteps)
        self.history.append((self.num_timesteps, final))
        if self.verbose:
            print(f"[eval] {self.num_timesteps} days: final score {final:.1f}", file=sys.stderr)


class TqdmCallback(BaseCallback):
    """A tqdm progress bar over timesteps (SB3's own needs `rich`, not a dependency here)."""

    def _on_training_start(self) -> None:
        from tqdm import tqdm

        total = int(self.locals["total_timesteps"])
        self.bar = tqdm(total=total, initial=self.model.num_timesteps, unit="day",
                        desc="training", dynamic_ncols=True, file=sys.stderr)
        self._seen = self.model.num_timesteps

    def _on_step(self) -> bool:
        self.bar.update(self.num_timesteps - self._seen)
        self._seen = self.num_timesteps
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


# ---------------------------------------------------------------- the run


def run_folder(cfg: TrainConfig) -> Path:
    """A new `<out_root>/<experiment>/<timestamp>/` (suffixed if two runs share a second)."""
    base = Path(cfg.out_root) / cfg.experiment / datetime.now().strftime("%Y%m%d-%H%M%S")
    out, k = base, 1
    while out.exists():
        out, k = base.with_name(f"{base.name}-{k}"), k + 1
    out.mkdir(parents=True)
    return out


def _make_model(cfg: TrainConfig, venv: VecEnv, resume: Path | None) -> Any:
    import stable_baselines3

    cls = getattr(stable_baselines3, cfg.algorithm.upper())
    if resume is not None:
        if not resume.is_file():
            raise ConfigError(f"resume: checkpoint not found: {resume}")
        if isinstance(venv, VecNormalize):
            stats = normalization_file(resume)
            if not stats.is_file():
                raise ConfigError(f"resume: normalize_reward is on but {stats} is missing")
            venv.ret_rms = VecNormalize.load(str(stats), venv.venv).ret_rms
        return cls.load(resume, env=venv, device=cfg.device)
    return cls(cfg.policy, venv, seed=cfg.seed, device=cfg.device, verbose=0,
               **cfg.hyperparameters)


def normalization_file(checkpoint: Path) -> Path:
    """The `VecNormalize` statistics saved with a checkpoint (or beside `model.zip`)."""
    stem = checkpoint.stem
    name = stem.replace("model_", "model_vecnormalize_", 1) if stem.startswith("model_") \
        else "vecnormalize"
    return checkpoint.with_name(name + ".pkl")


def train(cfg: TrainConfig, out: Path | None = None, resume: str | Path | None = None,
          command: Sequence[str] | None = None) -> Path:
    """Train (or resume) a therapist, then compare it with the baselines; returns the run folder.

    `resume` is a checkpoint `.zip`: the timestep count continues from it, and the run goes on
    in the checkpoint's run folder when it lies in `<run>/checkpoints/`.
    """
    import rehabgym.envs  # noqa: F401 - registers the environments

    resume_path = Path(resume) if resume is not None else None
    if out is None and resume_path is not None and resume_path.parent.name == "checkpoints":
        out = resume_path.parent.parent
    out = Path(out) if out is not None else run_folder(cfg)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    line = shlex.join(list(command) if command is not None else sys.argv)
    with open(out / "command.txt", "a") as f:
        f.write(line + "\n")

    venv = make_train_env(cfg)
    try:
        model = _make_model(cfg, venv, resume_path)
        model.set_logger(configure(str(out), ["stdout", "tensorboard"] if cfg.progress_bar is False
                                   else ["tensorboard"]))
        remaining = cfg.total_timesteps - model.num_timesteps
        evaluator = RecoveryEvalCallback(cfg)
        callbacks: list[BaseCallback] = [evaluator]
        if cfg.checkpoint_every:
            callbacks.append(CheckpointCallback(max(cfg.checkpoint_every // cfg.n_envs, 1),
                                                str(out / "checkpoints"), name_prefix="model",
                                                save_vecnormalize=cfg.normalize_reward))
        if cfg.progress_bar:
            callbacks.append(TqdmCallback())
        if remaining > 0:
            model.learn(remaining, callback=CallbackList(callbacks),
                        reset_num_timesteps=resume_path is None, tb_log_name="train")
        model.save(out / "model.zip")
        if isinstance(venv, VecNormalize):
            venv.save(str(normalization_file(out / "model.zip")))
    finally:
        venv.close()
    if cfg.final_eval_patients:
        compare(cfg, model, out / "evaluation")
    return out


def compare(cfg: TrainConfig, model: Any, out: Path) -> list[dict[str, Any]]:
    """The trained agent against every baseline on `final_eval_patients` held-out patients;
    writes the report into `out` and prints the table."""
    import matplotlib.pyplot as plt

    from rehabgym.evaluation import markdown_table

    agent = sb3_factory(model, deterministic=cfg.deterministic_eval)
    plan: dict[str, Any] = {cfg.algorithm: agent}
    if not cfg.deterministic_eval:
        plan[f"{cfg.algorithm}_argmax"] = sb3_factory(model)
    for name in cfg.baselines:
        plan[name] = heuristic_factory(name)
    seeds = [cfg.eval_seed + i for i in range(cfg.final_eval_patients)]
    t0 = time.time()
    results = run_cohort(plan, cfg.env_id, eval_kwargs(cfg), seeds, progress=cfg.progress_bar)
    rows = save_report(results, out)
    fig = before_after_figure(cfg.env_id, eval_kwargs(cfg), agent, seeds[0],
                              title=f"patient {seeds[0]} treated by the {cfg.algorithm} agent")
    if fig is not None:
        fig.savefig(out / "reach_before_after.png", dpi=110)
        plt.close(fig)
    print(f"\nHeld-out cohort: {len(seeds)} patients (seeds {seeds[0]}…{seeds[-1]}), "
          f"{time.time() - t0:.0f} s; report in {out}\n")
    print(markdown_table(rows))
    return rows
