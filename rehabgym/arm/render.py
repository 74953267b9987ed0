"""Rendering the arm from above with MuJoCo's offscreen renderer.

OpenGL may be missing (a headless server): every failure becomes a `RenderUnavailable` with
the reason, so callers can report what they skipped instead of crashing. MuJoCo picks its GL
backend from the environment variable MUJOCO_GL when `mujoco` is first imported, so a process
cannot switch backends afterwards; `render_in_subprocess` therefore renders in a child process,
trying the backends in turn (MUJOCO_GL when set, else EGL then OSMesa) — a GL crash there
cannot take the caller down either.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import mujoco
import numpy as np
from PIL import Image

from rehabgym.arm.model import ArmConfig, build_model
from rehabgym.atomic import atomic_path
from rehabgym.config import from_dict, to_dict

BACKENDS: tuple[str, ...] = ("egl", "osmesa")


class RenderUnavailable(RuntimeError):
    """Rendering is not possible here (no OpenGL backend, bad size, ...); the message says why."""


def top_down_camera(center: np.ndarray, span: float = 0.9) -> mujoco.MjvCamera:
    """A fixed camera looking straight down on the workspace around `center` [2] (m)."""
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.lookat[:] = (center[0], center[1], 0.0)
    cam.elevation = -90.0
    cam.azimuth = 90.0  # +x to the right, +y up in the image
    cam.distance = span
    return cam


def render_frames(
    arm_config: ArmConfig | None,
    joint_angles: np.ndarray,
    width: int = 480,
    height: int = 480,
    targets: np.ndarray | None = None,
) -> list[np.ndarray]:
    """[T] RGB frames (height × width × 3, uint8) of one arm at `joint_angles` [T, 2] (rad).

    Optional `targets` [K, 2] (m) are drawn as red discs. Raises `RenderUnavailable` when no
    OpenGL context can be made in this process or the size exceeds the model's offscreen buffer.
    """
    cfg = arm_config or ArmConfig()
    q = np.asarray(joint_angles, dtype=float)
    if q.ndim != 2 or q.shape[1] != 2 or not np.all(np.isfinite(q)):
        raise ValueError(f"joint_angles: expected finite array of shape (T, 2), got {q.shape}")
    model = build_model(cfg)
    data = mujoco.MjData(model)
    try:
        renderer = mujoco.Renderer(model, height=height, width=width)
    except Exception as exc:  # GL errors come as many types (FatalError, AttributeError, ...)
        gl = os.environ.get("MUJOCO_GL", "<unset>")
        raise RenderUnavailable(f"no OpenGL context (MUJOCO_GL={gl}): {exc}") from exc
    l1, l2 = cfg.upper_arm_length, cfg.forearm_length
    cam = top_down_camera(np.array([0.0, 0.55 * (l1 + l2)]), span=1.6 * (l1 + l2))
    frames = []
    try:
        for qt in q:
            data.qpos[:] = qt
            mujoco.mj_forward(model, data)
            renderer.update_scene(data, camera=cam)
            for tgt in [] if targets is None else np.asarray(targets, dtype=float):
                scn = renderer.scene
                if scn.ngeom >= scn.maxgeom:
                    break
                mujoco.mjv_initGeom(scn.geoms[scn.ngeom], mujoco.mjtGeom.mjGEOM_CYLINDER,
                                    np.array([0.012, 0.012, 0.001]),
                                    np.array([tgt[0], tgt[1], 0.0]), np.eye(3).ravel(),
                                    np.array([0.85, 0.15, 0.15, 1.0], dtype=np.float32))
                scn.ngeom += 1
            frames.append(renderer.render().copy())
    finally:
        renderer.close()
    return frames


def render_in_subprocess(
    arm_config: ArmConfig | None,
    joint_angles: np.ndarray,
    out_dir: str | Path,
    targets: np.ndarray | None = None,
    gif_every: int = 3,
    timeout: float = 120.0,
) -> tuple[Path | None, str]:
    """Write `arm_frame.png` (last posture) and `reach.gif` under `out_dir` from a child process.

    Tries MUJOCO_GL when set, else each of `BACKENDS`. Returns (path of the PNG, backend used)
    or (None, the reason nothing was written). Never raises for a GL failure.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    backends = [os.environ["MUJOCO_GL"]] if os.environ.get("MUJOCO_GL") else list(BACKENDS)
    reasons = []
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.npz"
        np.savez(job, q=np.asarray(joint_angles, dtype=float),
                 targets=np.zeros((0, 2)) if targets is None else np.asarray(targets, float),
                 config=json.dumps(to_dict(arm_config or ArmConfig())),
                 out=str(out), gif_every=gif_every)
        for gl in backends:
            env = {**os.environ, "MUJOCO_GL": gl}
            if gl == "osmesa":
                env["PYOPENGL_PLATFORM"] = "osmesa"
            elif gl == "egl":
                env["PYOPENGL_PLATFORM"] = "egl"
            try:
                res = subprocess.run([sys.executable, "-m", "rehabgym.arm.render", str(job)],
                                     env=env, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                reasons.append(f"{gl}: timed out")
                continue
            if res.returncode == 0:
                return out / "arm_frame.png", gl
            last = (res.stderr.strip().splitlines() or [f"exit code {res.returncode}"])[-1]
            reasons.append(f"{gl}: {last}")
    return None, "no working OpenGL backend (" + "; ".join(reasons) + ")"


def _main(job_path: str) -> int:
    job = np.load(job_path)
    cfg = from_dict(ArmConfig, json.loads(str(job["config"])))
    out = Path(str(job["out"]))
    q = job["q"]
    every = max(1, int(job["gif_every"]))
    targets = job["targets"] if len(job["targets"]) else None
    frames = render_frames(cfg, q[::every], targets=targets)
    last = render_frames(cfg, q[-1:], targets=targets)[0]
    with atomic_path(out / "arm_frame.png") as tmp:
        Image.fromarray(last).save(tmp, format="PNG")
    images = [Image.fromarray(f) for f in frames]
    with atomic_path(out / "reach.gif") as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(1000 * 0.01 * every), loop=0)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
