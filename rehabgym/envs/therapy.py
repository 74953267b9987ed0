"""`TherapyEnv`: one patient, one therapy day per step; and what the vector env shares with it.

Both the single environment and the native vector environment (`rehabgym.envs.vector`) are thin
Gymnasium shells around one `TherapyWard`: N patients simulated in one `PatientBatch` (one
cortex batch, one arm batch) with the bookkeeping of a therapy episode (day of therapy, dose,
last assessment, score history). The single environment is a ward of one. Config, spaces,
action decoding and observations are the module-level functions below, used by both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rehabgym.config import from_dict, load_config, to_dict
from rehabgym.cortex.lesion import CohortConfig, Lesion
from rehabgym.patient import N_DIRECTIONS, Assessment, PatientBatch, PatientConfig, SessionPlan

REST = N_DIRECTIONS  # first action entry: 0..7 a center-out direction, 8 = rest day
ALL = N_DIRECTIONS + 1  # 9 = a session spread over all 8 directions (with `all_directions`)

# Observation layout: profile (8) | score | therapy day | dose | fatigue | biomarkers...
OBS_PROFILE = slice(0, N_DIRECTIONS)
OBS_SCORE = N_DIRECTIONS
OBS_DAY = N_DIRECTIONS + 1
OBS_DOSE = N_DIRECTIONS + 2
OBS_FATIGUE = N_DIRECTIONS + 3
N_CLINICAL = N_DIRECTIONS + 4

# Biomarkers in the observation of the biomarker variant, each divided by the patient's own
# pre-stroke (healthy) value, so 1 = as before the stroke. Clipped to [0, BIOMARKER_MAX].
BIOMARKER_KEYS = ("rate_m1", "rate_pm", "alive_m1", "alive_pm", "synapses", "output_m1",
                  "output_pm", "daily_use")
BIOMARKER_MAX = 5.0


@dataclass
class TherapyEnvConfig:
    """Every default of the therapist environments (one source of truth).

    Attributes:
        horizon_days: therapy days per episode (the episode is truncated after them).
        start_day: days after the stroke when therapy begins; reset rests the patient until then.
        cohort: the lesion distribution new patients are drawn from: a preset name
            ("mild", "moderate", "severe", "mixed") or a full `CohortConfig`.
        cost_per_rep: reward cost of one practice repetition (score points per repetition).
        distances: reach distances (m) the action can choose from.
        assistance_levels: assistance levels in [0, 1] the action can choose from.
        repetition_levels: repetitions per session the action can choose from.
        dose_scale: repetitions that map to 1.0 in the "dose so far" observation
            (default: horizon_days × the largest repetition level, when 0).
        fatigue_scale: fatigue that maps to 1.0 in the observation (clipped to [0, 1]).
        biomarkers: add normalised neural biomarkers to the observation.
        action_type: "multidiscrete" (PPO, A2C) or "discrete" (one flat index, for DQN).
        all_directions: add a tenth value to the direction entry: a session whose repetitions
            go to all 8 directions in turn (the center-out protocol of robot-aided therapy).
        patient: every default of the simulated patients.
    """

    horizon_days: int = 30
    start_day: int = 5
    cohort: str | CohortConfig = "mixed"
    cost_per_rep: float = 0.002
    distances: tuple[float, ...] = (0.06, 0.10, 0.14)
    assistance_levels: tuple[float, ...] = (0.0, 0.5, 1.0)
    repetition_levels: tuple[int, ...] = (15, 30, 60, 120)
    dose_scale: float = 0.0
    fatigue_scale: float = 1.0
    biomarkers: bool = False
    action_type: Literal["multidiscrete", "discrete"] = "multidiscrete"
    all_directions: bool = False
    patient: PatientConfig = field(default_factory=PatientConfig)

    def __post_init__(self) -> None:
        for name in ("horizon_days", "start_day"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (1 if name == "horizon_days"
                                                                    else 0):
                raise ValueError(f"{name}: must be an integer >= "
                                 f"{1 if name == 'horizon_days' else 0}, got {v!r}")
        if isinstance(self.cohort, str):
            self.cohort_config()  # an unknown preset fails here, naming the allowed ones
        elif not isinstance(self.cohort, CohortConfig):
            raise ValueError(f"cohort: must be a preset name or a CohortConfig, "
                             f"got {self.cohort!r}")
        if not self.cost_per_rep >= 0:
            raise ValueError(f"cost_per_rep: must be >= 0, got {self.cost_per_rep!r}")
        for name in ("distances", "assistance_levels", "repetition_levels"):
            if len(getattr(self, name)) < 1:
                raise ValueError(f"{name}: needs at least one level, got {getattr(self, name)!r}")
        if not all(d > 0 for d in self.distances):
            raise ValueError(f"distances: each must be > 0 (m), got {self.distances!r}")
        if not all(0.0 <= a <= 1.0 for a in self.assistance_levels):
            raise ValueError(f"assistance_levels: each must be in [0, 1], "
                             f"got {self.assistance_levels!r}")
        if not all(isinstance(r, int) and r >= 1 for r in self.repetition_levels):
            raise ValueError(f"repetition_levels: each must be an integer >= 1, "
                             f"got {self.repetition_levels!r}")
        if not self.dose_scale >= 0:
            raise ValueError(f"dose_scale: must be >= 0 (0 = automatic), got {self.dose_scale!r}")
        if not self.fatigue_scale > 0:
            raise ValueError(f"fatigue_scale: must be > 0, got {self.fatigue_scale!r}")
        if self.action_type not in ("multidiscrete", "discrete"):
            raise ValueError(f"action_type: must be 'multidiscrete' or 'discrete', "
                             f"got {self.action_type!r}")

    def cohort_config(self) -> CohortConfig:
        """The lesion distribution as a `CohortConfig` (a preset name resolved)."""
        if isinstance(self.cohort, CohortConfig):
            return self.cohort
        return CohortConfig.preset(self.cohort)  # an unknown name: the error names the allowed

    @property
    def dose_norm(self) -> float:
        """Repetitions that map to 1.0 in the observation."""
        return self.dose_scale or float(self.horizon_days * max(self.repetition_levels))


def resolve_config(
    config: TherapyEnvConfig | str | Path | dict[str, Any] | None = None, **overrides: Any
) -> TherapyEnvConfig:
    """A `TherapyEnvConfig` from defaults, a YAML file or dict, then keyword overrides.

    Overrides that are None keep the value below them; unknown keys anywhere are a
    `ConfigError` that names them.
    """
    base = config if isinstance(config, TherapyEnvConfig) else load_config(TherapyEnvConfig,
                                                                           config)
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return base
    checked = from_dict(TherapyEnvConfig, given)  # types and unknown keys, named
    return dataclasses.replace(base, **{k: getattr(checked, k) for k in given})


# ---------------------------------------------------------------- spaces and actions
def multidiscrete_nvec(cfg: TherapyEnvConfig) -> np.ndarray:
    """[direction or rest (or all), distance, assistance, repetitions] level counts."""
    return np.array([N_DIRECTIONS + 1 + cfg.all_directions, len(cfg.distances),
                     len(cfg.assistance_levels), len(cfg.repetition_levels)], dtype=np.int64)


def action_space(cfg: TherapyEnvConfig) -> spaces.Space:
    """`MultiDiscrete([9, n_dist, n_assist, n_reps])` (10 with `all_directions`), or its
    `Discrete` flattening.

    The flat index enumerates (direction 0..7 then "all" if enabled, distance, assistance,
    repetitions) in C order; the last index is the rest day (its other entries mean nothing,
    so they are not repeated).
    """
    nvec = multidiscrete_nvec(cfg)
    if cfg.action_type == "discrete":
        return spaces.Discrete(int((nvec[0] - 1) * np.prod(nvec[1:])) + 1)
    return spaces.MultiDiscrete(nvec)


def check_action(action: Any, space: spaces.Space) -> np.ndarray:
    """`action` as an int64 array if it belongs to `space`; else a ValueError naming both.

    Stricter than `space.contains`: floats and booleans are refused even when integral, so a
    policy emitting the wrong dtype fails loudly instead of being silently truncated.
    """
    arr = np.asarray(action)
    if arr.dtype.kind not in "iu":
        problem = f"dtype {arr.dtype} is not an integer dtype"
    elif arr.shape != space.shape:
        problem = f"shape {arr.shape} is not {space.shape}"
    elif not space.contains(arr.astype(space.dtype)):
        problem = "a value is out of range"
    else:
        return arr.astype(np.int64)
    raise ValueError(f"invalid action {action!r} for action space {space}: {problem}")


def to_multidiscrete(action: np.ndarray, cfg: TherapyEnvConfig) -> np.ndarray:
    """[..., 4] MultiDiscrete actions from checked actions of either action type."""
    if cfg.action_type == "multidiscrete":
        return np.asarray(action, dtype=np.int64)
    return unflatten_action(action, multidiscrete_nvec(cfg))


def unflatten_action(flat: np.ndarray, nvec: np.ndarray) -> np.ndarray:
    """[..., 4] MultiDiscrete actions of space `nvec` from indices of its Discrete flattening
    (see `action_space`): flat target 8 is "all directions", the last index the rest day."""
    flat = np.asarray(flat, dtype=np.int64)
    shape = (int(nvec[0]) - 1, *(int(n) for n in nvec[1:]))
    rest = flat >= int(np.prod(shape))
    out = np.stack(np.unravel_index(np.where(rest, 0, flat), shape), axis=-1)
    out[..., 0] = np.where(out[..., 0] >= N_DIRECTIONS, ALL, out[..., 0])
    out[rest] = (REST, 0, 0, 0)
    return out


def decode_action(action: np.ndarray, cfg: TherapyEnvConfig) -> SessionPlan:
    """The session plan of one MultiDiscrete action (a rest day practises nothing)."""
    direction, dist, assist, reps = (int(a) for a in action)
    if direction == REST:
        return SessionPlan()
    directions = tuple(range(N_DIRECTIONS)) if direction == ALL else (direction,)
    return SessionPlan(directions=directions, repetitions=int(cfg.repetition_levels[reps]),
                       distance=float(cfg.distances[dist]),
                       assistance=float(cfg.assistance_levels[assist]))


def observation_space(cfg: TherapyEnvConfig) -> spaces.Box:
    """float32 Box: profile/100 (8), score/100, therapy day/horizon, dose, fatigue (all in
    [0, 1]), then for the biomarker variant each biomarker / its pre-stroke value."""
    n_bio = len(BIOMARKER_KEYS) if cfg.biomarkers else 0
    high = np.concatenate([np.ones(N_CLINICAL), np.full(n_bio, BIOMARKER_MAX)])
    return spaces.Box(low=np.zeros_like(high, dtype=np.float32),
                      high=high.astype(np.float32), dtype=np.float32)


# ---------------------------------------------------------------- the ward
_HEALTHY_BIOMARKERS: dict[str, dict[str, float]] = {}


def healthy_biomarkers(config: PatientConfig) -> dict[str, float]:
    """Biomarkers of an intact brain under `config` (computed once per config and process)."""
    key = repr(to_dict(config))
    if key not in _HEALTHY_BIOMARKERS:
        _HEALTHY_BIOMARKERS[key] = PatientBatch([None], config, seed=0).biomarkers()[0]
    return _HEALTHY_BIOMARKERS[key]


def current_assessments(batch: PatientBatch) -> list[Assessment]:
    """Today's assessments: the batch's latest if it assessed today (rest does, by default),
    else a new battery."""
    if all(a.day == d for a, d in zip(batch.last, batch.day)):
        return list(batch.last)
    return batch.assess()


class TherapyWard:
    """N patients in one `PatientBatch`, with what a therapy episode keeps per patient.

    `admit` draws N new patients from per-slot random generators (lesion, then patient seed),
    simulates them as one new batch, rests them to `start_day` and assesses them; `treat` runs
    one therapy day for every slot (practice, one day of rest, assessment) and returns the
    reward terms. All slots start and end their episodes together.
    """

    def __init__(self, cfg: TherapyEnvConfig, n: int) -> None:
        self.cfg = cfg
        self.n = int(n)
        self.batch: PatientBatch | None = None
        self.lesions: list[Lesion] = []
        self.assessment: list[Assessment] = []
        self.therapy_day = np.zeros(self.n, dtype=np.int64)
        self.history: list[list[float]] = [[] for _ in range(self.n)]

    def admit(self, rngs: list[np.random.Generator],
              lesions: list[Lesion | None] | None = None) -> None:
        """New patients in every slot: lesion from the cohort (unless given), seed from `rngs`."""
        lesions = lesions or [None] * self.n
        if len(rngs) != self.n or len(lesions) != self.n:
            raise ValueError(f"admit: expected {self.n} generators and lesions")
        cohort = self.cfg.cohort_config()
        self.lesions = [cohort.sample(rng) if les is None else les
                        for rng, les in zip(rngs, lesions)]
        # Each patient's own seed: slot i of a vector env is the single env of the same seed.
        seeds = [int(rng.integers(2**31 - 1)) for rng in rngs]
        self.batch = PatientBatch(self.lesions, self.cfg.patient, seed=seeds)
        if self.cfg.start_day > 0:
            self.batch.rest(self.cfg.start_day)
        self.assessment = current_assessments(self.batch)
        self.therapy_day[:] = 0
        self.history = [[float(a.score)] for a in self.assessment]

    def treat(self, plans: list[SessionPlan]) -> list[dict[str, float]]:
        """One therapy day for every slot; the reward terms, computed after the update."""
        before = [float(a.score) for a in self.assessment]
        self.batch.practice(plans)
        self.batch.rest(1)
        self.assessment = current_assessments(self.batch)
        self.therapy_day += 1
        terms = []
        for i, plan in enumerate(plans):
            score = float(self.assessment[i].score)
            self.history[i].append(score)
            gain = score - before[i]
            cost = self.cfg.cost_per_rep * plan.repetitions
            terms.append({"reward": gain - cost, "reward_gain": gain, "reward_cost": cost,
                          "repetitions": int(plan.repetitions)})
        return terms

    def truncated(self, slot: int) -> bool:
        return bool(self.therapy_day[slot] >= self.cfg.horizon_days)

    def observations(self) -> np.ndarray:
        """[N, obs_dim] float32 observations, inside `observation_space(cfg)`."""
        cfg = self.cfg
        profile = np.stack([a.profile for a in self.assessment]).astype(np.float64) / 100.0
        score = np.array([a.score for a in self.assessment]) / 100.0
        clinical = np.column_stack([
            profile, score, self.therapy_day / cfg.horizon_days,
            self.batch.dose / cfg.dose_norm, self.batch.fatigue / cfg.fatigue_scale])
        parts = [np.clip(clinical, 0.0, 1.0)]
        if cfg.biomarkers:
            ref = healthy_biomarkers(cfg.patient)
            values = np.array([[b[k] / ref[k] if ref[k] else b[k] for k in BIOMARKER_KEYS]
                               for b in self.batch.biomarkers()])
            parts.append(np.clip(np.nan_to_num(values), 0.0, BIOMARKER_MAX))
        return np.concatenate(parts, axis=1).astype(np.float32)

    def info(self, slot: int) -> dict[str, Any]:
        """What a clinic records: score, profile, lesion summary, day since stroke, dose."""
        a = self.assessment[slot]
        return {"score": float(a.score), "profile": np.asarray(a.profile, dtype=np.float64),
                "lesion": {k: float(v) for k, v in self.lesions[slot].summary().items()},
                "day": int(self.batch.day[slot]), "therapy_day": int(self.therapy_day[slot]),
                "dose": int(self.batch.dose[slot])}


def lesion_from_option(value: Any) -> Lesion:
    """A `Lesion` from `options["lesion"]`: a `Lesion` or a dict of its fields."""
    if isinstance(value, Lesion):
        return value
    if isinstance(value, dict):
        try:
            return Lesion(**value)
        except TypeError as exc:
            raise ValueError(f"options['lesion']: {exc}; allowed keys: "
                             f"{[f.name for f in dataclasses.fields(Lesion)]}") from exc
    raise ValueError(f"options['lesion']: expected a Lesion or a dict, got {value!r}")


def check_options(options: dict[str, Any] | None) -> Lesion | None:
    """The fixed lesion in reset `options`, if any; unknown option keys are an error."""
    if not options:
        return None
    unknown = sorted(set(options) - {"lesion"})
    if unknown:
        raise ValueError(f"reset options: unknown key(s) {unknown}; allowed: ['lesion']")
    return lesion_from_option(options["lesion"]) if "lesion" in options else None


FIGSIZE = (9.0, 4.0)


def draw_patient(fig: Any, ward: TherapyWard, slot: int) -> None:
    """The patient now on `fig`: hand paths of the last assessment, and the score curve."""
    a = ward.assessment[slot]
    info = ward.info(slot)
    ax_xy, ax_s = fig.subplots(1, 2, width_ratios=(1, 1.3))
    start = np.asarray(a.start, dtype=float)
    paths = 100 * (np.asarray(a.hand_position, dtype=float) - start)
    targets = 100 * (np.asarray(a.targets, dtype=float) - start)
    for k in range(paths.shape[0]):
        colour = f"C{k}"
        ax_xy.plot(paths[k, :, 0], paths[k, :, 1], color=colour, lw=1.3)
        ax_xy.plot(*targets[k], "o", mfc="none", color=colour, ms=9)
        ax_xy.annotate(f"{a.profile[k]:.0f}", targets[k] * 1.2, ha="center", va="center",
                       fontsize=7, color=colour)
    ax_xy.plot(0, 0, "k+", ms=9)
    lim = 1.45 * max(np.abs(targets).max(), 1.0)
    ax_xy.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="x (cm)",
              ylabel="y (cm)", title=f"assessment, day {info['day']} after stroke")
    days = ward.cfg.start_day + np.arange(len(ward.history[slot]))
    ax_s.plot(days, ward.history[slot], "k.-")
    ax_s.set(xlim=(ward.cfg.start_day - 0.5, ward.cfg.start_day + ward.cfg.horizon_days + 0.5),
             ylim=(0, 100), xlabel="day after stroke", ylabel="motor score (0-100)",
             title=f"score {info['score']:.1f}, dose {info['dose']} reps")
    for ax in (ax_xy, ax_s):
        ax.grid(alpha=0.3)
    fig.tight_layout()


def render_rgb(ward: TherapyWard, slot: int) -> np.ndarray:
    """`draw_patient` as an H×W×3 uint8 array (matplotlib Agg, no display, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=80)
    canvas = FigureCanvasAgg(fig)
    draw_patient(fig, ward, slot)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()


class TherapyEnv(gym.Env):
    """A virtual stroke patient and its therapist: one step is one therapy day.

    ## Description
    A plastic motor-cortex network drives a MuJoCo arm; a lesion drawn from a cohort
    distribution has damaged it. Each step the agent (the therapist) chooses what the patient
    practises today: a center-out direction (or a rest day), the reach distance, the
    assistance level and the number of repetitions. The patient practises with plasticity on,
    rests one day (homeostasis, sprouting and pruning, daily-life use of the arm) and is then
    assessed on a fixed battery of reaches in all 8 directions with plasticity off.

    ## Action Space
    `MultiDiscrete([9, len(distances), len(assistance_levels), len(repetition_levels)])`, with
    10 direction values when `all_directions` is set:

    | index | meaning | values |
    |---|---|---|
    | 0 | direction | 0..7: direction k, angle 2πk/8 (0 = +x, CCW); 8: rest; 9: all (*) |
    | 1 | reach distance | index into `distances` (m), default (0.06, 0.10, 0.14) |
    | 2 | assistance | index into `assistance_levels`, default (0.0, 0.5, 1.0) |
    | 3 | repetitions | index into `repetition_levels`, default (15, 30, 60, 120) |

    (*) only with `all_directions`: the session's repetitions go to all 8 directions in turn.
    On a rest day entries 1-3 are ignored. With `action_type="discrete"` the space is
    `Discrete(8 * n_dist * n_assist * n_reps + 1)` (9 * … with `all_directions`): the C-order
    flat index of entries 0-3 with direction 0..7 (8 = all), and the last index for the rest day
    (for DQN-style agents). An action outside the space, or of a non-integer dtype or wrong
    shape, raises a `ValueError` naming the action and the space before anything is simulated:
    the patient is unchanged.

    ## Observation Space
    `Box(0, high, (12,), float32)`, `(20,)` for the biomarker variant:

    | index | observation | scaling |
    |---|---|---|
    | 0-7 | per-direction score of the last assessment | / 100, in [0, 1] |
    | 8 | motor score of the last assessment (Fugl-Meyer-like, healthy ≈ 100) | / 100 |
    | 9 | therapy days so far | / horizon_days |
    | 10 | practice repetitions so far (dose) | / dose_scale, clipped to 1 |
    | 11 | fatigue | / fatigue_scale, clipped to 1 |
    | 12-19 | biomarkers (variant only, see below) | / healthy value, clipped to [0, 5] |

    The biomarkers (`BIOMARKER_KEYS`) are the mean rate in M1 and in premotor cortex during
    the battery, the living fraction of each area, the synapse count, the corticospinal
    output strength of M1 and of premotor cortex and the daily use of the arm, each divided
    by the value of an intact brain with the same patient config.

    ## Rewards
    `reward = reward_gain - reward_cost`, computed after the day's practice, rest and
    assessment: `reward_gain` = motor score after the day minus the score before it (points on
    0-100), `reward_cost` = `cost_per_rep` × the day's repetitions. Both are in `info`.

    ## Starting State
    `reset` draws a lesion from the cohort and a patient seed, both from the environment's
    seeded generator (`options={"lesion": Lesion(...) or dict}` fixes the lesion), creates the
    patient at the stroke, lets it rest (with daily-life use, no therapy) until `start_day`
    days after the stroke, and assesses it: the first observation is that assessment.

    ## Episode End
    No state is terminal (`terminated` is always False: the patient neither dies nor is
    discharged). The episode is truncated after `horizon_days` therapy days; registered ids
    also carry `max_episode_steps = horizon_days` in their spec.

    ## Arguments
    `config`: a `TherapyEnvConfig`, a YAML path or a dict (unknown keys are an error); the
    keyword arguments (`horizon_days`, `start_day`, `cohort`, `cost_per_rep`, `distances`,
    `assistance_levels`, `repetition_levels`, `dose_scale`, `fatigue_scale`, `biomarkers`,
    `action_type`, `all_directions`, `patient`) override it; defaults are those of
    `TherapyEnvConfig`.
    `render_mode`: None, "rgb_array" (trajectories of the last assessment and the score curve
    so far, as an H×W×3 uint8 array) or "human" (the same figure in a matplotlib window).

    ```python
    import gymnasium as gym, rehabgym
    env = gym.make("rehabgym/Therapy-v0", config="configs/env/mild.yaml", horizon_days=10)
    ```

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 2}

    def __init__(
        self,
        config: TherapyEnvConfig | str | Path | dict[str, Any] | None = None,
        render_mode: str | None = None,
        *,
        horizon_days: int | None = None,
        start_day: int | None = None,
        cohort: str | CohortConfig | None = None,
        cost_per_rep: float | None = None,
        distances: tuple[float, ...] | None = None,
        assistance_levels: tuple[float, ...] | None = None,
        repetition_levels: tuple[int, ...] | None = None,
        dose_scale: float | None = None,
        fatigue_scale: float | None = None,
        biomarkers: bool | None = None,
        action_type: Literal["multidiscrete", "discrete"] | None = None,
        all_directions: bool | None = None,
        patient: PatientConfig | dict[str, Any] | None = None,
    ) -> None:
        self.config = resolve_config(
            config, horizon_days=horizon_days, start_day=start_day, cohort=cohort,
            cost_per_rep=cost_per_rep, distances=distances, assistance_levels=assistance_levels,
            repetition_levels=repetition_levels, dose_scale=dose_scale,
            fatigue_scale=fatigue_scale, biomarkers=biomarkers, action_type=action_type,
            all_directions=all_directions, patient=patient)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: {render_mode!r} is not one of "
                             f"{self.metadata['render_modes']} or None")
        self.render_mode = render_mode
        self.action_space = action_space(self.config)
        self.observation_space = observation_space(self.config)
        self.ward = TherapyWard(self.config, 1)
        self._figure: Any = None

    @property
    def patient_state(self) -> dict[str, Any]:
        """The simulated patient's full state (for comparisons and saving)."""
        return self.ward.batch.get_state()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        lesion = check_options(options)
        self.ward.admit([self.np_random], [lesion])
        return self.ward.observations()[0], self.ward.info(0)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.ward.batch is None:
            raise RuntimeError("call reset() before step()")
        checked = check_action(action, self.action_space)
        plan = decode_action(to_multidiscrete(checked, self.config), self.config)
        terms = self.ward.treat([plan])[0]
        info = {**self.ward.info(0), **{k: v for k, v in terms.items() if k != "reward"}}
        if self.render_mode == "human":
            self.render()
        return (self.ward.observations()[0], float(terms["reward"]), False,
                self.ward.truncated(0), info)

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode="
                            "'rgb_array' or 'human' to the constructor")
            return None
        if self.ward.batch is None:
            raise RuntimeError("call reset() before render()")
        if self.render_mode == "human":
            import matplotlib.pyplot as plt

            if self._figure is None or not plt.fignum_exists(self._figure.number):
                self._figure = plt.figure(figsize=FIGSIZE)
            self._figure.clear()
            draw_patient(self._figure, self.ward, 0)
            plt.pause(0.001)
            return None
        return render_rgb(self.ward, 0)

    def close(self) -> None:
        self.ward = TherapyWard(self.config, 1)
