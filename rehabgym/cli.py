"""The `rehabgym` console command. It only parses: the work lives in the subcommands' modules.

Adding a subcommand: write `_add_<name>(sub)` that creates its parser and sets `func` (a
function taking the parsed `argparse.Namespace`), and list it in `SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path


def _timestamped(root: str) -> Path:
    return Path(root) / datetime.now().strftime("%Y%m%d-%H%M%S")


# ---------------------------------------------------------------- demo
def _run_demo(args: argparse.Namespace) -> int:
    from rehabgym.config import save_config
    from rehabgym.demo import DemoConfig, run_demo

    out = Path(args.out) if args.out else _timestamped("runs/demo")
    cfg = DemoConfig(seed=args.seed, batch=args.batch, render=not args.no_render)
    out.mkdir(parents=True, exist_ok=True)
    save_config(cfg, out / "config.yaml")
    (out / "command.txt").write_text(" ".join(["rehabgym", *args.argv]) + "\n")
    run_demo(out, config=cfg)
    return 0


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="center-out reaches with a model-based controller (no network)")
    p.add_argument("--out", help="output folder (default: runs/demo/<timestamp>/)")
    p.add_argument("--seed", type=int, default=0, help="seed of the motor noise (default 0)")
    p.add_argument("--batch", type=int, default=8, help="number of reaches (default 8)")
    p.add_argument("--no-render", action="store_true", help="skip the OpenGL arm pictures")
    p.set_defaults(func=_run_demo)


# ---------------------------------------------------------------- bench
def _run_bench_arm(args: argparse.Namespace) -> int:
    from rehabgym.bench import bench_arm

    bench_arm(tuple(args.batch_sizes), seconds=args.seconds, nthread=args.nthread)
    return 0


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="speed benchmarks, as ratios against raw mujoco.rollout")
    which = p.add_subparsers(dest="bench", required=True, metavar="{arm}")
    a = which.add_parser("arm", help="closed-loop Arm.step vs raw mujoco.rollout")
    a.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64, 512])
    a.add_argument("--seconds", type=float, default=1.0, help="simulated seconds per arm")
    a.add_argument("--nthread", type=int, default=None, help="threads (default: all cores)")
    a.set_defaults(func=_run_bench_arm)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_demo, _add_bench]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rehabgym", description="A virtual stroke patient and its RL therapists.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rehabgym` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
