"""Fully connected layers (``Linear``, Keras's lazy ``Dense``) and the shape-only ``Identity``, ``Flatten``."""
from __future__ import annotations

import math

from ..autograd import is_grad_enabled
from ..checks import int_arg
from ..ops.linalg import FUSED_ACTIVATIONS
from ..tensor import Tensor, empty
from . import init
from .lazy import LazyLayer
from .module import Module, Parameter


class Linear(Module):
    """Fully connected layer: y = x Wᵀ + b (PyTorch's ``nn.Linear``).

    Initialisation (PyTorch's): W ~ U(−1/√in, 1/√in) (``kaiming_uniform_`` with
    a = √5) and b ~ U(−1/√in, 1/√in).

    Args:
        in_features: size of each input sample's last axis.
        out_features: size of each output sample's last axis.
        bias: learn the additive bias b (default True).

    Shape: input (*, in_features) -> output (*, out_features).
    Parameters: ``weight`` (out_features, in_features), ``bias`` (out_features,).

    Example:
        >>> fc = nn.Linear(784, 10)
        >>> fc(shendu.randn(32, 784)).shape
        (32, 10)
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = int_arg(type(self).__name__, "in_features", in_features)
        self.out_features = int_arg(type(self).__name__, "out_features", out_features)
        self.weight = Parameter(empty(self.out_features, self.in_features))
        if bias:
            self.bias = Parameter(empty(self.out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: W by kaiming_uniform_(a=√5), b ~ U(±1/√fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x, activation=None):
        """y = x Wᵀ + b; with ``activation='relu'`` (``'tanh'``, ``'sigmoid'``), max(x Wᵀ + b, 0) (tanh, σ)
        as one fused op (what :class:`Sequential` asks for when that activation module follows this layer)."""
        shape = x.shape
        if not shape or shape[-1] != self.in_features:
            raise ValueError(f"{type(self).__name__}: expected input with last dimension {self.in_features}, "
                             f"got shape {tuple(shape)}")
        fn = FUSED_ACTIVATIONS.get(activation)  # None -> the plain Linear Function
        if fn is None:
            raise ValueError(f"{type(self).__name__}: cannot fuse activation {activation!r}; expected one of "
                             f"{sorted(k for k in FUSED_ACTIVATIONS if k)}")
        if not is_grad_enabled() and isinstance(x, Tensor):  # nothing to record: the kernel without a node
            return fn.infer(x, self.weight, self.bias)
        # the Function called directly, not functional.linear: one Python frame less (small layers are Python-bound)
        if self.bias is None:
            return fn.apply(x, self.weight)
        return fn.apply(x, self.weight, self.bias)

    #: Sequential may run this layer and the activation module after it as one op
    #: (``forward(x, activation=...)``); only for this exact class: a subclass may change ``forward``.
    fuses_activations = ("relu", "tanh", "sigmoid")

    def macs(self, inputs, output):
        """in_features·out_features multiply-adds per input row."""
        return inputs[0].numel() * self.out_features

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Dense(LazyLayer, Linear):
    """Keras's fully connected layer: y = activation(x Wᵀ + b), built on the first call.

    Lifecycle (Keras's): ``__init__`` stores the configuration; :meth:`build`
    creates W (units, in_features) and b once the input size is known, which
    happens on the first call (or through ``model.build(input_shape)``). The
    parameters do not exist before, so create the optimizer after the first
    call or after ``model.build``. The weights are stored as in
    :class:`Linear` (``weight`` (out, in), ``bias``), so state dicts and the
    fused ``linear`` op are shared.

    Args:
        units: output size (out_features).
        activation: None (linear), a name resolved by
            ``shendu.functional.activation.get_activation`` (``'relu'``,
            ``'sigmoid'``, ``'tanh'``, ``'softmax'``…) or a callable.
        use_bias: learn b (default True).
        kernel_initializer: name (``'glorot_uniform'`` default, ``'he_normal'``,
            ``'zeros'``… see ``shendu.nn.init.get``) or a function filling a
            Parameter in place.
        bias_initializer: the same for b (default ``'zeros'``).
        kernel_regularizer, bias_regularizer: a penalty on W / b (a callable
            weight -> scalar tensor, or a name such as ``'l2'`` that
            ``shendu.nn.regularizers`` resolves); collected by
            ``regularizers.regularization_loss(model)``.
        input_dim: build immediately for inputs of this last dimension.

    Shape: input (*, in_features) -> output (*, units).

    Example:
        >>> layer = nn.Dense(10, activation="relu")
        >>> layer.num_parameters()          # nothing yet
        0
        >>> layer(shendu.randn(4, 5)).shape
        (4, 10)
        >>> layer.num_parameters()          # 5·10 + 10
        60
    """

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, input_dim=None):
        Module.__init__(self)
        self.units = self.out_features = int_arg(type(self).__name__, "units", units)
        self.in_features = None
        self._configure(activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                        bias_regularizer)
        if input_dim is not None:
            self.build((None, input_dim))

    def build(self, input_shape, dtype=None):
        """Create W (units, input_shape[-1]) and b (units,) and initialise them; returns self.

        ``input_shape`` is the full input shape (batch axis first, may be None);
        ``dtype`` defaults to the default floating dtype.
        """
        in_features = int(input_shape[-1])
        if self.built:
            if in_features != self.in_features:
                raise ValueError(f"Dense: already built for input dimension {self.in_features}, "
                                 f"cannot build for {in_features}")
            return self
        self.in_features = in_features
        self._create_weights((self.units, in_features), dtype, input_dim=in_features)
        return self

    def reset_parameters(self):
        """Re-draw W and b with the layer's initialisers (once built)."""
        if self.built:
            init.get(self.kernel_initializer)(self.weight)
            if self.bias is not None:
                init.get(self.bias_initializer)(self.bias)

    def forward(self, x):
        self._build_for(x)
        y = super().forward(x)
        return y if self.activation is None else self.activation(y)

    def get_config(self):
        """The constructor arguments as JSON-able data (Keras's ``get_config``)."""
        def spec(value):
            if value is None or isinstance(value, (str, int, float, bool)):
                return value
            if hasattr(value, "get_config"):
                return {"class_name": type(value).__name__, "config": value.get_config()}
            return getattr(value, "__name__", type(value).__name__)

        return {"units": self.units, "activation": spec(self.activation_spec), "use_bias": self.use_bias,
                "kernel_initializer": spec(self.kernel_initializer), "bias_initializer": spec(self.bias_initializer),
                "kernel_regularizer": spec(self.kernel_regularizer), "bias_regularizer": spec(self.bias_regularizer)}

    def extra_repr(self):
        return (f"in_features={self.in_features}, units={self.units}, activation={self._activation_name()}, "
                f"use_bias={self.use_bias}")


class Identity(Module):
    """y = x: a placeholder layer (e.g. to remove a classifier head). Extra arguments are ignored.

    Shape: input (*) -> output (*), the same.
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge the axes start_dim..end_dim into one (PyTorch's ``nn.Flatten``; default: all but the batch axis).

    Args:
        start_dim: first axis to merge (default 1). end_dim: last axis (default −1).

    Shape: input (N, *dims) -> output (N, Π dims) with the defaults.

    Example:
        >>> nn.Flatten()(shendu.zeros(8, 3, 4, 4)).shape
        (8, 48)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        ndim = x.ndim
        if not (-ndim <= self.start_dim < ndim and -ndim <= self.end_dim < ndim):
            raise ValueError(f"Flatten: axes {self.start_dim}..{self.end_dim} do not exist in an input of "
                             f"shape {tuple(x.shape)}")
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into the shape ``unflattened_size`` (PyTorch's ``nn.Unflatten``; inverse of Flatten).

    Args:
        dim: the axis to split. unflattened_size: the new sizes (a tuple; one may be −1).

    Shape: input (*, n, *) -> output (*, s_1, ..., s_k, *) with Π s_i = n.

    Example:
        >>> nn.Unflatten(1, (3, 4, 4))(shendu.zeros(8, 48)).shape
        (8, 3, 4, 4)
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        shape, nd = tuple(x.shape), x.ndim
        if not -nd <= self.dim < nd:
            raise ValueError(f"Unflatten: axis {self.dim} does not exist in an input of shape {shape}")
        d = self.dim % nd
        return x.reshape(shape[:d] + self.unflattened_size + shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
