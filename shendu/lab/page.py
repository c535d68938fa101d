"""The result of one lab experiment and the Markdown page it becomes.

An experiment fills a :class:`Result` as it goes — prose for the set-up, tables of numbers
(mean ± sample standard deviation over the seeds), matplotlib figures, the raw numbers it
checks (``record``) and, at the end, its verdict — and :meth:`Result.write` renders
``<out>/<name>.md`` with the figures as ``<out>/img/<name>-<figure>.png``, every file written
atomically. The page ends with how it was made: the date, the machine, the kernels, the seeds
and the wall time, and the one command that regenerates it.
"""
from __future__ import annotations

import contextlib
import datetime
import io
import json
import math
import os
import platform
import time

from ..serialization import atomic_write

VERDICTS = {"yes": "supported", "partly": "partly supported", "no": "not supported"}


def mean_std(values):
    """(mean, sample standard deviation) of a sequence of numbers (standard deviation 0 for one value)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_std: no values")
    m = sum(values) / len(values)
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return m, s


def fmt(values, spec=".3f", scale=1.0):
    """``"m ± s"`` for several values (mean ± sample s.d., each times ``scale``), or the one value."""
    values = [float(v) * scale for v in values] if isinstance(values, (list, tuple)) else [float(values) * scale]
    if len(values) == 1:
        return format(values[0], spec)
    m, s = mean_std(values)
    return f"{m:{spec}} ± {s:{spec}}"


def new_figure(width=6.4, height=4.0, rows=1, cols=1):
    """A matplotlib Figure on an Agg canvas (no pyplot, no display) and its axes (one, or an array)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, cols)


def machine():
    """One line naming the CPU (its model name, cores, AVX-512) and the load average when asked."""
    model, flags = platform.processor() or platform.machine(), ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            info = f.read()
        names = [ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")]
        flags = next((ln for ln in info.splitlines() if ln.startswith("flags")), "")
        model = names[0] if names else model
    avx = ", AVX-512" if " avx512f" in flags else ""
    load = ""
    with contextlib.suppress(OSError, AttributeError):
        load = f", load average {os.getloadavg()[0]:.1f} at the start (shared with other jobs)"
    return f"{model}, {os.cpu_count()} cores{avx}{load}"


class Result:
    """What one run of an experiment found, and its page.

    Attributes:
        experiment: the :data:`~shendu.lab.Experiment`; quick, seeds: how it was run.
        numbers: ``{key: value or list}`` recorded with :meth:`record` (the checks of the tests read them).
        verdict: ``'yes'``, ``'partly'`` or ``'no'`` once :meth:`conclude` was called; reason: why.
        seconds: the wall time of the run.
    """

    def __init__(self, experiment, quick=False, seeds=(0, 1, 2), log=None):
        self.experiment, self.quick, self.seeds = experiment, quick, list(seeds)
        self.blocks, self.figures, self.numbers = [], [], {}
        self.verdict = self.reason = None
        self.seconds, self.started, self.machine = 0.0, None, ""
        self._log = log

    # ------------------------------------------------------------ filling
    def log(self, line):
        """Report progress (one line) to the caller's log function, if any."""
        if self._log is not None:
            self._log(f"[{self.experiment.name}] {line}")

    def setup(self, markdown):
        """The set-up: data, models, training, what is measured (Markdown)."""
        self.blocks.append(("## Set-up", markdown.strip()))

    def text(self, markdown, heading=None):
        """A paragraph of the results (Markdown), under an optional ``###`` heading."""
        self.blocks.append((f"### {heading}" if heading else None, markdown.strip()))

    def table(self, headers, rows, heading=None, note=None):
        """A Markdown table: ``headers`` (strings) and ``rows`` (sequences of cells, formatted with str)."""
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        for row in rows:
            if len(row) != len(headers):
                raise ValueError(f"Result.table: a row of {len(row)} cells under {len(headers)} headers")
            lines.append("| " + " | ".join(str(c) for c in row) + " |")
        body = "\n".join(lines) + (f"\n\n{note.strip()}" if note else "")
        self.blocks.append((f"### {heading}" if heading else None, body))

    def figure(self, name, fig, caption):
        """Add a matplotlib Figure, written as ``img/<experiment>-<name>.png``, with its caption."""
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        self.add_image(f"{name}.png", buf.getvalue(), caption)

    def add_image(self, filename, data, caption):
        """Add an image file (PNG or GIF bytes) shown on the page as ``img/<experiment>-<filename>``."""
        filename = f"{self.experiment.name}-{filename}"
        self.figures.append((filename, data))
        self.blocks.append((None, f"![{caption}](img/{filename})\n\n*{caption}*"))

    def record(self, key, value):
        """Keep a number (or a list over seeds) under ``key``; returns it."""
        self.numbers[key] = value
        return value

    def conclude(self, verdict, reason):
        """The verdict: ``'yes'``, ``'partly'`` or ``'no'`` (do the numbers support the claim?), and why."""
        if verdict not in VERDICTS:
            raise ValueError(f"Result.conclude: verdict must be one of {tuple(VERDICTS)}, got {verdict!r}")
        self.verdict, self.reason = verdict, reason.strip()

    @contextlib.contextmanager
    def timed(self):
        """Measure the wall time of the ``with`` body into ``seconds`` (and note the date and machine)."""
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.machine = machine()
        t0 = time.perf_counter()
        try:
            yield self
        finally:
            self.seconds = time.perf_counter() - t0

    # ------------------------------------------------------------ the page
    def summary(self):
        """One line: the verdict and the wall time."""
        verdict = VERDICTS.get(self.verdict, "no verdict")
        return f"{self.experiment.name}: {verdict} ({self.seconds:.1f} s{', quick' if self.quick else ''})"

    def markdown(self):
        """The page as Markdown text."""
        from ..backend import get_kernels

        e = self.experiment
        out = [f"# {e.title}", "", f"**The claim.** {e.claim}", ""]
        if self.quick:
            out += ["> This page comes from the *quick* version (`--quick`), the reduced run of the test suite: its "
                    "numbers check that the experiment runs and is sane, not that the claim holds.", ""]
        for heading, body in self.blocks:
            if heading == "## Set-up":
                out += [heading, "", body, "", "## Results", ""]
            else:
                out += ([heading, ""] if heading else []) + [body, ""]
        if self.verdict is None:
            raise ValueError(f"shendu lab: the experiment {e.name!r} ended without a verdict")
        out += ["## Verdict", "", f"**{VERDICTS[self.verdict].capitalize()}.** {self.reason}", ""]
        when = self.started.strftime("%Y-%m-%d %H:%M UTC") if self.started else "—"
        threads = f" (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})" if os.environ.get("OMP_NUM_THREADS") else ""
        command = f"shendu lab run {e.name}{' --quick' if self.quick else ''}"
        out += ["## How this page was made", "",
                f"The numbers of this page are in [data/{e.name}.json](data/{e.name}.json).", "",
                f"`{command}` on {when}: {self.machine}; {get_kernels()} kernels{threads}; seeds "
                f"{', '.join(map(str, self.seeds))}; wall time {self.seconds:.0f} s. The machine was shared, so "
                f"times are indicative. Numbers are mean ± sample standard deviation over the seeds.", ""]
        return "\n".join(out)

    def to_dict(self):
        """The run as JSON-able data: name, quick, seeds, seconds, verdict, reason and the recorded numbers."""
        return {"name": self.experiment.name, "quick": self.quick, "seeds": self.seeds, "seconds": self.seconds,
                "date": self.started.isoformat() if self.started else None, "machine": self.machine,
                "verdict": self.verdict, "reason": self.reason, "numbers": self.numbers}

    def write(self, out):
        """Write ``<out>/<name>.md``, its figures under ``<out>/img/`` and its numbers as ``<out>/data/<name>.json``;
        returns the page's path."""
        for filename, data in self.figures:
            atomic_write(os.path.join(out, "img", filename), lambda f, d=data: f.write(d))
        numbers = json.dumps(self.to_dict(), indent=1, default=float, allow_nan=True).encode("utf-8")
        atomic_write(os.path.join(out, "data", f"{self.experiment.name}.json"), lambda f: f.write(numbers))
        path = os.path.join(out, f"{self.experiment.name}.md")
        text = self.markdown()
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))
        self.path = path
        return path
