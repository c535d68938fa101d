"""The documentation site builds with zero warnings, offline, shows its code's real output and documents
every public name of shendu.

One build (the documented command, ``python -m sphinx -W -b html docs <out>``, in a temporary folder) is
shared by the checks below; it runs every page's code, so it takes a minute or two of CPU.
"""
import pathlib
import re
import subprocess
import sys
import zlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import publicapi  # noqa: E402  (the definition of "public" that the reference follows)

pytest.importorskip("sphinx")
pytest.importorskip("myst_parser")
pytest.importorskip("furo")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    html, doctrees = out / "html", out / "doctrees"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", "-d", str(doctrees),
         str(ROOT / "docs"), str(html)],
        capture_output=True, text=True, cwd=ROOT, timeout=1800,
        env={**__import__("os").environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, f"the site build failed or warned:\n{result.stdout[-6000:]}\n{result.stderr[-12000:]}"
    return html


def inventory(html):
    """{(domain:role, name)} of the built site's objects.inv (Sphinx's format 2: a header, then zlib)."""
    data = (html / "objects.inv").read_bytes()
    lines = data.split(b"\n", 4)
    assert lines[0].startswith(b"# Sphinx inventory version 2"), lines[0]
    entries = set()
    for line in zlib.decompress(lines[4]).decode("utf-8").splitlines():
        match = re.match(r"(.+?)\s+(\S+:\S+)\s+(-?\d+)\s+(\S*)\s+(.*)", line)
        if match:
            entries.add((match.group(2), match.group(1)))
    return entries


def test_the_api_reference_lists_every_public_name(site):
    documented = {name for role, name in inventory(site) if role.startswith("py:")}
    groups = publicapi.public_groups()
    expected = {f"{group}.{name}" for group, names in groups.items() for name in names} | set(groups)
    missing = sorted(expected - documented)
    assert not missing, f"{len(missing)} public names missing from the API reference, e.g. {missing[:20]}"
    assert len(expected) > 1000  # the whole package, not an empty walk


def test_public_names_follow_the_definition():
    groups = publicapi.public_groups()
    # packages, and the modules that packages export by name, are groups ...
    for group in ("shendu", "shendu.nn", "shendu.nn.functional", "shendu.nn.init", "shendu.optim.lr_scheduler",
                  "shendu.utils.data", "shendu.linalg", "shendu.keras.layers", "shendu.backend"):
        assert group in groups, group
    # ... a submodule bound only because its package imported from it is not; no group or name is private
    assert "shendu.nn.conv" not in groups and "shendu.tensor" not in groups
    assert all(publicapi.is_public_module_name(g) for g in groups)
    assert all(not n.startswith("_") for names in groups.values() for n in names)
    # __all__ decides where there is one; else the package's namespace; modules are groups, not names
    assert groups["shendu.onnx"] == sorted(__import__("shendu.onnx", fromlist=["x"]).__all__)
    assert {"Tensor", "tensor", "add", "no_grad", "float32"} <= set(groups["shendu"])
    assert "nn" not in groups["shendu"] and "annotations" not in groups["shendu.nn.init"]
    # a plain module without __all__: only what its own source defines, not what it imports
    assert "np" not in groups["shendu.backend"] and "Tensor" not in groups.get("shendu.linalg", [])
    aliases = publicapi.homes(groups)
    assert aliases[("shendu", "add")] == "shendu.ops.add"
    assert ("shendu.ops", "add") not in aliases


def test_pages_show_the_output_of_their_code(site):
    page = (site / "tensors.html").read_text(encoding="utf-8")
    assert page.count('class="shendu-output') >= 1
    # a printed value that only a real run produces sits right after the code that printed it
    stdout = re.findall(r'shendu-stdout.*?<pre>(.*?)</pre>', page, flags=re.S)
    assert stdout and all(block.strip() for block in stdout)


def test_no_page_loads_anything_from_another_host(site):
    remote = re.compile(r"""<(?:script|link|img|iframe|source|video|audio)\b[^>]*?\b(?:src|href)\s*=\s*["']?(?:https?:)?//""",
                        re.I)
    css_remote = re.compile(r"""(?:@import\s+|url\()\s*["']?(?:https?:)?//""", re.I)
    offenders = []
    pages = list(site.rglob("*.html"))
    assert len(pages) > 40
    for page in pages:
        text = page.read_text(encoding="utf-8")
        offenders += [f"{page.relative_to(site)}: {m.group(0)}" for m in remote.finditer(text)]
        offenders += [f"{page.relative_to(site)}: {m.group(0)}" for m in css_remote.finditer(text)]
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{sheet.relative_to(site)}: {m.group(0)}" for m in css_remote.finditer(text)]
    assert not offenders, offenders[:10]


def test_mathjax_and_search_are_served_from_the_build(site):
    mathjax = site / "_static" / "mathjax"
    assert (mathjax / "tex-chtml.js").stat().st_size > 100_000
    assert list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    for page in site.rglob("*.html"):  # where a page has math, it loads the local copy
        for src in re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', page.read_text(encoding="utf-8")):
            assert (page.parent / src.split("?")[0]).resolve().is_file(), (page, src)
    assert (site / "searchindex.js").stat().st_size > 10_000 and (site / "search.html").is_file()


def test_every_page_is_in_the_site(site):
    sources = {p.relative_to(ROOT / "docs").with_suffix("").as_posix()
               for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts}
    built = {p.relative_to(site).with_suffix("").as_posix() for p in site.rglob("*.html")}
    assert sources <= built, sorted(sources - built)


def test_a_page_run_gives_each_block_its_output_and_figures(tmp_path):
    import shendu_site

    page = tmp_path / "page.md"
    page.write_text("```python\nx = 2\nprint('x is', x)\n```\n```bash\nls\n```\n"
                    "```python\nimport matplotlib.pyplot as plt\nplt.plot([0, x], [1, 3])\n```\n"
                    "```python\nopen('drawn.svg', 'w').write('<svg xmlns=\"http://www.w3.org/2000/svg\"/>')\n```\n")
    results, error = shendu_site.run_page_blocks(page, "page.md")
    assert error is None
    assert sorted(results) == [1, 8, 12]  # the lines of the fences that ran
    assert results[1] == ("x is 2\n", [])
    (mime, png), = results[8][1]
    assert mime == "image/png" and png.startswith(b"\x89PNG")
    assert results[12][1] == [("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"/>')]


def test_a_fragment_marker_fails_the_build_of_its_page(tmp_path):
    import shendu_site

    page = tmp_path / "page.md"
    page.write_text("```python\nprint('runs')\n```\n<!-- fragment -->\n```python\nprint('skipped once')\n```\n")
    results, error = shendu_site.run_page_blocks(page, "page.md")
    assert results == {} and "page.md: line 4: <!-- fragment --> no longer skips a block" in error


def test_a_failing_block_is_reported_with_page_and_line(tmp_path):
    import shendu_site

    page = tmp_path / "page.md"
    page.write_text("text\n\n```python\nx = 1\n```\n```python\nx + undefined_name\n```\n```python\n>>> x\n2\n```\n")
    results, error = shendu_site.run_page_blocks(page, "docs/page.md")
    assert list(results) == [3] and "docs/page.md:6" in error and "undefined_name" in error
    page.write_text("```python\nx = 1\n```\n```python\n>>> x\n2\n```\n")
    results, error = shendu_site.run_page_blocks(page, "docs/page.md")
    assert "doctest block at docs/page.md:4 failed" in error


def test_a_figure_saved_and_left_open_is_shown_once(tmp_path):
    import shendu_site

    page = tmp_path / "page.md"
    page.write_text("```python\nimport matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\n"
                    "fig.savefig('curve.png')\n```\n")
    results, error = shendu_site.run_page_blocks(page, "page.md")
    assert error is None
    (mime, png), = results[1][1]  # one image, not the file and the open figure
    assert mime == "image/png" and png[:4] == b"\x89PNG"


def test_search_finds_chinese_words_inside_a_sentence():
    import shendu_site

    words = shendu_site.SearchEnglishAndChinese({}).split("用反向传播计算梯度 (backpropagation)")
    assert {"反向传播", "梯度", "backpropagation"} <= set(words)
    assert max(len(w) for w in words if shendu_site.CJK_RUN.fullmatch(w)) == len("用反向传播计算梯度")
