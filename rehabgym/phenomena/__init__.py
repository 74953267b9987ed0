"""The phenomena table: does the virtual patient behave like real patients (`rehabgym validate`)?

One module per experiment, each with the rows it answers and their figures: the natural
history (rows 1, 2, 3, 8, 9), the therapy arms (4, 5, 6), the threshold cohort (7) and the
fixed schedules (10).
"""

from rehabgym.phenomena.config import ValidateConfig
from rehabgym.phenomena.table import Row
from rehabgym.phenomena.validate import validate

__all__ = ["Row", "ValidateConfig", "validate"]
