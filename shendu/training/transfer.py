"""Fine-tuning in training: start from saved weights, re-head, freeze, and unfreeze gradually.

    >>> net = shendu.models.lenet5(num_classes=5)
    >>> init_from(net, "runs/x/last.ckpt", head=5, freeze=["c1", "c3"])     # `shendu train --init … --head 5`
    >>> net.compile("adam", lr=1e-3).fit(x, y, callbacks=[GradualUnfreezing([["c5"], ["c3", "c1"]])])

Docs: docs/transfer.md. The machinery it drives (freeze, replace_head, param_groups) is
:mod:`shendu.nn.freeze`.
"""
from __future__ import annotations

from ..nn.freeze import classifier_heads, freeze as freeze_modules, replace_head, unfreeze
from ..serialization import load_file
from .callbacks import Callback
from .checkpoint import read_checkpoint


class GradualUnfreezing(Callback):
    """Unfreeze a frozen model stage by stage as training goes on (Howard & Ruder 2018, ULMFiT).

    At the start of epoch ``start + i·every`` (0-based), stage i — a list of module names, usually
    from the top of the network down — is unfrozen (:func:`shendu.nn.freeze.unfreeze`) and its
    parameters are added to the optimizer as a new parameter group with learning rate
    ``lr_factor**(i+1) · lr`` (lr the first group's; discriminative rates: lower layers move less).

    Args:
        stages: a list of stages; a stage is a module name or a list of them.
        every: epochs between two unfreezings (default 1).
        start: the epoch of the first unfreezing (default 1: the head alone trains in epoch 0).
        lr_factor: the learning-rate factor per stage (default 1.0: the optimizer's rate).

    ``unfrozen`` lists the stages unfrozen so far. Names are checked when training begins
    (ValueError for one that names no module).
    """

    def __init__(self, stages, every=1, start=1, lr_factor=1.0):
        self.stages = [[s] if isinstance(s, str) else list(s) for s in stages]
        if not self.stages or not all(self.stages):
            raise ValueError(f"GradualUnfreezing: stages must be a non-empty list of module names or lists of "
                             f"them, got {stages!r}")
        if not (isinstance(every, int) and every >= 1 and isinstance(start, int) and start >= 0):
            raise ValueError(f"GradualUnfreezing: every must be an int >= 1 and start an int >= 0, "
                             f"got every={every!r}, start={start!r}")
        if not lr_factor > 0:
            raise ValueError(f"GradualUnfreezing: lr_factor must be > 0, got {lr_factor!r}")
        self.every, self.start, self.lr_factor = every, start, float(lr_factor)
        self.unfrozen = []

    def on_train_begin(self, logs=None):
        modules = dict(self.model.named_modules())
        missing = [n for s in self.stages for n in s if n not in modules]
        if missing:
            raise ValueError(f"GradualUnfreezing: {type(self.model).__name__} has no module named "
                             f"{', '.join(map(repr, missing))}")

    def on_epoch_begin(self, epoch, logs=None):
        i = (epoch - self.start) // self.every
        if epoch < self.start or (epoch - self.start) % self.every or i >= len(self.stages):
            return
        stage = self.stages[i]
        unfreeze(self.model, *stage)
        self.unfrozen.append(stage)
        optimizer = self.trainer.optimizer
        held = {id(p) for g in optimizer.param_groups for p in g["params"]}
        new = [(n, p) for name in stage for n, p in self.model.get_submodule(name).named_parameters(prefix=name)
               if p.requires_grad and id(p) not in held]
        if new:
            base = optimizer.param_groups[0]["lr"]
            optimizer.add_param_group({"params": new, "lr": base * self.lr_factor ** (i + 1)})


def _state_of(path):
    """The model state of a ``shendu train`` checkpoint or of a weights file (``Module.save``, a
    pretrained safetensors file): {name: array}."""
    try:
        state, _, _ = read_checkpoint(path)
        return state
    except ValueError:
        tensors = load_file(path)
        return {k[len("model."):] if k.startswith("model.") else k: v for k, v in tensors.items()}


def init_from(model, path, head=None, freeze=()):
    """Load the weights of ``path`` into ``model``, then give it a new head and freeze parts of it.

    The job of ``shendu train MODEL --init CKPT [--head N] [--freeze PREFIX …]``:

    1. the saved output layer may have another number of classes than ``model``: the model is
       re-headed to the saved size (:func:`shendu.nn.freeze.replace_head`) and loaded strictly;
    2. ``head``: the number of classes of the new task; the output layer is replaced by a fresh
       one with ``head`` outputs. Without ``head`` the saved size must be the model's;
    3. ``freeze``: module names whose parameters stay fixed (batch norms in inference mode).

    Args:
        model: the Module (built for the new task's number of classes).
        path: a ``last.ckpt`` of ``shendu train``, or a safetensors weights file (None: only freeze).
        head: an int ≥ 1, or None.
        freeze: module names (prefixes) to freeze.

    Returns the model. Raises ValueError when the saved output layer does not fit and no ``head``
    is given, when ``head`` is not the model's number of classes, or for an unknown name.
    """
    if path is None:
        if head is not None:
            raise ValueError("init_from: head (--head) replaces the output layer of loaded weights; give the "
                             "weights to load (--init CKPT)")
        if freeze:
            freeze_modules(model, *freeze)
        return model
    state = _state_of(path)
    heads = classifier_heads(model)
    target = model.get_submodule(heads[-1]).out_features
    if head is not None and head != target:
        raise ValueError(f"init_from: --head {head} does not fit: the model was built for {target} classes "
                         f"(the dataset's); give --head {target}")
    key = f"{heads[-1]}.weight"
    saved = state.get(key)
    if saved is None:
        raise ValueError(f"init_from: {path} holds no {key!r}; it is not a checkpoint of a "
                         f"{type(model).__name__} (it holds {sorted(state)[:6]}…)")
    if saved.shape[0] != target:
        if head is None:
            raise ValueError(f"init_from: the output layer of {path} has {saved.shape[0]} classes, the model "
                             f"{target}; pass head={target} (--head {target}) to replace it with a fresh one")
        replace_head(model, int(saved.shape[0]))
    model.load_state_dict(state)
    if head is not None:
        replace_head(model, int(head))
    if freeze:
        freeze_modules(model, *freeze)
    return model


__all__ = ["GradualUnfreezing", "init_from"]
