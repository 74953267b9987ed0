"""Evaluate therapists on held-out patients:
`python agents/evaluate.py --therapist ppo:runs/ppo_therapy/<time>/model.zip --patients 20`.

The same as `rehabgym evaluate` (the implementation is `rehabgym.evaluation`).
"""

import sys

from rehabgym.cli import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))
