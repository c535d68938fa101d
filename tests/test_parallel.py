"""shendu.parallel: the batch split over threads, and the kernels that use it.

Every kernel that splits its work must give bit-identical results on one
thread and on several (each output element is computed by one thread, with the
same operations in the same order); the comparisons below force the split on
small arrays by lowering the size threshold.
"""
import threading

import numpy as np
import pytest

import shendu
import shendu.functional as F
from shendu import parallel


@pytest.fixture
def threads():
    """Run a test with the split forced on (3 threads, no size threshold); restores the settings."""
    before, threshold = parallel.get_num_threads(), parallel.MIN_PARALLEL_WORK
    parallel.MIN_PARALLEL_WORK = 0
    yield parallel.set_num_threads
    parallel.MIN_PARALLEL_WORK = threshold
    parallel.set_num_threads(before)


def test_parallel_for_covers_the_range_in_order(threads):
    threads(3)
    seen = []
    parts = parallel.parallel_for(10, lambda a, b: seen.append((a, b, threading.get_ident())) or (a, b), work=10)
    assert parts == [(0, 3), (3, 6), (6, 10)]
    assert sorted(p[:2] for p in seen) == parts
    assert len({p[2] for p in seen}) > 1, "the parts should run on more than one thread"


def test_parallel_for_runs_serially_when_small_or_one_thread(threads):
    threads(3)
    parallel.MIN_PARALLEL_WORK = 100
    assert parallel.parallel_for(10, lambda a, b: (a, b), work=99) == [(0, 10)]
    threads(1)
    assert parallel.parallel_for(10, lambda a, b: (a, b), work=10**9) == [(0, 10)]


def test_parallel_for_more_threads_than_items(threads):
    threads(3)
    assert parallel.parallel_for(2, lambda a, b: (a, b), work=10) == [(0, 1), (1, 2)]
    assert parallel.parallel_for(0, lambda a, b: (a, b), work=10) == [(0, 0)]


def test_parallel_for_raises_after_every_part_finished(threads):
    threads(2)
    finished = []

    def body(a, b):
        if a == 0:
            raise ValueError("part 0 failed")
        threading.Event().wait(0.05)
        finished.append((a, b))

    with pytest.raises(ValueError, match="part 0 failed"):
        parallel.parallel_for(4, body, work=4)
    assert finished == [(2, 4)]  # the other part ran to its end before the error reached the caller

    def worker_fails(a, b):
        if a:
            raise KeyError("part 1 failed")

    with pytest.raises(KeyError, match="part 1 failed"):
        parallel.parallel_for(4, worker_fails, work=4)


def test_nested_parallel_for_does_not_deadlock(threads):
    threads(2)
    inner = parallel.parallel_for(4, lambda a, b: parallel.parallel_for(b - a, lambda c, d: (c, d), work=10),
                                  work=10)
    assert inner == [[(0, 1), (1, 2)], [(0, 2)]]  # the worker's nested call ran serially


def test_parallel_batch_passes_the_same_rows_and_0d_whole(threads):
    threads(2)
    x, y = np.arange(12.0).reshape(6, 2), np.empty((6, 2))
    parallel.parallel_batch(lambda x, y: np.multiply(x, 2, out=y), x, y)
    np.testing.assert_array_equal(y, 2 * x)
    z = np.empty(())
    parallel.parallel_batch(lambda x, z: np.copyto(z, x), np.array(5.0), z)
    assert z == 5.0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_num_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="set_num_threads: expected a positive int"):
        parallel.set_num_threads(bad)


def test_default_thread_count_reads_the_environment(monkeypatch):
    monkeypatch.setattr(shendu.backend, "blas_frees_cores", True)
    monkeypatch.setenv("SHENDU_NUM_THREADS", "3")
    assert parallel._default_threads() == 3
    monkeypatch.delenv("SHENDU_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert parallel._default_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert parallel._default_threads() == parallel.usable_cpus() >= 1
    # BLAS threads that spin on the cores: one thread unless asked
    monkeypatch.setattr(shendu.backend, "blas_frees_cores", False)
    assert parallel._default_threads() == 1
    monkeypatch.setenv("SHENDU_NUM_THREADS", "2")
    assert parallel._default_threads() == 2


def _fresh_python(pre="", **env):
    """``import shendu`` in a fresh interpreter (after ``pre``): the timeout in the environment and the one the
    loaded OpenBLAS uses, whether it frees the cores, and shendu's kernel threads."""
    import os
    import subprocess
    import sys
    code = ("import os, sys; {pre}import shendu; from shendu import openblas; "
            "print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'), openblas._call(openblas.library(), "
            "'openblas_thread_timeout'), shendu.backend.blas_frees_cores, shendu.parallel.get_num_threads())")
    clean = {k: v for k, v in os.environ.items()
             if k not in ("OPENBLAS_THREAD_TIMEOUT", "SHENDU_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code.format(pre=pre)], env={**clean, **env},
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_openblas_threads_free_the_cores_whatever_the_import_order():
    from shendu import openblas
    if openblas.library() is None:
        pytest.skip("NumPy's BLAS here is not a loaded OpenBLAS")
    first = _fresh_python()
    assert first[:3] == ["16", "16", "True"]  # set before NumPy loaded it
    # NumPy first, threads already running: OpenBLAS re-reads the environment and restarts its threads
    assert _fresh_python(pre="import numpy; numpy.ones((300, 300)) @ numpy.ones((300, 300)); ") == first
    assert _fresh_python(OPENBLAS_THREAD_TIMEOUT="28") == ["28", "28", "False", "1"]  # the user's value wins
    assert _fresh_python(OPENBLAS_THREAD_TIMEOUT="12")[:3] == ["12", "12", "True"]
    assert _fresh_python(OPENBLAS_THREAD_TIMEOUT="28", OPENBLAS_NUM_THREADS="1")[2] == "True"  # no worker threads


def _run(fn, n_threads, threads):
    """fn()'s arrays with the split on ``n_threads`` threads."""
    threads(n_threads)
    shendu.manual_seed(0)
    return [np.array(a) for a in fn()]


def _grads(out, *inputs):
    out.backward(shendu.tensor(np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)))
    return [out.data] + [i.grad.data for i in inputs]


def _no_grad(fn, *args):
    with shendu.no_grad():
        return fn(*args)


CASES = {
    "conv2d": lambda x, w: _grads(F.conv2d(x, w, padding=1), x, w),
    "conv2d_stride2_dilated": lambda x, w: _grads(F.conv2d(x, w, stride=2, padding=2, dilation=2), x, w),
    "conv2d_stride2_col2im": lambda x, w: _grads(F.conv2d(x, w, stride=2), x, w),
    "conv2d_wide_col2im": lambda x, w: _grads(F.conv2d(x, shendu.cat([w, w, w]), padding=1), x, w),
    "conv2d_asymmetric_same": lambda x, w: _grads(F.conv2d(x, w[:, :, :2], padding="same"), x, w),
    "max_pool2d": lambda x, w: _grads(F.max_pool2d(x, 2), x),
    "max_pool2d_overlapping_padded": lambda x, w: _grads(F.max_pool2d(x, 3, stride=2, padding=1), x),
    "avg_pool2d": lambda x, w: _grads(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False), x),
    "relu": lambda x, w: _grads(F.relu(x), x),
    "relu_no_grad": lambda x, w: [_no_grad(F.relu, x).data],
    "batch_norm_train": lambda x, w: _grads(F.batch_norm(x, weight=shendu.ones(4, requires_grad=True),
                                                         bias=shendu.zeros(4), training=True), x),
    "batch_norm_eval": lambda x, w: _grads(F.batch_norm(x, shendu.zeros(4), shendu.ones(4)), x),
    "attention_causal": lambda x, w: _grads(F.scaled_dot_product_attention(x, x * 0.5, x.transpose(-1, -2),
                                                                           is_causal=True), x),
    "attention_masked_broadcast_key": lambda x, w: _grads(F.scaled_dot_product_attention(
        x, x[:1], x, attn_mask=shendu.tensor(np.tril(np.ones((9, 9), bool), 1)), dropout_p=0.3), x),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_split_kernels_are_bit_identical_to_one_thread(case, dtype, threads):
    def fn():
        rng = np.random.default_rng(0)
        x = shendu.tensor(rng.standard_normal((5, 4, 9, 9)).astype(dtype), requires_grad=True)
        w = shendu.tensor(rng.standard_normal((3, 4, 3, 3)).astype(dtype), requires_grad=True)
        return CASES[case](x, w)

    one, many = _run(fn, 1, threads), _run(fn, 3, threads)
    for a, b in zip(one, many):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_split_kernels_match_torch(threads):
    torch = pytest.importorskip("torch")
    threads(2)
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((6, 3, 12, 12)).astype("float32")
    w_np = rng.standard_normal((5, 3, 3, 3)).astype("float32")
    x, w = shendu.tensor(x_np, requires_grad=True), shendu.tensor(w_np, requires_grad=True)
    y = F.max_pool2d(F.relu(F.batch_norm(F.conv2d(x, w, padding=1), training=True)), 2)
    y.sum().backward()
    tx, tw = torch.tensor(x_np, requires_grad=True), torch.tensor(w_np, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(torch.relu(torch.nn.functional.batch_norm(
        torch.nn.functional.conv2d(tx, tw, padding=1), None, None, training=True)), 2)
    ty.sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(w.grad.data, tw.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name, kwargs", [("AdamW", dict(lr=1e-2, weight_decay=0.1)), ("SGD", dict(lr=0.1, momentum=0.9))])
def test_optimizer_updates_parameters_on_threads_bit_identically(name, kwargs, threads):
    """Adam's and SGD's updates deal the parameters to the threads; every number is as on one thread."""
    def run(n):
        threads(n)
        rng = np.random.default_rng(0)
        params = [shendu.tensor(rng.standard_normal(s).astype("float32"), requires_grad=True)
                  for s in ((7, 5), (30,), (4, 4, 3), (2,))]
        opt = getattr(shendu.optim, name)(params, **kwargs)
        update, seen = opt._update, set()
        opt._update = lambda *a: seen.add(threading.get_ident()) or update(*a)  # which threads ran updates
        for step in range(3):
            for p in params:
                p.grad = shendu.tensor(rng.standard_normal(p.shape).astype("float32"))
            opt.step()
        assert (len(seen) > 1) == (n > 1), "the parameters should be updated on more than one thread"
        return [p.data.copy() for p in params]

    for a, b in zip(run(1), run(3)):
        np.testing.assert_array_equal(a, b)
