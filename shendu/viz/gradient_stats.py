"""Per-layer gradient norms and activation statistics over training, as a callback.

For each recorded step t (every ``every``-th batch) and each watched layer l it stores

    grad_norms[l][t]            ‖g_l‖₂ = sqrt(Σ_{θ ∈ params(l)} Σ ∂L/∂θ²)   (after backward)
    activations[l]["mean"][t]   mean of the layer's output a_l over all its elements
    activations[l]["std"][t]    population standard deviation of a_l
    activations[l]["zeros"][t]  fraction of elements of a_l that are exactly 0 (dead ReLUs)

which is what Glorot & Bengio (2010) plot to show gradients vanishing through a deep
sigmoid network and not through a ReLU one with He initialisation.
"""
from __future__ import annotations

import math

from .._extras import require
from ..backend import xp
from ..tensor import Tensor
from ..training.callbacks import Callback
from ._figure import new_figure, save_figure


def _first_tensor(out):
    """The first tensor of a layer's output (RNNs return (output, state))."""
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def activation_stats(tensor):
    """``{"mean", "std", "zeros"}`` of a tensor's elements (floats; NaN for an empty tensor)."""
    a = xp.asarray(tensor.data, dtype=xp.float64)
    if a.size == 0:
        return {"mean": math.nan, "std": math.nan, "zeros": math.nan}
    return {"mean": float(a.mean()), "std": float(a.std()), "zeros": float((a == 0).mean())}


class GradientStats(Callback):
    """Record per-layer gradient norms and activation statistics while a model trains.

    Args:
        layers: names of the sub-modules to watch (``model.named_modules()`` paths, e.g.
            ``["0", "2", "4"]`` in a Sequential). Default: gradients of every module that owns
            parameters, activations of every leaf module (one without children).
        every: record every ``every``-th training batch (counted across epochs).

    After (or during) training:
        ``steps``: the global batch indices of the records (list of int);
        ``grad_norms``: ``{layer: [‖g‖₂ per record]}`` (NaN where the layer got no gradient);
        ``activations``: ``{layer: {"mean": [...], "std": [...], "zeros": [...]}}``;
        :meth:`to_dict`, :meth:`plot`.

    With ``fit``: ``model.fit(x, y, callbacks=[stats])``. In a hand-written loop::

        stats.attach(model)
        for x, y in batches:
            stats.begin_step(); loss = loss_fn(model(x), y); loss.backward(); stats.end_step()
            opt.step(); opt.zero_grad()
        stats.detach()

    Example:
        >>> stats = GradientStats()
        >>> model.fit(x, y, epochs=2, callbacks=[stats])
        >>> stats.grad_norms["0"][-1]      # the first layer's gradient norm at the last step
    """

    def __init__(self, layers=None, every=1):
        if int(every) < 1:
            raise ValueError(f"GradientStats: every must be a positive number of batches, got {every!r}")
        self.layers = None if layers is None else [str(n) for n in layers]
        self.every = int(every)
        self.steps, self.grad_norms, self.activations = [], {}, {}
        self._handles, self._grad_layers, self._recurse, self._batch, self._recording = [], [], False, 0, False
        self._pending = {}

    # ------------------------------------------------------------ attaching
    def attach(self, model):
        """Register forward hooks on the watched layers of ``model`` (``fit`` does this)."""
        self.detach()
        self.model = model
        modules = dict(model.named_modules())
        if self.layers is not None:
            missing = [n for n in self.layers if n not in modules]
            if missing:
                raise ValueError(f"GradientStats: {type(model).__name__} has no sub-module {missing[0]!r}; "
                                 f"its sub-modules are {[n for n in modules if n][:20]}")
            act_layers = grad_layers = [(n, modules[n]) for n in self.layers]
            recurse = True
        else:
            act_layers = [(n or type(m).__name__, m) for n, m in modules.items() if next(m.children(), None) is None]
            grad_layers = [(n or type(m).__name__, m) for n, m in modules.items()
                           if next(m.parameters(recurse=False), None) is not None]
            recurse = False
        self._grad_layers, self._recurse = grad_layers, recurse  # parameters looked up when recording: lazy
        # layers (Dense) create theirs on the first forward
        for name, module in act_layers:
            self._handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def detach(self):
        """Remove the hooks (``fit`` does this at the end of training)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def _hook(self, name):
        def record(module, inputs, out):
            if self._recording:
                t = _first_tensor(out)
                if t is not None and t.dtype.kind == "f":
                    self._pending[name] = activation_stats(t)
        return record

    # ------------------------------------------------------------ recording
    def begin_step(self):
        """Call before the forward pass of a batch: records its activations if it is a recorded step."""
        self._recording = self._batch % self.every == 0
        self._pending = {}

    def end_step(self):
        """Call after ``backward`` (before ``zero_grad``): records the gradients of a recorded step."""
        if self._recording:
            n = len(self.steps)
            for name, module in self._grad_layers:
                grads = [p.grad.data for _, p in module.named_parameters(recurse=self._recurse) if p.grad is not None]
                norm = math.sqrt(sum(float(xp.sum(xp.square(g, dtype=xp.float64))) for g in grads)) if grads else math.nan
                self.grad_norms.setdefault(name, [math.nan] * n).append(norm)
            for name, st in self._pending.items():
                series = self.activations.setdefault(name, {k: [math.nan] * n for k in st})
                for k, v in st.items():
                    series[k].append(v)
            for name, series in self.activations.items():  # a layer skipped this step (a branch not taken)
                for values in series.values():
                    values.extend([math.nan] * (n + 1 - len(values)))
            self.steps.append(self._batch)
        self._recording, self._pending = False, {}
        self._batch += 1

    def on_train_begin(self, logs=None):
        self.attach(self.model)

    def on_batch_begin(self, step, logs=None):
        self.begin_step()

    def on_batch_end(self, step, logs=None):
        self.end_step()

    def on_train_end(self, logs=None):
        self.detach()

    # ------------------------------------------------------------ results
    def to_dict(self):
        """``{"steps": [...], "grad_norms": {...}, "activations": {...}}`` (JSON-ready copies)."""
        return {"steps": list(self.steps), "grad_norms": {k: list(v) for k, v in self.grad_norms.items()},
                "activations": {k: {s: list(v) for s, v in d.items()} for k, d in self.activations.items()}}

    def plot(self, path, title=None):
        """Write a 2×2 figure to ``path`` (PNG/SVG by suffix): gradient norm per layer against the
        step (log scale); gradient norm against layer depth at the first, middle and last record
        (the vanishing-gradient profile); activation mean ± std and fraction of zeros against the
        step. Returns ``path``."""
        if not self.steps:
            raise ValueError("GradientStats.plot: nothing recorded yet (train with this callback first)")
        fig = new_figure("GradientStats.plot", figsize=(11, 7.5))
        (ax_g, ax_d), (ax_a, ax_z) = fig.subplots(2, 2)
        viridis = require("matplotlib", "viz", "GradientStats.plot").colormaps["viridis"]  # colour = depth

        def colour(i, n):
            return viridis(i / max(n - 1, 1))

        names = list(self.grad_norms)
        for i, name in enumerate(names):
            ax_g.plot(self.steps, self.grad_norms[name], color=colour(i, len(names)), label=name)
        ax_g.set(xlabel="batch", ylabel="‖∂L/∂θ‖₂ of the layer", title="gradient norm per layer")
        picks = sorted({0, len(self.steps) // 2, len(self.steps) - 1})
        for j, t in enumerate(picks):
            ax_d.plot(range(len(names)), [self.grad_norms[n][t] for n in names], marker="o",
                      color=colour(j, len(picks)), label=f"batch {self.steps[t]}")
        ax_d.set_xticks(range(len(names)), names, rotation=45 if len(names) > 8 else 0, fontsize=8)
        ax_d.set(xlabel="layer (input → output)", ylabel="‖∂L/∂θ‖₂", title="gradient norm by depth")
        acts = list(self.activations)
        for i, name in enumerate(acts):
            s = self.activations[name]
            m, sd = xp.asarray(s["mean"]), xp.asarray(s["std"])
            c = colour(i, len(acts))
            ax_a.plot(self.steps, m, color=c, label=name)
            ax_a.fill_between(self.steps, m - sd, m + sd, color=c, alpha=0.15)
            ax_z.plot(self.steps, s["zeros"], color=c, label=name)
        ax_a.set(xlabel="batch", ylabel="activation mean ± std", title="activations")
        ax_z.set(xlabel="batch", ylabel="fraction of zeros", title="zero activations", ylim=(-0.02, 1.02))
        for ax in (ax_g, ax_d):
            if all(v > 0 for vs in self.grad_norms.values() for v in vs if v == v):
                ax.set_yscale("log")
        for ax in (ax_g, ax_d, ax_a, ax_z):
            ax.grid(True, alpha=0.3)
            if ax.lines and len(ax.lines) <= 12:
                ax.legend(fontsize=7)
        if title:
            fig.suptitle(title)
        return save_figure(fig, path)

    def __repr__(self):
        return (f"GradientStats(records={len(self.steps)}, grad_layers={len(self.grad_norms)}, "
                f"activation_layers={len(self.activations)})")
