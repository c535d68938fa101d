"""``shendu bench``: the benchmark suite, shendu against PyTorch on the CPU (see docs/bench.md).

    >>> from shendu.bench import main
    >>> main(["--only", "xor,mlp", "--json", "out.json"])     # doctest: +SKIP

The workloads are in :mod:`shendu.bench.workloads`, the measurement in
:mod:`shendu.bench.runner`, the timing child (one round per fresh process) in
:mod:`shendu.bench.timing`, the peak-memory child in :mod:`shendu.bench.memory`.
Nothing here is imported by ``import shendu``; torch is needed only to run it.
"""


def main(argv=None):
    """Run the benchmark with command-line arguments ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    from .runner import main as run
    return run(argv)


__all__ = ["main"]
