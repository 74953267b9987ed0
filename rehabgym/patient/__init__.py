"""Virtual stroke patients over days: a session plan, practice / rest / assess, cohorts, files.

Knows nothing of RL: the environments (`rehabgym.envs`) turn a patient into a Gymnasium task.
"""

from rehabgym.patient.assessment import Assessment
from rehabgym.patient.batch import Patient, PatientBatch
from rehabgym.patient.cohort import CohortConfig, sample_cohort
from rehabgym.patient.config import PatientConfig
from rehabgym.patient.plan import N_DIRECTIONS, SessionPlan
from rehabgym.patient.records import BIOMARKER_NAMES, Biomarkers, SessionOutcome

__all__ = ["Assessment", "BIOMARKER_NAMES", "Biomarkers", "CohortConfig", "N_DIRECTIONS",
           "Patient", "PatientBatch", "PatientConfig", "SessionOutcome", "SessionPlan",
           "sample_cohort"]
