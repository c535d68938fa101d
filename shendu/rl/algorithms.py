"""The algorithm table behind ``shendu rl --algo``."""
from .a2c import A2C
from .dqn import DQN
from .ppo import PPO
from .reinforce import Reinforce

__all__ = ["ALGORITHMS"]

ALGORITHMS = {"reinforce": Reinforce, "a2c": A2C, "dqn": DQN, "ppo": PPO}
