"""Train an RL therapist: `python agents/train.py --config configs/ppo_therapy.yaml`.

The same as `rehabgym train` (the implementation is `rehabgym.training`).
"""

import sys

from rehabgym.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
