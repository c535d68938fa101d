"""One timing round of the benchmark, in a fresh process.

    python -m shendu.bench.timing --only xor,mlp [--threads N] [--steps S] [--warmup W] [--block B]

times every named workload, shendu and PyTorch interleaved (see
:func:`shendu.bench.runner.interleaved`), and prints one JSON line: a list of
dicts, one per workload (the medians, CPU times, steps and FLOPs per step).
The parent (:mod:`shendu.bench.runner`) runs ``--rounds`` such processes: a
process can land in a faster or slower mode for its whole life (where its
large buffers fall, how its threads are placed), which interleaving within one
process cannot see.
"""
from __future__ import annotations

import json
import sys


def main(argv=None):
    from .runner import limit_threads, parse_args, time_workload
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    restore = limit_threads(args.threads)
    try:
        results = [time_workload(name, args) for name in args.names]
    finally:
        restore()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
