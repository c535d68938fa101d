"""The Sphinx extension behind shendu's site: runs each page's code, builds the API reference, the toctrees
and serves MathJax from the build.

- **Code runs at build time.** Each page's ```python blocks run in page order in one namespace in a
  temporary directory, under the contract of tests/test_docs.py (docs/_ext/pageblocks.py holds it for
  both). After each block the page shows what it printed and the figures it made (open matplotlib
  figures, and PNG/SVG files the block wrote), so the site cannot show stale output (pages with code
  are read again at every build, incremental or not). A block that
  raises, or a doctest block whose output differs, is a warning (an error under ``-W``) naming page and
  line.
- **API reference.** docs/api/ is generated at each build from docs/_ext/publicapi.py's definition of the
  public names: one page per group (package or exported module), each name documented by autodoc where
  it lives, and listed as an alias in the other groups that export it.
- **Every page in a toctree.** Each ``index`` page gets a hidden toctree of the pages it links to, in
  link order; a page no index links to goes into the nearest ``index`` above it (the root at last). So
  pages added under docs/course/, docs/zh/course/, docs/lab/ join the site without an edit here.
- **Offline.** MathJax 3 comes from the django-static-mathjax package and is copied into
  ``_static/mathjax``; nothing is loaded from another host.
"""
import base64
import importlib.util
import inspect
import io
import os
import pathlib
import re
import shutil
import sys
import tempfile
import traceback

from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser as RestParser
from docutils.utils import new_document
from sphinx.search.en import SearchEnglish
from sphinx.util import logging

import pageblocks
import publicapi

logger = logging.getLogger(__name__)
API_DIR = "api"
FIGURE_SUFFIXES = (".png", ".svg")


# --- running the pages' code -------------------------------------------------------------------------

def _snapshot(directory):
    """{path: (size, mtime)} of the figure files under ``directory``."""
    found = {}
    for path in pathlib.Path(directory).rglob("*"):
        if path.suffix.lower() in FIGURE_SUFFIXES and path.is_file():
            stat = path.stat()
            found[path] = (stat.st_size, stat.st_mtime_ns)
    return found


def _open_figures():
    """PNG bytes of each open matplotlib figure, which are then closed (only if the page imported pyplot)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    images = []
    for number in pyplot.get_fignums():
        figure = pyplot.figure(number)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
        images.append(("image/png", buffer.getvalue()))
    pyplot.close("all")
    return images


def _data_uri(mime, data):
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def run_page_blocks(path, name):
    """Run one page's blocks; ``{line: (stdout, [(mime, bytes)])}`` and the first error (or None)."""
    results = {}
    text = pathlib.Path(path).read_text(encoding="utf-8")
    try:
        if not pageblocks.python_blocks(text):
            return results, None
    except ValueError as bad:  # a block never closed, a retired <!-- fragment --> marker
        return results, f"{name}: {bad}"
    previous = os.getcwd()
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # figures left open by whoever ran before are not this page's
        pyplot.close("all")
    with tempfile.TemporaryDirectory(prefix="shendu-docs-") as work:
        os.chdir(work)
        try:
            namespace = pageblocks.page_namespace()

            def around(line, source, run):
                before = _snapshot(work)
                printed = run()
                after = _snapshot(work)
                written = [("image/svg+xml" if file.suffix.lower() == ".svg" else "image/png", file.read_bytes())
                           for file in sorted(after) if before.get(file) != after[file]]
                drawn = _open_figures()
                # a figure saved to a file and left open is shown once: the file, as the page wrote it
                results[line] = (printed, written or drawn)

            pageblocks.run_page(text, namespace, name, str(path), around=around)
        except pageblocks.DoctestFailed as failure:
            return results, str(failure)
        except Exception:  # noqa: BLE001  (any error of a page's code is reported with its traceback)
            return results, traceback.format_exc(limit=-8)
        finally:
            os.chdir(previous)
            _open_figures()  # close what a failing block left open
    return results, None


def execute_page_code(app, doctree):
    """doctree-read: run the page's code and put its output after each block."""
    env = app.env
    path = env.doc2path(env.docname)
    if not str(path).endswith(".md"):
        return
    name = pathlib.Path(path).relative_to(pathlib.Path(app.srcdir).parent).as_posix()
    results, error = run_page_blocks(path, name)
    if error:
        logger.warning("code of %s failed while building the site:\n%s", name, error,
                       location=(env.docname, None), type="shendu", subtype="code")
    if not results:
        return
    blocks = {}
    for block in doctree.findall(nodes.literal_block):
        if block.get("language") == "python" and block.line is not None:
            blocks[block.line] = block
    for line, (printed, figures) in results.items():
        block = blocks.get(line) or blocks.get(line + 1)
        if block is None:
            logger.warning("%s:%d: no rendered code block for this ```python fence", name, line,
                           location=(env.docname, line), type="shendu", subtype="code")
            continue
        output = nodes.container(classes=["shendu-output"])
        if printed.strip():
            text = printed.rstrip("\n")
            output += nodes.literal_block(text, text, language="text", classes=["shendu-stdout"])
        for mime, data in figures:
            output += nodes.image(uri=_data_uri(mime, data), alt="figure made by the code above",
                                  classes=["shendu-figure"])
        if len(output):
            block.parent.insert(block.parent.index(block) + 1, output)


def pages_with_code(app, env, added, changed, removed):
    """env-get-outdated: pages with code are read (so run) at every build, not only when their text changed.

    Their output depends on shendu, which changes without the page changing; an incremental build that
    kept the output of the last run would show stale output.
    """
    outdated = []
    for docname in env.found_docs:
        path = pathlib.Path(env.doc2path(docname))
        if path.suffix != ".md":
            continue
        try:
            has_code = bool(pageblocks.python_blocks(path.read_text(encoding="utf-8")))
        except ValueError:  # read again, so that execute_page_code reports it
            has_code = True
        if has_code:
            outdated.append(docname)
    return outdated


# --- toctrees ----------------------------------------------------------------------------------------

LINK = re.compile(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)")


def _links(app, docname):
    """The local pages a page links to, in order, as docnames."""
    path = pathlib.Path(app.env.doc2path(docname))
    found = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        resolved = (path.parent / target).resolve()
        try:
            relative = resolved.relative_to(pathlib.Path(app.srcdir).resolve())
        except ValueError:
            continue
        other = relative.with_suffix("").as_posix()
        if other in app.env.found_docs and other not in found:
            found.append(other)
    return found


def _is_index(docname):
    return docname.rsplit("/", 1)[-1] == "index"


def plan_toctrees(app, env, docnames):
    """env-before-read-docs: which pages each index page's hidden toctree lists."""
    root = app.config.root_doc
    children = {root: []}
    placed = {root}

    def follow(start):  # breadth first from an index page, following the links of index pages
        queue = [start]
        while queue:
            parent = queue.pop(0)
            for other in _links(app, parent):
                if other not in placed:
                    placed.add(other)
                    children[parent].append(other)
                    if _is_index(other):
                        children[other] = []
                        queue.append(other)

    follow(root)
    for doc in sorted(env.found_docs, key=lambda d: (d.count("/"), not _is_index(d), d)):
        if doc in placed:  # the rest, index pages first: under the nearest index above them
            continue
        folder = doc.rsplit("/", 1)[0] if "/" in doc else ""
        if _is_index(doc):
            folder = folder.rsplit("/", 1)[0] if "/" in folder else ""
        while folder and f"{folder}/index" not in children:
            folder = folder.rsplit("/", 1)[0] if "/" in folder else ""
        children[f"{folder}/index" if folder else root].append(doc)
        placed.add(doc)
        if _is_index(doc):
            children[doc] = []
            follow(doc)
    env.shendu_toctrees = children
    # a page's toctree changes when pages come or go: reread the index pages every time
    docnames.extend(doc for doc in children if doc not in docnames)


def append_toctree(app, docname, source):
    """source-read: add the planned hidden toctree at the end of an index page."""
    children = getattr(app.env, "shendu_toctrees", {}).get(docname)
    if not children:
        return
    here = docname.rsplit("/", 1)[0] + "/" if "/" in docname else ""
    entries = []
    for child in children:
        entries.append("/" + child if not child.startswith(here) else child[len(here):])
    source[0] += "\n\n```{toctree}\n:hidden:\n:maxdepth: 2\n\n" + "\n".join(entries) + "\n```\n"


# --- the API reference -------------------------------------------------------------------------------

def _short_repr(value, limit=70):
    """A one-line repr for a constant, or its type when the repr is long."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else f"<{type(value).__module__}.{type(value).__qualname__}>"


def _entry(group, name, value, alias):
    """The reST that documents one public name of ``group``."""
    full = f"{group}.{name}"
    if alias:
        kind = "class" if inspect.isclass(value) else "function" if inspect.isroutine(value) else "data"
        return (f".. py:{kind}:: {name}\n   :no-index-entry:\n\n"
                f"   The same object as :py:obj:`{alias}`.\n")
    if inspect.isclass(value):
        return f".. autoclass:: {full}\n   :members:\n   :show-inheritance:\n"
    if inspect.isroutine(value):
        return f".. autofunction:: {full}\n"
    # a constant: its value, not the docstring of its type (a dict's or a NumPy dtype's)
    value_text = _short_repr(value).replace("\\", "\\\\")
    return f".. py:data:: {name}\n   :value: {value_text}\n"


def _rest_problems(env, text):
    """The warnings that parsing ``text`` as reST would give, collected instead of reported."""
    settings = get_default_settings(RestParser)
    settings.env = env  # Sphinx's roles and directives read it
    settings.warning_stream = io.StringIO()
    settings.report_level, settings.halt_level = 2, 5
    settings.file_insertion_enabled = settings.raw_enabled = False
    document = new_document("<docstring>", settings)
    RestParser().parse(text, document)
    # |x − y| is an absolute value to a reader and a substitution to docutils (checked at a later stage)
    unknown = {ref["refname"] for ref in document.findall(nodes.substitution_reference)}
    unknown -= set(document.substitution_defs)
    return settings.warning_stream.getvalue() + "".join(f"undefined substitution |{name}|\n" for name in unknown)


def verbatim_if_not_rest(app, what, name, obj, options, lines):
    """autodoc-process-docstring: a docstring that is not valid reST is shown as written, verbatim.

    shendu's docstrings are plain text first (formulas with ``*`` and ``|``, shapes, tables), read in
    the source and by ``help()``; most are also valid reST, and those are rendered as reST. The others
    would be mangled (a ``*`` taken for emphasis) and warn: they are shown exactly as in the source.
    """
    if not lines or not _rest_problems(app.env, "\n".join(lines)):
        return
    body = [("    " + line) if line.strip() else "" for line in lines]
    lines[:] = ["::", ""] + body + [""]


def api_pages():
    """{relative path: Markdown text} of the API reference, from publicapi's definition."""
    groups = publicapi.public_groups()
    aliases = publicapi.homes(groups)
    pages = {}
    index = ["# API reference", "",
             "Generated from the docstrings at each build (docs/_ext/shendu_site.py): every public name of",
             "shendu, one page per package or exported module, as docs/_ext/publicapi.py defines them.",
             "A name exported by several packages is documented once, where it lives, and listed as an",
             "alias elsewhere.", ""]
    for group, names in groups.items():
        module = importlib.import_module(group)
        body = [f"# `{group}`", "", "```{eval-rst}", f".. automodule:: {group}", "", f".. currentmodule:: {group}", ""]
        for name in names:
            body.append(_entry(group, name, getattr(module, name), aliases.get((group, name))))
        if not names:
            body.append("(No names of its own: its modules are the pages listed under it.)\n")
        body.append("```")
        pages[f"{group}.md"] = "\n".join(body) + "\n"
        index.append(f"- [`{group}`]({group}.md) — {len(names)} names")
    pages["index.md"] = "\n".join(index) + "\n"
    return pages


def write_api_pages(app, config):
    """config-inited: (re)write docs/api/ where it changed; remove pages of groups that are gone."""
    folder = pathlib.Path(app.srcdir) / API_DIR
    folder.mkdir(exist_ok=True)
    pages = api_pages()
    for relative, text in pages.items():
        path = folder / relative
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    for stale in folder.glob("*.md"):
        if stale.name not in pages:
            stale.unlink()


# --- MathJax, offline --------------------------------------------------------------------------------

MATHJAX_PARTS = ("tex-chtml.js", "input", "output/chtml", "output/chtml.js", "ui", "a11y", "sre", "adaptors")


def mathjax_source():
    """The directory of MathJax 3's combined components in the django-static-mathjax package."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MathJax for the site comes from the django-static-mathjax package: "
                           'pip install ".[docs]"')
    folder = pathlib.Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax" / "es5"
    if not (folder / "tex-chtml.js").is_file():
        raise RuntimeError(f"no tex-chtml.js under {folder}: django-static-mathjax 3.x is needed")
    return folder


def copy_mathjax(app, exception):
    """build-finished: copy MathJax into _static/mathjax (the pages load it by a relative path)."""
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = pathlib.Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src = source / part
        if src.is_dir():
            shutil.copytree(src, target / part, dirs_exist_ok=True)
        elif src.is_file():
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)


# --- search: English, and Chinese words too ----------------------------------------------------------

CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
CJK_LONGEST_WORD = 4  # 感知机, 反向传播, 梯度下降: the terms of the glossary are 2 to 4 characters


class SearchEnglishAndChinese(SearchEnglish):
    """English search (stemming, stop words), which also finds Chinese words in the Chinese pages.

    Chinese has no spaces, so a run of Chinese characters is one "word" to the English splitter and a
    search for 卷积 would not find 卷积神经网络. Each run is also indexed by its pieces of 1 to
    ``CJK_LONGEST_WORD`` characters, which the browser's search looks up as whole terms.
    """

    lang = "en"

    def split(self, input):
        words = super().split(input)
        for run in CJK_RUN.findall(input):
            words += [run[i:i + n] for n in range(1, CJK_LONGEST_WORD + 1) for i in range(len(run) - n + 1)]
        return words


def setup(app):
    os.environ["MPLBACKEND"] = "Agg"  # figures render off screen, as in tests/test_docs.py
    app.connect("config-inited", write_api_pages)
    app.connect("env-before-read-docs", plan_toctrees)
    app.connect("source-read", append_toctree)
    app.connect("env-get-outdated", pages_with_code)
    app.connect("doctree-read", execute_page_code, priority=100)  # before the image collector (500)
    app.connect("build-finished", copy_mathjax)
    app.connect("autodoc-process-docstring", verbatim_if_not_rest, priority=900)  # after napoleon (500)
    app.add_css_file("shendu.css")
    app.add_search_language(SearchEnglishAndChinese)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True, "env_version": 1}
