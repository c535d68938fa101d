"""``keras.Model`` (functional and subclassed), ``keras.Sequential`` and their Keras methods.

* ``keras.Sequential([...])``: layers applied in order; with ``keras.Input(shape)`` first
  (or ``input_shape=`` on the first layer) it is built at once, else on the first batch.
* ``keras.Model(inputs, outputs)``: the functional API; the graph of layer calls is
  kept as plain data (:class:`Functional`), so that a saved model is rebuilt from
  JSON without running code.
* ``class M(keras.Model)`` with ``call(self, inputs, training=None)``: subclassing.

``compile`` / ``fit`` / ``evaluate`` / ``predict`` keep Keras's arguments and return
values (:mod:`shendu.keras.training`), run by shendu's Trainer; ``summary`` prints
Keras's table; ``save("m.keras")`` writes shendu's safetensors format (no pickle).
"""
from __future__ import annotations

from ..nn.module import Module
from ..training.trainer import Trainer
from . import engine, losses, optimizers, training
from . import metrics as metrics_module
from .engine import KerasTensor, flatten
from .errors import unsupported
from .layers.base import InputLayer, Layer, jsonable_shape
from .saving import load_model  # noqa: F401  (keras.models.load_model)


class Model(Layer):
    """A Keras model: a Layer with ``compile``, ``fit``, ``evaluate``, ``predict``, ``summary``, ``save``."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            return Module.__new__(Functional)  # keras.Model(inputs, outputs) is a functional model
        return Module.__new__(cls)

    def __init__(self, *args, name=None, trainable=True, **kwargs):
        if args:
            raise TypeError(f"{type(self).__name__}: positional arguments are only for keras.Model(inputs, outputs)")
        super().__init__(name=name or engine.unique_name(engine.snake_case(type(self).__name__)),
                         trainable=trainable, **kwargs)
        object.__setattr__(self, "compile_config", None)

    # ------------------------------------------------------------ structure
    @property
    def layers(self):
        """The model's layers (direct children)."""
        return [m for m in self._modules.values() if isinstance(m, Layer)]

    def get_layer(self, name=None, index=None):
        """The layer called ``name``, or at position ``index``."""
        if index is not None:
            if not 0 <= index < len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}.")

    def is_fully_built(self):
        return all(getattr(m, "built", True) for m in self.modules() if isinstance(m, Layer) and m is not self)

    def call(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__}: define call(self, inputs, training=None)")

    def build(self, input_shape):
        """Build the weights by running the model once on zeros of ``input_shape`` (batch axis first)."""
        if getattr(self, "built", False):
            return
        from ..tensor import zeros
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        inputs = [zeros(*[1 if d is None else d for d in s]) for s in shapes]
        object.__setattr__(self, "built", True)
        training.ensure_built(self, inputs[0] if len(inputs) == 1 else inputs)

    # ------------------------------------------------------------ training
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Configure training with Keras's optimizer, loss and metrics (names or objects).

        ``run_eagerly``, ``jit_compile`` and ``steps_per_execution`` change only speed in Keras and
        are accepted and ignored; ``loss_weights`` / ``weighted_metrics`` (several outputs) are refused.
        """
        if loss_weights is not None or weighted_metrics is not None:
            raise unsupported("compile(loss_weights=/weighted_metrics=)", "train a model with one output")
        if isinstance(loss, list) or (isinstance(loss, dict) and "class_name" not in loss):
            raise unsupported("one loss per output (a list or dict of losses)", "train a model with one output")
        opt = optimizers.get(optimizer)
        loss_fn = losses.get(loss)
        metric_list = [metrics_get(m) for m in (metrics or [])]
        trainer = Trainer(self, optimizer=opt, loss=loss_fn, metrics=metric_list)
        object.__setattr__(self, "trainer", trainer)
        object.__setattr__(self, "compile_config", {
            "optimizer": optimizers.serialize(opt), "loss": losses.serialize(loss_fn) if loss_fn else None,
            "metrics": [metrics_module.serialize(m) for m in metric_list]})

    def compiled_trainer(self, what):
        trainer = self.__dict__.get("trainer")
        if trainer is None or trainer.loss_fn is None:
            raise RuntimeError(f"You must call `compile()` before using the model ({what}).")
        return trainer

    @property
    def optimizer(self):
        """The Keras optimizer given to ``compile``."""
        trainer = self.__dict__.get("trainer")
        return None if trainer is None else trainer.optimizer_specs["default"][0]

    @property
    def loss(self):
        trainer = self.__dict__.get("trainer")
        return None if trainer is None else trainer.loss_fn

    @property
    def metrics_names(self):
        trainer = self.__dict__.get("trainer")
        return ["loss"] + ([m.name for m in trainer.metric_specs] if trainer else [])

    @property
    def stop_training(self):
        trainer = self.__dict__.get("trainer")
        return bool(trainer and trainer.stop_training)

    @stop_training.setter
    def stop_training(self, value):
        trainer = self.__dict__.get("trainer")
        if trainer is not None:
            trainer.stop_training = bool(value)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """loss(y, y_pred, sample_weight) + Σ of the layers' regularization penalties."""
        loss = self.trainer.loss_fn(y, y_pred, sample_weight)
        for penalty in self.losses:
            loss = loss + penalty
        return loss

    def _unpack(self, batch):
        if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
            return batch[0], batch[1], batch[2] if len(batch) == 3 else None
        raise ValueError("fit: batches must be (x, y) or (x, y, sample_weight)")

    def train_step(self, data):
        """One step: zero the gradients, forward in training mode, the loss, backward, the
        optimizer's step, the metrics. Returns ``{"loss": value}``."""
        x, y, sw = self._unpack(data)
        trainer = self.trainer
        opt = trainer.optimizer
        opt.zero_grad()
        y_pred = self(x)
        if isinstance(y_pred, (list, tuple)):
            raise unsupported("training a model with several outputs", "train a model with one output")
        loss = self.compute_loss(x, y, y_pred, sw)
        loss.backward()
        opt.step()
        for m in trainer.metrics:
            m.update_state(y.data, y_pred.data, None if sw is None else sw.data)
        return {"loss": loss.item()}

    def test_step(self, data):
        """The loss and metrics of one batch in inference mode."""
        x, y, sw = self._unpack(data)
        y_pred = self(x)
        for m in self.trainer.metrics:
            m.update_state(y.data, y_pred.data, None if sw is None else sw.data)
        return {"loss": self.compute_loss(x, y, y_pred, sw).item()}

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train; returns a ``History`` (``history.history["loss"]`` …). See :func:`shendu.keras.training.fit`."""
        return training.fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                            shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps,
                            validation_batch_size, validation_freq)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss (and metrics: ``[loss, m1, …]``) over the data, in inference mode."""
        return training.evaluate(self, x, y, batch_size, verbose, sample_weight, steps, callbacks, return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs for ``x`` as NumPy arrays, in inference mode."""
        return training.predict(self, x, batch_size, verbose, steps, callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on one batch; the loss (and metrics) of that batch."""
        trainer = self.compiled_trainer("train_on_batch")
        x, y = training.standardize(x), training.standardize(y, "y")
        training.ensure_built(self, x)
        trainer.setup()
        sw = None if sample_weight is None else training.to_array(sample_weight, "sample_weight")
        if class_weight is not None:
            cw = training.class_weights(y, class_weight)
            sw = cw if sw is None else sw * cw
        batch = next(iter(training.Batches(x, y, sw, training.num_samples(x), False, 0)))
        from ..training.metrics import get_metric
        trainer.metrics = [get_metric(m) for m in trainer.metric_specs]
        self.train()
        try:
            logs = self.train_step(batch)
        finally:
            self.eval()
        logs.update({m.name: m.result() for m in trainer.metrics})
        return logs if return_dict else (logs["loss"] if len(logs) == 1 else list(logs.values()))

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        return self.evaluate(x, y, batch_size=training.num_samples(training.standardize(x)), verbose=0,
                             sample_weight=sample_weight, return_dict=return_dict)

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=training.num_samples(training.standardize(x)), verbose=0)

    # ------------------------------------------------------------ inspection and files
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print Keras's summary table (layers, output shapes, parameter counts, totals)."""
        from .summary import summary_text
        text = summary_text(self)
        (print_fn or print)(text)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Write the architecture, weights and compile settings to ``filepath`` (``*.keras``), in
        shendu's safetensors format; ``keras.models.load_model`` reads it back."""
        from .saving import save_model
        save_model(self, filepath, overwrite)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights to ``filepath`` (``*.weights.h5`` by Keras's rule; safetensors inside)."""
        from .saving import save_weights
        save_weights(self, filepath, overwrite)

    def load_weights(self, filepath, skip_mismatch=False):
        """Read weights written by :meth:`save_weights` (or ``save``) into this model."""
        from .saving import load_weights
        load_weights(self, filepath)


def metrics_get(m):
    """A metric object from a name, a function or a metric (``keras.metrics.get``)."""
    return metrics_module.get(m)


def _encode(value, index):
    """Node arguments as plain data: KerasTensors become ``{"__ref__": [node, output]}``."""
    if isinstance(value, KerasTensor):
        if id(value) not in index:
            raise ValueError(f"Model: the graph needs {value}, which comes from an input that is not in the "
                             f"model's inputs")
        return {"__ref__": list(index[id(value)])}
    if isinstance(value, (list, tuple)):
        return [_encode(v, index) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v, index) for k, v in value.items()}
    return value


def _decode(value, results):
    if isinstance(value, dict):
        if set(value) == {"__ref__"}:
            k, j = value["__ref__"]
            return results[k][j]
        return {k: _decode(v, results) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decode(v, results) for v in value]
    return value


def _graph(inputs, outputs):
    """The plain-data graph and the layers of ``keras.Model(inputs, outputs)``."""
    single = not isinstance(inputs, (list, tuple, dict))
    inputs = list(inputs.values()) if isinstance(inputs, dict) else ([inputs] if single else list(inputs))
    for t in inputs:
        if not isinstance(t, KerasTensor) or not isinstance(t.node.layer, InputLayer):
            raise ValueError(f"Model: inputs must be keras.Input tensors, got {t!r}")
    index = {id(t): (k, 0) for k, t in enumerate(inputs)}
    layers, nodes = [], []
    for node in engine.topological_nodes(outputs):
        if node.layer not in layers:
            layers.append(node.layer)
        if isinstance(node.layer, InputLayer):
            if id(node.outputs[0]) not in index:
                raise ValueError(f"Model: the outputs depend on the input {node.layer.name!r}, which is not in "
                                 f"the model's inputs")
            continue
        entry = {"layer": node.layer.name, "args": _encode(list(node.args), index),
                 "kwargs": _encode(dict(node.kwargs), index)}
        k = len(inputs) + len(nodes)
        for j, t in enumerate(node.outputs):
            index[id(t)] = (k, j)
        nodes.append(entry)
    spec = [{"name": t.node.layer.name, "shape": jsonable_shape(t.shape), "dtype": t.dtype} for t in inputs]
    out = _encode(outputs if isinstance(outputs, (list, tuple)) else outputs, index)
    return {"inputs": spec, "nodes": nodes, "outputs": out, "single_input": single}, layers


class Functional(Model):
    """A model given by its graph: ``keras.Model(inputs, outputs)``. Forward replays the recorded
    layer calls in order; ``layers`` lists them (InputLayers included, as in Keras)."""

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, graph=None, layers=None, **kwargs):
        super().__init__(name=name or engine.unique_name("functional"), trainable=trainable, **kwargs)
        if graph is None:
            if inputs is None or outputs is None:
                raise ValueError("Model: pass inputs and outputs (keras.Model(inputs=…, outputs=…))")
            graph, layers = _graph(inputs, outputs)
        names = [layer.name for layer in layers]
        for n in set(names):
            if names.count(n) > 1:
                raise ValueError(f'The name "{n}" is used {names.count(n)} times in the model. All operation names '
                                 f"should be unique.")
        for layer in layers:
            self.add_module(layer.name, layer)
        object.__setattr__(self, "graph", graph)
        object.__setattr__(self, "built", True)
        # what a saved model stores: plain data and the layers (shendu.nn.config)
        object.__setattr__(self, "_init_call", (Functional, (), {"graph": graph, "layers": list(layers),
                                                                 "name": self.name, "trainable": trainable}))

    @property
    def input_shape(self):
        shapes = [tuple(s["shape"]) for s in self.graph["inputs"]]
        return shapes[0] if len(shapes) == 1 else shapes

    def _inputs_list(self, inputs):
        spec = self.graph["inputs"]
        if isinstance(inputs, dict):
            missing = [s["name"] for s in spec if s["name"] not in inputs]
            if missing:
                raise ValueError(f"Model {self.name}: missing inputs {missing}; got keys {sorted(inputs)}")
            return [inputs[s["name"]] for s in spec]
        if len(spec) == 1:
            return [inputs[0] if isinstance(inputs, (list, tuple)) and len(inputs) == 1 else inputs]
        if not isinstance(inputs, (list, tuple)) or len(inputs) != len(spec):
            raise ValueError(f'Layer "{self.name}" expects {len(spec)} input(s), but it received '
                             f"{len(inputs) if isinstance(inputs, (list, tuple)) else 1} input tensors.")
        return list(inputs)

    def call(self, inputs, training=None):
        xs = self._inputs_list(inputs)
        for x, s in zip(xs, self.graph["inputs"]):
            expected = s["shape"]
            got = tuple(x.shape)
            if len(got) != len(expected) or any(e is not None and e != g for e, g in zip(expected[1:], got[1:])):
                raise ValueError(f'Input 0 of layer "{s["name"]}" is incompatible with the layer: expected '
                                 f"shape={tuple(expected)}, found shape={got}")
        results = [[x] for x in xs]
        for node in self.graph["nodes"]:
            layer = self._modules[node["layer"]]
            out = layer(*_decode(node["args"], results), **_decode(node["kwargs"], results))
            results.append(flatten(out))
        out = _decode(self.graph["outputs"], results)
        return out

    def get_config(self):
        return {"name": self.name, "graph": self.graph}


class Sequential(Model):
    """Layers applied one after another: ``keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(…), …])``."""

    def __init__(self, layers=None, name=None, trainable=True, input_spec=None, **kwargs):
        super().__init__(name=name or engine.unique_name("sequential"), trainable=trainable, **kwargs)
        object.__setattr__(self, "input_spec", input_spec)
        object.__setattr__(self, "_last", None)
        for layer in layers or []:
            self.add(layer)
        self._record()
        if self.input_spec is not None and self._last is None:
            self._start()

    def _record(self):
        object.__setattr__(self, "_init_call", (Sequential, (), {"layers": list(self.layers), "name": self.name,
                                                                 "input_spec": self.input_spec}))

    def _start(self):
        spec = self.input_spec
        object.__setattr__(self, "_last", engine.Input(batch_shape=tuple(spec["shape"]), dtype=spec["dtype"]))
        for layer in self.layers:
            object.__setattr__(self, "_last", layer(self._last))

    def add(self, layer):
        """Append a layer (or set the input with ``keras.Input``)."""
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            if self.layers:
                raise ValueError("Sequential: keras.Input must come first")
            object.__setattr__(self, "input_spec", {"shape": jsonable_shape(layer.shape), "dtype": layer.dtype})
            self._record()
            return
        if isinstance(layer, InputLayer):
            return self.add(layer.output)
        if not isinstance(layer, Layer):
            raise ValueError(f"Only instances of `keras.Layer` can be added to a Sequential model. Received: "
                             f"{layer} (of type {type(layer)})")
        if layer.name in self._modules:
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                             f"\"{layer.name}\" is already the name of a layer in this model.")
        if not self.layers and self.input_spec is None and layer.input_shape_arg is not None:
            object.__setattr__(self, "input_spec", {"shape": [None, *layer.input_shape_arg], "dtype": "float32"})
        self.add_module(layer.name, layer)
        self._record()
        if self.input_spec is not None:
            if self._last is None:
                self._start()
            else:
                object.__setattr__(self, "_last", layer(self._last))

    def pop(self):
        """Remove the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self.layers[-1]
        del self._modules[layer.name]
        self._record()
        object.__setattr__(self, "_last", None)
        if self.input_spec is not None:
            self._start()
        return layer

    @property
    def input_shape(self):
        return None if self.input_spec is None else tuple(self.input_spec["shape"])

    def call(self, inputs, training=None):
        if self.input_spec is None:
            object.__setattr__(self, "input_spec", {"shape": [None, *inputs.shape[1:]],
                                                    "dtype": "int64" if inputs.dtype.kind in "iu" else "float32"})
            self._record()
        else:
            expected = self.input_spec["shape"]
            got = tuple(inputs.shape)
            if len(got) != len(expected) or any(e is not None and e != g for e, g in zip(expected[1:], got[1:])):
                raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                                 f"shape={tuple(expected)}, found shape={got}")
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x

    def get_config(self):
        return {"name": self.name, "layers": [layer.get_config() for layer in self.layers]}


def clone_model(model):
    """A new model of the same architecture with fresh weights (built from its config)."""
    from ..nn.config import from_config, get_config
    return from_config(get_config(model), source="clone_model")


__all__ = ["Model", "Functional", "Sequential", "clone_model", "load_model"]
