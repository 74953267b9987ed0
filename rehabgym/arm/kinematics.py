"""The planar arm's forward kinematics, for numpy arrays and torch tensors alike.

The arm (`Arm`) and the closed loop (the cortex's seen hand, the reaches' trajectories,
pre-training's differentiable path) compute the hand from the joints with these two functions.
Angles are shoulder then elbow (rad), the elbow's relative to the upper arm. A torch tensor is
handled through its own methods (the arm imports no torch), and stays differentiable.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _cos(x: Any) -> Any:
    return np.cos(x) if isinstance(x, (np.ndarray, np.generic)) else x.cos()


def _sin(x: Any) -> Any:
    return np.sin(x) if isinstance(x, (np.ndarray, np.generic)) else x.sin()


def _pairs(like: Any) -> Any:
    """An empty array (or tensor, of its dtype and device) shaped like `like` [..., 2]."""
    return np.empty(like.shape) if isinstance(like, np.ndarray) else like.new_empty(like.shape)


def hand_position(q: Any, l1: float, l2: float, out: Any = None) -> Any:
    """Hand position [..., 2] (m, shoulder at the origin) of joint angles q [..., 2], written
    into `out` when given (a loop's every step allocates nothing)."""
    q1, q12 = q[..., 0], q[..., 0] + q[..., 1]
    out = _pairs(q) if out is None else out
    out[..., 0] = l1 * _cos(q1) + l2 * _cos(q12)
    out[..., 1] = l1 * _sin(q1) + l2 * _sin(q12)
    return out


def hand_velocity(q: Any, qd: Any, l1: float, l2: float) -> Any:
    """Hand velocity [..., 2] (m/s): the arm's Jacobian at q times the joint velocities qd."""
    q1, q12 = q[..., 0], q[..., 0] + q[..., 1]
    w1, w12 = qd[..., 0], qd[..., 0] + qd[..., 1]
    out = _pairs(q)
    out[..., 0] = -l1 * _sin(q1) * w1 - l2 * _sin(q12) * w12
    out[..., 1] = l1 * _cos(q1) * w1 + l2 * _cos(q12) * w12
    return out
