"""Training an RL therapist with Stable-Baselines3 (`rehabgym train --config configs/x.yaml`).

A run writes into `<out_root>/<experiment>/<timestamp>/`: `config.yaml` (resolved, the env
config inlined), `command.txt`, TensorBoard events, `checkpoints/`, `model.zip`, and after
training `evaluation/`: the agent against every baseline therapist on the same held-out
patients (Markdown, CSV, figures). `--resume <checkpoint.zip>` continues the timestep count of
an interrupted run in its own folder.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import stable_baselines3
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import configure
from stable_baselines3.common.vec_env import VecEnv, VecNormalize
from torch.utils.tensorboard import SummaryWriter

from rehabgym.atomic import append_line, atomic_path
from rehabgym.config import ConfigError, save_config
from rehabgym.evaluation import markdown_table, save_report
from rehabgym.evaluation.compare import treat_plan
from rehabgym.evaluation.engine import (
    ArmTherapist,
    on_one_thread,
)
from rehabgym.evaluation.figures import before_after_figure
from rehabgym.stages import Stages
from rehabgym.therapists import load_sb3_model, sb3_factory
from rehabgym.therapists.registry import resolve_spec
from rehabgym.therapists.sb3 import RESIDUAL_ATTRIBUTE
from rehabgym.training.callbacks import AtomicCheckpoints, RecoveryEvalCallback, TqdmCallback
from rehabgym.training.config import TrainConfig
from rehabgym.training.curve import save_learning_curve
from rehabgym.training.resume import can_resume_exactly, load_resume, resume_file
from rehabgym.training.vec_env import make_train_env, normalization_file
from rehabgym.training.warm_start import clone_into, start_at_no_correction

#: the warm start's cloned policy in a run folder (compared after training)
CLONE_FILE = "clone.zip"


def run_folder(cfg: TrainConfig) -> Path:
    """A new `<out_root>/<experiment>/<timestamp>/` (suffixed if two runs share a second)."""
    base = Path(cfg.out_root) / cfg.experiment / datetime.now().strftime("%Y%m%d-%H%M%S")
    out, k = base, 1
    while out.exists():
        out, k = base.with_name(f"{base.name}-{k}"), k + 1
    out.mkdir(parents=True)
    return out


def latest_checkpoint(path: Path) -> Path:
    """`path` if it is a checkpoint file; for a run folder, its latest checkpoint
    (`checkpoints/model_<N>_steps.zip` with the largest N)."""
    if path.is_dir():
        found = sorted((path / "checkpoints").glob("model_*_steps.zip"),
                       key=lambda p: int(p.stem.split("_")[1]))
        if not found:
            raise ConfigError(f"resume: no checkpoint in {path / 'checkpoints'}")
        return found[-1]
    return path


def _make_model(cfg: TrainConfig, venv: VecEnv, resume: Path | None) -> Any:
    cls = getattr(stable_baselines3, cfg.algorithm.upper())
    if resume is not None:
        if not resume.is_file():
            raise ConfigError(f"resume: checkpoint not found: {resume}")
        if isinstance(venv, VecNormalize):
            stats = normalization_file(resume)
            if not stats.is_file():
                raise ConfigError(f"resume: normalize_reward is on but {stats} is missing")
            venv.ret_rms = VecNormalize.load(str(stats), venv.venv).ret_rms
        exact = resume_file(resume).is_file() and can_resume_exactly(venv)
        # the env is not reset when its state is restored: the run goes on mid-episode
        model = cls.load(resume, env=venv, device=cfg.device, force_reset=not exact)
        if exact:
            load_resume(resume_file(resume), venv)
        return model
    model = cls(cfg.policy, venv, seed=cfg.seed, device=cfg.device, verbose=0,
                **cfg.hyperparameters)
    if cfg.residual is not None:
        # saved with the model: the heuristic with a tuned file's values written out
        setattr(model, RESIDUAL_ATTRIBUTE, resolve_spec(cfg.residual))
        start_at_no_correction(model.policy, cfg.residual_keep)
    return model


def train(cfg: TrainConfig, out: Path | None = None, resume: str | Path | None = None,
          command: Sequence[str] | None = None) -> Path:
    """Train (or resume) a therapist, then compare it with the baselines; returns the run folder.

    `resume` is a checkpoint `.zip` or a run folder (its latest checkpoint): the timestep count
    continues from it, and the run goes on in the checkpoint's run folder when it lies in
    `<run>/checkpoints/`. What the interrupted run logged to TensorBoard after that checkpoint
    is purged, so no timestep is counted twice. On the native vector env (the default) a
    resumed run is the uninterrupted run number for number: checkpoints are taken where a
    rollout starts, with the env's patients mid-episode and the random generators
    (`training/resume.py`). On SB3's own vector envs, or for DQN (no replay buffer saved), the
    environments start new episodes and the generators start again, so the policy after the
    checkpoint differs from the one an uninterrupted run would have learned.
    """
    resume_path = latest_checkpoint(Path(resume)) if resume is not None else None
    if out is None and resume_path is not None and resume_path.parent.name == "checkpoints":
        out = resume_path.parent.parent
    out = Path(out) if out is not None else run_folder(cfg)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    append_line(out / "command.txt", shlex.join(list(command) if command is not None
                                                 else sys.argv))

    venv = make_train_env(cfg)
    evaluator = RecoveryEvalCallback(cfg)
    try:
        model = _make_model(cfg, venv, resume_path)
        if cfg.warm_start is not None and resume_path is None:
            clone_into(cfg, model, out / CLONE_FILE)
        if resume_path is not None:
            # TensorBoard drops what the interrupted run logged after the checkpoint (this
            # marker must come before the new run's event file)
            SummaryWriter(str(out), purge_step=model.num_timesteps + 1).close()
            # event files are read in name order: <whole seconds>.<host>.<pid>.<counter>; in the
            # same second a counter of 10 sorts before 9, so the new file starts a second later
            time.sleep(1.0 - time.time() % 1.0)
        model.set_logger(configure(str(out), ["stdout", "tensorboard"] if cfg.progress_bar is False
                                   else ["tensorboard"]))
        remaining = cfg.total_timesteps - model.num_timesteps
        callbacks: list[BaseCallback] = [evaluator]
        if cfg.checkpoint_every:
            callbacks.append(AtomicCheckpoints(cfg.checkpoint_every, out / "checkpoints",
                                               cfg.normalize_reward))
        if cfg.progress_bar:
            callbacks.append(TqdmCallback())
        if remaining > 0:
            model.learn(remaining, callback=CallbackList(callbacks),
                        reset_num_timesteps=resume_path is None, tb_log_name="train")
        if isinstance(venv, VecNormalize):
            with atomic_path(normalization_file(out / "model.zip")) as tmp:
                venv.save(str(tmp))
        with atomic_path(out / "model.zip") as tmp:
            model.save(tmp)
    finally:
        evaluator.close()
        venv.close()
    save_learning_curve(out, cfg.eval_patients)
    if cfg.final_eval_patients:
        compare(cfg, out / "model.zip", out / "evaluation")
    return out


def compare(cfg: TrainConfig, model_file: Path, out: Path) -> list[dict[str, Any]]:
    """The trained agent (`model_file`) against every baseline on `final_eval_patients`
    held-out patients; writes the report into `out` and prints the table.

    Each therapist's patients are one task of the evaluation engine, run on `cfg.workers`
    processes (a therapist's patients form the same batch wherever they run, so the table does
    not depend on the workers); finished tasks are kept in `out/stages/`, so a comparison
    killed midway continues from them when run again.
    """
    model_file = Path(model_file)
    agent = ArmTherapist(f"{cfg.algorithm}:{model_file}", model_file.read_bytes())
    plan: list[tuple[str, ArmTherapist, bool]] = [
        (cfg.algorithm, agent, not cfg.deterministic_eval)]
    if not cfg.deterministic_eval:
        plan.append((f"{cfg.algorithm}_argmax", agent, False))
    clone = model_file.with_name(CLONE_FILE)
    if cfg.warm_start is not None and clone.is_file():
        plan.append((f"{cfg.warm_start} (cloned)",
                     ArmTherapist(f"{cfg.algorithm}:{clone}", clone.read_bytes()), False))
    plan += [(name, ArmTherapist.of(name), False) for name in cfg.baselines]
    seeds = tuple(cfg.eval_seed + i for i in range(cfg.final_eval_patients))
    kwargs = cfg.eval_kwargs()
    workers = cfg.workers or os.cpu_count() or 1
    task_kwargs = on_one_thread(kwargs) if workers > 1 else kwargs
    fingerprint = {"therapists": [name for name, _, _ in plan], "seeds": list(seeds),
                   "env_id": cfg.env_id, "env_kwargs": kwargs,
                   "model": hashlib.sha256(agent.model or b"").hexdigest()}
    t0 = time.time()
    # one task per therapist: its patients form one batch, as in a single process
    results = treat_plan(plan, seeds, cfg.env_id, task_kwargs,
                         Stages(out, fingerprint, "rehabgym train: comparison"),
                         max_batch=len(seeds), workers=workers, progress=cfg.progress_bar)
    rows = save_report(results, out)
    if cfg.residual is not None and cfg.residual in results:
        same = float(np.mean(np.all(results[cfg.algorithm].actions
                                    == results[cfg.residual].actions, axis=-1)))
        line = (f"\nThe agent's action is {cfg.residual}'s on {100 * same:.1f} % of the held-out "
                f"patient-days (a residual agent starts at 100 %).\n")
        append_line(out / "evaluation.md", line)
        print(line)
    fig = before_after_figure(cfg.env_id, kwargs, sb3_factory(load_sb3_model(
        model_file, cfg.algorithm), deterministic=cfg.deterministic_eval), seeds[0],
        title=f"patient {seeds[0]} treated by the {cfg.algorithm} agent")
    if fig is not None:
        with atomic_path(out / "reach_before_after.png") as tmp:
            fig.savefig(tmp, dpi=110)
    print(f"\nHeld-out cohort: {len(seeds)} patients (seeds {seeds[0]}…{seeds[-1]}), "
          f"{time.time() - t0:.0f} s; report in {out}\n")
    print(markdown_table(rows))
    return rows
