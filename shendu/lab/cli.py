"""``shendu lab list`` and ``shendu lab run NAME|all [--quick] [--out DIR] [--seeds N]`` (docs/lab/index.md)."""
from __future__ import annotations

import os
import sys


def add_arguments(parser):
    """Add the ``list`` and ``run`` subcommands of ``shendu lab`` to ``parser``."""
    from ..cli import positive_int

    sub = parser.add_subparsers(dest="lab_command", metavar="list|run", parser_class=type(parser))
    sub.required = True
    sub.add_parser("list", help="the experiments: name, title and the claim each tests")
    r = sub.add_parser("run", help="run an experiment (or all) and write its page",
                       description="Run the experiment NAME (or all of them) and write <out>/NAME.md with its "
                                   "figures in <out>/img/, then the index <out>/index.md.")
    r.add_argument("names", nargs="+", metavar="NAME", help="experiment names from `shendu lab list`, or all")
    r.add_argument("--quick", action="store_true", help="the reduced version of the test suite (seconds, not minutes)")
    r.add_argument("--out", metavar="DIR", default=os.path.join("docs", "lab"),
                   help="directory of the pages (default docs/lab)")
    r.add_argument("--seeds", type=positive_int, metavar="N", help="number of seeds (default 3, or 2 with --quick)")


def run(args):
    """Carry out ``shendu lab …``; returns the exit status."""
    from . import get_experiment, list_experiments, run_experiment
    from .index import write_index

    if args.lab_command == "list":
        exps = list_experiments()
        width = max(len(e.name) for e in exps)
        for e in exps:
            print(f"{e.name:<{width}}  {e.title}")
        return 0
    names = [e.name for e in list_experiments()] if "all" in args.names else list(dict.fromkeys(args.names))
    for name in names:  # every name checked before anything runs
        get_experiment(name)
    seeds = list(range(args.seeds)) if args.seeds else None
    for name in names:
        result = run_experiment(name, quick=args.quick, out=args.out, seeds=seeds,
                                log=lambda line: print(line, file=sys.stderr, flush=True))
        print(f"{result.summary()}: wrote {result.path}", flush=True)
    print(f"wrote {write_index(args.out)}", flush=True)
    return 0
