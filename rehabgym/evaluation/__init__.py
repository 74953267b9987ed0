"""Cohort evaluation of therapists: the same held-out seeded patients for all, paired tests."""

from rehabgym.evaluation.cohort import CohortResult, env_make_kwargs, run_cohort
from rehabgym.evaluation.compare import compare_therapists
from rehabgym.evaluation.report import markdown_table, save_report, summarize

__all__ = ["CohortResult", "compare_therapists", "env_make_kwargs", "markdown_table",
           "run_cohort", "save_report", "summarize"]
