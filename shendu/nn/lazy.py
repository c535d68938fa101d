"""What Keras's lazy layers (``Dense``, ``Conv2D``) share: their configuration and the weights ``build`` creates.

Lifecycle (Keras's): ``__init__`` stores the configuration; ``build(input_shape)``
creates the weights once the input size is known, on the first call (or
through ``model.build(input_shape)``, or a size given to the constructor).
Each layer's ``build`` checks the input and computes the weight shape, then
calls :meth:`LazyLayer._create_weights`.
"""
from __future__ import annotations

from ..tensor import empty
from . import init
from .module import Module, Parameter


class LazyLayer(Module):
    """Base of the layers that create their weights on the first call (no public constructor of its own)."""

    def _configure(self, activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                   bias_regularizer):
        """Store the Keras arguments; ``weight`` and ``bias`` stay None until :meth:`build`."""
        self.use_bias = bool(use_bias)
        self.activation_spec = activation
        if isinstance(activation, str):
            from ..functional.activation import get_activation  # sibling helper; resolved at construction
            activation = get_activation(activation)
        self.activation = activation
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)

    @property
    def built(self):
        """True once the weights exist."""
        return self.weight is not None

    def _create_weights(self, weight_shape, dtype, **size):
        """Create W (``weight_shape``) and b (``weight_shape[0]``,) filled by the layer's initialisers.

        ``size`` (``input_dim=…``, ``in_channels=…``) goes into the recorded
        constructor call, so that the saved architecture (:mod:`shendu.nn.config`)
        rebuilds a built layer.
        """
        call = self.__dict__.get("_init_call")
        if call is not None:
            call[2].update(size)
        self.weight = Parameter(empty(*weight_shape, dtype=dtype))
        init.get(self.kernel_initializer)(self.weight)
        if self.use_bias:
            self.bias = Parameter(empty(weight_shape[0], dtype=dtype))
            init.get(self.bias_initializer)(self.bias)

    def _build_for(self, x):
        """Build for the input ``x`` on the first call, in x's dtype when it is floating."""
        if not self.built:
            self.build(x.shape, dtype=x.dtype if x.dtype.kind == "f" else None)

    def _activation_name(self):
        """The activation as ``extra_repr`` shows it: its name, or the callable's name."""
        act = self.activation_spec
        return act if act is None or isinstance(act, str) else getattr(act, "__name__", type(act).__name__)
