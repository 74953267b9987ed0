"""Write your own therapist and compare it with the built-in ones on the same patients.

    python agents/custom_therapist.py --patients 8 --days 10

A therapist sees what a clinic sees (the assessment profile, score, day, dose) and chooses each
day's session: a direction (or rest), a distance, an assistance level and a number of
repetitions, as indices into the environment's levels. Here: practise the weakest direction,
with assistance while it is very weak, and rest when every direction is good enough.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

import rehabgym  # noqa: F401  (registers rehabgym/Therapy-v2)
from rehabgym.evaluation import markdown_table, run_cohort, summarize
from rehabgym.therapists import Therapist, heuristic_factory, profile_of

REST = 8  # the direction entry of a rest day


class WeakestWithHelp(Therapist):
    """The weakest direction each day; assistance below 30 points; rest above 90 everywhere."""

    name = "weakest_with_help"

    def act(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        profile = profile_of(obs, info)  # 0-100 per direction
        if profile.min() > 90:
            return self.session(REST)
        action = self.session(int(np.argmin(profile)))  # fixed levels: the middle ones
        action[2] = 1 if profile.min() < 30 else 0  # assistance level 0.5 or none
        return action


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=8, help="held-out patients")
    p.add_argument("--days", type=int, default=10, help="therapy days per patient")
    p.add_argument("--seed", type=int, default=1_000_000, help="first patient seed")
    args = p.parse_args()

    therapists = {"weakest_with_help": WeakestWithHelp}  # (action_space, seed) -> Therapist
    therapists.update({name: heuristic_factory(name)
                       for name in ("no_therapy", "round_robin", "worst_first")})
    env_kwargs = {"horizon_days": args.days, "max_episode_steps": args.days}
    seeds = [args.seed + i for i in range(args.patients)]
    results = run_cohort(therapists, "rehabgym/Therapy-v2", env_kwargs, seeds, progress=True)
    print(markdown_table(summarize(results)))


if __name__ == "__main__":
    main()
