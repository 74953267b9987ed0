"""Training callbacks: the held-out patients treated by the current policy, logged to
TensorBoard (`recovery/…`, `therapy/…`, figures, hyperparameters), and a progress bar."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Figure, HParam, TensorBoardOutputFormat
from tqdm import tqdm

from rehabgym.atomic import atomic_path, remove_leftovers
from rehabgym.envs.actions import REST
from rehabgym.evaluation import CohortResult, run_cohort
from rehabgym.evaluation.cohort import RECORD_KEYS
from rehabgym.evaluation.engine import ArmTherapist, ChunkTask, on_one_thread, treat_chunk
from rehabgym.evaluation.figures import (
    before_after_figure,
    recovery_curves_figure,
    schedule_by_severity_figure,
    schedule_figure,
)
from rehabgym.stats import mean_ci
from rehabgym.therapists import TherapistFactory, heuristic_factory, sb3_factory
from rehabgym.training.config import TrainConfig
from rehabgym.training.resume import can_resume_exactly, resume_file, save_resume

TB_ONLY = ("stdout", "log", "json", "csv")  # logger formats that cannot show figures/hparams
#: the action's entries, as the `actions/…` histograms name them (precision: with the
#: environment's `precision_levels`)
ACTION_ENTRIES = ("direction", "distance", "assistance", "repetitions", "precision")


@contextmanager
def _logged_apart(logger: Any) -> Iterator[None]:
    """What is recorded inside is dumped on its own: the values the algorithm recorded and
    has not dumped yet stay pending for its own dump (at its own timestep)."""
    books = (logger.name_to_value, logger.name_to_count, logger.name_to_excluded)
    saved = [dict(book) for book in books]
    for book in books:
        book.clear()
    try:
        yield
    finally:
        for book, old in zip(books, saved):
            book.clear()
            book.update(old)


class RecoveryEvalCallback(BaseCallback):
    """Every `eval_every` timesteps: the current policy treats the held-out patients; logs
    `recovery/final_score`, `recovery/gain_over_no_therapy`, `recovery/recovery_fraction`,
    `recovery/score_dir_k`, `therapy/dose`, `therapy/rest_fraction`, histograms of the
    actions chosen (`actions/…`), the reference therapists' final scores
    (`reference/final_score/<name>`: `cfg.eval_baselines`, treated once, drawn with the
    agent's in one chart of the Custom Scalars tab), and figures (recovery curves, the
    schedule as a day × direction heat map, the schedule by severity). Hyperparameters go to
    the HParams tab.

    With `cfg.eval_in_background` a copy of the policy treats them on a worker process while
    training goes on, and what it did is logged at the timestep of the copy when it is back
    (the same numbers as in this process: a patient depends only on its seed, its therapist
    and the environment). The environment id must then be registered by importing rehabgym.
    """

    def __init__(self, cfg: TrainConfig, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.cfg = cfg
        self.seeds = [cfg.eval_seed + i for i in range(cfg.eval_patients)]
        self.last_eval = -1
        self.references: dict[str, CohortResult] = {}  # no_therapy and cfg.eval_baselines
        self.history: list[tuple[int, float]] = []
        self._pool: ProcessPoolExecutor | None = None
        # evaluations on the worker, oldest first: (timestep, the agent's, the references')
        self._pending: list[tuple[int, Future, dict[str, Future]]] = []

    @property
    def control(self) -> CohortResult | None:
        return self.references.get("no_therapy")

    @property
    def _reference_names(self) -> list[str]:
        return ["no_therapy", *(b for b in self.cfg.eval_baselines if b != "no_therapy")]

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
        writer = next((f.writer for f in self.logger.output_formats
                       if isinstance(f, TensorBoardOutputFormat)), None)
        if writer is not None:
            writer.add_custom_scalars({"recovery": {
                "held-out final score: agent and references": [
                    "Multiline", ["recovery/final_score", "reference/final_score/.*"]]}})
        if self.cfg.eval_in_background and self._pool is None:
            # spawned: a forked child would inherit torch's and the loop's threads mid-state;
            # glibc's allocator left as it is, as in training's shards (envs/shards.py)
            self._pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))
        if self.last_eval < 0 and (self.num_timesteps == 0 or self._pool is not None):
            # the untrained policy: the starting point of every curve; a resumed run's
            # policy again when evaluations in flight may have died with the run before
            self.treat_held_out()
        elif self.last_eval < 0:
            self.last_eval = self.num_timesteps  # resumed: the schedule goes on from here

    def _on_step(self) -> bool:
        every = self.cfg.eval_every
        if every and self.num_timesteps // every > max(self.last_eval, 0) // every:
            self.treat_held_out()
        self._log_finished(wait=False)
        return True

    def _on_training_end(self) -> None:
        if self.num_timesteps != self.last_eval:
            self.treat_held_out()
        self._log_finished(wait=True)
        self.close()
        fig = before_after_figure(self.cfg.env_id, self.cfg.eval_kwargs(), self._agent,
                                  self.seeds[0], title=f"patient {self.seeds[0]}: the agent's "
                                  f"therapy after {self.num_timesteps} training days")
        if fig is not None:
            with _logged_apart(self.logger):
                self.logger.record("figures/reach_before_after", Figure(fig, close=True),
                                   exclude=TB_ONLY)
                # a figure alone is nothing to print: SB3 would warn of an empty dump
                self.logger.record("time/total_timesteps", self.num_timesteps)
                self.logger.dump(self.num_timesteps)

    def close(self) -> None:
        """Stop the evaluation worker (evaluations still running are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    @property
    def _agent(self) -> TherapistFactory:
        """The current policy as a per-patient therapist factory."""
        return sb3_factory(self.model, deterministic=self.cfg.deterministic_eval)

    def treat_held_out(self) -> None:
        """Treat the held-out patients with the current policy and log what happened (in
        the background: once it is back)."""
        step = self.num_timesteps
        self.last_eval = step
        missing = [] if self.references or self._pending else self._reference_names
        if self._pool is None:
            plan: dict[str, Any] = {"agent": self._agent}
            plan.update({name: heuristic_factory(name) for name in missing})
            results = run_cohort(plan, self.cfg.env_id, self.cfg.eval_kwargs(), self.seeds)
            self.references.update({name: results[name] for name in missing})
            self.log_results(results["agent"], step)
            return
        buffer = io.BytesIO()
        self.model.save(buffer)
        agent = ArmTherapist(f"{self.cfg.algorithm}:in-memory", buffer.getvalue())
        references = {name: self._pool.submit(treat_chunk, self._task(ArmTherapist.of(name)))
                      for name in missing}
        self._pending.append((step, self._pool.submit(treat_chunk, self._task(agent)),
                              references))

    def _task(self, therapist: ArmTherapist) -> ChunkTask:
        n = len(self.seeds)
        # on one thread: the worker uses what training leaves of the cores
        return ChunkTask(0, tuple(self.seeds), (0,) * n, (therapist,), self.cfg.env_id,
                         on_one_thread(self.cfg.eval_kwargs()),
                         sample=not self.cfg.deterministic_eval)

    def _log_finished(self, wait: bool) -> None:
        """Log the background evaluations that are back, oldest first (all, with `wait`)."""
        while self._pending:
            step, agent, references = self._pending[0]
            if not wait and not (agent.done() and all(f.done() for f in references.values())):
                return
            self._pending.pop(0)
            self.references.update({name: self._cohort(name, f.result())
                                    for name, f in references.items()})
            self.log_results(self._cohort("agent", agent.result()), step)

    def _cohort(self, name: str, chunk: dict[str, np.ndarray]) -> CohortResult:
        return CohortResult(name=name, seeds=chunk["seeds"],
                            **{k: chunk[k] for k in RECORD_KEYS})

    def log_results(self, res: CohortResult, step: int) -> None:
        """What the policy of timestep `step` did, logged at that step."""
        with _logged_apart(self.logger):
            self._record(res)
            self.logger.dump(step)
        final = float(np.mean(res.final))
        self.history.append((step, final))
        if self.verbose:
            print(f"[eval] {step} days: final score {final:.1f}", file=sys.stderr)

    def _record(self, res: CohortResult) -> None:
        log = self.logger
        control = self.references["no_therapy"]
        for name, ref in self.references.items():
            log.record(f"reference/final_score/{name}", float(np.mean(ref.final)))
        for k, entry in enumerate(ACTION_ENTRIES[:res.actions.shape[-1]]):
            log.record(f"actions/{entry}", res.actions[:, :, k].ravel().astype(np.float64),
                       exclude=TB_ONLY)
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
                "figures/schedule": schedule_figure(res),
                "figures/schedule_by_severity": schedule_by_severity_figure(res)}
        for tag, fig in figs.items():
            log.record(tag, Figure(fig, close=True), exclude=TB_ONLY)


class AtomicCheckpoints(BaseCallback):
    """Where a rollout starts, once `every` timesteps have passed since the last checkpoint:
    the model saved as `<folder>/model_<timesteps>_steps.zip`, with the `VecNormalize`
    statistics beside it (`model_vecnormalize_<timesteps>_steps.pkl`) when `normalize`, and on
    the native vector env the state a resumed run needs to continue exactly
    (`model_resume_<timesteps>_steps.pt`, `training/resume.py`). Each file is written whole or
    not at all, the model last, so a run killed while saving resumes from its last complete
    checkpoint. At a rollout's start the rollout buffer is empty and the last update done.
    """

    def __init__(self, every: int, folder: Path, normalize: bool) -> None:
        super().__init__()
        self.every, self.folder, self.normalize = every, Path(folder), normalize
        self._last = 0

    def _on_training_start(self) -> None:
        if self.folder.is_dir():
            remove_leftovers(self.folder)  # what a run killed while saving left behind
        self._last = self.num_timesteps  # a resumed run does not save its checkpoint again

    def _on_rollout_start(self) -> None:
        n = self.num_timesteps
        if n - self._last < self.every:
            return
        venv = self.model.get_env()
        if self.normalize:
            stats = self.model.get_vec_normalize_env()
            with atomic_path(self.folder / f"model_vecnormalize_{n}_steps.pkl") as tmp:
                stats.save(str(tmp))
        checkpoint = self.folder / f"model_{n}_steps.zip"
        if venv is not None and can_resume_exactly(venv):
            save_resume(resume_file(checkpoint), venv)
        with atomic_path(checkpoint) as tmp:
            self.model.save(tmp)
        self._last = n

    def _on_step(self) -> bool:
        return True


class TqdmCallback(BaseCallback):
    """A tqdm progress bar over timesteps (SB3's own needs `rich`, not a dependency here)."""

    def _on_training_start(self) -> None:
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
