"""``shendu tune``: its arguments and the job it runs."""
from __future__ import annotations

import json
import os

from .protocol import tune_model
from .report import format_value
from .samplers import PRUNERS, SAMPLERS

def add_arguments(parser):
    """The arguments of ``shendu tune`` (an argparse parser or sub-parser)."""
    from ..data.datasets import DATASETS

    parser.add_argument("model", nargs="?", default="lenet5", metavar="MODEL",
                        help="a name from `shendu models` (default lenet5)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="digits", help="default digits")
    parser.add_argument("--trials", type=int, default=20,
                        help="finished trials to reach in the study, in all (default 20)")
    parser.add_argument("--sampler", choices=SAMPLERS, default="tpe", help="default tpe")
    parser.add_argument("--storage", metavar="URL",
                        help="sqlite:///FILE or postgresql://USER:PASSWORD@HOST/DB (default sqlite:///OUT/study.db)")
    parser.add_argument("--study", metavar="NAME", help="the study's name (default MODEL-DATASET)")
    parser.add_argument("--epochs", type=int, help="epochs per trial (default 20)")
    parser.add_argument("--space", metavar="JSON", help="the search space as JSON text or a .json file, e.g. "
                        '\'{"lr": {"log": [1e-4, 1e-1]}, "batch_size": [32, 64]}\' (default: docs/tune.md)')
    parser.add_argument("--pruner", choices=PRUNERS, default="median", help="default median")
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="start no trial after this many seconds")
    parser.add_argument("--out", metavar="DIR", help="output directory (default runs/tune-STUDY)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the split and the trainings: the same for every worker of a study (default 0)")
    parser.add_argument("--sampler-seed", type=int, help="seeds the sampler (default --seed): one per worker")
    parser.add_argument("--data-dir", metavar="DIR", help="where the mnist / fashion_mnist / cifar10 files are")
    parser.add_argument("--no-default", action="store_true", help="do not run the default configuration to compare")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.add_argument("--workers", type=int, metavar="N", help="create the study, run N worker processes on it "
                        "(each its own sampler seed), then train and test the best configuration once")
    parser.add_argument("--worker", action="store_true", help="only run trials of an existing study until it has "
                        "--trials (one of several workers, on any machine); no final training")
    parser.add_argument("--create-study", action="store_true",
                        help="only create the study (once, before workers on several machines start)")
    parser.add_argument("--heartbeat", type=int, default=20, metavar="SECONDS",
                        help="a running trial's heartbeat; silent for 3 of them, it is failed and retried (default 20)")
    return parser


def _options(args):
    """The keyword arguments of :func:`tune_model` that every worker of a study shares."""
    return dict(model=args.model, dataset=args.dataset, n_trials=args.trials, sampler=args.sampler,
                space=_read_space(args.space), epochs=args.epochs, storage=args.storage, study_name=args.study,
                out=args.out, seed=args.seed, sampler_seed=args.sampler_seed, pruner=args.pruner,
                timeout=args.timeout, data_dir=args.data_dir, verbose=0 if args.quiet else 1,
                heartbeat=args.heartbeat)


def _read_space(text):
    if text is None:
        return None
    if os.path.isfile(text):
        with open(text, encoding="utf-8") as f:
            text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"tune: --space is neither a .json file nor JSON text: {exc}") from None


def run(args):
    """Run ``shendu tune`` with parsed ``args``; prints the trials, the best and the default
    configurations, and the files written. Returns the exit status."""
    if getattr(args, "workers", None) is not None:
        from .parallel import run_workers

        run_workers(args, _options(args))
    if getattr(args, "worker", False) or getattr(args, "create_study", False):
        r = tune_model(**_options(args), worker=args.worker, create_only=args.create_study)
        print(f"tune: study {r['study']!r} in {r['storage']}: "
              + ("created" if r["created"] else f"this worker ran trials {r['new_trials']}; "
                 f"{r['finished']} finished in all"), flush=True)
        return 0
    r = tune_model(model=args.model, dataset=args.dataset, n_trials=args.trials, sampler=args.sampler,
                   space=_read_space(args.space), epochs=args.epochs, storage=args.storage, study_name=args.study,
                   out=args.out, seed=args.seed, sampler_seed=args.sampler_seed, pruner=args.pruner,
                   timeout=args.timeout,
                   compare_default=not args.no_default, data_dir=args.data_dir, verbose=0 if args.quiet else 1,
                   heartbeat=getattr(args, "heartbeat", 20))
    m = r["metric"]
    print(r["table"])
    b, d = r["best"], r["default"]
    params = ", ".join(f"{k}={format_value(v)}" for k, v in b["params"].items())
    print(f"best: trial {b['trial']}, {m} {b[m]:.4f}; {params}")
    print(f"test accuracy of the best configuration (trained on training + validation): "
          f"{100 * b['test_accuracy']:.2f} %"
          + (f"; of the default configuration: {100 * d['test_accuracy']:.2f} % ({m} {d[m]:.4f})" if d else ""))
    print(f"{r['finished']} trials finished ({len(r['new_trials'])} now) in {r['seconds']:.1f} s; wrote "
          f"{', '.join(r['files'].values())}", flush=True)
    return 0
