"""Figures of a cohort evaluation: recovery curves, per-patient gains, the schedule chosen, and
one patient before and after therapy (`matplotlib.figure.Figure`s, drawn without pyplot)."""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from matplotlib.figure import Figure

from rehabgym.envs.actions import ALL
from rehabgym.evaluation.cohort import CohortResult
from rehabgym.patient import N_DIRECTIONS
from rehabgym.stats import mean_ci
from rehabgym.therapists import TherapistFactory


def mean_with_band(ax: Any, mean: np.ndarray, low: np.ndarray, high: np.ndarray,
                   label: str) -> None:
    """A curve by therapy day with its 95 % CI as a band (no band where the CI is undefined)."""
    days = np.arange(len(mean))
    ax.plot(days, mean, label=label)
    ax.fill_between(days, np.where(np.isfinite(low), low, mean),
                    np.where(np.isfinite(high), high, mean), alpha=0.15)


def recovery_curves_figure(results: dict[str, CohortResult]) -> Figure:
    """Mean motor score per day (band: 95 % CI) for each therapist."""
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for name, res in results.items():
        stats = np.array([mean_ci(res.scores[:, t]) for t in range(res.scores.shape[1])])
        mean, half = stats[:, 0], stats[:, 1]
        mean_with_band(ax, mean, mean - half, mean + half, name)
    ax.set_xlabel("day of therapy")
    ax.set_ylabel("motor score (0–100)")
    ax.set_title(f"recovery on {len(next(iter(results.values())).seeds)} held-out patients")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _direction_map(ax: Any, choice: np.ndarray, with_all: bool) -> Any:
    """The fraction of patients practising each direction (or resting) per day, drawn."""
    labels = [f"{45 * d}°" for d in range(N_DIRECTIONS)] + ["rest"] + (["all"] if with_all
                                                                       else [])
    counts = np.stack([(choice == d).sum(axis=0) / max(len(choice), 1)
                       for d in range(len(labels))])
    im = ax.imshow(counts, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=1,
                   interpolation="nearest")
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel("day of therapy")
    return im


def schedule_figure(result: CohortResult) -> Figure:
    """What the therapist chose: the fraction of patients practising each direction (or
    resting), day by day (a day × direction heat map)."""
    choice = result.actions[:, :, 0].astype(int)  # [N, T]
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.subplots()
    im = _direction_map(ax, choice, bool((choice == ALL).any()))
    ax.set_ylabel("practised direction")
    ax.set_title(f"{result.name}: schedule (fraction of patients)")
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


#: acute severity bands of the breakdowns: the score when therapy starts (< 40, 40-70, >= 70)
SEVERITY_EDGES = (40.0, 70.0)


def severity_bands(initial: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(label, mask) of each severity band of the patients' scores when therapy starts."""
    low, high = SEVERITY_EDGES
    return [(f"severe (< {low:g})", initial < low),
            (f"moderate ({low:g}-{high:g})", (initial >= low) & (initial < high)),
            (f"mild (>= {high:g})", initial >= high)]


def schedule_by_severity_figure(result: CohortResult) -> Figure:
    """What the therapist chose for each severity band: the directions day by day (left) and
    the mean distance, assistance and repetition level indices day by day (right). A
    therapist that personalises gives different bands different schedules."""
    choice = result.actions[:, :, 0].astype(int)
    with_all = bool((choice == ALL).any())
    bands = severity_bands(result.initial)
    fig = Figure(figsize=(9.0, 2.4 * len(bands)))
    axes = fig.subplots(len(bands), 2, squeeze=False)
    practised = choice < N_DIRECTIONS
    practised |= choice == ALL
    for (label, mask), (left, right) in zip(bands, axes):
        _direction_map(left, choice[mask], with_all)
        left.set_title(f"{label}: {int(mask.sum())} patients", fontsize=9)
        for k, name in enumerate(("distance", "assistance", "repetitions"), start=1):
            level = np.where(practised[mask], result.actions[mask][:, :, k], np.nan)
            with warnings.catch_warnings():  # a day every patient of the band rested
                warnings.simplefilter("ignore", RuntimeWarning)
                right.plot(np.nanmean(level, axis=0) if mask.any() else [], label=name)
        right.set_ylabel("mean level index", fontsize=8)
        right.set_xlabel("day of therapy")
    axes[0, 1].legend(fontsize=7)
    fig.suptitle(f"{result.name}: schedule by severity at the start of therapy", fontsize=10)
    fig.tight_layout()
    return fig


def final_scores_figure(results: dict[str, CohortResult]) -> Figure:
    """Final minus initial score per patient for each therapist (one line per patient)."""
    names = list(results)
    gains = np.stack([results[k].final - results[k].initial for k in names])  # [K, N]
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.subplots()
    x = np.arange(len(names))
    ax.plot(x, gains, color="0.7", lw=0.6, zorder=1)
    ax.scatter(np.repeat(x, gains.shape[1]), gains.reshape(-1), s=8, zorder=2)
    ax.plot(x, gains.mean(axis=1), "k_", markersize=24, mew=2, zorder=3)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("score gain over the episode")
    ax.set_title("same patients, every therapist (lines pair them)")
    fig.tight_layout()
    return fig


def before_after_figure(env_id: str, env_kwargs: dict[str, Any], therapist: TherapistFactory,
                        seed: int, title: str = "") -> Figure | None:
    """The environment's picture of one held-out patient (reach trajectories of the assessment)
    before the first therapy day and after the last; None if the env cannot render rgb_array."""
    spec = gym.spec(env_id)
    creator = (spec.entry_point if callable(spec.entry_point)
               else gym.envs.registration.load_env_creator(spec.entry_point))
    if "rgb_array" not in getattr(creator, "metadata", {}).get("render_modes", []):
        return None
    env = gym.make(env_id, render_mode="rgb_array", **env_kwargs)
    try:
        obs, info = env.reset(seed=seed)
        before = env.render()
        if before is None:
            return None
        agent = therapist(env.action_space, seed)
        agent.reset(obs, info)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(agent.act(obs, info))
            agent.observe(obs, float(reward), info)
            done = terminated or truncated
        after = env.render()
    except (gym.error.Error, NotImplementedError, ValueError):
        return None
    finally:
        env.close()
    fig = Figure(figsize=(10, 4.2))
    axes = fig.subplots(1, 2)
    for ax, frame, label in zip(axes, (before, after), ("before therapy", "after therapy")):
        ax.imshow(frame)
        ax.set_title(label)
        ax.axis("off")
    fig.suptitle(title or f"patient {seed}")
    fig.tight_layout()
    return fig
