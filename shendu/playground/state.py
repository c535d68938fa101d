"""The playground's settings, read from and written to TensorFlow Playground's URL hash.

TensorFlow Playground keeps its whole state in the page address after ``#``, as
``name=value`` pairs joined by ``&`` (``activation=tanh&batchSize=10&dataset=xor&…``).
shendu's playground uses the same names and meanings, so a link written for
TensorFlow Playground opens the same experiment here:

=====================  ==========================================  ====================
name                   meaning                                     TensorFlow default
=====================  ==========================================  ====================
activation             hidden activation: relu, tanh, sigmoid,     tanh
                       linear
regularization         none, L1 (Σ|w|) or L2 (½Σw²)                none
regularizationRate     λ, the penalty's weight                     0
learningRate           the SGD step size                           0.03
batchSize              examples per update                         10
dataset                circle, xor, gauss, spiral                  circle
regDataset             reg-plane, reg-gauss                        reg-plane
problem                classification or regression                classification
noise                  label noise, percent (0–50)                 0
percTrainData          percent of the points used to train         50
networkShape           neurons per hidden layer, e.g. ``4,2``      4,2
seed                   the data's random seed (a string)           random
x, y, xSquared,        the input features X₁, X₂, X₁², X₂², X₁X₂,  x, y
ySquared, xTimesY,     sin X₁, sin X₂
sinX, sinY
initZero               start from zero weights                     false
=====================  ==========================================  ====================

TensorFlow Playground's other names (``showTestData``, ``discretize``, ``collectStats``,
``tutorial``, ``hideText``, ``cosX``, ``cosY`` and the ``*_hide`` flags) only change its own
page or are hidden there; they are accepted and kept, and have no effect on training.
Unknown names are ignored, as TensorFlow Playground ignores them. A known name with a value
of the wrong type or out of range is an error (:class:`PlaygroundError`) naming the
parameter, what was expected and what came.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, fields
from urllib.parse import unquote

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
REGULARIZATIONS = ("none", "L1", "L2")
DATASETS = ("circle", "xor", "gauss", "spiral")
REG_DATASETS = ("reg-plane", "reg-gauss")
PROBLEMS = ("classification", "regression")
FEATURES = ("x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY")
MAX_LAYERS, MAX_NEURONS = 6, 8
# the values TensorFlow Playground's menus offer; a URL may carry others within these bounds
LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
REGULARIZATION_RATES = (0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
PASSIVE = ("showTestData", "discretize", "collectStats", "tutorial", "hideText", "cosX", "cosY")


class PlaygroundError(ValueError):
    """A playground setting that cannot be used; the message names the parameter and what was wrong."""


@dataclass
class PlaygroundState:
    """Every setting of one playground session (TensorFlow Playground's names; see the module docstring)."""

    activation: str = "tanh"
    regularization: str = "none"
    regularizationRate: float = 0.0
    learningRate: float = 0.03
    batchSize: int = 10
    dataset: str = "circle"
    regDataset: str = "reg-plane"
    problem: str = "classification"
    noise: float = 0.0
    percTrainData: float = 50.0
    networkShape: list = field(default_factory=lambda: [4, 2])
    seed: str = ""
    x: bool = True
    y: bool = True
    xSquared: bool = False
    ySquared: bool = False
    xTimesY: bool = False
    sinX: bool = False
    sinY: bool = False
    initZero: bool = False
    passive: dict = field(default_factory=dict)   # accepted names without an effect on training

    def __post_init__(self):
        if not self.seed:
            self.seed = f"{random.random():.5f}"   # as TensorFlow Playground: a fresh seed when none is given
        self.validate()

    # ----------------------------------------------------------- reading
    @classmethod
    def from_hash(cls, text):
        """The state a URL hash describes (with or without its leading ``#``); defaults for absent names.

        Raises:
            PlaygroundError: a known name with a malformed or out-of-range value.
        """
        state = cls.__new__(cls)
        cls.__init__(state, seed="0")            # defaults, without drawing a seed yet
        seen_seed = False
        for pair in str(text).lstrip("#").split("&"):
            if not pair.strip():
                continue
            name, _, value = pair.partition("=")
            name, value = unquote(name.strip()), unquote(value.strip())
            if name == "seed":
                seen_seed = True
            state.set(name, value, validate=False)
        if not seen_seed or not state.seed:
            state.seed = f"{random.random():.5f}"
        state.validate()
        return state

    def set(self, name, value, validate=True):
        """Set one parameter from its URL text (or a Python value); unknown names are ignored."""
        if name in PASSIVE or name.endswith("_hide"):
            self.passive[name] = str(value)
            return
        kinds = {f.name: f.type for f in fields(self)}
        if name not in kinds or name == "passive":
            return
        kind = kinds[name]
        if kind == "bool":
            parsed = _parse_bool(name, value)
        elif kind == "int":
            parsed = _parse_number(name, value, integer=True)
        elif kind == "float":
            parsed = _parse_number(name, value)
        elif kind == "list":
            parsed = _parse_shape(value)
        else:
            parsed = str(value)
        setattr(self, name, parsed)
        if validate:
            self.validate()

    def validate(self):
        """Raise :class:`PlaygroundError` for the first setting out of its range."""
        _one_of("activation", self.activation, ACTIVATIONS)
        _one_of("regularization", self.regularization, REGULARIZATIONS)
        _one_of("dataset", self.dataset, DATASETS)
        _one_of("regDataset", self.regDataset, REG_DATASETS)
        _one_of("problem", self.problem, PROBLEMS)
        _within("learningRate", self.learningRate, 1e-6, 10, low_open=True)
        _within("regularizationRate", self.regularizationRate, 0, 10)
        _within("batchSize", self.batchSize, 1, 30)
        _within("noise", self.noise, 0, 50)
        _within("percTrainData", self.percTrainData, 10, 90)
        if len(self.networkShape) > MAX_LAYERS or any(not 1 <= n <= MAX_NEURONS for n in self.networkShape):
            raise PlaygroundError(f"networkShape: expected 0 to {MAX_LAYERS} hidden layers of 1 to {MAX_NEURONS} "
                                  f"neurons, got {','.join(map(str, self.networkShape)) or '(none)'}")
        if not self.features():
            raise PlaygroundError("features: expected at least one input feature (x, y, xSquared, ySquared, "
                                  "xTimesY, sinX, sinY) set to true, got none")
        if len(self.seed) > 64:
            raise PlaygroundError(f"seed: expected at most 64 characters, got {len(self.seed)}")

    # ----------------------------------------------------------- writing
    def features(self):
        """The names of the input features switched on, in TensorFlow Playground's order."""
        return [f for f in FEATURES if getattr(self, f)]

    def to_hash(self):
        """The URL hash (without ``#``) that :meth:`from_hash` reads back to this state."""
        parts = []
        for f in fields(self):
            if f.name == "passive":
                continue
            value = getattr(self, f.name)
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, list):
                text = ",".join(map(str, value))
            elif isinstance(value, float):
                text = f"{value:g}"
            else:
                text = str(value)
            parts.append(f"{f.name}={text}")
        parts += [f"{k}={v}" for k, v in self.passive.items()]
        return "&".join(parts)

    def to_dict(self):
        """The settings as JSON-ready data (for the page)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "passive"}
        out["features"] = self.features()
        return out


def _parse_bool(name, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", ""):
        return True        # TensorFlow Playground reads anything but "false" as true; "1" and "" included
    if text in ("false", "0"):
        return False
    raise PlaygroundError(f"{name}: expected true or false, got {value!r}")


def _parse_number(name, value, integer=False):
    if isinstance(value, bool):
        raise PlaygroundError(f"{name}: expected a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise PlaygroundError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise PlaygroundError(f"{name}: expected a finite number, got {value!r}")
    if integer:
        if number != int(number):
            raise PlaygroundError(f"{name}: expected a whole number, got {value!r}")
        return int(number)
    return number


def _parse_shape(value):
    if isinstance(value, (list, tuple)):
        items = list(value)
    else:
        text = str(value).strip()
        items = [] if text == "" else text.split(",")
    try:
        shape = [_parse_number("networkShape", v, integer=True) for v in items]
    except PlaygroundError:
        raise PlaygroundError(f"networkShape: expected comma-separated neuron counts such as 4,2, got {value!r}") from None
    return shape


def _one_of(name, value, allowed):
    if value not in allowed:
        raise PlaygroundError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")


def _within(name, value, low, high, low_open=False):
    if (value <= low if low_open else value < low) or value > high:
        bound = f"above {low:g}" if low_open else f"from {low:g}"
        raise PlaygroundError(f"{name}: expected a value {bound} to {high:g}, got {value:g}")
