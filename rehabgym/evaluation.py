"""Cohort evaluation of therapists: every therapist treats the same held-out seeded patients.

All (therapist, patient) pairs run together in one batched vector environment (one cortex batch,
one arm batch), so evaluating seven therapists costs about one batched episode, not seven.
Statistics: mean final score with a 95 % t confidence interval, recovery as a fraction of the
initial impairment ((final − initial) / (100 − initial)), dose, and paired t-tests of one
therapist against each other on the same patients (`rehabgym.stats`).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rehabgym.envs.therapy import ALL
from rehabgym.stats import mean_ci, paired_t_test, t_cdf, t_ppf  # noqa: F401  (re-exported)
from rehabgym.therapists import N_DIRECTIONS, SB3Therapist, Therapist, profile_of

# ---------------------------------------------------------------- running a cohort


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


TherapistFactory = Callable[[gym.spaces.Space, int], Therapist]
"""Builds a fresh therapist for one patient: (single-env action space, seed) -> Therapist."""


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
    """Every therapist treats every seeded patient for one episode; `progress` shows a bar
    over the therapy days simulated.

    Each therapist's patients are simulated in batches of their own (up to `max_batch`), so a
    therapist's results do not depend on which other therapists are compared alongside.
    """
    from tqdm import tqdm

    results = {}
    with tqdm(desc="comparison", unit="patient-day", disable=not progress) as bar:
        for name in therapists:
            rows: list[dict[str, Any]] = []
            for start in range(0, len(seeds), max_batch):
                rows += _run_batch(therapists[name], seeds[start:start + max_batch], env_id,
                                   env_kwargs, bar)
            results[name] = CohortResult(
                name=name,
                seeds=np.asarray(seeds),
                scores=np.stack([r["scores"] for r in rows]),
                profiles=np.stack([r["profiles"] for r in rows]),
                actions=np.stack([r["actions"] for r in rows]),
                rewards=np.stack([r["rewards"] for r in rows]),
                dose=np.array([r["dose"] for r in rows]),
            )
    return results


def _run_batch(therapist: TherapistFactory, seeds: Sequence[int], env_id: str,
               env_kwargs: dict[str, Any], bar: Any) -> list[dict[str, Any]]:
    """One episode of each seeded patient in one vector env, all treated by `therapist`."""
    n = len(seeds)
    envs = make_cohort_env(env_id, n, env_kwargs)
    try:
        space = envs.single_action_space
        agents = [therapist(space, int(seed)) for seed in seeds]
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
        batch = agents[idx[0]].act_batch(obs[idx])  # type: ignore[attr-defined]
        for k, i in enumerate(idx):
            actions[i] = batch[k]
    return np.stack(actions)  # type: ignore[arg-type]


# ---------------------------------------------------------------- tables


def summarize(results: dict[str, CohortResult], primary: str | None = None,
              control: str = "no_therapy") -> list[dict[str, Any]]:
    """One row per therapist: final score, recovery, dose, episode return, gain over `control`,
    and a paired test of `primary` (default: the first therapist) against it on the same
    patients (on the final score)."""
    names = list(results)
    primary = primary or names[0]
    rows = []
    for name in names:
        res = results[name]
        final, final_ci = mean_ci(res.final)
        recovery, recovery_ci = mean_ci(res.recovery)
        ret, ret_ci = mean_ci(res.returns)
        row: dict[str, Any] = {
            "therapist": name, "patients": len(res.seeds),
            "initial_score": float(np.mean(res.initial)),
            "final_score": final, "final_score_ci95": final_ci,
            "recovery_fraction": recovery, "recovery_fraction_ci95": recovery_ci,
            "dose": float(np.nanmean(res.dose)),
            "return": ret, "return_ci95": ret_ci,
            "gain_over_no_therapy": (float(np.mean(res.final - results[control].final))
                                     if control in results else math.nan),
        }
        if name != primary:
            test = paired_t_test(results[primary].final, res.final)
            row.update(primary_minus_this=test.mean_diff, diff_ci95=test.ci_half,
                       t=test.t, p=test.p)
        else:
            row.update(primary_minus_this=math.nan, diff_ci95=math.nan, t=math.nan, p=math.nan)
        rows.append(row)
    return rows


def _fmt(x: float, digits: int = 1) -> str:
    return "—" if not math.isfinite(x) else f"{x:.{digits}f}"


def _pm(x: float, ci: float, digits: int = 2) -> str:
    return "—" if not math.isfinite(x) else f"{x:.{digits}f} ± {_fmt(ci, digits)}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table (the first row is the therapist tested against the rest)."""
    primary = rows[0]["therapist"]
    head = ("| therapist | final score (95 % CI) | recovery fraction | dose | return"
            f" | gain over no therapy | {primary} − this (95 % CI) | p (paired t) |")
    lines = [head, "|" + "---|" * 8]
    for r in rows:
        p = r["p"]
        p_txt = "—" if not math.isfinite(p) else ("< 0.001" if p < 1e-3 else f"{p:.3f}")
        lines.append(
            f"| {r['therapist']} | {_pm(r['final_score'], r['final_score_ci95'], 1)}"
            f" | {_pm(r['recovery_fraction'], r['recovery_fraction_ci95'])}"
            f" | {_fmt(r['dose'], 0)} | {_pm(r['return'], r['return_ci95'], 1)}"
            f" | {_fmt(r['gain_over_no_therapy'], 2)}"
            f" | {_pm(r['primary_minus_this'], r['diff_ci95'])} | {p_txt} |")
    return "\n".join(lines) + "\n"


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def patient_rows(results: dict[str, CohortResult]) -> list[dict[str, Any]]:
    """One row per (therapist, patient): the paired data behind the tests."""
    return [
        {"therapist": name, "seed": int(seed), "initial_score": float(res.initial[i]),
         "final_score": float(res.final[i]), "recovery_fraction": float(res.recovery[i]),
         "dose": float(res.dose[i]), "return": float(res.returns[i])}
        for name, res in results.items() for i, seed in enumerate(res.seeds)]


# ---------------------------------------------------------------- figures


def recovery_curves_figure(results: dict[str, CohortResult]) -> Any:
    """Mean motor score per day (band: 95 % CI) for each therapist."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name, res in results.items():
        days = np.arange(res.scores.shape[1])
        stats = np.array([mean_ci(res.scores[:, t]) for t in days])
        mean, half = stats[:, 0], np.nan_to_num(stats[:, 1])
        ax.plot(days, mean, label=name)
        ax.fill_between(days, mean - half, mean + half, alpha=0.15)
    ax.set_xlabel("day of therapy")
    ax.set_ylabel("motor score (0–100)")
    ax.set_title(f"recovery on {len(next(iter(results.values())).seeds)} held-out patients")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def schedule_figure(result: CohortResult) -> Any:
    """What the therapist chose: the fraction of patients practising each direction (or
    resting), day by day (a day × direction heat map)."""
    import matplotlib.pyplot as plt

    choice = result.actions[:, :, 0].astype(int)  # [N, T]
    n, days = choice.shape
    labels = [f"{45 * d}°" for d in range(N_DIRECTIONS)] + ["rest"]
    if (choice == ALL).any():
        labels.append("all")
    counts = np.stack([(choice == d).sum(axis=0) / max(n, 1) for d in range(len(labels))])
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    im = ax.imshow(counts, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=1,
                   interpolation="nearest")
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.set_xlabel("day of therapy")
    ax.set_ylabel("practised direction")
    ax.set_title(f"{result.name}: schedule (fraction of patients)")
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def final_scores_figure(results: dict[str, CohortResult]) -> Any:
    """Final minus initial score per patient for each therapist (one line per patient)."""
    import matplotlib.pyplot as plt

    names = list(results)
    gains = np.stack([results[k].final - results[k].initial for k in names])  # [K, N]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
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


def save_report(results: dict[str, CohortResult], out: Path,
                primary: str | None = None) -> list[dict[str, Any]]:
    """Write evaluation.md, evaluation.csv, patients.csv and figures into `out`."""
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    rows = summarize(results, primary)
    table = markdown_table(rows)
    seeds = next(iter(results.values())).seeds
    (out / "evaluation.md").write_text(
        f"# Therapist evaluation\n\n{len(seeds)} held-out patients (seeds {int(seeds[0])}…"
        f"{int(seeds[-1])}), the same for every therapist.\n\n{table}")
    write_csv(rows, out / "evaluation.csv")
    write_csv(patient_rows(results), out / "patients.csv")
    figures = {"recovery_curves": recovery_curves_figure(results),
               "final_scores": final_scores_figure(results),
               "schedule": schedule_figure(results[rows[0]["therapist"]])}
    for name, fig in figures.items():
        fig.savefig(out / f"{name}.png", dpi=110)
        plt.close(fig)
    return rows


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """Read a CSV written by `save_report` back (values as strings)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------- command line


def therapist_factory(spec: str, sample: bool = False) -> TherapistFactory:
    """A per-patient factory from a command-line name: a heuristic (with arguments, if any,
    see `heuristic_factory`) or `<algorithm>:<zip>`
    (the model is loaded once and shared, so its patients are predicted as one batch);
    `sample` draws the model's actions from its policy, seeded per patient."""
    from rehabgym.therapists import heuristic_factory, load_sb3_model, sb3_factory

    if ":" in spec:
        algorithm, path = spec.split(":", 1)
        return sb3_factory(load_sb3_model(path, algorithm), deterministic=not sample)
    return heuristic_factory(spec)


def run_settings(spec: str) -> dict[str, Any] | None:
    """The training config of the run an `<algorithm>:<zip>` spec comes from, if it has one
    (`<run>/model.zip` or `<run>/checkpoints/*.zip` beside `<run>/config.yaml`)."""
    from rehabgym.config import load_yaml

    if ":" not in spec:
        return None
    path = Path(spec.split(":", 1)[1]).resolve()
    for folder in (path.parent, path.parent.parent):
        if (folder / "config.yaml").is_file():
            return load_yaml(folder / "config.yaml")
    return None


def evaluate(
    specs: Sequence[str],
    patients: int,
    out: Path,
    env_id: str = "rehabgym/Therapy-v0",
    env_kwargs: dict[str, Any] | None = None,
    seed: int = 1_000_000,
    baselines: Sequence[str] | None = None,
    sample: bool = False,
) -> list[dict[str, Any]]:
    """`specs` (the first is tested against the rest) and `baselines` (default: every
    heuristic) on `patients` held-out seeded patients; report written into `out`, table
    printed. Environment kwargs default to those of the run a model spec comes from.
    `sample`: models act by sampling their policy (seeded per patient), not by its argmax."""
    import rehabgym.envs  # noqa: F401 - registers the environments
    from rehabgym.therapists import HEURISTICS

    if patients < 1:
        raise ValueError(f"patients: must be >= 1, got {patients}")
    if env_kwargs is None:
        env_kwargs = {}
        settings = next((s for s in map(run_settings, specs) if s), None)
        if settings is not None:
            env_id = settings.get("env_id", env_id)
            env_kwargs = env_make_kwargs(settings.get("env_config"), settings.get("env_kwargs"))
    else:
        rest = {k: v for k, v in env_kwargs.items() if k != "config"}
        env_kwargs = env_make_kwargs(env_kwargs.get("config"), rest)
    env_kwargs = {**env_kwargs, "action_type": "multidiscrete"}
    names = list(dict.fromkeys([*specs, *(HEURISTICS if baselines is None else baselines)]))
    plan = {name: therapist_factory(name, sample) for name in names}
    seeds = [seed + i for i in range(patients)]
    results = run_cohort(plan, env_id, env_kwargs, seeds, progress=True)
    rows = save_report(results, out)
    print(markdown_table(rows))
    print(f"report: {out}")
    return rows


def before_after_figure(env_id: str, env_kwargs: dict[str, Any], therapist: TherapistFactory,
                        seed: int, title: str = "") -> Any | None:
    """The environment's picture of one held-out patient (reach trajectories of the assessment)
    before the first therapy day and after the last; None if the env cannot render rgb_array."""
    import matplotlib.pyplot as plt

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
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, frame, label in zip(axes, (before, after), ("before therapy", "after therapy")):
        ax.imshow(frame)
        ax.set_title(label)
        ax.axis("off")
    fig.suptitle(title or f"patient {seed}")
    fig.tight_layout()
    return fig
