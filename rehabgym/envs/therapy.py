"""`TherapyEnv`: one patient, one therapy day per step (a ward of one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rehabgym.envs.actions import action_space, check_action, decode_action, to_multidiscrete
from rehabgym.envs.config import TherapyEnvConfig, resolve_config
from rehabgym.envs.render import FIGSIZE, draw_patient, render_rgb
from rehabgym.envs.ward import TherapyWard, check_options, observation_space
from rehabgym.patient import CohortConfig, PatientConfig


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
    10 direction values when `all_directions` is set and a fifth entry, `len(precision_levels)`,
    when precision levels are given:

    | index | meaning | values |
    |---|---|---|
    | 0 | direction | 0..7: direction k, angle 2πk/8 (0 = +x, CCW); 8: rest; 9: all (*) |
    | 1 | reach distance | index into `distances` (m), default (0.06, 0.10, 0.14) |
    | 2 | assistance | index into `assistance_levels`, default (0.0, 0.25, 0.5, 1.0) |
    | 3 | repetitions | index into `repetition_levels`, default (15, 30, 60, 120) |
    | 4 | precision (**) | index into `precision_levels`: the reach score a success needs |

    (*) only with `all_directions`: the session's repetitions go to all 8 directions in turn.
    (**) only with `precision_levels` (default none): a higher level is a smaller target.
    On a rest day entries 1-4 are ignored. With `action_type="discrete"` the space is
    `Discrete(8 * n_dist * n_assist * n_reps (* n_precision) + 1)` (9 * … with
    `all_directions`): the C-order flat index of entries 0-3 (0-4) with direction 0..7 (8 =
    all), and the last index for the rest day (for DQN-style agents). An action outside the
    space, or of a non-integer dtype or wrong shape, raises a `ValueError` naming the action
    and the space before anything is simulated: the patient is unchanged.

    ## Observation Space
    `Box(0, high, (13,), float32)`, `(21,)` for the biomarker variant:

    | index | observation | scaling |
    |---|---|---|
    | 0-7 | per-direction score of the last assessment | / 100, in [0, 1] |
    | 8 | motor score of the last assessment (Fugl-Meyer-like, healthy ≈ 100) | / 100 |
    | 9 | therapy days so far | / horizon_days |
    | 10 | practice repetitions so far (dose) | / dose_scale, clipped to 1 |
    | 11 | fatigue | / fatigue_scale, clipped to 1 |
    | 12 | success rate of the latest session practised (0 before the first) | in [0, 1] |
    | 13-20 | biomarkers (variant only, see below) | / healthy value, clipped to [0, 5] |

    The biomarkers (`BIOMARKER_NAMES`) are the mean rate in M1 and in premotor cortex during
    the battery, the living fraction of each area, the synapse count, the corticospinal
    output strength of M1 and of premotor cortex and the daily use of the arm, each divided
    by the value of an intact brain with the same patient config.

    ## Rewards
    `reward = reward_gain - reward_cost`, computed after the day's practice, rest and
    assessment: `reward_gain` = motor score after the day minus the score before it (points on
    0-100), `reward_cost` = `cost_per_rep` × the day's repetitions. Both are in `info`, with
    the session's `success_rate` (reaches scoring at least the patient's success threshold)
    and `mean_reach_score` (NaN on a rest day).

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
    `assistance_levels`, `repetition_levels`, `precision_levels`, `dose_scale`,
    `fatigue_scale`, `biomarkers`, `action_type`, `all_directions`, `patient`) override it;
    defaults are those of `TherapyEnvConfig`.
    `render_mode`: None, "rgb_array" (trajectories of the last assessment and the score curve
    so far, as an H×W×3 uint8 array) or "human" (the same figure in a matplotlib window).

    ```python
    import gymnasium as gym, rehabgym
    env = gym.make("rehabgym/Therapy-v2", config="configs/env/mild.yaml", horizon_days=10)
    ```

    ## Version History
    * v2: what is reinforced adds the graded outcome to success
      (`PatientConfig.plasticity.error_weight`), so a patient whose reaches all fail still
      learns, slowly, instead of drifting down (v1's collapse under some unassisted practice).
    * v1: the patient learns from success (`PatientConfig.plasticity.success`), so how hard
      practice is and how much it is assisted matter, differently for mild and severe patients;
      the observation gains the latest session's success rate (13 entries, 21 with biomarkers);
      `info` gains `success_rate` and `mean_reach_score`.
    * v0: initial version (the reward rule reinforced every reach's raw outcome).
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
        precision_levels: tuple[float, ...] | None = None,
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
            repetition_levels=repetition_levels, precision_levels=precision_levels,
            dose_scale=dose_scale, fatigue_scale=fatigue_scale, biomarkers=biomarkers,
            action_type=action_type, all_directions=all_directions, patient=patient)
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
            # pyplot only when a window is asked for: it picks the user's interactive backend
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
