"""Every ```python block of README.md and docs/*.md runs, so the docs cannot drift from the code.

The contract (docs/index.md repeats it for writers of pages):
- one test per page; the page's blocks run in page order in one namespace, in a temporary directory;
- a block with ``>>>`` prompts is a doctest: its printed output must match a real run
  (ELLIPSIS and NORMALIZE_WHITESPACE are on);
- every block runs; the ``<!-- fragment -->`` marker that used to skip one is an error (a long training
  runs shortened, data from ../shared is read when present, a shell command is a ```bash block).
"""
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import pageblocks  # noqa: E402  (the block contract, shared with the site build)
from pageblocks import python_blocks  # noqa: E402,F401

PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
PAGES += sorted((ROOT / "docs" / "course").glob("*.md")) + sorted((ROOT / "docs" / "zh" / "course").glob("*.md"))


def run_page(path, namespace):
    """Run the blocks of one page in order in ``namespace``; doctest blocks must print what they show."""
    name = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    try:
        pageblocks.run_page(path.read_text(encoding="utf-8"), namespace, name, str(path))
    except pageblocks.DoctestFailed as failure:
        pytest.fail(str(failure), pytrace=False)


@pytest.mark.parametrize("path", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_page_code_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    run_page(path, pageblocks.page_namespace())


def test_blocks_are_found_indented_ones_too():
    text = "text\n```python\nx = 1\n```\n```bash\nls\n```\n* item\n\n  ```python\n  y = 2\n  ```\n"
    assert python_blocks(text) == [(2, "x = 1\n"), (10, "y = 2\n")]


def test_a_fragment_marker_is_an_error_not_a_skipped_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 1\n```\n<!-- fragment -->\n```python\nraise SystemExit\n```\n")
    with pytest.raises(ValueError, match="line 4: <!-- fragment --> no longer skips a block"):
        run_page(page, {})


def test_no_page_marks_a_block_as_not_run():
    """Every page of the site, the lab's and READMEs included: no block is exempt from running."""
    pages = [ROOT / "README.md", ROOT / "README.zh-CN.md"] + sorted((ROOT / "docs").rglob("*.md"))
    marked = [f"{page.relative_to(ROOT)}:{n}" for page in pages if "_build" not in page.parts
              for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
              if line.strip() == pageblocks.RETIRED_MARKER]
    assert not marked, marked


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
