"""What a study holds, read back: the trials as a table and CSV, parameter importances, and the
history and importance plots (:class:`SearchResult`)."""
from __future__ import annotations

import csv
import io
import warnings

from .samplers import optuna_module

FINISHED = ("COMPLETE", "PRUNED")  # the states that count towards n_trials


def finished_count(study):
    optuna = optuna_module()
    states = tuple(getattr(optuna.trial.TrialState, s) for s in FINISHED)
    return len(study.get_trials(deepcopy=False, states=states))



def format_value(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)



class SearchResult:
    """The outcome of :func:`search`: the Optuna ``study`` and what to read from it.

    ``best_value``, ``best_params`` (the best trial's whole configuration, fixed values included),
    ``best_number``; ``new_trials`` (the numbers of the trials this call ran); ``rows()`` (one dict per
    trial: number, state, value, epochs, seconds, note, params), ``table()`` (the rows as text),
    ``write_csv(path)``, ``importances()``, ``plot_history(path)``, ``plot_importance(path)``.
    """

    def __init__(self, study, metric="value", new_trials=()):
        self.study, self.metric, self.new_trials = study, metric, list(new_trials)

    def _best(self):
        try:
            return self.study.best_trial
        except ValueError:
            raise ValueError(f"tune: no trial of study {self.study.study_name!r} has completed") from None

    @property
    def best_value(self):
        return self._best().value

    @property
    def best_params(self):
        best = self._best()
        return dict(best.user_attrs.get("config", best.params))

    @property
    def best_number(self):
        return self._best().number

    def rows(self):
        """One dict per trial of the study, in order of number."""
        rows = []
        for t in self.study.get_trials(deepcopy=False):
            state = t.state.name
            value = t.value
            if value is None and t.intermediate_values:  # a pruned trial: its last reported value
                value = t.intermediate_values[max(t.intermediate_values)]
            seconds = t.duration.total_seconds() if t.duration is not None else None
            note = ("diverged" if t.user_attrs.get("diverged") else
                    "interrupted" if t.user_attrs.get("interrupted") else "")
            rows.append({"number": t.number, "state": state, "value": value, "epochs": len(t.intermediate_values),
                         "seconds": seconds, "note": note, "params": dict(t.user_attrs.get("config", t.params))})
        return rows

    def table(self):
        """The trials as an aligned text table; ``*`` marks the best."""
        rows = self.rows()
        names = list(dict.fromkeys(k for r in rows for k in r["params"]))
        try:
            best = self.best_number
        except ValueError:
            best = None
        head = ["trial", "state", self.metric, "steps", "seconds", *names]
        lines = [[f"{r['number']}{'*' if r['number'] == best else ''}",
                  r["state"] + (f" ({r['note']})" if r["note"] else ""),
                  "" if r["value"] is None else f"{r['value']:.4f}", str(r["epochs"]),
                  "" if r["seconds"] is None else f"{r['seconds']:.1f}",
                  *[format_value(r["params"].get(n, "")) for n in names]] for r in rows]
        widths = [max(len(x) for x in col) for col in zip(head, *lines)]
        return "\n".join("  ".join(c.rjust(w) if i != 1 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
                         for row in [head, *lines])

    def write_csv(self, path):
        """The trials as CSV: number, state, value, steps, seconds, note, then one column per parameter."""
        from ..serialization import atomic_write

        rows = self.rows()
        names = list(dict.fromkeys(k for r in rows for k in r["params"]))
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["number", "state", self.metric, "steps", "seconds", "note", *names])
        for r in rows:
            w.writerow([r["number"], r["state"], r["value"], r["epochs"], r["seconds"], r["note"],
                        *[r["params"].get(n, "") for n in names]])
        atomic_write(path, lambda f: f.write(buf.getvalue().encode("utf-8")))
        return path

    def importances(self, seed=0):
        """``{parameter: importance}``, summing to 1, by fANOVA (functional ANOVA on a random forest
        fitted to the completed trials; needs scikit-learn), or PED-ANOVA without scikit-learn.
        Empty when fewer than two trials completed or no searched parameter varied."""
        optuna = optuna_module()
        try:
            import sklearn  # noqa: F401
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        except ImportError:
            evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        if sum(t.state.name == "COMPLETE" for t in self.study.get_trials(deepcopy=False)) < 2:
            return {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return {k: float(v) for k, v in optuna.importance.get_param_importances(
                    self.study, evaluator=evaluator).items()}
        except (ValueError, RuntimeError):  # e.g. every completed trial had the same parameters
            return {}

    def plot_history(self, path, baseline=None, title=None):
        """Write a PNG: each trial's value against its number (pruned trials at their last reported
        value), the best value so far, and ``baseline`` (e.g. the default configuration's value) as a
        dashed line. Returns ``path``."""
        from matplotlib.ticker import MaxNLocator

        fig, ax = _figure()
        rows = [r for r in self.rows() if r["value"] is not None]
        sign = 1 if self.study.direction.name == "MAXIMIZE" else -1
        done = [r for r in rows if r["state"] == "COMPLETE"]
        pruned = [r for r in rows if r["state"] == "PRUNED"]
        ax.plot([r["number"] for r in done], [r["value"] for r in done], "o", color="C0", label="completed trial")
        if pruned:
            ax.plot([r["number"] for r in pruned], [r["value"] for r in pruned], "x", color="0.5",
                    label="pruned trial (last value)")
        best, xs, ys = None, [], []
        for r in done:
            if best is None or sign * r["value"] > sign * best:
                best = r["value"]
            xs.append(r["number"])
            ys.append(best)
        if xs:
            ax.step(xs, ys, where="post", color="C1", label="best so far")
        if baseline is not None:
            ax.axhline(baseline, color="C2", linestyle="--", label=f"default configuration ({baseline:.4g})")
        ax.set_xlabel("trial")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(self.metric)
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.set_title(title or f"optimisation history: {self.study.study_name}")
        return _save(fig, path)

    def plot_importance(self, path, title=None, seed=0):
        """Write a PNG of the parameter importances (:meth:`importances`) as horizontal bars; returns
        ``path``, or None (no file) when there is nothing to measure."""
        imp = self.importances(seed)
        if not imp:
            return None
        fig, ax = _figure()
        names = list(imp)[::-1]
        ax.barh(names, [imp[n] for n in names], color="C0")
        for i, n in enumerate(names):
            ax.text(imp[n], i, f" {imp[n]:.2f}", va="center")
        ax.set_xlim(0, max(imp.values()) * 1.2 or 1)
        ax.set_xlabel("importance (share of the variance of " + self.metric + ")")
        ax.set_title(title or f"parameter importances: {self.study.study_name}")
        return _save(fig, path)

    def __repr__(self):
        try:
            best = f"best_value={self.best_value:.4g}, best_params={self.best_params}"
        except ValueError:
            best = "no completed trial"
        return f"SearchResult({self.study.study_name!r}, {len(self.study.trials)} trials, {best})"


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _save(fig, path):
    from ..serialization import atomic_write

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write(path, lambda f: f.write(buf.getvalue()))
    return path
