"""Shared test configuration: seeds, the path to ../shared data, hypothesis profiles."""
import os
import pathlib

import pytest

try:
    from hypothesis import settings

    settings.register_profile("default", max_examples=25, deadline=None, derandomize=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
except ImportError:  # pragma: no cover
    pass

import shendu

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed():
    shendu.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def mnist_dir():
    """The real MNIST files in ../shared/data/mnist; skipped cleanly when absent."""
    d = SHARED_DATA / "mnist"
    if not (d / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("../shared/data/mnist is not present (a fresh clone has no ../shared)")
    return d


@pytest.fixture
def numpy_kernels():
    """Run the test on the NumPy reference kernels (tests of their internals: im2col, kept columns…)."""
    with shendu.backend.use_kernels("numpy"):
        yield


@pytest.fixture(params=["numpy", "onednn"])
def kernels(request):
    """Run the test once per CPU kernel library (oneDNN's run skips where libdnnl does not load)."""
    if request.param == "onednn":
        from shendu.backends import onednn
        if not onednn.available():
            pytest.skip(f"oneDNN is not available: {onednn.load_error()}")
    with shendu.backend.use_kernels(request.param):
        yield request.param
