"""Helpers shared by the shendu.keras tests: real Keras 3 (torch backend) as the reference.

Keras is imported with KERAS_BACKEND=torch (set before the import); the tests skip
only where the ``keras`` package is absent (it is in the ``test`` extra).
"""
import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
rk = pytest.importorskip("keras")  # real Keras, the reference
torch = pytest.importorskip("torch")

import shendu  # noqa: E402
from shendu import keras as sk  # noqa: E402


def keras_forward_backward(layer, inputs, seed_grad, training=False, **kwargs):
    """Real Keras: output, d(Σ out·seed)/d inputs, and /d weights (torch autograd)."""
    ts = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    out = layer(*ts, training=training, **kwargs)
    outs = out if isinstance(out, (list, tuple)) else [out]
    total = sum((o * torch.tensor(s)).sum() for o, s in zip(outs, seed_grad))
    weights = [w.value for w in layer.trainable_weights]
    grads = torch.autograd.grad(total, [t for t in ts if t.requires_grad] + weights, allow_unused=True)
    n_in = sum(t.requires_grad for t in ts)
    return ([o.detach().numpy() for o in outs], [g.numpy() for g in grads[:n_in]],
            [None if g is None else g.numpy() for g in grads[n_in:]])


def shendu_forward_backward(layer, inputs, seed_grad, training=False, **kwargs):
    """shendu.keras: the same three things."""
    ts = [shendu.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
    out = layer(*ts, training=training, **kwargs)
    outs = out if isinstance(out, (list, tuple)) else [out]
    total = sum((o * shendu.tensor(s)).sum() for o, s in zip(outs, seed_grad))
    total.backward()
    return ([o.numpy() for o in outs], [t.grad.numpy() for t in ts if t.requires_grad],
            [None if w.grad is None else w.grad.numpy() for w in layer.trainable_weights])


def compare_layer(make, inputs, training=False, rtol=1e-4, atol=1e-5, **kwargs):
    """Build ``make(module)`` in both, copy Keras's weights over, compare outputs and gradients."""
    ref, mine = make(rk.layers), make(sk.layers)
    ref_in = [np.asarray(x) for x in inputs]
    with torch.no_grad():
        ref(*[torch.tensor(x) for x in ref_in], **kwargs)  # builds
    mine(*[shendu.tensor(x) for x in ref_in], **kwargs)
    assert [w.shape for w in mine.get_weights()] == [tuple(w.shape) for w in ref.get_weights()]
    mine.set_weights(ref.get_weights())
    assert mine.count_params() == ref.count_params()
    with torch.no_grad():
        probe = ref(*[torch.tensor(x) for x in ref_in], **kwargs)
    probes = probe if isinstance(probe, (list, tuple)) else [probe]
    seeds = [np.random.default_rng(1).standard_normal(tuple(p.shape)).astype("float32") for p in probes]
    r_out, r_gin, r_gw = keras_forward_backward(ref, ref_in, seeds, training, **kwargs)
    m_out, m_gin, m_gw = shendu_forward_backward(mine, ref_in, seeds, training, **kwargs)
    for a, b in zip(m_out, r_out):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    for a, b in zip(m_gin, r_gin):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    for a, b in zip(m_gw, r_gw):
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    return ref, mine
