"""models.feature_extractor: inner layers' outputs as a dict, early stop, gradients, clear errors."""
import numpy as np
import pytest

import shendu
from shendu import nn
from shendu.models import feature_extractor


def _net():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 3, padding=1), nn.ReLU(),
                         nn.Flatten(), nn.Linear(5 * 8 * 8, 2))


def test_outputs_equal_the_layers_run_by_hand():
    net = _net()
    x = shendu.randn(2, 3, 8, 8)
    feats = feature_extractor(net, {"1": "relu1", "2": "conv2"})(x)
    assert list(feats) == ["relu1", "conv2"]
    h1 = net[1](net[0](x))
    np.testing.assert_allclose(feats["relu1"].numpy(), h1.numpy(), rtol=1e-6)
    np.testing.assert_allclose(feats["conv2"].numpy(), net[2](h1).numpy(), rtol=1e-6)


def test_stops_early_and_removes_its_hooks():
    net = _net()
    calls = []
    net[5].register_forward_hook(lambda m, i, o: calls.append("linear"))
    fx = feature_extractor(net, ["0", "3"])
    fx(shendu.randn(1, 3, 8, 8))
    assert calls == []  # the classifier never ran
    feature_extractor(net, ["0"], stop_early=False)(shendu.randn(1, 3, 8, 8))
    assert calls == ["linear"]
    assert all(len(m._forward_hooks) == (1 if i == 5 else 0) for i, m in enumerate(net))


def test_gradients_reach_the_input():
    net = _net()
    x = shendu.randn(1, 3, 8, 8, requires_grad=True)
    f = feature_extractor(net, ["3"])(x)["3"]
    (f * f).sum().backward()
    assert x.grad is not None and float(abs(x.grad).sum()) > 0


def test_vgg_paths_and_shapes():
    net = shendu.models.vgg11(num_classes=10)
    feats = feature_extractor(net, ["features.1", "features.4"])(shendu.randn(1, 3, 32, 32))
    assert feats["features.1"].shape == (1, 64, 32, 32) and feats["features.4"].shape == (1, 128, 16, 16)


def test_bad_names():
    with pytest.raises(ValueError, match=r"has no sub-module 'features\.99'.*close names"):
        feature_extractor(shendu.models.vgg11(), ["features.99"])
    with pytest.raises(ValueError, match="layers is empty"):
        feature_extractor(_net(), [])
    with pytest.raises(TypeError, match="must be a shendu.nn.Module"):
        feature_extractor(lambda x: x, ["0"])
