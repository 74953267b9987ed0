"""Reaching: center-out targets, reach metrics and figures. Knows nothing of therapy or RL."""

from rehabgym.reaching.metrics import ReachMetrics, count_speed_peaks, reach_metrics
from rehabgym.reaching.targets import ReachConfig, center_out_targets, direction_angles

__all__ = ["ReachConfig", "ReachMetrics", "center_out_targets", "count_speed_peaks",
           "direction_angles", "reach_metrics"]
