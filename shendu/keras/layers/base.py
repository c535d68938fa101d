"""``keras.layers.Layer``: Keras's layer life cycle on a shendu Module.

* ``__init__`` stores the configuration (and a name: ``dense``, ``dense_1``…);
* ``build(input_shape)`` creates the weights, in Keras's layout, when the first
  input arrives (or at once, given ``input_shape=`` / a saved ``build_input_shape``);
* ``call(inputs, training=None)`` computes the output with shendu's ops.

Weights are shendu Parameters stored in **Keras's layout** (a Dense kernel is
(in, units), a Conv2D kernel (k_h, k_w, C_in, filters)), so ``get_weights`` /
``set_weights`` exchange arrays with real Keras unchanged and the initializers
draw exactly Keras's distributions. Non-trainable state (BatchNormalization's
moving statistics) are buffers. ``get_weights`` lists, module by module, the
parameters and then the buffers, in creation order — Keras's order.

A built layer records its input shape in its constructor call, so a saved model
(``shendu.nn.config``) is rebuilt already built and its weights load directly.
"""
from __future__ import annotations

import inspect

from ... import backend
from ...backend import xp
from ...nn.module import Module, Parameter
from ...nn.regularizers import get as get_regularizer
from ...tensor import Tensor
from .. import engine, initializers
from ..errors import check_unused, unsupported


def _shape_of(x):
    if isinstance(x, (Tensor, engine.KerasTensor)) or hasattr(x, "shape"):
        return tuple(x.shape)
    return None


def as_tensor(x):
    """NumPy arrays (and Python numbers' lists) → shendu Tensors (floats as the default dtype)."""
    if isinstance(x, Tensor) or x is None or isinstance(x, (bool, int, float, str)):
        return x
    if backend.is_array(x):
        arr = x if x.dtype.kind in "iub" else x.astype(backend.get_default_dtype(), copy=False)
        return Tensor(arr)
    return x


class Layer(Module):
    """Base of every Keras layer (and of ``keras.Model``).

    Subclasses implement ``build(input_shape)`` (create weights with :meth:`add_weight`)
    and ``call(inputs, training=None)``. Shapes are channels-last, batch first.
    """

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, input_dim=None,
                 build_input_shape=None, batch_input_shape=None, **kwargs):
        super().__init__()
        check_unused(type(self).__name__, kwargs, ("dynamic", "autocast", "batch_size", "input_length"))
        if dtype not in (None, "float32") and not (isinstance(dtype, dict) or dtype == getattr(xp, "float32", None)):
            raise unsupported(f"{type(self).__name__}(dtype={dtype!r})",
                              "shendu.keras layers compute in float32 (leave dtype unset)")
        object.__setattr__(self, "name", name or engine.unique_name(engine.snake_case(type(self).__name__)))
        object.__setattr__(self, "built", False)
        # Keras runs a layer called outside fit in inference mode (training=False): start in eval mode;
        # fit switches the model to training mode and back
        object.__setattr__(self, "training", False)
        object.__setattr__(self, "inbound_nodes", [])
        object.__setattr__(self, "_trainable", bool(trainable))
        object.__setattr__(self, "_built_shape", None)
        call = self.__dict__.get("_init_call")
        if call is not None and call[0] is type(self) and type(self).__module__.startswith("shendu.keras"):
            call[2]["name"] = self.name  # a saved model keeps its layer names
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        object.__setattr__(self, "input_shape_arg", None if input_shape is None else
                           ((input_shape,) if isinstance(input_shape, int) else tuple(input_shape)))
        if build_input_shape is not None:
            object.__setattr__(self, "_pending_build", build_input_shape)

    # ------------------------------------------------------------ weights
    def add_weight(self, name, shape, initializer="glorot_uniform", trainable=True, regularizer=None, dtype=None,
                   constraint=None):
        """Create a weight of ``shape`` (Keras's layout) drawn by ``initializer`` and register it
        as ``self.<name>``: a Parameter, or a buffer when not ``trainable``."""
        if constraint is not None:
            raise unsupported("weight constraints", "leave constraint=None (clip the weights in a callback)")
        shape = tuple(int(s) for s in shape)
        data = xp.asarray(initializers.get(initializer)(shape, dtype), dtype=backend.get_default_dtype())
        if trainable:
            param = Parameter(data, requires_grad=self._trainable)
            setattr(self, name, param)
            if regularizer is not None:
                self.__dict__.setdefault("_keras_regularizers", []).append((param, get_regularizer(regularizer)))
            return param
        self.register_buffer(name, Tensor(data))
        return getattr(self, name)

    @property
    def weights(self):
        """Every weight, layer by layer: its parameters, then its non-trainable state."""
        out, seen = [], set()
        for m in self.modules():
            for t in (*m._parameters.values(), *m._buffers.values()):
                if t is not None and id(t) not in seen and t.dtype.kind == "f":
                    seen.add(id(t))
                    out.append(t)
        return out

    @property
    def trainable_weights(self):
        return [w for w in self.weights if isinstance(w, Parameter) and w.requires_grad]

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights if not (isinstance(w, Parameter) and w.requires_grad)]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    def get_weights(self):
        """The weights as NumPy arrays in Keras's layout and order."""
        return [w.data.copy() for w in self.weights]

    def set_weights(self, weights):
        """Copy arrays (Keras's layout and order, e.g. another Keras model's ``get_weights()``) in."""
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"Layer {self.name} expected {len(mine)} variables, but received {len(weights)} "
                             f"variables during loading. Expected: {[tuple(w.shape) for w in mine]}")
        for w, value in zip(mine, weights):
            value = xp.asarray(value)
            if tuple(value.shape) != tuple(w.shape):
                raise ValueError(f"Layer {self.name} weight shape {tuple(w.shape)} is not compatible with provided "
                                 f"weight shape {tuple(value.shape)}.")
            w.data[...] = value.astype(w.dtype)

    def count_params(self):
        """The number of scalar weights (trainable and not), as Keras counts them."""
        return int(sum(w.data.size for w in self.weights))

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        object.__setattr__(self, "_trainable", bool(value))
        for m in self.modules():
            if isinstance(m, Layer):
                object.__setattr__(m, "_trainable", bool(value))
            for p in m._parameters.values():
                if p is not None:
                    p.requires_grad = bool(value)

    @property
    def losses(self):
        """The regularization penalties of this layer's weights (scalar tensors)."""
        out = []
        for m in self.modules():
            for param, reg in m.__dict__.get("_keras_regularizers", []):
                out.append(reg(param))
        return out

    # ------------------------------------------------------------ building and calling
    def build(self, input_shape):
        """Create the weights for inputs of ``input_shape`` (batch axis first); layers without weights keep this."""

    def _record_build(self, input_shape):
        object.__setattr__(self, "built", True)
        object.__setattr__(self, "_built_shape", input_shape)
        call = self.__dict__.get("_init_call")
        if call is not None and call[0] is type(self) and type(self).__module__.startswith("shendu.keras"):
            call[2]["build_input_shape"] = jsonable_shape(input_shape)

    def maybe_build(self, input_shape):
        if not self.built:
            self.build(input_shape)
            self._record_build(input_shape)

    def _pending(self):
        shape = self.__dict__.pop("_pending_build", None)
        if shape is not None and not self.built:
            self.maybe_build(_tuple_shape(shape))

    def call(self, inputs, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def __call__(self, *args, **kwargs):
        self._pending()
        if engine.has_keras_tensor(args, kwargs):
            return engine.symbolic_call(self, args, kwargs)
        return self.eager_call(*args, **kwargs)

    def eager_call(self, *args, **kwargs):
        """Call on real tensors (NumPy arrays are converted): build on the first call, then ``call``."""
        args = engine.map_structure(as_tensor, args)
        kwargs = engine.map_structure(as_tensor, kwargs)
        return Module.__call__(self, *args, **kwargs)

    def forward(self, *args, **kwargs):
        if not self.built:
            shape = engine.map_structure(_shape_of, args[0]) if args else None
            self.maybe_build(shape)
        if "training" in kwargs and kwargs["training"] is None:
            kwargs.pop("training")
        if "training" not in kwargs and _takes(self.call, "training"):
            kwargs["training"] = self.training
        elif "training" in kwargs and not _takes(self.call, "training"):
            kwargs.pop("training")
        return self.call(*args, **kwargs)

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (batch axis None), by running the layer on zeros."""
        kt = engine.KerasTensor(input_shape)
        out = engine.symbolic_call(self, (kt,), {})
        self.inbound_nodes.pop()
        return engine.map_structure(lambda t: t.shape, out)

    @property
    def output(self):
        """The KerasTensor of this layer's (first) functional call."""
        if not self.inbound_nodes:
            raise AttributeError(f"Layer {self.name} has never been called and thus has no defined output.")
        outs = self.inbound_nodes[0].outputs
        return outs[0] if len(outs) == 1 else outs

    @property
    def input(self):
        if not self.inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no input to return.")
        ins = self.inbound_nodes[0].inputs()
        return ins[0] if len(ins) == 1 else ins

    def get_config(self):
        """The constructor arguments (Keras's ``get_config``)."""
        call = self.__dict__.get("_init_call")
        config = dict(call[2]) if call else {}
        config.setdefault("name", self.name)
        config.pop("build_input_shape", None)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def extra_repr(self):
        return f"name={self.name!r}"


def _takes(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def jsonable_shape(shape):
    """A shape (or nested list / dict of shapes) as JSON-ready lists, None for unknown sizes."""
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [jsonable_shape(s) for s in shape]
    if isinstance(shape, dict):
        return {k: jsonable_shape(v) for k, v in shape.items()}
    return None if shape is None else [None if d is None else int(d) for d in shape]


def _tuple_shape(shape):
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)):
        return [_tuple_shape(s) for s in shape]
    return tuple(shape)


class InputLayer(Layer):
    """The layer behind ``keras.Input``: no weights; its output is the input KerasTensor."""

    def __init__(self, batch_shape=None, dtype=None, name=None, **kwargs):
        super().__init__(name=name or engine.unique_name("input_layer"), **kwargs)
        self.batch_shape = tuple(batch_shape)
        self.input_dtype = "float32" if dtype is None else str(dtype)
        node = engine.Node(self, (), {}, None)
        kt = engine.KerasTensor(self.batch_shape, self.input_dtype, node, 0, self.name)
        node.outputs = [kt]
        self.inbound_nodes.append(node)
        object.__setattr__(self, "built", True)

    def call(self, inputs):
        return inputs
