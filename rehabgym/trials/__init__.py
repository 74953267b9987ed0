"""Virtual clinical trials: enrol, screen, randomise, treat and report, locally or on Ray."""

from rehabgym.evaluation.engine import BACKENDS, ChunkError, run_chunks
from rehabgym.trials.config import OUTCOMES, Randomisation, TrialArm, TrialConfig
from rehabgym.trials.report import analyse, load_results, write_report
from rehabgym.trials.run import TrialResult, run_trial

__all__ = ["BACKENDS", "OUTCOMES", "Randomisation", "TrialArm", "ChunkError",
           "TrialConfig", "TrialResult", "analyse", "load_results", "run_chunks", "run_trial",
           "write_report"]
