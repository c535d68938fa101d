"""BatchNormalization and LayerNormalization with Keras's defaults (ε = 1e-3, momentum 0.99).

BatchNormalization normalises each channel (``axis``, the last by default):
y = γ (x − μ) / √(σ² + ε) + β. Training: μ, σ² are the batch mean and **biased**
variance, and the moving statistics follow Keras's rule
moving ← moving · momentum + batch · (1 − momentum) (biased variance: Keras's,
not PyTorch's unbiased one). Inference — and a layer with ``trainable=False``,
as in Keras 3 — uses the moving statistics. Weights: gamma, beta, then the
non-trainable moving_mean, moving_variance (Keras's order; 4·C parameters).
"""
from __future__ import annotations

from ... import functional as F
from ..errors import unsupported
from .base import Layer


def _add_scale_and_center(layer, channels):
    """γ (``scale``) and β (``center``) of shape (channels,), or None in their place: both layers' affine part."""
    layer.register_parameter("gamma", None)
    layer.register_parameter("beta", None)
    if layer.scale:
        layer.add_weight("gamma", (channels,), layer.inits[0], regularizer=layer.regs[0])
    if layer.center:
        layer.add_weight("beta", (channels,), layer.inits[1], regularizer=layer.regs[1])


class BatchNormalization(Layer):
    """Batch normalisation over the channel ``axis`` (−1: channels-last)."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, synchronized=False, renorm=False, **kwargs):
        super().__init__(**kwargs)
        if renorm or synchronized:
            raise unsupported("BatchNormalization(renorm=/synchronized=)", "use the plain BatchNormalization")
        if not isinstance(axis, int):
            raise unsupported("BatchNormalization over several axes", "normalise one channel axis (axis=-1)")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = center, scale
        self.inits = (gamma_initializer, beta_initializer, moving_mean_initializer, moving_variance_initializer)
        self.regs = (gamma_regularizer, beta_regularizer)
        self._pending()

    def build(self, input_shape):
        c = input_shape[self.axis]
        if c is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension but the layer "
                             f"received an input with shape {input_shape}.")
        _add_scale_and_center(self, c)
        self.add_weight("moving_mean", (c,), self.inits[2], trainable=False)
        self.add_weight("moving_variance", (c,), self.inits[3], trainable=False)

    def call(self, inputs, training=None):
        axis = self.axis % inputs.ndim
        c = self.moving_mean.shape[0]
        if inputs.shape[axis] != c:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected axis "
                             f"{self.axis} of input shape to have value {c}, but received input with shape "
                             f"{tuple(inputs.shape)}")
        order = [i for i in range(inputs.ndim) if i != axis] + [axis]
        x = inputs.permute(*order) if axis != inputs.ndim - 1 else inputs
        moved = x.shape
        x = x.reshape(-1, c)
        if training and self.trainable:
            y = F.batch_norm(x, None, None, self.gamma, self.beta, training=True, eps=self.epsilon)
            m = self.momentum
            self.moving_mean.data[...] = self.moving_mean.data * m + x.data.mean(axis=0) * (1 - m)
            self.moving_variance.data[...] = self.moving_variance.data * m + x.data.var(axis=0) * (1 - m)
        else:
            y = F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta, training=False,
                             eps=self.epsilon)
        y = y.reshape(*moved)
        if axis != inputs.ndim - 1:
            inverse = [order.index(i) for i in range(inputs.ndim)]
            y = y.permute(*inverse)
        return y


class LayerNormalization(Layer):
    """y = γ (x − μ) / √(σ² + ε) + β with μ, σ² (biased) per sample over the last axis; ε = 1e-3."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1,) and not (isinstance(axis, (list, tuple)) and list(axis) == [-1]):
            raise unsupported(f"LayerNormalization(axis={axis!r})", "normalise the last axis (axis=-1)")
        if rms_scaling:
            raise unsupported("LayerNormalization(rms_scaling=True)", "use shendu.nn.RMSNorm")
        self.epsilon, self.center, self.scale = float(epsilon), center, scale
        self.inits, self.regs = (gamma_initializer, beta_initializer), (gamma_regularizer, beta_regularizer)
        self._pending()

    def build(self, input_shape):
        c = input_shape[-1]
        _add_scale_and_center(self, c)

    def call(self, inputs):
        return F.layer_norm(inputs, (inputs.shape[-1],), self.gamma, self.beta, self.epsilon)
