"""The ```python blocks of a Markdown page, and how a page's blocks are run.

One contract for the two places that run the docs' code, tests/test_docs.py and the site build
(docs/_ext/shendu_site.py), so that what the tests check is what the site shows:

- a page's blocks run in page order in one namespace (the caller picks the directory: a temporary one);
- a block with ``>>>`` prompts is a doctest: its printed output must match a real run
  (ELLIPSIS and NORMALIZE_WHITESPACE are on);
- every block runs: there is no way to skip one. A long training runs a shortened version (the full
  size in the prose), data from ../shared is read when present and the block says it skipped itself
  otherwise, and what is not Python (a shell command) is a ```bash block. The ``<!-- fragment -->``
  marker that used to skip a block is an error, so that a skipped block cannot come back.

Standard library only: the site build imports it without importing shendu first.
"""
import contextlib
import doctest
import io
import re
import textwrap

RETIRED_MARKER = "<!-- fragment -->"  # skipped the next block once; now refused (see the module docstring)
FENCE = re.compile(r"^[ \t]*```python[ \t]*$")  # indented fences (inside list items) count too
DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


class DoctestFailed(AssertionError):
    """A ``>>>`` block printed something other than what the page shows; the message is doctest's report."""


def python_blocks(text):
    """The ```python blocks of a Markdown text: a list of (line number, source).

    The line number (1-based) is that of the opening fence; the source is dedented (fences inside list
    items are indented) and ends with a newline. A ``<!-- fragment -->`` line is a ValueError naming
    its line: every block of a page runs.
    """
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() == RETIRED_MARKER:
            raise ValueError(f"line {i + 1}: {RETIRED_MARKER} no longer skips a block: every ```python block "
                             "runs (shorten it, or make a shell command a ```bash block) and the marker goes")
        if FENCE.match(lines[i]):
            start = i
            i += 1
            body = []
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"line {start + 1}: ```python block is never closed")
            blocks.append((start + 1, textwrap.dedent("\n".join(body)) + "\n"))
        i += 1
    return blocks


def page_namespace():
    """A fresh namespace for one page, with shendu's generators seeded as every page starts (seed 0)."""
    import shendu  # on use: the site's build imports this module before it needs shendu

    shendu.manual_seed(0)
    return {"__name__": "__docs__"}


def run_block(source, namespace, where, filename, line):
    """Run one block in ``namespace`` and return what it printed to stdout.

    A doctest block's report goes into :class:`DoctestFailed`; any other block's exception propagates
    (its traceback names ``where``, e.g. ``docs/nn.md:42``).
    """
    if ">>>" in source:
        test = doctest.DocTestParser().get_doctest(source, namespace, where, filename, line)
        runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
        report = []
        runner.run(test, out=report.append, clear_globs=False)
        if runner.failures:
            raise DoctestFailed(f"doctest block at {where} failed:\n" + "".join(report))
        return ""  # the page already shows the output, and it was just checked
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, where, "exec"), namespace)
    return printed.getvalue()


def run_page(text, namespace, name, filename, around=None):
    """Run every block of a page's ``text`` in order in ``namespace``.

    ``name`` labels the blocks in tracebacks (``name:line``). ``around(line, source, run)``, when given,
    is called for each block instead of ``run()`` (which returns the block's stdout): the site uses it
    to collect the figures a block makes.
    """
    for line, source in python_blocks(text):
        def run(source=source, line=line):
            return run_block(source, namespace, f"{name}:{line}", filename, line)

        if around is None:
            run()
        else:
            around(line, source, run)
