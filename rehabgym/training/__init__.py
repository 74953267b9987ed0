"""Training RL therapists with Stable-Baselines3: config, SB3 vector envs, callbacks, the run."""

from rehabgym.training.config import TrainConfig, load_train_config
from rehabgym.training.run import train

__all__ = ["TrainConfig", "load_train_config", "train"]
