"""The batched arm: anatomy, batching, determinism, input checks, kinematics, assistance."""

from __future__ import annotations

import pickle

import mujoco
import numpy as np
import pytest

from rehabgym.arm import MUSCLE_NAMES, Arm, ArmConfig, build_model

START = np.radians(ArmConfig().start_posture)


def _alone(k: int, b: int = 1, level: float = 0.5) -> np.ndarray:
    u = np.zeros((b, 6))
    u[:, k] = level
    return u


@pytest.mark.parametrize("k", range(6), ids=MUSCLE_NAMES)
def test_joint_torque_sign_of_each_muscle(k: int) -> None:
    """An active muscle alone pushes each joint it spans in its anatomical direction."""
    m = build_model()
    d = mujoco.MjData(m)
    d.qpos[:] = START
    d.act[:] = 0.0
    d.act[k] = 0.5
    mujoco.mj_forward(m, d)
    arms = np.asarray(ArmConfig().moment_arms[k])
    for j in range(2):
        tau = d.qfrc_actuator[j]
        if arms[j] == 0:
            assert tau == pytest.approx(0.0, abs=1e-9)
        else:
            assert np.sign(tau) == np.sign(arms[j]) and abs(tau) > 1.0


@pytest.mark.parametrize("k", range(4), ids=MUSCLE_NAMES[:4])
def test_monoarticular_muscle_moves_its_joint(k: int) -> None:
    arm = Arm()
    arm.reset()
    for _ in range(10):
        s = arm.step(_alone(k))
    j = k // 2
    direction = 1 if k % 2 == 0 else -1
    assert direction * (s.joint_angle[0, j] - START[j]) > 0.01


@pytest.mark.parametrize("k", [4, 5], ids=MUSCLE_NAMES[4:])
@pytest.mark.parametrize("j", [0, 1])
def test_biarticular_muscle_moves_each_joint_with_the_other_held(k: int, j: int) -> None:
    # Hold the other joint kinematically (reset after every physics step): a narrowed joint
    # range would also change the muscles' length ranges, hence their physics.
    m = build_model()
    d = mujoco.MjData(m)
    d.qpos[:] = START
    d.ctrl[k] = 0.5
    for _ in range(40):
        mujoco.mj_step(m, d)
        d.qpos[1 - j], d.qvel[1 - j] = START[1 - j], 0.0
    direction = 1 if k == 4 else -1
    assert direction * (d.qpos[j] - START[j]) > 0.005


def _sequence(b: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 0.4, size=(n, b, 6))
    tgt = Arm().start_hand_position() + rng.uniform(-0.1, 0.1, size=(n, b, 2))
    gain = rng.uniform(0.0, 100.0, size=(n, b))
    return u, tgt, gain


@pytest.mark.parametrize("b,nthread,assist", [(3, 1, False), (40, 1, True), (80, 2, True)])
def test_batched_equals_sequential(b: int, nthread: int, assist: bool) -> None:
    u, tgt, gain = _sequence(b, 15)
    arm = Arm(batch_size=b, nthread=nthread)
    arm.reset()
    singles = [Arm(batch_size=1, nthread=1) for _ in range(b)]
    for a in singles:
        a.reset()
    for t in range(len(u)):
        kw = {"assist_target": tgt[t], "assist_gain": gain[t]} if assist else {}
        arm.step(u[t], **kw)
        for i, a in enumerate(singles):
            kw1 = {"assist_target": tgt[t, i:i + 1], "assist_gain": gain[t, i]} if assist else {}
            a.step(u[t, i:i + 1], **kw1)
    seq = np.concatenate([a.get_physics_state() for a in singles])
    np.testing.assert_allclose(arm.get_physics_state(), seq, rtol=0, atol=1e-9)
    arm.close()


def test_same_excitations_give_identical_results() -> None:
    u, tgt, gain = _sequence(20, 10, seed=3)
    runs = []
    for _ in range(2):
        arm = Arm(batch_size=20)
        arm.reset()
        for t in range(len(u)):
            s = arm.step(u[t], assist_target=tgt[t], assist_gain=gain[t])
        runs.append((arm.get_physics_state(), s.muscle_force))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


GOOD = np.full((4, 6), 0.1)
TGT = np.zeros((4, 2))


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"excitations": np.full((3, 6), 0.1)}, "excitations"),
        ({"excitations": np.full((4, 5), 0.1)}, "excitations"),
        ({"excitations": np.where(np.eye(4, 6) > 0, np.nan, 0.1)}, "excitations"),
        ({"excitations": np.where(np.eye(4, 6) > 0, np.inf, 0.1)}, "excitations"),
        ({"excitations": np.full((4, 6), 1.5)}, "excitations"),
        ({"excitations": np.full((4, 6), -0.1)}, "excitations"),
        ({"excitations": GOOD, "assist_target": np.zeros((4, 3)), "assist_gain": 1.0},
         "assist_target"),
        ({"excitations": GOOD, "assist_target": np.full((4, 2), np.nan), "assist_gain": 1.0},
         "assist_target"),
        ({"excitations": GOOD, "assist_target": TGT, "assist_gain": -1.0}, "assist_gain"),
        ({"excitations": GOOD, "assist_target": TGT, "assist_gain": np.ones(3)}, "assist_gain"),
        ({"excitations": GOOD, "assist_target": TGT}, "assist_gain"),
    ],
)
def test_bad_step_input_names_argument_and_keeps_state(kwargs: dict, name: str) -> None:
    arm = Arm(batch_size=4)
    arm.reset()
    arm.step(np.full((4, 6), 0.2))
    before = arm.get_physics_state()
    with pytest.raises(ValueError, match=name):
        arm.step(**kwargs)
    np.testing.assert_array_equal(arm.get_physics_state(), before)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size(bad) -> None:
    arm = Arm(batch_size=2)
    before = arm.get_physics_state()
    with pytest.raises(ValueError, match="batch_size"):
        arm.reset(batch_size=bad)
    np.testing.assert_array_equal(arm.get_physics_state(), before)
    with pytest.raises(ValueError, match="batch_size"):
        Arm(batch_size=0)


def test_forward_kinematics_matches_mujoco() -> None:
    rng = np.random.default_rng(1)
    q = np.radians(rng.uniform([-20, 10], [130, 150], size=(10, 2)))
    qd = rng.normal(size=(10, 2))
    arm = Arm(batch_size=10)
    state = np.zeros((10, 11))
    state[:, 1:3], state[:, 3:5] = q, qd
    s = arm.set_physics_state(state)
    m = arm.model
    d = mujoco.MjData(m)
    hand = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, "hand")
    jac = np.zeros((3, m.nv))
    for i in range(10):
        d.qpos[:], d.qvel[:] = q[i], qd[i]
        mujoco.mj_forward(m, d)
        np.testing.assert_allclose(s.hand_position[i], d.site_xpos[hand][:2], atol=1e-12)
        mujoco.mj_jacSite(m, d, jac, None, hand)
        np.testing.assert_allclose(s.hand_velocity[i], (jac @ qd[i])[:2], atol=1e-12)


def test_assist_spring_pulls_passive_arm_to_target() -> None:
    arm = Arm(batch_size=2)
    arm.reset()
    start = arm.start_hand_position()
    target = start + np.array([[0.06, 0.0], [0.0, -0.06]])
    for _ in range(60):
        s = arm.step(np.zeros((2, 6)), assist_target=target, assist_gain=300.0)
    dist = np.linalg.norm(s.hand_position - target, axis=1)
    assert np.all(dist < 0.03)


def test_pickle_round_trip() -> None:
    u, _, _ = _sequence(5, 6, seed=2)
    arm = Arm(batch_size=5)
    arm.reset()
    for t in range(3):
        arm.step(u[t])
    clone = pickle.loads(pickle.dumps(arm))
    np.testing.assert_array_equal(clone.get_physics_state(), arm.get_physics_state())
    for t in range(3, 6):
        a, c = arm.step(u[t]), clone.step(u[t])
    np.testing.assert_array_equal(a.joint_angle, c.joint_angle)
    np.testing.assert_array_equal(a.muscle_force, c.muscle_force)
