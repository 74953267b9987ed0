"""The README is the front door: short, no commit hashes, and every command it shows runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rehabgym.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _commands() -> list[str]:
    """Every `rehabgym ...` command line the README shows, in code blocks and in backticks."""
    lines = [ln.split("#")[0].strip() for b in _blocks("bash") for ln in b.splitlines()]
    inline = re.findall(r"`(rehabgym [^`]+)`", README)
    found = [c for c in lines + inline if c.startswith("rehabgym ")]
    return sorted({c.split(" && ")[0] for c in found})


def test_readme_is_short_and_names_no_commit() -> None:
    assert len(README.splitlines()) <= 200
    assert not re.findall(r"\b[0-9a-f]{7,40}\b", README)


# The README's placeholders, and a value each for parsing.
PLACEHOLDERS = {"SPEC": "worst_first", "N": "2", "S": "1", "RULE": "reward", "X.yaml": "x.yaml",
                "RUN": "runs/x", "...": ""}


def _variants(command: str) -> list[list[str]]:
    """The command's argument lists: brackets kept (their placeholders filled in), and
    `[a|b]` expanded into one list per alternative."""
    alternatives = [[]]
    for part in re.split(r"(\[[^\]]*\])", command.replace("\\|", "|")):
        if part.startswith("[") and not part.startswith("[-"):
            alternatives = [a + [choice] for a in alternatives for choice in part[1:-1].split("|")]
        else:
            words = shlex.split(part.strip("[]"))
            alternatives = [a + [PLACEHOLDERS.get(w, w) for w in words] for a in alternatives]
    return [[w for w in a if w][1:] for a in alternatives]


@pytest.mark.parametrize("command", _commands())
def test_every_rehabgym_command_shown_parses(command: str) -> None:
    for args in _variants(command):
        build_parser().parse_args(args)


def test_variants_fill_placeholders_and_expand_alternatives() -> None:
    assert _variants("rehabgym bench [arm\\|env]") == [["bench", "arm"], ["bench", "env"]]
    assert _variants("rehabgym validate [--seed S]") == [["validate", "--seed", "1"]]


def test_the_commands_table_lists_every_subcommand() -> None:
    shown = {args[0] for c in _commands() for args in _variants(c)}
    parser = build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    assert set(sub.choices) <= shown


def test_the_quickstart_installs_from_the_constraints_and_ci_runs_the_readme_tests() -> None:
    (install_train, install_test) = [b.strip() for b in _blocks("bash")[:2]]
    assert install_train.endswith("rehabgym train") and "-c constraints.txt" in install_train
    test_command = install_test.split(" && ")[-1]
    assert test_command in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_the_tour_runs(index: int, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _blocks("python")[index]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_links_point_at_files_that_exist() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
