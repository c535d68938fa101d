"""Feature extraction: the outputs of named inner layers of any model, as a dict.

    >>> net = shendu.models.vgg19()
    >>> fx = shendu.models.feature_extractor(net, ["features.3", "features.8"])
    >>> feats = fx(shendu.randn(1, 3, 64, 64))
    >>> feats["features.3"].shape, feats["features.8"].shape
    ((1, 64, 64, 64), (1, 128, 32, 32))

Uses: perceptual / style losses (Gatys et al.), transfer learning on frozen
features, generative-model metrics. The forward stops as soon as every
requested layer has produced its output, so VGG's classifier is never run
when only convolutional features are asked for.
"""
from __future__ import annotations

import difflib

from ..nn import Module

__all__ = ["FeatureExtractor", "feature_extractor"]


class _AllCaptured(Exception):
    """Raised by the last hook to end the forward early (never escapes FeatureExtractor.forward)."""


class FeatureExtractor(Module):
    """Wraps ``model``; calling it returns ``{name: output of the sub-module at that dotted path}``.

    Args:
        model: any :class:`shendu.nn.Module`.
        layers: dotted sub-module paths as ``model.named_modules()`` names them
            (``"features.3"``, ``"layer3"``, ``"avgpool"``), or a dict mapping
            such paths to the keys wanted in the result
            (``{"features.3": "relu1_2"}``).
        stop_early: end the forward once every requested output exists
            (default True; set False to run the whole model anyway).

    Shape: whatever the model takes -> a dict of the requested layers' outputs
    (Tensors with their autograd history: losses on them backpropagate to the
    input and the model's parameters). The keys keep the order of ``layers``.
    A layer called several times in one forward reports its last output.
    """

    def __init__(self, model, layers, stop_early=True):
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"feature_extractor: model must be a shendu.nn.Module, got {type(model).__name__}")
        names = dict(layers) if isinstance(layers, dict) else {str(n): str(n) for n in layers}
        if not names:
            raise ValueError("feature_extractor: layers is empty; name at least one sub-module")
        known = dict(model.named_modules())
        for name in names:
            if name not in known or name == "":
                close = difflib.get_close_matches(name, [k for k in known if k], n=5)
                hint = f"; close names: {close}" if close else f"; its modules include {list(known)[1:9]}"
                raise ValueError(f"feature_extractor: {type(model).__name__} has no sub-module {name!r}{hint}")
        self.model = model
        self._layers = names
        self._stop_early = bool(stop_early)

    @property
    def layers(self):
        """The requested ``{path: key}`` mapping."""
        return dict(self._layers)

    def forward(self, *args, **kwargs):
        captured = {}
        wanted = len(self._layers)

        def make_hook(name):
            def hook(module, inputs, output):
                captured[name] = output
                if self._stop_early and len(captured) == wanted:
                    raise _AllCaptured
            return hook

        handles = [self.model.get_submodule(name).register_forward_hook(make_hook(name)) for name in self._layers]
        try:
            self.model(*args, **kwargs)
        except _AllCaptured:
            pass
        finally:
            for h in handles:
                h.remove()
        missing = [n for n in self._layers if n not in captured]
        if missing:
            raise RuntimeError(f"feature_extractor: {type(self.model).__name__}.forward never called "
                               f"{missing} (a layer outside the forward path?)")
        return {key: captured[name] for name, key in self._layers.items()}

    def __repr__(self):
        return f"FeatureExtractor({type(self.model).__name__}, {list(self._layers.values())})"


def feature_extractor(model, layers, stop_early=True):
    """``FeatureExtractor(model, layers)``: a callable returning ``{name: inner layer output}`` (see the class)."""
    return FeatureExtractor(model, layers, stop_early=stop_early)
