"""Sphinx configuration of shendu's site (build: see docs/index.md, "Building this site")."""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # the checkout's shendu, whether or not it is installed

project = "shendu"
author = "the shendu authors"
copyright = "the shendu authors, MIT licence"  # noqa: A001
release = version = "0.1.0"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "shendu_site",
]
root_doc = "index"
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_ext", "_static", "**/img"]
language = "en"

# MyST: GitHub's Markdown plus $…$ / $$…$$ math and heading anchors, so pages read the same in both places
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 4

# the API reference: docstrings as they are written (NumPy/Google sections through napoleon)
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {}
napoleon_google_docstring = True
napoleon_numpy_docstring = True

# MathJax 3 served from the build (docs/_ext/shendu_site.py copies it into _static/mathjax)
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "furo"
html_title = "shendu"
html_static_path = ["_static"]
html_theme_options = {"source_directory": "docs/"}
html_last_updated_fmt = None

# Several packages export classes of the same short name (shendu.optim.Optimizer and Keras's
# shendu.keras.optimizers.Optimizer): a type annotation naming `Optimizer` resolves to the first and
# Sphinx says so once per use. Those notices are the only ones silenced; every other warning fails -W.
suppress_warnings = ["ref.python"]
