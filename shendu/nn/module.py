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
"""
from __future__ import annotations

from collections import OrderedDict

from .. import backend
from ..backend import xp
from ..tensor import Tensor


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


class Module:
    """Base class of every layer and model.

    Subclasses set sub-modules and parameters in ``__init__`` and implement
    ``forward``. Calling the module runs ``forward`` (and any forward hooks).
    ``training`` is True after construction and switched by :meth:`train` /
    :meth:`eval`.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        for d in (self._parameters, self._modules, self._buffers):
            d.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for d in (self._parameters, self._modules, self._buffers):
            d.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name, tensor, persistent=True):
        """Register non-trainable state (e.g. BatchNorm's running mean) saved in ``state_dict``."""
        if "_buffer_names" not in self.__dict__:
            object.__setattr__(self, "_buffer_names", set())
        self._buffer_names.add(name)
        if not persistent:
            self._non_persistent.add(name)
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name, param):
        """Register ``param`` (or None) under ``name``."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param if isinstance(param, Parameter) else Parameter(param))

    def add_module(self, name, module):
        setattr(self, name, module)

    # ------------------------------------------------------------ running
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks):
                res = hook(self, args, out)
                if res is not None:
                    out = res
        return out

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after every forward; returns a handle with ``remove()``."""
        self._forward_hooks.append(hook)
        hooks = self._forward_hooks

        class _Handle:
            def remove(self_inner):
                if hook in hooks:
                    hooks.remove(hook)
        return _Handle()

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
        """The trainable parameters, each once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix=""):
        for mod_prefix, mod in self.named_modules(prefix):
            for name, b in mod._buffers.items():
                if b is not None:
                    yield (mod_prefix + "." + name if mod_prefix else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix="", _seen=None):
        """(path, module) for this module and every descendant, depth first."""
        seen = set() if _seen is None else _seen
        if id(self) in seen:
            return
        seen.add(id(self))
        yield prefix, self
        for name, m in self.named_children():
            yield from m.named_modules(prefix + "." + name if prefix else name, seen)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module and then on this one (for custom init)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def num_parameters(self, trainable_only=False):
        """The number of scalar parameters."""
        return int(sum(p.data.size for p in self.parameters() if p.requires_grad or not trainable_only))

    # ------------------------------------------------------------ modes
    def train(self, mode=True):
        """Set training mode (Dropout drops, BatchNorm uses batch statistics)."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        """Set evaluation mode (the same as ``train(False)``)."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Forget the gradients of all parameters."""
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self, requires_grad=True):
        """Freeze (False) or unfreeze (True) every parameter, e.g. for transfer learning."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def to(self, device=None, dtype=None):
        """Move / cast every parameter and buffer in place."""
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
    def state_dict(self):
        """An ordered ``{name: Tensor}`` of parameters and persistent buffers (sharing memory)."""
        out = OrderedDict()
        for name, p in self.named_parameters():
            out[name] = p.detach()
        for mod_prefix, mod in self.named_modules():
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    out[mod_prefix + "." + name if mod_prefix else name] = b.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors or arrays) into the parameters and buffers.

        With ``strict=True`` a missing or unexpected key is an error that names
        it; a shape mismatch is always an error naming the key and both shapes.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        own = OrderedDict()
        for name, p in self.named_parameters():
            own[name] = p
        for mod_prefix, mod in self.named_modules():
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent:
                    own[mod_prefix + "." + name if mod_prefix else name] = b
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append("missing keys: " + ", ".join(missing))
            if unexpected:
                parts.append("unexpected keys: " + ", ".join(unexpected))
            raise KeyError(f"load_state_dict ({type(self).__name__}): " + "; ".join(parts))
        for name, t in own.items():
            if name not in state_dict:
                continue
            v = state_dict[name]
            arr = v.data if isinstance(v, Tensor) else (v.numpy() if hasattr(v, "numpy") and not backend.is_array(v) else v)
            arr = xp.asarray(arr)
            if tuple(arr.shape) != tuple(t.data.shape):
                raise ValueError(f"load_state_dict ({type(self).__name__}): key {name!r} has shape "
                                 f"{tuple(arr.shape)} in the state dict but {tuple(t.data.shape)} in the model")
            t.data = arr.astype(t.data.dtype, copy=True)
        return missing, unexpected

    # ------------------------------------------------------------ printing
    def extra_repr(self):
        """The one-line configuration shown in ``repr`` (override in layers)."""
        return ""

    def __repr__(self):
        lines = []
        for name, m in self.named_children():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"  ({name}): {sub}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(2, 8), Tanh(), Linear(8, 1))``.

    Accepts modules as arguments, a list of modules, or an ordered dict of named modules.
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (list, tuple)):
            modules = modules[0]
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                setattr(self, name, m)
        else:
            for i, m in enumerate(modules):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: item {i} is a {type(m).__name__}, not a Module")
                setattr(self, str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def append(self, module):
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(mods[i])
        return mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleList(Module):
    """A list of modules whose parameters are registered (indexable, iterable)."""

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module):
        setattr(self, str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i):
        mods = list(self._modules.values())
        return ModuleList(mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class ModuleDict(Module):
    """A dict of modules whose parameters are registered."""

    def __init__(self, modules=None):
        super().__init__()
        for k, m in (modules or {}).items():
            setattr(self, k, m)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        setattr(self, key, module)

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()
