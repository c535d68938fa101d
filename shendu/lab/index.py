"""The index page of the lab, ``<out>/index.md``: every experiment, its claim, and the verdict of its page."""
from __future__ import annotations

import os
import re

from ..serialization import atomic_write

_VERDICT = re.compile(r"^## Verdict\s*\n\s*\n\*\*([^*]+?)\.\*\*", re.M)


def page_verdict(path):
    """The verdict written on a page (``'Supported'``, ``'Partly supported'``, …), or None without a page."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    m = _VERDICT.search(text)
    quick = " (quick run)" if "*quick* version" in text else ""
    return (m.group(1) + quick) if m else None


def write_index(out):
    """Write ``<out>/index.md`` listing every experiment with a link to its page and its verdict; returns the path."""
    from . import list_experiments

    lines = ["# The lab: the articles' claims, measured", "",
             "Each page below turns one claim of the deep-learning articles into an experiment run with shendu, at "
             "reduced scale on data available offline (the digits embedded in shendu, MNIST and Fashion-MNIST "
             "from `../shared/data` when present, synthetic data). Every page gives the question, the set-up, the "
             "numbers as mean ± standard deviation over seeds, figures, and says plainly whether the numbers "
             "support the claim. `shendu lab run NAME` regenerates one page and `shendu lab run all` all of them "
             "(`--quick` runs the reduced version of the test suite; `--out DIR` writes elsewhere).", "",
             "| # | experiment | claim | verdict |", "|---|---|---|---|"]
    for i, e in enumerate(list_experiments(), 1):
        page = os.path.join(out, f"{e.name}.md")
        verdict = page_verdict(page)
        link = f"[{e.title}]({e.name}.md)" if verdict is not None else e.title
        lines.append(f"| {i} | {link} (`{e.name}`) | {e.claim} | {verdict or 'not run yet'} |")
    lines.append("")
    path = os.path.join(out, "index.md")
    text = "\n".join(lines)
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    return path
