"""Therapists, training config, training runs (TensorBoard, checkpoints, resume), evaluation.

The unit tests use a tiny stand-in environment defined here (same spaces as the therapist
environment, toy recovery dynamics); the integration tests run the real environment.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from rehabgym.config import ConfigError
from rehabgym.evaluation import (
    env_make_kwargs,
    evaluate,
    paired_t_test,
    read_csv,
    run_cohort,
    t_cdf,
    t_ppf,
)
from rehabgym.stats import betainc
from rehabgym.therapists import (
    HEURISTICS,
    REST,
    LearningProgress,
    SB3Therapist,
    WorstDirectionFirst,
    heuristic_factory,
    make_therapist,
)
from rehabgym.training import TrainConfig, load_train_config, make_train_env, train

FAKE_ID = "rehabgym_test/FakeTherapy-v0"


class FakeTherapyEnv(gym.Env):
    """Stand-in with the therapist env's spaces: practising a direction raises its score."""

    metadata = {"render_modes": []}

    def __init__(self, config: Any = None, horizon_days: int = 5,
                 action_type: str = "multidiscrete", **_: Any) -> None:
        if isinstance(config, dict):
            horizon_days = config.get("horizon_days", horizon_days)
        self.horizon = horizon_days
        self.nvec = np.array([9, 3, 3, 4])
        self.action_type = action_type
        self.action_space = (spaces.MultiDiscrete(self.nvec) if action_type == "multidiscrete"
                             else spaces.Discrete(8 * 36 + 1))
        self.observation_space = spaces.Box(0.0, 1.0, (12,), np.float32)

    def _obs(self) -> np.ndarray:
        return np.concatenate([self.profile / 100, [self.profile.mean() / 100,
                               self.day / self.horizon, self.dose / 1000, 0.0]]).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        return {"score": float(self.profile.mean()), "profile": self.profile.copy(),
                "day": self.day, "dose": self.dose}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.profile = self.np_random.uniform(20, 80, 8)
        self.day, self.dose = 0, 0
        return self._obs(), self._info()

    def step(self, action):
        if self.action_type == "discrete":
            a = int(action)
            action = (REST, 0, 0, 0) if a == 8 * 36 else np.unravel_index(a, (8, 3, 3, 4))
        d, _, _, r = (int(x) for x in action)
        before = self.profile.mean()
        if d != REST:
            reps = (15, 30, 60, 120)[r]
            self.profile[d] += 0.1 * reps * (1 - self.profile[d] / 100)
            self.dose += reps
        self.day += 1
        reward = float(self.profile.mean() - before)
        return self._obs(), reward, False, self.day >= self.horizon, self._info()


if FAKE_ID not in gym.registry:
    gym.register(FAKE_ID, entry_point=FakeTherapyEnv)


def fake_cfg(tmp_path: Path, **over: Any) -> TrainConfig:
    data = dict(experiment="fake", env_id=FAKE_ID, env_config={"horizon_days": 5},
                vec_env="dummy", n_envs=2, total_timesteps=40, eval_every=20, eval_patients=3,
                final_eval_patients=4, checkpoint_every=20, out_root=str(tmp_path),
                progress_bar=False,
                hyperparameters={"n_steps": 10, "batch_size": 10, "n_epochs": 1})
    data.update(over)
    return load_train_config(data)


# ---------------------------------------------------------------- therapists


@pytest.mark.parametrize("name", sorted(HEURISTICS))
def test_heuristics_obey_the_action_space(name: str) -> None:
    env = FakeTherapyEnv(horizon_days=12)
    therapist = make_therapist(name, env.action_space, seed=3)
    obs, info = env.reset(seed=1)
    therapist.reset(obs, info)
    for _ in range(12):
        action = therapist.act(obs, info)
        assert env.action_space.contains(action), (name, action)
        obs, reward, _, _, info = env.step(action)
        therapist.observe(obs, reward, info)


def test_heuristics_choose_as_documented() -> None:
    env = FakeTherapyEnv()
    obs, info = env.reset(seed=0)
    assert make_therapist("no_therapy", env.action_space).act(obs, info)[0] == REST
    worst = WorstDirectionFirst(env.action_space).act(obs, info)[0]
    assert worst == int(np.argmin(info["profile"]))
    rr = make_therapist("round_robin", env.action_space)
    assert [rr.act(obs, info)[0] for _ in range(9)] == [0, 1, 2, 3, 4, 5, 6, 7, 0]
    cp = make_therapist("challenge_point", env.action_space).act(obs, info)[0]
    assert cp == int(np.argmin(np.abs(info["profile"] / 100 - 0.7)))
    # the profile can come from the observation alone
    assert WorstDirectionFirst(env.action_space).act(obs, {})[0] == worst


def test_learning_progress_prefers_the_direction_that_moves() -> None:
    env = FakeTherapyEnv(horizon_days=40)
    lp = LearningProgress(env.action_space, seed=0, epsilon=0.0)
    obs, info = env.reset(seed=0)
    initial = info["profile"].copy()
    lp.reset(obs, info)
    for _ in range(8):  # every direction tried once, in order
        obs, r, *_, info = env.step(lp.act(obs, info))
        lp.observe(obs, r, info)
    assert lp.tried.all()
    # the toy gain is largest where the score was lowest
    assert int(np.argmax(np.abs(lp.progress))) == int(np.argmin(initial))
    assert lp.act(obs, info)[0] == int(np.argmin(initial))


def test_random_therapist_is_seeded() -> None:
    space = FakeTherapyEnv().action_space
    a = [make_therapist("random", space, seed=5).act(np.zeros(12), {}) for _ in range(2)]
    np.testing.assert_array_equal(*a)


def test_unknown_therapist_names_the_allowed() -> None:
    with pytest.raises(ValueError, match="worst_first"):
        make_therapist("best_ever", FakeTherapyEnv().action_space)


def test_sb3_therapist_unflattens_discrete_actions() -> None:
    space = FakeTherapyEnv().action_space
    t = SB3Therapist(model=None, action_space=space)
    flat = np.array([0, 1, 8 * 36 - 1, 8 * 36])
    np.testing.assert_array_equal(
        t.unflatten(flat), [[0, 0, 0, 0], [0, 0, 0, 1], [7, 2, 2, 3], [REST, 0, 0, 0]])


def test_sb3_therapist_samples_its_policy_with_its_own_seed() -> None:
    from stable_baselines3 import DQN, PPO

    env = FakeTherapyEnv()
    model = PPO("MlpPolicy", env, n_steps=10, batch_size=10, seed=0, device="cpu")
    obs = np.repeat(env.reset(seed=0)[0][None], 4000, axis=0)

    def sampled(seed: int) -> np.ndarray:
        return SB3Therapist(model, env.action_space, seed=seed, deterministic=False).act_batch(obs)

    a, b = sampled(1), sampled(1)
    np.testing.assert_array_equal(a, b)
    assert (a != sampled(2)).any()
    assert env.action_space.contains(a[0]) and len(np.unique(a[:, 0])) == 9
    import torch

    probs = model.policy.get_distribution(torch.as_tensor(obs[:1])).distribution[3].probs[0]
    freq = np.bincount(a[:, 3], minlength=4) / len(a)
    np.testing.assert_allclose(freq, probs.detach().numpy(), atol=0.03)
    dqn = DQN("MlpPolicy", FakeTherapyEnv(action_type="discrete"), device="cpu")
    with pytest.raises(ValueError, match="deterministic=False needs a policy-gradient"):
        SB3Therapist(dqn, env.action_space, deterministic=False).act_batch(obs[:1])


def test_heuristics_take_arguments_in_their_spec() -> None:
    space = FakeTherapyEnv().action_space
    t = make_therapist("round_robin(distance=0, assistance=0, reps=3)", space, seed=0)
    np.testing.assert_array_equal(t.act(None, {}), [0, 0, 0, 3])
    assert make_therapist("challenge_point(target=0.5)", space).target == 0.5
    with pytest.raises(ValueError, match=r"allowed arguments of round_robin: \['assistance'"):
        make_therapist("round_robin(levels=1)", space)
    with pytest.raises(ValueError, match="not a number"):
        make_therapist("round_robin(reps=x)", space)
    with pytest.raises(ValueError, match="reps: level 9"):
        make_therapist("round_robin(reps=9)", space)


# ---------------------------------------------------------------- statistics


def test_student_t_matches_tables() -> None:
    assert t_ppf(0.975, 9) == pytest.approx(2.262157, abs=1e-5)
    assert t_ppf(0.975, 1) == pytest.approx(12.7062, abs=1e-3)
    assert t_cdf(2.0, 5) == pytest.approx(0.949030, abs=1e-6)
    assert t_cdf(0.0, 3) == pytest.approx(0.5)
    assert betainc(2.0, 3.0, 0.4) == pytest.approx(0.5248, abs=1e-4)
    test = paired_t_test(np.array([1, 2, 3, 4.0]), np.array([0.5, 1, 2.9, 3.0]))
    assert test.t == pytest.approx(2.98240, abs=1e-4)
    assert test.p == pytest.approx(0.05848, abs=1e-4)
    assert math.isnan(paired_t_test(np.array([1.0]), np.array([0.0])).p)


# ---------------------------------------------------------------- config


@pytest.mark.parametrize(("data", "named"), [
    ({"algorithm": "sac"}, "algorithm"),
    ({"total_steps": 10}, "total_steps"),
    ({"total_timesteps": -5}, "total_timesteps"),
    ({"n_envs": 0}, "n_envs"),
    ({"hyperparameters": {"learnin_rate": 1e-3}}, "learnin_rate"),
    ({"baselines": ["oracle"]}, "baselines"),
    ({"baselines": ["round_robin(assist=0)"]}, "baselines.*assistance"),
    ({"env_config": "configs/env/nope.yaml"}, "env_config"),
    ({"algorithm": "dqn", "deterministic_eval": False}, "deterministic_eval"),
])
def test_bad_config_fails_naming_the_key(data: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_train_config(data)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_train_config(tmp_path / "nope.yaml")
    proc = subprocess.run([sys.executable, "-m", "rehabgym", "train", "--config",
                           str(tmp_path / "nope.yaml")], capture_output=True, text=True)
    assert proc.returncode == 2 and "nope.yaml" in proc.stderr


@pytest.mark.parametrize("name", ["ppo_therapy", "ppo_therapy_long", "a2c_therapy",
                                  "dqn_therapy"])
def test_shipped_configs_load(name: str) -> None:
    root = Path(__file__).resolve().parent.parent
    cfg = load_train_config(root / "configs" / f"{name}.yaml")
    assert cfg.experiment == name


# ---------------------------------------------------------------- training (stand-in env)


def _scalars(run: Path) -> tuple[dict[str, list], list[str]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    scalars: dict[str, list] = {}
    images: list[str] = []
    for events in run.rglob("events.out.tfevents.*"):
        acc = EventAccumulator(str(events), size_guidance={"images": 0, "scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            scalars.setdefault(tag, []).extend(e.step for e in acc.Scalars(tag))
        images += acc.Tags()["images"]
    return scalars, images


@pytest.mark.parametrize("algorithm", ["ppo", "a2c", "dqn"])
def test_training_logs_recovery_and_checkpoints(tmp_path: Path, algorithm: str) -> None:
    hyper = {"ppo": {"n_steps": 10, "batch_size": 10, "n_epochs": 1}, "a2c": {"n_steps": 5},
             "dqn": {"learning_starts": 10, "buffer_size": 100}}[algorithm]
    cfg = fake_cfg(tmp_path, algorithm=algorithm, hyperparameters=hyper)
    run = train(cfg, command=["test"])
    assert (run / "config.yaml").is_file() and (run / "command.txt").read_text() == "test\n"
    assert (run / "model.zip").is_file()
    assert sorted(p.name for p in (run / "checkpoints").glob("*.zip"))
    scalars, images = _scalars(run)
    for tag in ("recovery/final_score", "recovery/gain_over_no_therapy", "recovery/score_dir_0",
                "therapy/dose"):
        assert tag in scalars, sorted(scalars)
    assert 0 in scalars["recovery/final_score"] and 40 in scalars["recovery/final_score"]
    assert any("schedule" in tag for tag in images) and any("recovery" in t for t in images)
    rows = read_csv(run / "evaluation" / "evaluation.csv")
    assert [r["therapist"] for r in rows][:2] == [algorithm, "no_therapy"]
    assert (run / "evaluation" / "evaluation.md").read_text().count("\n|") >= 7


def test_sampled_evaluation_reports_the_argmax_policy_too(tmp_path: Path) -> None:
    cfg = fake_cfg(tmp_path, deterministic_eval=False, total_timesteps=20,
                   baselines=["no_therapy"])
    run = train(cfg, command=["test"])
    rows = read_csv(run / "evaluation" / "evaluation.csv")
    assert [r["therapist"] for r in rows] == ["ppo", "ppo_argmax", "no_therapy"]
    from rehabgym.evaluation import therapist_factory

    space = FakeTherapyEnv().action_space
    for sample in (False, True):
        agent = therapist_factory(f"ppo:{run / 'model.zip'}", sample=sample)(space, 0)
        assert agent.deterministic is not sample


def test_resume_continues_the_timestep_count(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    cfg = fake_cfg(tmp_path, final_eval_patients=0)
    run = train(cfg, command=["first"])
    checkpoint = run / "checkpoints" / "model_20_steps.zip"
    assert checkpoint.is_file()
    cfg.total_timesteps = 60
    again = train(cfg, resume=checkpoint, command=["resume"])
    assert again == run
    assert PPO.load(run / "model.zip").num_timesteps == 60
    steps = _scalars(run)[0]["recovery/final_score"]
    assert max(steps) == 60 and 40 in steps


def test_reward_normalization_is_saved_and_restored_on_resume(tmp_path: Path) -> None:
    from stable_baselines3.common.vec_env import VecNormalize

    cfg = fake_cfg(tmp_path, final_eval_patients=0, normalize_reward=True)
    run = train(cfg, command=["first"])
    stats = run / "checkpoints" / "model_vecnormalize_20_steps.pkl"
    assert stats.is_file() and (run / "vecnormalize.pkl").is_file()
    saved = VecNormalize.load(str(stats), make_train_env(cfg)).ret_rms
    assert saved.count > 1 and saved.var > 0
    cfg.total_timesteps = 60
    train(cfg, resume=run / "checkpoints" / "model_20_steps.zip", command=["resume"])
    final = VecNormalize.load(str(run / "vecnormalize.pkl"), make_train_env(cfg)).ret_rms
    assert final.count > saved.count + 30  # went on from the checkpoint's statistics
    stats.unlink()
    with pytest.raises(ConfigError, match="resume: normalize_reward"):
        train(cfg, resume=run / "checkpoints" / "model_20_steps.zip", command=["again"])


@pytest.mark.parametrize("bootstrap", [True, False])
def test_bootstrap_horizon_decides_whether_the_last_day_is_terminal(bootstrap: bool) -> None:
    import rehabgym.envs  # noqa: F401 - registers the environments

    cfg = load_train_config(dict(env_kwargs={"horizon_days": 2}, n_envs=2, vec_env="native",
                                 bootstrap_horizon=bootstrap))
    venv = make_train_env(cfg)
    venv.reset()
    infos = []
    for _ in range(2):
        _, _, done, infos = venv.step(np.zeros((2, 4), dtype=np.int64))
    venv.close()
    assert done.all()
    assert [info.get("TimeLimit.truncated", False) for info in infos] == [bootstrap] * 2


def test_evaluation_is_paired_and_read_back(tmp_path: Path) -> None:
    rows = evaluate(["worst_first"], 5, tmp_path, env_id=FAKE_ID,
                    env_kwargs={"config": {"horizon_days": 6}}, baselines=["no_therapy",
                                                                           "random"])
    assert [r["therapist"] for r in rows] == ["worst_first", "no_therapy", "random"]
    back = read_csv(tmp_path / "evaluation.csv")
    assert float(back[1]["p"]) < 0.05  # practising beats resting on every toy patient
    assert float(back[0]["final_score"]) > float(back[1]["final_score"])
    patients = read_csv(tmp_path / "patients.csv")
    assert len(patients) == 15
    assert {p["seed"] for p in patients if p["therapist"] == "random"} == \
        {p["seed"] for p in patients if p["therapist"] == "worst_first"}
    treated = [p for p in patients if p["therapist"] == "worst_first"]
    gain = np.mean([float(p["final_score"]) - float(p["initial_score"]) for p in treated])
    assert gain > 0 and float(back[0]["return"]) == pytest.approx(gain)  # toy reward: the gain
    for fig in ("recovery_curves.png", "final_scores.png", "schedule.png"):
        assert (tmp_path / fig).stat().st_size > 0
    table = (tmp_path / "evaluation.md").read_text().splitlines()
    own, other = (next(line for line in table if line.startswith(f"| {name} |"))
                  for name in ("worst_first", "no_therapy"))
    assert own.endswith("| — | — |")  # no difference of a therapist with itself
    assert f"{float(back[1]['primary_minus_this']):.2f} ± " in other


def test_same_patients_for_every_therapist() -> None:
    res = run_cohort({n: (lambda s, seed, n=n: HEURISTICS[n](s, seed=seed))
                      for n in ("no_therapy", "worst_first")}, FAKE_ID, {}, [7, 8, 9])
    np.testing.assert_array_equal(res["no_therapy"].initial, res["worst_first"].initial)
    assert res["no_therapy"].scores.shape == (3, 6)


# ---------------------------------------------------------------- the real environment


TINY_ENV = {"horizon_days": 3, "start_day": 2, "repetition_levels": [2, 4], "cohort": "mixed"}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "rehabgym", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc


def _real_env_or_skip() -> None:
    import rehabgym.envs  # noqa: F401

    try:
        env = gym.make("rehabgym/Therapy-v0", config=TINY_ENV)
    except gym.error.Error as exc:  # not registered on `import rehabgym` yet
        pytest.skip(f"the therapist environment is not registered: {exc}")
    try:
        env.reset(seed=0)
    except FileNotFoundError as exc:  # the shipped healthy-cortex checkpoint not built yet
        pytest.skip(f"the therapist environment cannot start: {exc}")
    finally:
        env.close()


def test_tiny_real_training_run_logs_resumes_and_evaluates(tmp_path: Path) -> None:
    import yaml

    _real_env_or_skip()

    config = {"experiment": "tiny", "env_config": TINY_ENV, "n_envs": 2, "vec_env": "native",
              "total_timesteps": 12, "eval_every": 6, "eval_patients": 2,
              "final_eval_patients": 3, "baselines": ["no_therapy", "round_robin"],
              "checkpoint_every": 6, "out_root": str(tmp_path / "runs"), "progress_bar": False,
              "hyperparameters": {"n_steps": 3, "batch_size": 6, "n_epochs": 1}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    proc = _cli("train", "--config", "tiny.yaml", cwd=tmp_path)
    assert "| ppo |" in proc.stdout and "| round_robin |" in proc.stdout
    (run,) = (tmp_path / "runs" / "tiny").iterdir()
    scalars, images = _scalars(run)
    assert {"recovery/final_score", "recovery/gain_over_no_therapy", "recovery/score_dir_7",
            "therapy/dose", "train/value_loss"} <= set(scalars)
    assert max(scalars["recovery/final_score"]) == 12
    assert any("recovery_curves" in t for t in images) and any("schedule" in t for t in images)
    assert read_csv(run / "evaluation" / "evaluation.csv")[0]["therapist"] == "ppo"

    # interrupted at 6 days, resumed: the count goes on to 18 in the same run folder
    config["total_timesteps"] = 18
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    _cli("train", "--resume", str(run / "checkpoints" / "model_6_steps.zip"), cwd=tmp_path)
    from stable_baselines3 import PPO

    assert PPO.load(run / "model.zip").num_timesteps == 18
    assert max(_scalars(run)[0]["recovery/final_score"]) == 18

    _cli("evaluate", "--therapist", f"ppo:{run / 'model.zip'}", "--patients", "3",
         "--baselines", "no_therapy", "worst_first", "--out", "eval", cwd=tmp_path)
    rows = read_csv(tmp_path / "eval" / "evaluation.csv")
    assert [r["therapist"] for r in rows] == [f"ppo:{run / 'model.zip'}", "no_therapy",
                                              "worst_first"]
    assert all(0.0 <= float(r["final_score"]) <= 100.0 for r in rows)


def test_a_therapists_results_do_not_depend_on_the_others_compared() -> None:
    _real_env_or_skip()
    kwargs = env_make_kwargs(TINY_ENV, {"action_type": "multidiscrete"})
    plan = {n: heuristic_factory(n) for n in ("random", "round_robin")}
    alone = run_cohort({"random": plan["random"]}, "rehabgym/Therapy-v0", kwargs, [3, 4])
    both = run_cohort(plan, "rehabgym/Therapy-v0", kwargs, [3, 4])
    np.testing.assert_array_equal(alone["random"].scores, both["random"].scores)
    np.testing.assert_array_equal(alone["random"].actions, both["random"].actions)


def test_native_adapter_builds_without_warnings() -> None:
    import warnings

    import rehabgym.envs  # noqa: F401 - registers the environments
    from rehabgym.training import NativeVecEnvAdapter

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        venv = NativeVecEnvAdapter(gym.make_vec("rehabgym/Therapy-v0", num_envs=2,
                                                vectorization_mode="vector_entry_point",
                                                render_mode="rgb_array"))
    assert venv.render_mode == "rgb_array" and venv.num_envs == 2
    venv.close()
