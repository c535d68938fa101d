"""``Module`` and ``Parameter``: the containers that layers and models are made of.

As in PyTorch, a module registers its parameters, buffers and sub-modules by
attribute assignment::

    class TwoLayer(Module):
        def __init__(self):
            super().__init__()
            self.hidden = Linear(2, 8)      # a sub-module
            self.scale = Parameter(ones(1))  # a trainable tensor

        def forward(self, x):
            return self.hidden(x).tanh() * self.scale

so ``parameters()`` can never forget one. Non-trainable state (running means)
is a buffer: ``self.register_buffer("running_mean", zeros(n))``; it is saved
in ``state_dict()`` but not trained.

Shape errors name the layer by its path. A layer checks its input cheaply and
raises a plain ``ValueError`` (``"Linear: expected input with last dimension
16, got shape (8, 3)"``); the outermost module catches it and, on that error
path only, replays the forward with hooks to report where it happened and
the shapes that led there::

    features.3 (Linear): expected input with last dimension 16, got shape (8, 3);
    shapes so far: input (8, 5) → features.0 (8, 3) → features.1 (8, 3) → features.2 (8, 3)
"""
from __future__ import annotations

import functools
import sys
from collections import OrderedDict, namedtuple

from .. import autograd, backend
from ..backend import xp
from ..tensor import Tensor, zeros


class Parameter(Tensor):
    """A tensor that a :class:`Module` trains (``requires_grad=True`` by default)."""

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.data
        arr = data if backend.is_array(data) else xp.asarray(data, dtype=backend.get_default_dtype())
        super().__init__(arr, dtype=arr.dtype, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, proto):  # no pickling: saving goes through safetensors
        raise TypeError("Parameter: pickling is not supported; use shendu.save / state_dict")

    def __deepcopy__(self, memo):
        """``copy.deepcopy`` (of a whole module, say): a new Parameter holding a copy of the data, no gradient
        (PyTorch's meaning)."""
        if id(self) not in memo:
            memo[id(self)] = Parameter(self.data.copy(), requires_grad=self.requires_grad)
        return memo[id(self)]


class StateDictKeyError(KeyError):
    """A missing or unexpected key in :meth:`Module.load_state_dict` (printed without KeyError's quotes)."""

    __str__ = Exception.__str__


class StateDictError(StateDictKeyError, ValueError):
    """Everything wrong with a state dict, in one error: missing and unexpected keys (a KeyError)
    and mis-shaped values (a ValueError); either ``except`` catches it."""


#: What :meth:`Module.load_state_dict` returns (PyTorch's field names).
IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])

# The errors a wrong input shape produces; the outermost module annotates them with the layer's path.
_SHAPE_ERRORS = (ValueError, TypeError, IndexError)


class Module:
    """Base class of every layer and model.

    Lifecycle: ``__init__`` stores the configuration and creates parameters
    (or, for lazy layers such as ``Dense``, :meth:`build` creates them from the
    first input's shape); calling the module runs :meth:`forward` and then any
    forward hooks. ``training`` is True after construction and switched by
    :meth:`train` / :meth:`eval`.
    """

    def __init_subclass__(cls, **kwargs):
        """Wrap each subclass's ``__init__`` so that a module remembers its constructor call.

        ``_init_call = (type(self), args, kwargs)`` of the outermost ``__init__``
        (a subclass's, not the ones it delegates to) is what
        :func:`shendu.nn.config.get_config` saves to rebuild the module.
        """
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def __init__(self, *args, **kw):
            if "_init_call" not in self.__dict__:
                object.__setattr__(self, "_init_call", (type(self), args, kw))
            init(self, *args, **kw)

        cls.__init__ = __init__

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            modules.pop(name, None)
            buffers.pop(name, None)
            params[name] = value
        elif name in params:
            # Rebinding a parameter to a computed tensor would silently stop training it.
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to parameter "
                                f"{name!r} (a Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in modules:
            if value is not None:
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to sub-module "
                                f"{name!r} (a Module or None expected)")
            modules[name] = None
        elif name in d.get("_buffer_names", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: cannot assign a {type(value).__name__} to buffer "
                                f"{name!r} (a Tensor or None expected)")
            buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for d in (self._parameters, self._modules, self._buffers):
            d.pop(name, None)
        object.__delattr__(self, name)

    def _check_name(self, name, what):
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{type(self).__name__}: {what} name must be a non-empty string without '.', got {name!r}")
        registered = name in self._parameters or name in self._modules or name in self._buffers
        if hasattr(type(self), name) or (name in self.__dict__ and not registered):
            raise KeyError(f"{type(self).__name__}: cannot register {what} {name!r}: the attribute already exists")

    def register_buffer(self, name, tensor, persistent=True):
        """Register non-trainable state (e.g. BatchNorm's running mean) saved in ``state_dict``.

        Args:
            name: attribute name. tensor: a Tensor (or array), or None.
            persistent: False keeps it out of ``state_dict`` (derived, cheap to recompute).
        """
        if name not in self._buffers:
            self._check_name(name, "buffer")
        if "_buffer_names" not in self.__dict__:
            object.__setattr__(self, "_buffer_names", set())
        self._buffer_names.add(name)
        (self._non_persistent.discard if persistent else self._non_persistent.add)(name)
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, Tensor or array; or None for "no such parameter") under ``name``."""
        if name not in self._parameters:
            self._check_name(name, "parameter")
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param if isinstance(param, Parameter) else Parameter(param))

    def add_module(self, name, module):
        """Register ``module`` (or None) as the sub-module ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} is a {type(module).__name__}, not a Module")
        if name not in self._modules:
            self._check_name(name, "module")
        if module is None:
            self._modules[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    register_module = add_module

    def get_submodule(self, target):
        """The sub-module at the dotted path ``target`` (``""`` is this module)."""
        mod = self
        for part in target.split(".") if target else ():
            if part not in mod._modules:
                raise AttributeError(f"{type(self).__name__}: no sub-module {target!r} ({type(mod).__name__} "
                                     f"has no child {part!r})")
            mod = mod._modules[part]
        return mod

    # ------------------------------------------------------------ running
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        hooked = self.__dict__.get("_torch_hooks")  # torch-idioms: pre-hooks and backward hooks
        if hooked:
            args = _run_pre_hooks(self, args)
            if hooked.backward:
                args = hooked.watch_inputs(self, args)
        try:  # free until something raises (Python >= 3.11)
            out = self.forward(*args, **kwargs)
        except Exception as exc:
            error = _layer_error(self, exc, args, kwargs)
            if error is None:
                raise
            raise error from exc
        if self._forward_hooks:
            for hook in list(self._forward_hooks):
                res = hook(self, args, out)
                if res is not None:
                    out = res
        if hooked and hooked.backward:
            out = hooked.watch_outputs(out)
        return out

    # --- torch-idioms: forward pre-hooks and full backward hooks
    def _hooks(self):
        if "_torch_hooks" not in self.__dict__:
            object.__setattr__(self, "_torch_hooks", _Hooks())
        return self._torch_hooks

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before every forward; returns a handle with ``remove()``.

        A hook that returns something other than None replaces the positional
        arguments (a tuple, or a single value that becomes a 1-tuple).
        """
        hooks = self._hooks()
        hooks.pre.append(hook)
        return _HookHandle(hooks.pre, hook)

    def register_full_backward_hook(self, hook):
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the module's inputs are computed.

        ``grad_input`` and ``grad_output`` are tuples of Tensors (None where an
        input requires no gradient). A hook returning a tuple replaces
        ``grad_input`` (for single-input modules). Returns a handle with ``remove()``.
        """
        hooks = self._hooks()
        hooks.backward.append(hook)
        return _HookHandle(hooks.backward, hook)

    def register_backward_hook(self, hook):
        """PyTorch's deprecated name of :meth:`register_full_backward_hook` (same behaviour)."""
        return self.register_full_backward_hook(hook)

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward; returns a handle with ``remove()``.

        A hook that returns something other than None replaces the output.
        """
        self._forward_hooks.append(hook)
        return _HookHandle(self._forward_hooks, hook)

    def build(self, input_shape):
        """Create the parameters of lazy layers by running one forward pass on zeros.

        Keras's ``model.build(input_shape)``: ``input_shape`` is the full shape of
        one input, batch axis first; the batch size may be None (it becomes 1),
        e.g. ``model.build((None, 784))``. A list of shapes builds a model that
        takes several inputs. The pass runs under ``no_grad`` in eval mode (no
        running statistic changes, no dropout) and each module's mode is restored.
        Create the optimizer after this (or after the first call): the
        parameters of ``Dense`` and other lazy layers do not exist before.

        Returns:
            self.
        """
        shapes = input_shape if input_shape and isinstance(input_shape[0], (tuple, list)) else [input_shape]
        dtype = next((p.dtype for p in self.parameters() if p.dtype.kind == "f"), None)
        inputs = [zeros(tuple(1 if n is None else n for n in shape), dtype=dtype) for shape in shapes]
        modes = [(m, m.training) for m in self.modules()]
        self.eval()
        try:
            with autograd.no_grad():
                self(*inputs)
        finally:
            for m, mode in modes:
                object.__setattr__(m, "training", mode)
        return self

    # ------------------------------------------------------------ traversal
    def named_parameters(self, prefix="", recurse=True):
        """(name, Parameter) pairs, each parameter once, names like ``features.0.weight``."""
        seen = set()
        for mod_prefix, mod in (self.named_modules(prefix) if recurse else [(prefix, self)]):
            for name, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (mod_prefix + "." + name if mod_prefix else name), p

    def parameters(self, recurse=True):
        """The trainable parameters, each once (shared ones too)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        """(name, Tensor) pairs of the buffers (non-persistent ones included)."""
        for mod_prefix, mod in (self.named_modules(prefix) if recurse else [(prefix, self)]):
            for name, b in mod._buffers.items():
                if b is not None:
                    yield (mod_prefix + "." + name if mod_prefix else name), b

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self):
        """(name, module) of the direct sub-modules."""
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        """The direct sub-modules."""
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix="", _seen=None):
        """(path, module) for this module and every descendant, depth first, each module once."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, m in self.named_children():
            yield from m.named_modules(prefix + "." + name if prefix else name, seen)

    def modules(self):
        """This module and every descendant."""
        for _, m in self.named_modules():
            yield m

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module and then on this one (for custom init)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def num_parameters(self, trainable_only=False):
        """The number of scalar parameters (e.g. Dense 5→10: 5·10 + 10 = 60)."""
        return int(sum(p.data.size for p in self.parameters() if p.requires_grad or not trainable_only))

    def summary(self, input_shape, **kwargs):
        """Print and return the layer-by-layer table: see :func:`shendu.summary`."""
        from ..summary import summary  # a higher layer: imported on use
        return summary(self, input_shape, **kwargs)

    def gradcheck(self, *sample, training=False, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
        """Check this model's backward against finite differences for the input ``sample``.

        On a float64 copy of the model (this one is left untouched), :func:`shendu.gradcheck`
        compares ∂(Σ v·f(x; θ))/∂θ for every parameter θ and ∂(…)/∂x for every floating input x
        with central differences (f(·+ε) − f(·−ε)) / 2ε, v a fixed random projection of the output.

        Args:
            *sample: the input tensors (e.g. a small batch (2, C, H, W)); each element of each
                parameter and floating input costs two forward passes, so keep both small.
            training: check the training-mode forward (default: eval mode, where dropout is off
                and batch normalisation uses its running statistics, so the forward is deterministic).
            eps, atol, rtol, seed: as in :func:`shendu.gradcheck`.

        Returns:
            True. Raises :class:`shendu.GradcheckError` naming the worst element (the parameter's
            name or the input, its index, analytic and numeric values) when a gradient is wrong.

        Example:
            >>> shendu.models.get_model("xo_cnn", image_size=8, channels=2, kernel_size=3).gradcheck(
            ...     shendu.randn(2, 1, 8, 8))
            True
        """
        import copy

        from ..gradcheck import gradcheck  # the Tensor layer's checker (nn may import it)
        model = copy.deepcopy(self).train(training)
        with autograd.no_grad():  # builds lazy layers (Dense) so that their parameters are checked too
            model(*sample)
        model.double()
        options = {"eps": eps, "atol": atol, "rtol": rtol, "seed": seed}
        gradcheck(model, *sample, **options)  # every parameter
        if any(isinstance(x, Tensor) and x.dtype.kind == "f" for x in sample):
            gradcheck(lambda *xs: model(*xs), *sample, **options)  # every floating input
        return True

    def regularization_loss(self):
        """Σ of the kernel/bias regularizer penalties: see :func:`shendu.nn.regularizers.regularization_loss`."""
        from .regularizers import regularization_loss
        return regularization_loss(self)

    # --- training: Keras-style methods; the work is done by shendu.training.Trainer (a higher
    # layer, imported on use: nn never imports training at module level). docs/training.md.
    def compile(self, optimizer="adam", loss="cross_entropy", metrics=(), **options):
        """Configure training: a :class:`shendu.training.Trainer` for this model, kept as ``self.trainer``.

        ``optimizer``: a name, an Optimizer, or a dict of named ones for a custom ``train_step``;
        ``loss``: a name or callable; ``metrics``: names or Metric objects; ``options``: ``lr``,
        ``schedule``, ``scheduler``, ``optimizer_options`` (see ``Trainer``). Returns self.
        """
        from ..training.trainer import Trainer
        object.__setattr__(self, "trainer", Trainer(self, optimizer, loss, metrics, **options))
        return self

    def _compiled(self, what):
        trainer = self.__dict__.get("trainer")
        if trainer is None:
            raise RuntimeError(f"{type(self).__name__}.{what}: call model.compile(optimizer, loss, metrics) first")
        return trainer

    def fit(self, x=None, y=None, epochs=1, batch_size=32, **kwargs):
        """Train the compiled model: :meth:`shendu.training.Trainer.fit`; returns a ``History``."""
        return self._compiled("fit").fit(x, y, epochs=epochs, batch_size=batch_size, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=256):
        """Loss and metrics of the compiled model: :meth:`shendu.training.Trainer.evaluate` (a dict)."""
        return self._compiled("evaluate").evaluate(x, y, batch_size)

    def predict(self, x, batch_size=256):
        """The outputs for ``x`` in eval mode, as an array: :meth:`shendu.training.Trainer.predict`
        (works without compile)."""
        from ..training.trainer import Trainer
        trainer = self.__dict__.get("trainer") or Trainer(self, optimizer=None, loss=None)
        return trainer.predict(x, batch_size)

    @property
    def optimizers(self):
        """The compiled model's optimizers by name (``{"default": …}`` for one), for a custom ``train_step``."""
        trainer = self.__dict__.get("trainer")
        if trainer is None:  # an AttributeError, so that hasattr() and introspection see no attribute
            raise AttributeError(f"{type(self).__name__}.optimizers: call model.compile(optimizer, …) first")
        return trainer.optimizers

    def save(self, path):
        """Write the weights and the architecture to ``path``: :func:`shendu.nn.saving.save`."""
        from .saving import save
        save(self, path)

    # ------------------------------------------------------------ modes
    def train(self, mode=True):
        """Set training mode on this module and every descendant (Dropout drops, BatchNorm uses batch statistics)."""
        if not isinstance(mode, bool):
            raise TypeError(f"{type(self).__name__}.train: mode must be True or False, got {mode!r}")
        for m in self.modules():
            # a frozen batch norm (shendu.nn.freeze) stays in inference mode: its statistics are kept
            object.__setattr__(m, "training", mode and not m.__dict__.get("frozen_statistics", False))
        return self

    def eval(self):
        """Set evaluation mode (the same as ``train(False)``)."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of all parameters (``set_to_none=False`` fills them with zeros instead)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data.fill(0)

    def freeze(self, *names):
        """Freeze this module (or its sub-modules ``names``) for fine-tuning: no gradients, and batch norms
        kept in inference mode: :func:`shendu.nn.freeze.freeze`. Returns self."""
        from .freeze import freeze
        freeze(self, *names)
        return self

    def unfreeze(self, *names):
        """Undo :meth:`freeze`: :func:`shendu.nn.freeze.unfreeze`. Returns self."""
        from .freeze import unfreeze
        unfreeze(self, *names)
        return self

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` of every parameter (as PyTorch: the parameters only; batch norms keep
        updating their running statistics in training mode; :meth:`freeze` also stops that)."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def to(self, device=None, dtype=None, non_blocking=False):
        """Move / cast every parameter and buffer in place (only floating ones change dtype).

        As ``torch.nn.Module.to``: ``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``.
        """
        if isinstance(device, Tensor):
            device, dtype = device.device, device.dtype
        elif device is not None and not isinstance(device, (str, int, backend.Device)):
            device, dtype = None, device  # a dtype in the device's place
        dev = backend.Device(device) if device is not None else None
        dt = backend.as_dtype(dtype)
        for t in list(self.parameters()) + list(self.buffers()):
            data = t.data
            if dev is not None:
                data = backend.to_device(data, dev)
            if dt is not None and data.dtype.kind == "f":
                data = data.astype(dt)
            t.data = data
            if t.grad is not None:
                t.grad = None
        return self

    def double(self):
        return self.to(dtype=backend.float64)

    def float(self):
        return self.to(dtype=backend.float32)

    # ------------------------------------------------------------ state
    def _state_tensors(self, prefix=""):
        """``{name: Tensor}`` of parameters and persistent buffers in PyTorch's order: each
        module's parameters, then its buffers, then its children (a shared tensor under every name)."""
        out = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b
        for name, m in self.named_children():
            out.update(m._state_tensors(prefix + name + "."))
        return out

    def state_dict(self):
        """An ordered ``{name: Tensor}`` of parameters and persistent buffers (sharing memory)."""
        return OrderedDict((k, t.detach()) for k, t in self._state_tensors().items())

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (shendu or torch tensors, or arrays) into the parameters and buffers.

        Every key and shape is checked before anything is copied, so a failed
        load leaves the model unchanged. One :class:`StateDictError` lists every
        problem at once, as PyTorch does: with ``strict=True`` the missing and the
        unexpected keys; always (``strict=False`` too) each mis-shaped key with both shapes.

        Returns:
            ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        own = self._state_tensors()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        arrays = {}
        for name, t in own.items():
            if name not in state_dict:
                continue
            arr = _as_array(state_dict[name])
            if tuple(arr.shape) != tuple(t.data.shape):  # an error even when strict=False, as in PyTorch
                problems.append(f"key {name!r} has shape {tuple(arr.shape)} in the state dict but "
                                f"{tuple(t.data.shape)} in the model")
            arrays[name] = arr
        if problems:
            raise StateDictError(f"load_state_dict ({type(self).__name__}): {len(problems)} problem(s), nothing "
                                 f"loaded:\n  " + "\n  ".join(problems))
        for name, arr in arrays.items():
            t = own[name]
            t.data = backend.to_device(arr, backend.device_of(t.data)).astype(t.data.dtype, copy=True)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ printing
    def extra_repr(self):
        """The one-line configuration shown in ``repr`` (override in layers)."""
        return ""

    def __repr__(self):
        """The module tree, as PyTorch prints it."""
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self.named_children()]
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        lines += children
        if not lines:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class _HookHandle:
    """Returned by ``register_forward_hook``: ``remove()`` unregisters the hook."""

    __slots__ = ("hooks", "hook")

    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


# --- torch-idioms: the machinery of pre-hooks and full backward hooks
class _Hooks:
    """A module's forward pre-hooks and full backward hooks (created on first registration)."""

    __slots__ = ("pre", "backward", "call")

    def __init__(self):
        self.pre, self.backward, self.call = [], [], None

    def __bool__(self):
        return bool(self.pre or self.backward)

    def watch_inputs(self, module, args):
        """Route each input that requires grad through an identity node that reports its gradient."""
        call = self.call = _BackwardCall(module, self.backward)
        out = []
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad and autograd.is_grad_enabled():
                call.pending += 1
                a = _GradInput.apply(a, call=call, index=len(call.grad_input))
                call.grad_input.append(None)
            elif isinstance(a, Tensor):
                call.grad_input.append(None)
            out.append(a)
        return tuple(out)

    def watch_outputs(self, out):
        """Route the tensor output(s) through identity nodes that record ``grad_output``."""
        call = self.call
        if not autograd.is_grad_enabled():
            return out
        outs = out if isinstance(out, tuple) else (out,)
        call.grad_output = [None] * len(outs)
        wrapped = tuple(_GradOutput.apply(o, call=call, index=i) if isinstance(o, Tensor) and o.requires_grad
                        else o for i, o in enumerate(outs))
        call.outputs = sum(isinstance(o, Tensor) and o.requires_grad for o in outs)
        return wrapped if isinstance(out, tuple) else wrapped[0]


class _BackwardCall:
    """One forward call's backward-hook state: the gradients seen so far."""

    __slots__ = ("module", "hooks", "grad_input", "grad_output", "pending", "outputs")

    def __init__(self, module, hooks):
        self.module, self.hooks, self.grad_input, self.grad_output = module, hooks, [], []
        self.pending = self.outputs = 0

    def fire(self):
        wrap = lambda g: None if g is None else Tensor._wrap(g, False, None)  # noqa: E731
        grad_input = tuple(wrap(g) for g in self.grad_input)
        grad_output = tuple(wrap(g) for g in self.grad_output)
        for hook in list(self.hooks):
            res = hook(self.module, grad_input, grad_output)
            if res is not None:
                grad_input = tuple(res)
        return grad_input


class _GradProbe(autograd.Function):
    """Identity whose backward reports the gradient to a backward-hook call (subclasses say how)."""

    __slots__ = ("call", "index")

    def forward(self, x, call, index):
        self.call, self.index = call, index
        return x


class _GradOutput(_GradProbe):
    """Records the gradient of a module output."""

    __slots__ = ()

    def backward(self, g):
        call = self.call
        call.grad_output[self.index] = g
        call.outputs -= 1
        if call.outputs == 0 and call.pending == 0:  # no input needs a gradient: fire now, as torch does
            call.fire()
        return g


class _GradInput(_GradProbe):
    """Records the gradient of a module input and, once all are in, calls the hooks."""

    __slots__ = ()

    def backward(self, g):
        call = self.call
        call.grad_input[self.index] = g
        call.pending -= 1
        if call.pending:
            return g
        new = call.fire()
        replaced = new[self.index]
        if replaced is not None and replaced.data is not g:
            if sum(x is not None for x in call.grad_input) > 1:
                raise NotImplementedError(
                    f"{type(call.module).__name__}: a full backward hook may replace grad_input only for a "
                    f"module with one input that requires grad; modify the gradient with a hook on that input")
            return replaced.data
        return g


def _run_pre_hooks(module, args):
    for hook in list(module._torch_hooks.pre):
        res = hook(module, args)
        if res is not None:
            args = res if isinstance(res, tuple) else (res,)
    return args


def _as_array(value):
    """A state-dict value (shendu Tensor, torch tensor, NumPy array, list) as a backend array."""
    if isinstance(value, Tensor):
        return value.data
    if backend.is_array(value):
        return value
    if hasattr(value, "detach"):  # a torch tensor
        return xp.asarray(value.detach().cpu().numpy())
    return xp.asarray(value)


# ---------------------------------------------------------------- shape errors with paths
_CALL_CODE = Module.__call__.__code__


def _inside_module_call():
    """True when the caller of the current ``Module.__call__`` (or of Sequential's ``_call_plain``) is itself
    inside one."""
    f = sys._getframe(4)  # _inside_module_call <- _locate_error <- _layer_error <- Module.__call__ <- its caller
    while f is not None:
        if f.f_code is _CALL_CODE:
            return True
        f = f.f_back
    return False


def _shape_text(obj):
    if isinstance(obj, Tensor):
        return str(tuple(obj.shape))
    if isinstance(obj, (tuple, list)):
        return "(" + ", ".join(_shape_text(o) for o in obj) + ")"
    return type(obj).__name__


def _locate_error(module, exc, args, kwargs):
    """The error ``exc`` re-worded with the failing layer's path and the shapes so far, or None.

    Every module that sees ``exc`` pass adds itself to ``exc._shendu_modules``
    (innermost first); only the outermost one (no ``Module.__call__`` above
    it) replays the forward with hooks on the leaf modules to collect their
    output shapes, then restores the buffers and the random generator so that
    the replay leaves no trace.
    """
    trail = exc.__dict__.setdefault("_shendu_modules", [])
    trail.append(module)
    if _inside_module_call() or exc.__dict__.get("_shendu_located") or not module._modules:
        return None
    paths = {id(m): p for p, m in module.named_modules()}
    failed = next((m for m in trail if id(m) in paths), module)
    path = paths[id(failed)]
    kind = type(failed).__name__
    label = f"{path} ({kind})" if path else kind
    message = str(exc)
    if message.startswith(kind + ": "):
        message = message[len(kind) + 2:]

    shapes = []
    leaves = [(p, m) for p, m in module.named_modules() if m is not module and not m._modules]
    hooks = [(m, lambda _m, _a, out, p=p: shapes.append((p, _shape_text(out)))) for p, m in leaves]
    saved_buffers = [(b, b.data.copy()) for b in module.buffers()]
    saved_rng = backend.get_rng_state()
    for m, hook in hooks:
        m._forward_hooks.append(hook)
    try:
        with autograd.no_grad():
            module.forward(*args, **kwargs)
    except Exception:  # the replay is expected to fail again at the same layer
        pass
    finally:
        for m, hook in hooks:
            m._forward_hooks.remove(hook)
        for b, data in saved_buffers:
            b.data = data
        backend.set_rng_state(saved_rng)

    inputs = ", ".join(_shape_text(a) for a in list(args) + list(kwargs.values()))
    so_far = "".join(f" → {p} {s}" for p, s in shapes)
    try:
        located = type(exc)(f"{label}: {message}; shapes so far: input {inputs}{so_far}")
    except Exception:  # an exception type that does not take one message
        return None
    located._shendu_located = True
    return located


# ---------------------------------------------------------------- containers
class _ModuleSequence(Module):
    """What Sequential and ModuleList share: sub-modules named by their positions ("0", "1", …)."""

    def append(self, module):
        """Add ``module`` at the end (named by its position)."""
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        """Add each of ``modules`` at the end."""
        for m in modules:
            self.append(m)
        return self

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(_ModuleSequence):
    """Modules applied one after another.

    ``Sequential(Linear(2, 8), Tanh(), Linear(8, 1))``, ``Sequential([m1, m2])``
    or ``Sequential(OrderedDict(hidden=Linear(2, 8), out=Linear(8, 1)))``
    (then the state-dict keys are ``hidden.weight``…).

    Each ``Linear`` directly followed by a ``ReLU``, ``Tanh`` or ``Sigmoid``,
    and each ``Conv2d`` followed by a ``ReLU``, runs as one fused op
    (``linear(x, W, b, activation='relu')``, one node of the graph): the same
    result and gradients, one pass, one node and one module call less
    (:class:`no_fusion` turns it off, e.g. to record one node per layer).
    Never around hooks, subclasses or an instance's own ``forward``.

    Shape: the first module's input -> the last module's output.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = modules[0]
        if len(modules) == 1 and isinstance(modules[0], dict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: item {i} is a {type(m).__name__}, not a Module")
                self.add_module(str(i), m)

    def forward(self, x):
        if _fusion["off"]:
            for m in self._modules.values():
                x = m(x)
            return x
        return _forward_fused(self._modules.values(), x)

    def __getitem__(self, i):
        items = list(self._modules.items())
        if isinstance(i, slice):
            return Sequential(OrderedDict(items[i]))
        return items[i][1]


def _own_behaviour(m):
    """True when ``m`` has hooks (which must see its own input and output) or a ``forward`` of its own."""
    d = m.__dict__
    return bool(m._forward_hooks or d.get("_torch_hooks") or "forward" in d)


def _layer_error(module, exc, args, kwargs):
    """The error to raise instead of ``exc``, which ``module.forward(*args, **kwargs)`` raised, naming the
    layer (an array where a Tensor belongs; a shape that does not fit), or None to let ``exc`` through."""
    if isinstance(exc, (autograd.NotATensorError, AttributeError)):
        if getattr(exc, "layer", False):
            return None
        return autograd.NotATensorError.among(type(module).__name__, (*args, *kwargs.values()), layer=True)
    if isinstance(exc, _SHAPE_ERRORS):
        return _locate_error(module, exc, args, kwargs)
    return None


_fusion = {"off": 0}  # how many no_fusion contexts are open


class no_fusion:
    """Context manager: inside it, :class:`Sequential` calls every module on its own, so a recorded graph
    has each layer's op as its own node (``Linear``, then ``Tanh``) instead of the fused one
    (``LinearTanh``). The numbers are the same either way; :func:`shendu.viz.computation_graph` draws
    the graph this way, layer by layer. ::

        with shendu.nn.no_fusion():
            loss = loss_fn(model(x), y)
    """

    def __enter__(self):
        _fusion["off"] += 1
        return self

    def __exit__(self, *exc):
        _fusion["off"] -= 1
        return False


def _forward_fused(modules, x):
    """Sequential's forward: a layer that fuses activations (``fuses_activations``, e.g. nn.Linear:
    ``'relu'``) followed by an activation module it fuses (``fusable_as``, nn.ReLU) run as one op,
    ``layer(x, activation=name)`` (:class:`shendu.ops.linalg.LinearReLU`: the ReLU in place on the product,
    one node of the graph); everything else is called as usual. The pair's fused node gives the
    same numbers and gradients (the same float32 sums) and hides nothing anyone could hook: the pair's
    intermediate tensor is never seen outside the Sequential.

    Only a class that declares the attribute itself counts (a subclass may have changed ``forward``), and
    only modules without hooks or a ``forward`` set on the instance (:func:`_own_behaviour`, asked only of
    the candidates: batch-1 inference is Python-bound, bench/NOTES.md §11)."""
    held = fuses = None  # a layer waiting to see whether an activation it fuses comes next
    for m in modules:
        own = type(m).__dict__
        if held is not None:
            name = own.get("fusable_as")
            if name is not None and name in fuses and not _own_behaviour(m):
                x, held = _call_plain(held, x, name), None
                continue
            x, held = _call_plain(held, x, None), None
        fuses = own.get("fuses_activations")
        if fuses and not _own_behaviour(m):
            held = m
            continue
        x = m(x)
    return x if held is None else _call_plain(held, x, None)


def _call_plain(layer, x, activation):
    """``layer(x, activation=activation)`` for a layer without hooks or a ``forward`` of its own: its
    ``forward`` directly, one frame less than ``Module.__call__`` (small steps are Python-bound), with
    ``__call__``'s errors, which name the layer."""
    try:
        return layer.forward(x, activation=activation)
    except Exception as exc:
        error = _layer_error(layer, exc, (x,), {"activation": activation})
        if error is None:
            raise
        raise error from exc


class ModuleList(_ModuleSequence):
    """A list of modules whose parameters are registered (indexable, iterable).

    It has no ``forward``: the owner decides how to call its items.
    """

    def __init__(self, modules=()):
        super().__init__()
        self.extend(modules)

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __setitem__(self, i, module):
        n = len(self._modules)
        if not -n <= i < n:
            raise IndexError(f"ModuleList: index {i} out of range for {n} modules")
        self.add_module(str(i % n), module)


class ModuleDict(Module):
    """A dict of modules whose parameters are registered (keys are the state-dict prefixes).

    It has no ``forward``: the owner decides how to call its items.
    """

    def __init__(self, modules=None):
        super().__init__()
        self.update(modules or {})

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        delattr(self, key)

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def update(self, modules):
        for k, m in (modules.items() if hasattr(modules, "items") else modules):
            self.add_module(k, m)

    def pop(self, key):
        m = self._modules[key]
        delattr(self, key)
        return m

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()
