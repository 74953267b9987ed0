"""The arm's configuration and its MJCF model (written here, from the configuration).

A planar two-joint arm (shoulder, elbow) moving in the horizontal plane, driven by six
Hill-type MuJoCo muscles in the "arm26" layout of Li & Todorov (2004): shoulder flexor and
extensor, elbow flexor and extensor, biarticular flexor and extensor. Muscles pull on fixed
tendons, i.e. constant moment arms, so a muscle's length is linear in the joint angles.
Flexion (counter-clockwise seen from above) is the positive joint direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mujoco
import numpy as np

from rehabgym.config import ConfigError, NonNegative, Positive, check_fields

MUSCLE_NAMES: tuple[str, ...] = (
    "shoulder_flexor",
    "shoulder_extensor",
    "elbow_flexor",
    "elbow_extensor",
    "biarticular_flexor",
    "biarticular_extensor",
)
JOINT_NAMES: tuple[str, ...] = ("shoulder", "elbow")


def _default_moment_arms() -> tuple[tuple[float, float], ...]:
    # (shoulder, elbow) moment arms in metres; positive = flexor. Li & Todorov (2004).
    return ((0.05, 0.0), (-0.05, 0.0), (0.0, 0.03), (0.0, -0.03), (0.03, 0.03), (-0.03, -0.03))


@dataclass
class ArmConfig:
    """Every default of the arm. Lengths in m, masses in kg, angles in degrees, time in s."""

    upper_arm_length: Positive = 0.31
    forearm_length: Positive = 0.34  # elbow to hand (forearm + hand)
    upper_arm_mass: Positive = 1.9
    forearm_mass: Positive = 1.5
    #: max isometric forces (N), MotorNet's arm26 figures, in MUSCLE_NAMES order.
    max_forces: tuple[Positive, ...] = (838.0, 1207.0, 1422.0, 1549.0, 414.0, 603.0)
    moment_arms: tuple[tuple[float, float], ...] = field(default_factory=_default_moment_arms)
    #: activation / deactivation time constants of the muscles (s)
    muscle_time_constants: tuple[Positive, Positive] = (0.01, 0.04)
    joint_damping: NonNegative = 0.3  # N m s / rad, passive viscosity of each joint
    shoulder_range: tuple[float, float] = (-30.0, 140.0)
    elbow_range: tuple[float, float] = (0.0, 160.0)
    #: start posture (degrees): puts the hand at the workspace centre
    start_posture: tuple[float, float] = (45.0, 90.0)
    timestep: Positive = 0.005  # physics step
    control_period: Positive = 0.01  # one `Arm.step`

    def __post_init__(self) -> None:
        check_fields(self)
        if len(self.max_forces) != 6:
            raise ConfigError(f"max_forces: need 6 positive forces, got {self.max_forces}")
        if len(self.moment_arms) != 6:
            raise ConfigError("moment_arms: need 6 (shoulder, elbow) pairs")
        ratio = self.control_period / self.timestep
        if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
            raise ValueError(
                f"control_period ({self.control_period}) must be a whole multiple of "
                f"timestep ({self.timestep})"
            )

    @property
    def n_substeps(self) -> int:
        return int(round(self.control_period / self.timestep))

    @property
    def moment_arm_matrix(self) -> np.ndarray:
        """[2 joints, 6 muscles] moment arms (m); torque = R @ (muscle tension)."""
        return np.asarray(self.moment_arms, dtype=float).T


def _rod_inertia(mass: float, length: float) -> float:
    return mass * length**2 / 12.0


def _arm_parts(cfg: ArmConfig, p: str) -> tuple[str, str, str]:
    """(body, tendons, actuators) MJCF of one arm whose names start with prefix `p`."""
    l1, l2 = cfg.upper_arm_length, cfg.forearm_length
    i1, i2 = _rod_inertia(cfg.upper_arm_mass, l1), _rod_inertia(cfg.forearm_mass, l2)
    act_tc = " ".join(f"{t:g}" for t in cfg.muscle_time_constants)
    ranges = {"shoulder": cfg.shoulder_range, "elbow": cfg.elbow_range}
    tendons, muscles = [], []
    for k, name in enumerate(MUSCLE_NAMES):
        arms = cfg.moment_arms[k]
        # A flexor shortens as its joint flexes, so its tendon coefficient is -moment arm.
        coefs = [(j, -a) for j, a in zip(JOINT_NAMES, arms) if a != 0]
        joints = "".join(f'<joint joint="{p}{j}" coef="{c:g}"/>' for j, c in coefs)
        tendons.append(f'<fixed name="{p}{name}">{joints}</fixed>')
        lo = sum(c * math.radians(ranges[j][0 if c > 0 else 1]) for j, c in coefs)
        hi = sum(c * math.radians(ranges[j][1 if c > 0 else 0]) for j, c in coefs)
        muscles.append(
            f'<muscle name="{p}{name}" tendon="{p}{name}" force="{cfg.max_forces[k]:g}" '
            f'lengthrange="{lo:.6g} {hi:.6g}" timeconst="{act_tc}"/>'
        )
    muscles += [
        f'<motor name="{p}assist_{ax}" site="{p}hand" refsite="{p}origin" gear="{g}"/>'
        for ax, g in (("x", "1 0 0 0 0 0"), ("y", "0 1 0 0 0 0"))
    ]
    sh, el = cfg.shoulder_range, cfg.elbow_range
    body = f"""
    <site name="{p}origin" pos="0 0 0" size="0.005"/>
    <body name="{p}upper_arm">
      <joint name="{p}shoulder" range="{sh[0]:g} {sh[1]:g}"/>
      <inertial pos="{l1 / 2:g} 0 0" mass="{cfg.upper_arm_mass:g}"
                diaginertia="0.001 {i1:.6g} {i1:.6g}"/>
      <geom type="capsule" fromto="0 0 0 {l1:g} 0 0" size="0.025" rgba=".75 .6 .5 1"/>
      <body name="{p}forearm" pos="{l1:g} 0 0">
        <joint name="{p}elbow" range="{el[0]:g} {el[1]:g}"/>
        <inertial pos="{l2 / 2:g} 0 0" mass="{cfg.forearm_mass:g}"
                  diaginertia="0.001 {i2:.6g} {i2:.6g}"/>
        <geom type="capsule" fromto="0 0 0 {l2:g} 0 0" size="0.02" rgba=".75 .6 .5 1"/>
        <site name="{p}hand" pos="{l2:g} 0 0" size="0.012" rgba=".2 .4 .8 1"/>
      </body>
    </body>"""
    return body, "\n    ".join(tendons), "\n    ".join(muscles)


def build_mjcf(cfg: ArmConfig, n_arms: int = 1) -> str:
    """MJCF text of `n_arms` independent copies of the arm described by `cfg`.

    Copies share the world but neither collide nor interact, so one `mj_step` advances them
    all: that is how `Arm` batches arms without a Python call per arm. With one arm, names
    carry no prefix; with several, arm i's names start with `a{i}_`.
    """
    parts = [_arm_parts(cfg, "" if n_arms == 1 else f"a{i}_") for i in range(n_arms)]
    bodies, tendons, actuators = ("\n".join(p[k] for p in parts) for k in range(3))
    return f"""<mujoco model="rehabgym_arm26">
  <compiler angle="degree" autolimits="true"/>
  <option timestep="{cfg.timestep:g}" gravity="0 0 -9.81" integrator="implicitfast"/>
  <visual><global offwidth="480" offheight="480"/></visual>
  <default>
    <joint type="hinge" axis="0 0 1" damping="{cfg.joint_damping:g}" limited="true"/>
    <geom contype="0" conaffinity="0"/>
  </default>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1=".92 .92 .92" rgb2=".85 .85 .85"
             width="64" height="64"/>
    <material name="grid" texture="grid" texrepeat="8 8"/>
  </asset>
  <worldbody>
    <light pos="0 0.3 1.5" dir="0 0 -1"/>
    <geom name="table" type="plane" size="0.6 0.6 0.01" pos="0 0.3 -0.05" material="grid"/>
    {bodies}
  </worldbody>
  <tendon>
    {tendons}
  </tendon>
  <actuator>
    {actuators}
  </actuator>
</mujoco>
"""


def build_model(cfg: ArmConfig | None = None, n_arms: int = 1) -> mujoco.MjModel:
    """Compiled `MjModel` of `n_arms` copies of the arm."""
    return mujoco.MjModel.from_xml_string(build_mjcf(cfg or ArmConfig(), n_arms))
