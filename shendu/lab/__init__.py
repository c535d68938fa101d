"""The lab: the claims of the deep-learning articles turned into experiments a reader can run
(``shendu lab list``, ``shendu lab run NAME|all [--quick] [--out DIR]``; docs/lab/index.md).

Each experiment is a module of this package that registers itself with :func:`experiment`:
a name, a title, the claim it tests, and a function ``run(result, quick)`` that trains with the
library (its optimizers, layers, ``fit``, ``lr_find``, ``tune``, the model zoo) and fills a
:class:`~shendu.lab.page.Result`: the set-up, the numbers over seeds, the figures and the
verdict. :func:`run_experiment` times it and writes ``<out>/<name>.md`` with its PNGs in
``<out>/img/``.

    >>> from shendu import lab
    >>> [e.name for e in lab.list_experiments()][:2]
    ['loss', 'optimizers']
    >>> page = lab.run_experiment("loss", quick=True, out="/tmp/lab")    # the path of the page written

``quick=True`` is the reduced version run by the test suite: the same code on smaller data,
fewer epochs and seeds, so its numbers check that the pipeline is sane, not that the claim holds.
"""
from __future__ import annotations

import difflib
import importlib
from collections import namedtuple

Experiment = namedtuple("Experiment", "name title claim run order")
Experiment.__doc__ = """One registered experiment: ``name`` (for the command line), ``title``, ``claim`` (the
question, as the articles state it), ``run(result, quick)`` (fills a :class:`~shendu.lab.page.Result`) and
``order`` (its place in the list)."""

# the modules that register experiments, in the order of the issue (imported on first use)
MODULES = ("losses", "optimizers", "learning_rate", "batchnorm", "regularization", "augmentation", "depth",
           "gradients", "recurrent", "search", "lenet", "batch_size", "attention", "gan",
           "exploration")
_EXPERIMENTS = {}


def experiment(name, title, claim, order):
    """Decorator: register ``run(result, quick)`` as the experiment ``name``; returns ``run`` unchanged."""
    def decorate(run):
        if name in _EXPERIMENTS:
            raise ValueError(f"shendu.lab: an experiment named {name!r} is already registered")
        _EXPERIMENTS[name] = Experiment(name, title, claim, run, order)
        return run
    return decorate


def _load():
    for module in MODULES:
        importlib.import_module(f"{__name__}.{module}")


def list_experiments():
    """Every registered experiment, in the order of the issue (a list of :data:`Experiment`)."""
    _load()
    return sorted(_EXPERIMENTS.values(), key=lambda e: e.order)


def get_experiment(name):
    """The :data:`Experiment` called ``name``; a KeyError naming the close matches and the list otherwise."""
    _load()
    if name not in _EXPERIMENTS:
        close = difflib.get_close_matches(str(name), _EXPERIMENTS, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise KeyError(f"shendu lab: no experiment named {name!r}{hint}; the experiments are "
                       f"{', '.join(e.name for e in list_experiments())}")
    return _EXPERIMENTS[name]


def run_experiment(name, quick=False, out="docs/lab", seeds=None, log=None):
    """Run the experiment ``name`` and write its page; returns the :class:`~shendu.lab.page.Result`.

    Args:
        name: an experiment's name (``shendu lab list``).
        quick: the reduced version (the test suite's): less data, fewer epochs and seeds.
        out: the directory of the pages (``<out>/<name>.md``, figures in ``<out>/img/``).
        seeds: the seeds (a list of ints); default ``[0, 1, 2]``, or ``[0, 1]`` when quick.
        log: a function called with one line of progress, or None.
    """
    from .page import Result

    exp = get_experiment(name)
    seeds = list(seeds) if seeds is not None else ([0, 1] if quick else [0, 1, 2])
    if not seeds or not all(isinstance(s, int) for s in seeds):
        raise ValueError(f"shendu lab: seeds must be a non-empty list of integers, got {seeds!r}")
    result = Result(exp, quick=quick, seeds=seeds, log=log)
    with result.timed():
        exp.run(result, quick)
    result.write(out)
    return result


__all__ = ["Experiment", "experiment", "list_experiments", "get_experiment", "run_experiment", "MODULES"]
