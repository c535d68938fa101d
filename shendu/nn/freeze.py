"""Transfer learning's machinery: freezing parts of a model, re-heading it, learning rates by part.

    >>> net = shendu.models.lenet5()
    >>> freeze(net, "c1", "c3")                        # by name prefix (or net.c1.freeze())
    ['c1', 'c3']
    >>> net.num_parameters(trainable_only=True)        # 61,706 − 156 − 2,416
    59134
    >>> replace_head(net, 5).output                    # a fresh Linear with 5 outputs
    Linear(in_features=84, out_features=5, bias=True)
    >>> [round(g["lr"], 4) for g in param_groups(net, {"c5": 1e-4, "output": 1e-3}, lr=3e-4)]
    [0.0001, 0.0003, 0.001]

Freezing a module (:func:`freeze`) does two things:

1. every parameter in it gets ``requires_grad = False``, so backward computes no gradient for
   it, the optimizer leaves it alone and, having no gradient, it gets no weight decay
   (a compiled model's optimizer is created over the trainable parameters only);
2. every batch-norm layer in it is put in inference mode and **stays** there when
   ``model.train()`` is called: it normalises with its running statistics and no longer
   updates them.

Point 2 is the classic pitfall of fine-tuning. ``requires_grad_(False)`` alone (PyTorch's,
with PyTorch's meaning: only the parameters change) leaves batch norm in training mode, so
the first epoch on the new data overwrites the running mean and variance the pretrained
weights were tuned to, and the frozen features drift even though no weight moved.
"""
from __future__ import annotations

from .linear import Linear


def _named(model, names, what):
    """[(path, module)] for the prefixes ``names`` (module paths); an error naming the unmatched ones."""
    if not names:
        return [("", model)]
    modules = dict(model.named_modules())
    found, missing = [], []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{what}: module names must be strings, got {type(name).__name__} {name!r}")
        name = name.strip(".")
        hits = [(path, m) for path, m in modules.items() if path == name or path.startswith(name + ".")]
        if not hits:
            missing.append(name)
        elif name in modules:
            found.append((name, modules[name]))
        else:  # a prefix that stops between path components: the top-level modules under it
            found += [(p, m) for p, m in hits if not any(p.startswith(q + ".") for q, _ in hits if q != p)]
    if missing:
        children = [p for p in modules if p and "." not in p]
        raise ValueError(f"{what}: {type(model).__name__} has no module named {', '.join(map(repr, missing))}; "
                         f"its top-level modules are {children} (nested ones are written 'features.0')")
    return found


def _keeps_statistics(m):
    """A normalisation layer with running statistics (the batch norms, instance norms that track them)."""
    return bool(getattr(m, "track_running_stats", False)) and getattr(m, "running_mean", None) is not None


def freeze(model, *names):
    """Freeze ``model`` (no names) or its sub-modules ``names`` (paths such as ``"features"``, ``"layer1.0"``).

    Sets ``requires_grad = False`` on every parameter inside, and puts every batch norm inside
    in inference mode for good (``frozen_statistics = True``: :meth:`Module.train` leaves it in
    eval mode), so that its running mean and variance stay those of the pretrained weights.

    Returns the list of frozen module paths ("" for the whole model).
    Raises ValueError naming a module name that matches nothing.
    """
    targets = _named(model, names, "freeze")
    for _, module in targets:
        for p in module.parameters():
            p.requires_grad = False
        for m in module.modules():
            if _keeps_statistics(m):
                m.frozen_statistics = True
                m.training = False
    return [path for path, _ in targets]


def unfreeze(model, *names):
    """Undo :func:`freeze` on ``model`` or on its sub-modules ``names``: parameters require grad again,
    batch norms follow ``train()``/``eval()`` again (and take the mode of the module unfrozen).

    Returns the list of unfrozen module paths. Raises ValueError for a name that matches nothing.
    """
    targets = _named(model, names, "unfreeze")
    for _, module in targets:
        for p in module.parameters():
            p.requires_grad = True
        mode = module.training if not module.__dict__.get("frozen_statistics") else model.training
        for m in module.modules():
            if m.__dict__.get("frozen_statistics"):
                m.frozen_statistics = False
                m.training = mode
    return [path for path, _ in targets]


def is_frozen(module):
    """True when no parameter of ``module`` requires grad (and it has at least one)."""
    params = list(module.parameters())
    return bool(params) and not any(p.requires_grad for p in params)


# ------------------------------------------------------------------ heads
def classifier_heads(model):
    """The paths of ``model``'s classifier output layers: the last :class:`Linear` in module order, and
    every other Linear with the same number of outputs that is the last Linear of its parent
    (GoogLeNet's auxiliary classifiers ``aux1.fc2``, ``aux2.fc2``). Raises ValueError without a Linear."""
    linears = [(p, m) for p, m in model.named_modules() if isinstance(m, Linear)]
    if not linears:
        raise ValueError(f"replace_head: {type(model).__name__} has no Linear layer to replace; "
                         f"pass head='name' of its output layer")
    outputs = linears[-1][1].out_features
    heads = []
    for i, (path, m) in enumerate(linears):
        parent = path.rpartition(".")[0]
        last_of_parent = not any(p.rpartition(".")[0] == parent for p, _ in linears[i + 1:])
        if m.out_features == outputs and last_of_parent:
            heads.append(path)
    return heads


def replace_head(model, num_classes, head=None):
    """Give ``model`` a new, freshly initialised output layer with ``num_classes`` outputs; returns ``model``.

    Each head Linear(in, k) becomes Linear(in, num_classes) (same ``bias`` setting, the Linear's
    default initialisation), keeping its place and name, so ``model.fc`` / ``model.classifier[6]``
    / ``model.output`` is the new layer. A model with a ``replace_head(num_classes)`` method of its
    own (e.g. :class:`shendu.models.CapsNet`) is handed to it.

    Args:
        model: a classifier (every model of the zoo).
        num_classes: the new number of classes, an int ≥ 1.
        head: the path of the output layer (or a list of them); default :func:`classifier_heads`.

    Raises ValueError for a num_classes that is not a positive int, or a head that names no Linear.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"replace_head: num_classes must be an int >= 1, got {num_classes!r}")
    own = getattr(model, "replace_head", None)
    if head is None and callable(own):
        own(num_classes)
        return model
    paths = classifier_heads(model) if head is None else ([head] if isinstance(head, str) else list(head))
    modules = dict(model.named_modules())
    for path in paths:
        old = modules.get(path)
        if not isinstance(old, Linear):
            what = "nothing" if old is None else type(old).__name__
            raise ValueError(f"replace_head: head {path!r} of {type(model).__name__} is {what}; "
                             f"expected a Linear layer (its Linear layers: "
                             f"{[p for p, m in modules.items() if isinstance(m, Linear)]})")
        parent_path, _, name = path.rpartition(".")
        new = Linear(old.in_features, num_classes, bias=old.bias is not None).to(dtype=old.weight.dtype)
        setattr(modules[parent_path], name, new)  # Module.__setattr__ swaps the registered child in place
    return model


# ------------------------------------------------------------------ learning rates by part
def param_groups(model, lrs, lr=None, **options):
    """Parameter groups with discriminative learning rates, by module-name prefix, for any optimizer.

        optim.Adam(param_groups(net, {"features": 1e-4, "classifier": 1e-3}), lr=1e-3)

    A parameter goes to the group of the longest prefix its name starts with (whole path
    components: ``"layer1"`` does not match ``"layer10.weight"``); parameters no prefix matches
    form one more group with learning rate ``lr`` (the optimizer's own when None), in model order.
    Frozen parameters (``requires_grad`` False) are left out. Groups hold ``(name, parameter)``
    pairs, so an optimizer can name a parameter in its errors.

    Args:
        model: the Module.
        lrs: ``{prefix: learning rate}``.
        lr: the learning rate of the unmatched parameters (None: the optimizer's default).
        **options: more options for every group (e.g. ``weight_decay=1e-4``).

    Returns a list of dicts ``{"params": [(name, p), …], "lr": …, "prefix": …}`` (empty groups dropped).
    Raises ValueError for a prefix that names no parameter of the model.
    """
    prefixes = sorted(lrs, key=len, reverse=True)
    names = [n for n, _ in model.named_parameters()]
    unknown = [p for p in prefixes if not any(n == p or n.startswith(p.rstrip(".") + ".") for n in names)]
    if unknown:
        top = sorted({n.split(".")[0] for n in names})
        raise ValueError(f"param_groups: no parameter of {type(model).__name__} is under "
                         f"{', '.join(map(repr, unknown))}; its top-level names are {top}")
    groups = {p: [] for p in lrs}
    rest = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        prefix = next((q for q in prefixes if name == q or name.startswith(q.rstrip(".") + ".")), None)
        (groups[prefix] if prefix is not None else rest).append((name, p))
    out = [{"params": ps, "lr": float(lrs[q]), "prefix": q, **options} for q, ps in groups.items() if ps]
    if rest:
        out.append({"params": rest, "prefix": "", **({"lr": float(lr)} if lr is not None else {}), **options})
    # model order: the group whose first parameter comes first comes first
    order = {n: i for i, n in enumerate(names)}
    return sorted(out, key=lambda g: order[g["params"][0][0]])


__all__ = ["freeze", "unfreeze", "is_frozen", "replace_head", "classifier_heads", "param_groups"]
