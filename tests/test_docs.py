"""Every ```python block of README.md and docs/*.md runs, so the docs cannot drift from the code.

The contract (docs/index.md repeats it for writers of pages):
- one test per page; the page's blocks run in page order in one namespace, in a temporary directory;
- a block with ``>>>`` prompts is a doctest: its printed output must match a real run
  (ELLIPSIS and NORMALIZE_WHITESPACE are on);
- a block whose opening fence is preceded, on the line right before, by ``<!-- fragment -->`` is skipped
  (a fragment, a long training, something that needs ../shared).
"""
import doctest
import pathlib
import re
import textwrap

import pytest

import shendu

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
PAGES += sorted((ROOT / "docs" / "course").glob("*.md")) + sorted((ROOT / "docs" / "zh" / "course").glob("*.md"))
FRAGMENT = "<!-- fragment -->"
FENCE = re.compile(r"^[ \t]*```python[ \t]*$")  # indented fences (inside list items) count too


def python_blocks(text):
    """The ```python blocks of a Markdown text: a list of (line number, source, is_fragment)."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            start = i
            fragment = i > 0 and lines[i - 1].strip() == FRAGMENT
            i += 1
            body = []
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"line {start + 1}: ```python block is never closed")
            blocks.append((start + 1, textwrap.dedent("\n".join(body)) + "\n", fragment))
        i += 1
    return blocks


def run_page(path, namespace):
    """Run the blocks of one page in order in ``namespace``; doctest blocks must print what they show."""
    name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    parser = doctest.DocTestParser()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    for line, source, fragment in python_blocks(path.read_text(encoding="utf-8")):
        if fragment:
            continue
        where = f"{name}:{line}"
        if ">>>" in source:
            test = parser.get_doctest(source, namespace, where, str(path), line)
            runner = doctest.DocTestRunner(optionflags=flags)
            report = []
            runner.run(test, out=report.append, clear_globs=False)
            if runner.failures:
                pytest.fail(f"doctest block at {where} failed:\n" + "".join(report), pytrace=False)
        else:
            exec(compile(source, where, "exec"), namespace)


@pytest.mark.parametrize("path", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_page_code_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    shendu.manual_seed(0)
    run_page(path, {"__name__": "__docs__"})


def test_blocks_are_found_and_fragments_skipped(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n```python\nx = 1\n```\n<!-- fragment -->\n```python\nraise SystemExit\n```\n"
                    "```python\n>>> x + 1\n2\n```\n")
    blocks = python_blocks(page.read_text())
    assert [b[2] for b in blocks] == [False, True, False]


def test_a_wrong_doctest_output_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 1\n```\n```python\n>>> x + 1\n3\n```\n")
    with pytest.raises(pytest.fail.Exception, match="x \\+ 1"):
        run_page(page, {})


def test_examples_write_their_outputs_under_runs_not_the_tracked_tree(tmp_path, monkeypatch):
    """examples/xo_walkthrough.py used to overwrite docs/img/xo_feature_maps.png; its default is now ./runs/."""
    import importlib.util

    pytest.importorskip("matplotlib")
    spec = importlib.util.spec_from_file_location("xo_walkthrough", ROOT / "examples" / "xo_walkthrough.py")
    walkthrough = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(walkthrough)
    monkeypatch.chdir(tmp_path)
    before = (ROOT / "docs" / "img" / "xo_feature_maps.png").stat().st_mtime_ns
    walkthrough.main(n_train=64, n_test=32, epochs=1, verbose=False)
    assert (tmp_path / "runs" / "xo_walkthrough" / "xo_feature_maps.png").stat().st_size > 0
    assert (ROOT / "docs" / "img" / "xo_feature_maps.png").stat().st_mtime_ns == before
    for example in (ROOT / "examples").glob("*.py"):  # no example names a tracked directory as an output default
        code = example.read_text()
        assert '"docs"' not in code and "'docs'" not in code and '"docs/' not in code, example.name
