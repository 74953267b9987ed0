"""A batch of B arms stepped together.

One `Arm.step` is one control period (10 ms by default): the six muscle excitations and the
optional assistive force are held for the period's physics sub-steps. The B arms live as
independent copies inside a few MuJoCo models ("chunks" of up to 16 arms), so one `mj_step`
advances a whole chunk: a Python call per chunk per control period, never per arm. Chunks run
on a persistent thread pool (MuJoCo releases the GIL while stepping) when there are enough.
In the closed loop this is faster than `mujoco.rollout`, whose per-call set-up dominates when
a call covers only the two sub-steps of one control period (`rehabgym bench arm` measures it).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from functools import lru_cache

import mujoco
import numpy as np

from rehabgym.arm.kinematics import hand_position, hand_velocity
from rehabgym.arm.model import MUSCLE_NAMES, ArmConfig, build_model

N_MUSCLES = len(MUSCLE_NAMES)
N_ACTUATORS = N_MUSCLES + 2  # six muscles, then the assistive force (x, y)
#: the physics state of one arm, as `get_physics_state` returns it: time, qpos, qvel, act
N_STATE = 1 + 2 + 2 + N_MUSCLES
CHUNK = 16  # arms per MuJoCo model: the per-arm cost is lowest around 16 (bench arm)

MIN_CHUNKS_PER_THREAD = 8  # chunks each thread must have before the arm steps in parallel


@dataclass
class ArmState:
    """Sensory state of a batch of arms (numpy arrays, batch first, SI units)."""

    time: np.ndarray  # [B] s
    joint_angle: np.ndarray  # [B, 2] rad (shoulder, elbow); flexion positive
    joint_velocity: np.ndarray  # [B, 2] rad/s
    muscle_length: np.ndarray  # [B, 6] normalised fibre length L/L0 (1 = optimal)
    muscle_velocity: np.ndarray  # [B, 6] L0/s
    muscle_force: np.ndarray  # [B, 6] N, tension (>= 0) during the last control period
    muscle_activation: np.ndarray  # [B, 6] in [0, 1]
    hand_position: np.ndarray  # [B, 2] m, shoulder at the origin
    hand_velocity: np.ndarray  # [B, 2] m/s

    def copy(self) -> ArmState:
        return ArmState(**{f.name: getattr(self, f.name).copy() for f in fields(self)})


#: MuJoCo's warnings of a diverging simulation (it resets the data when it raises them)
_INSTABILITY = (mujoco.mjtWarning.mjWARN_BADQPOS, mujoco.mjtWarning.mjWARN_BADQVEL,
                mujoco.mjtWarning.mjWARN_BADQACC)


class _ChunkViews:
    """Per-arm views of one chunk's `MjData` arrays, made once: the stepping loop touches
    them every control period, and asking `MjData` for an array builds a new view each time."""

    def __init__(self, d: mujoco.MjData, n: int) -> None:
        self.ctrl = d.ctrl.reshape(n, N_ACTUATORS)
        self.qpos = d.qpos.reshape(n, 2)
        self.qvel = d.qvel.reshape(n, 2)
        self.act = d.act.reshape(n, N_MUSCLES)
        self.force = d.actuator_force.reshape(n, N_ACTUATORS)[:, :N_MUSCLES]
        self.instability = [d.warning[w] for w in _INSTABILITY]

    def diverged(self) -> bool:
        """True when MuJoCo found the state unstable (and reset the data) since the reset."""
        return any(w.number for w in self.instability)


@lru_cache(maxsize=32)
def _chunk_model(cfg_key: tuple, n_arms: int) -> mujoco.MjModel:
    return build_model(ArmConfig(**dict(cfg_key)), n_arms)


class Arm:
    """B planar two-joint arms with six muscles each.

    Args:
        config: the arm's parameters (`ArmConfig`); defaults when None.
        batch_size: number of arms B (>= 1); change it later with `reset(batch_size=...)`.
        nthread: threads that step chunks in parallel (default: the machine's cores, at most 8).

    Example:
        >>> arm = Arm(batch_size=64)
        >>> s = arm.reset()
        >>> s = arm.step(np.full((64, 6), 0.05))
    """

    def __init__(
        self, config: ArmConfig | None = None, batch_size: int = 1, nthread: int | None = None
    ) -> None:
        self.config = config or ArmConfig()
        self._cfg_key = tuple(sorted(vars(self.config).items()))
        self.model = _chunk_model(self._cfg_key, 1)
        self._nthread = max(1, nthread if nthread is not None else min(8, os.cpu_count() or 1))
        self._executor: ThreadPoolExecutor | None = None
        self._nsub = self.config.n_substeps
        m = self.model
        self._l1 = self.config.upper_arm_length
        self._l2 = self.config.forearm_length
        # Fixed tendons: muscle length = T @ q. Normalise with MuJoCo's own L0 and tendon slack.
        self._tendon = np.zeros((N_MUSCLES, 2))
        for k in range(N_MUSCLES):
            adr, num = m.tendon_adr[k], m.tendon_num[k]
            for w in range(adr, adr + num):
                self._tendon[k, m.wrap_objid[w]] = m.wrap_prm[w]
        lr = m.actuator_lengthrange[:N_MUSCLES]
        rng = m.actuator_gainprm[:N_MUSCLES, :2]
        self._L0 = (lr[:, 1] - lr[:, 0]) / (rng[:, 1] - rng[:, 0])
        self._LT = lr[:, 0] - rng[:, 0] * self._L0
        self._start_q = np.radians(np.asarray(self.config.start_posture, dtype=float))
        self._batch = 0
        self.reset(batch_size=batch_size)

    # ------------------------------------------------------------------ public API
    @property
    def batch_size(self) -> int:
        return self._batch

    @property
    def nthread(self) -> int:
        """Threads that may step chunks in parallel."""
        return self._nthread

    @property
    def dt(self) -> float:
        """Control period (s): the time one `step` advances."""
        return self.config.control_period

    def reset(
        self, batch_size: int | None = None, joint_angles: np.ndarray | None = None
    ) -> ArmState:
        """Put every arm at rest in the start posture (or at `joint_angles` [B, 2], radians)."""
        b = self._batch if batch_size is None else batch_size
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
            raise ValueError(f"batch_size: must be an integer >= 1, got {batch_size!r}")
        b = int(b)
        if joint_angles is None:
            q = np.broadcast_to(self._start_q, (b, 2))
        else:
            q = np.asarray(joint_angles, dtype=float)
            if q.shape not in ((2,), (b, 2)) or not np.all(np.isfinite(q)):
                raise ValueError(
                    f"joint_angles: expected finite radians of shape (2,) or ({b}, 2), "
                    f"got shape {q.shape}"
                )
            q = np.broadcast_to(q, (b, 2))
        state = np.zeros((b, N_STATE))
        state[:, 1:3] = q
        return self.set_physics_state(state)

    def step(
        self,
        excitations: np.ndarray,
        assist_target: np.ndarray | None = None,
        assist_gain: np.ndarray | float | None = None,
        observe: bool = True,
    ) -> ArmState | None:
        """Advance all arms one control period; returns the new state (None if not `observe`).

        Args:
            excitations: [B, 6] muscle excitations in [0, 1], in `MUSCLE_NAMES` order.
            assist_target: [B, 2] point (m) the assistive spring pulls the hand toward.
            assist_gain: spring stiffness (N/m), scalar or [B], >= 0; needs `assist_target`.
        """
        u = self._check_excitations(excitations)
        if assist_target is not None or assist_gain is not None:
            assist = self._assist_force(assist_target, assist_gain)
        else:
            assist = None
        ctrl = self._ctrl
        ctrl[:, :N_MUSCLES] = u
        ctrl[:, N_MUSCLES:] = 0.0 if assist is None else assist
        for (lo, hi), view in zip(self._slices, self._views):
            view.ctrl[...] = ctrl[lo:hi]
        if self._executor is not None:
            list(self._executor.map(self._step_chunks, self._groups))
        else:
            self._step_chunks(range(len(self._datas)))
        self._gather()
        if not np.all(np.isfinite(self._state)) or any(v.diverged() for v in self._views):
            raise FloatingPointError("arm: physics diverged (non-finite or huge position, "
                                     "velocity or acceleration; MuJoCo reset the data)")
        self._state[:, 0] += self.dt
        return self.observe() if observe else None

    def observe(self) -> ArmState:
        """The current sensory state of every arm."""
        s = self._state
        q, qd, act = s[:, 1:3], s[:, 3:5], s[:, 5:5 + N_MUSCLES]
        return ArmState(
            time=s[:, 0].copy(),
            joint_angle=q.copy(),
            joint_velocity=qd.copy(),
            muscle_length=(q @ self._tendon.T - self._LT) / self._L0,
            muscle_velocity=(qd @ self._tendon.T) / self._L0,
            muscle_force=self._force.copy(),
            muscle_activation=act.copy(),
            hand_position=self.hand_position(),
            hand_velocity=self.hand_velocity(),
        )

    def hand_position(self) -> np.ndarray:
        """[B, 2] hand position (m), shoulder at the origin (forward kinematics)."""
        return hand_position(self._state[:, 1:3], self._l1, self._l2)

    def hand_velocity(self) -> np.ndarray:
        """[B, 2] hand velocity (m/s): the Jacobian times the joint velocities."""
        return hand_velocity(self._state[:, 1:3], self._state[:, 3:5], self._l1, self._l2)

    def start_hand_position(self) -> np.ndarray:
        """[2] hand position (m) of the start posture: the workspace centre."""
        return hand_position(self._start_q, self._l1, self._l2)

    def get_physics_state(self) -> np.ndarray:
        """[B, 11] physics state of each arm (time, qpos, qvel, act): save it to restore."""
        return self._state.copy()

    def set_physics_state(self, state: np.ndarray) -> ArmState:
        """Restore states from `get_physics_state` (the batch size follows the array)."""
        state = np.asarray(state, dtype=float)
        if state.ndim != 2 or state.shape[1] != N_STATE or not np.all(np.isfinite(state)):
            raise ValueError(
                f"state: expected finite array of shape (B, {N_STATE}), got {state.shape}"
            )
        self._set_batch(state.shape[0])
        self._state = state.copy()
        self._force = np.zeros((state.shape[0], N_MUSCLES))
        for (lo, hi), m, d in zip(self._slices, self._models, self._datas):
            mujoco.mj_resetData(m, d)  # also clears MuJoCo's divergence warnings
            d.qpos[:] = state[lo:hi, 1:3].ravel()
            d.qvel[:] = state[lo:hi, 3:5].ravel()
            d.act[:] = state[lo:hi, 5:].ravel()
        return self.observe()

    def close(self) -> None:
        """Stop the stepping threads (also done when the arm is garbage collected)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    def __getstate__(self) -> dict:
        return {"config": self.config, "nthread": self._nthread, "state": self._state,
                "force": self._force}

    def __setstate__(self, d: dict) -> None:
        self.__init__(d["config"], batch_size=d["state"].shape[0], nthread=d["nthread"])
        self.set_physics_state(d["state"])
        self._force = d["force"].copy()

    # ------------------------------------------------------------------ internals
    def _set_batch(self, b: int) -> None:
        if b == self._batch:
            return
        self._batch = b
        self._slices = [(lo, min(b, lo + CHUNK)) for lo in range(0, b, CHUNK)]
        self._models = [_chunk_model(self._cfg_key, hi - lo) for lo, hi in self._slices]
        self._datas = [mujoco.MjData(m) for m in self._models]
        self._views = [_ChunkViews(d, hi - lo) for (lo, hi), d in zip(self._slices, self._datas)]
        self._ctrl = np.zeros((b, N_ACTUATORS))
        n = len(self._datas)
        self.close()
        # Threads pay off only with many chunks per thread: on 2 cores, stepping 4 chunks
        # (64 arms) on one thread is faster than waking a second; 16 chunks break even.
        if self._nthread > 1 and n >= MIN_CHUNKS_PER_THREAD * self._nthread:
            self._executor = ThreadPoolExecutor(self._nthread)
            self._groups = [range(k, n, self._nthread) for k in range(self._nthread)]

    def _step_chunks(self, indices: range) -> None:
        for i in indices:
            mujoco.mj_step(self._models[i], self._datas[i], self._nsub)

    def _gather(self) -> None:
        s, f = self._state, self._force
        for (lo, hi), v in zip(self._slices, self._views):
            s[lo:hi, 1:3] = v.qpos
            s[lo:hi, 3:5] = v.qvel
            s[lo:hi, 5:] = v.act
            np.negative(v.force, out=f[lo:hi])

    def _check_excitations(self, excitations: np.ndarray) -> np.ndarray:
        u = np.asarray(excitations, dtype=float)
        if u.shape != (self._batch, N_MUSCLES):
            raise ValueError(
                f"excitations: expected shape ({self._batch}, {N_MUSCLES}) "
                f"(batch, muscles {list(MUSCLE_NAMES)}), got {u.shape}"
            )
        if not np.all(np.isfinite(u)):
            raise ValueError("excitations: must be finite (got NaN or inf); allowed range [0, 1]")
        if u.min() < 0.0 or u.max() > 1.0:
            raise ValueError(
                f"excitations: allowed range [0, 1], got min {u.min():.4g}, max {u.max():.4g}"
            )
        return u

    def _assist_force(
        self, target: np.ndarray | None, gain: np.ndarray | float | None
    ) -> np.ndarray:
        if target is None or gain is None:
            raise ValueError("assist_target and assist_gain: give both or neither")
        tgt = np.asarray(target, dtype=float)
        if tgt.shape != (self._batch, 2) or not np.all(np.isfinite(tgt)):
            raise ValueError(
                f"assist_target: expected finite array of shape ({self._batch}, 2), got {tgt.shape}"
            )
        k = np.asarray(gain, dtype=float)
        if k.shape not in ((), (self._batch,)) or not np.all(np.isfinite(k)) or np.any(k < 0):
            raise ValueError(
                f"assist_gain: expected a finite scalar or shape ({self._batch},) >= 0 (N/m), "
                f"got {np.asarray(gain)!r}"
            )
        k = np.broadcast_to(k, (self._batch,))
        # A spring toward the target, held for the control period like a 100 Hz robot would.
        return k[:, None] * (tgt - self.hand_position())
