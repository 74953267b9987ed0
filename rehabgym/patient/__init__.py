"""Virtual stroke patients over days: a session plan, practice / rest / assess, cohorts, files.

Knows nothing of RL: the environments (`rehabgym.envs`) turn a patient into a Gymnasium task.
"""

from rehabgym.patient.assessment import Assessment
from rehabgym.patient.batch import Patient, PatientBatch
from rehabgym.patient.cohort import CohortConfig, sample_cohort
from rehabgym.patient.config import PatientConfig
from rehabgym.patient.plan import N_DIRECTIONS, SessionPlan

__all__ = ["Assessment", "CohortConfig", "N_DIRECTIONS", "Patient", "PatientBatch",
           "PatientConfig", "SessionPlan", "sample_cohort"]
