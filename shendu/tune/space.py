"""Search spaces: a dict from a parameter's name to choices, a range or a fixed value, or a
function that draws with Optuna's ``trial.suggest_*`` (grammar in :mod:`shendu.tune`)."""
from __future__ import annotations

import json
import math

KINDS = ("float", "log", "int", "intlog")
#: The space ``shendu tune`` searches unless given another: the optimizer, its learning rate and
#: weight decay, and the batch size, around the defaults of ``shendu train`` (Adam, 3e-3, 64).
DEFAULT_SPACE = {"optimizer": ["adam", "adamw", "rmsprop"], "lr": ("log", 1e-4, 3e-2),
                 "weight_decay": ("log", 1e-6, 1e-3), "batch_size": [32, 64, 128]}
#: The same as a grid, for ``--sampler grid`` (27 points).
DEFAULT_GRID = {"optimizer": ["adam", "adamw", "rmsprop"], "lr": [1e-3, 3e-3, 1e-2], "batch_size": [32, 64, 128]}


def parse_space(space):
    """Check a dict search space (module docstring) and return it in one form:
    ``{name: ("choice", values) | ("float", low, high, step, log) | ("int", low, high, step, log) |
    ("fixed", value)}``. Raises ValueError naming the parameter and what was wrong."""
    if not isinstance(space, dict) or not space:
        raise ValueError(f"tune: a search space is a non-empty dict (or a function trial -> dict), "
                         f"got {type(space).__name__} {space!r}")
    return {str(name): _parse_entry(str(name), spec) for name, spec in space.items()}


def _parse_entry(name, spec):
    where = f"tune: space[{name!r}]"
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"{where}: the list of choices is empty")
        return ("choice", list(spec))
    if isinstance(spec, dict):  # JSON form of a range: {"log": [low, high]}, optionally "step"
        kinds = [k for k in spec if k in KINDS]
        if len(kinds) != 1 or set(spec) - {kinds[0], "step"} or not isinstance(spec[kinds[0]], list):
            raise ValueError(f"{where}: a range in JSON is {{kind: [low, high]}} with kind one of {', '.join(KINDS)} "
                             f"and an optional \"step\", got {spec!r}")
        spec = (kinds[0], *spec[kinds[0]], *([spec["step"]] if "step" in spec else []))
    if isinstance(spec, tuple):
        if not (3 <= len(spec) <= 4 and spec[0] in KINDS):
            raise ValueError(f"{where}: a range is (kind, low, high) or (kind, low, high, step) with kind one of "
                             f"{', '.join(KINDS)}; choices are written as a list; got {spec!r}")
        kind, low, high = spec[:3]
        step = spec[3] if len(spec) == 4 else None
        integer = kind in ("int", "intlog")
        number = (int,) if integer else (int, float)
        if not all(isinstance(v, number) and not isinstance(v, bool) for v in (low, high)) or not low < high:
            raise ValueError(f"{where}: expected {'integers' if integer else 'numbers'} low < high, got {spec!r}")
        log = kind in ("log", "intlog")
        if log and (low <= 0 or step is not None):
            raise ValueError(f"{where}: a log range needs low > 0 and no step, got {spec!r}")
        if step is not None and not (isinstance(step, number) and step > 0):
            raise ValueError(f"{where}: the step must be a positive {'integer' if integer else 'number'}, got {step!r}")
        return ("int" if integer else "float", low, high, step, log)
    if spec is None or isinstance(spec, (bool, int, float, str)):
        return ("fixed", spec)
    raise ValueError(f"{where}: expected a list of choices, a range (kind, low, high[, step]) or a fixed value, "
                     f"got {type(spec).__name__} {spec!r}")


def suggest(trial, space):
    """Draw one configuration: ``space`` a dict (module docstring) or a function ``trial -> dict``;
    ``trial`` an Optuna trial. Returns ``{name: value}``, fixed values included."""
    if callable(space):
        params = space(trial)
        if not isinstance(params, dict):
            raise TypeError(f"tune: the space function must return a dict of parameters, got {type(params).__name__}")
        return params
    params = {}
    for name, spec in parse_space(space).items():
        kind = spec[0]
        if kind == "choice":
            params[name] = trial.suggest_categorical(name, spec[1])
        elif kind == "float":
            params[name] = trial.suggest_float(name, spec[1], spec[2], step=spec[3], log=spec[4])
        elif kind == "int":
            params[name] = trial.suggest_int(name, spec[1], spec[2], step=spec[3] or 1, log=spec[4])
        else:
            params[name] = spec[1]
    return params


def grid_of(space):
    """The grid of a dict space, for the grid sampler: ``{name: values}`` of its lists."""
    if callable(space):
        raise ValueError("tune: the grid sampler needs the space as a dict whose searched parameters are lists "
                         "of values, not a function")
    grid = {}
    for name, spec in parse_space(space).items():
        if spec[0] in ("float", "int"):
            raise ValueError(f"tune: the grid sampler needs a list of values for every searched parameter; "
                             f"{name!r} is a range: write e.g. {name!r}: {_example_grid(spec)}")
        if spec[0] == "choice":
            grid[name] = spec[1]
    if not grid:
        raise ValueError("tune: the grid sampler needs at least one parameter with a list of values")
    return grid


def _example_grid(spec):
    _, low, high, _, log = spec
    if log:
        values = [low, math.sqrt(low * high), high]
    else:
        values = [low, (low + high) / 2, high]
    return [round(v) if spec[0] == "int" else float(f"{v:.3g}") for v in values]


def describe_space(space):
    """A JSON-able description of a space, to recognise the same search when a study is resumed."""
    if callable(space):
        return f"function {getattr(space, '__module__', '?')}.{getattr(space, '__qualname__', repr(space))}"
    return json.loads(json.dumps({name: list(spec) for name, spec in parse_space(space).items()}, default=repr))
