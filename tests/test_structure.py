"""The package's structure: nothing patches another module, nothing reaches into another module's private names.

Read from the source with ``ast`` (nothing is imported or run):

* no assignment to an attribute of an imported module or class (``Module.fit = fit``,
  ``backend._rng = stub``, ``Function.apply = ...``), and no ``setattr``/``delattr`` on one;
* no ``from x import _private`` across modules and no ``module._private`` attribute reads
  (dunders such as ``__name__`` are public).

A lower layer calling a documented hook of a higher one is fine; rewriting it is not.
"""
from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "shendu"
FILES = sorted(PACKAGE.rglob("*.py"))


def _private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_path(path, node):
    """The folder of the shendu package an ImportFrom reads from, or None for modules outside shendu."""
    if node.level:
        base = path.parent
        for _ in range(node.level - 1):
            base = base.parent
    elif node.module and (node.module == "shendu" or node.module.startswith("shendu.")):
        base = PACKAGE.parent
        node = ast.ImportFrom(module=node.module, names=node.names, level=0)
    else:
        return None
    for part in (node.module or "").split(".") if node.module else []:
        base = base / part
    return base


def _shendu_names(path, tree):
    """Names that imports bind to shendu objects: {name: True if it is a module, False otherwise}."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "shendu" or a.name.startswith("shendu."):
                    names[(a.asname or a.name).split(".")[0]] = True
        elif isinstance(node, ast.ImportFrom):
            folder = _module_path(path, node)
            if folder is None:
                continue
            for a in node.names:
                if a.name != "*":
                    names[a.asname or a.name] = (folder / f"{a.name}.py").exists() or (folder / a.name).is_dir()
    return names


def _base_name(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def violations(path, package=None):
    """Every place in ``path`` that patches or reaches into another shendu module, as readable lines."""
    tree = ast.parse(path.read_text(), str(path))
    imported = _shendu_names(path, tree)
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to((package or PACKAGE).parent)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and _module_path(path, node) is not None:
            found += [f"{where}: imports the private name {a.name!r} from {node.module or '.'}"
                      for a in node.names if _private(a.name)]
        targets = []
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        for t in targets:
            for sub in (t.elts if isinstance(t, ast.Tuple) else [t]):
                if isinstance(sub, ast.Attribute) and _base_name(sub) in imported:
                    found.append(f"{where}: assigns {ast.unparse(sub)} of an imported module or class")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr")
                and node.args and _base_name(node.args[0]) in imported):
            found.append(f"{where}: {node.func.id} on the imported {ast.unparse(node.args[0])}")
        if (isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name)
                and imported.get(node.value.id)):
            found.append(f"{where}: reads the private {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_no_module_patches_or_reaches_into_another(path):
    assert violations(path) == []


def test_the_checker_catches_each_kind(tmp_path):
    pkg = tmp_path / "shendu"
    (pkg / "nn").mkdir(parents=True)
    (pkg / "backend.py").write_text("")
    bad = pkg / "nn" / "bad.py"
    bad.write_text("from shendu import backend\nfrom shendu.nn import Module\nfrom .x import _helper\n"
                   "import os\nos.environ['A'] = '1'\nx = os._exit\n"
                   "Module.fit = len\nbackend._rng = None\nsetattr(Module, 'evaluate', len)\n"
                   "x = backend._rng\ny = Module._wrap\n")
    found = " | ".join(violations(bad, package=pkg))
    for needle in ("private name '_helper'", "assigns Module.fit", "assigns backend._rng", "setattr on the imported",
                   "reads the private backend._rng"):
        assert needle in found, (needle, found)
    for allowed in ("os.environ", "os._exit", "Module._wrap"):  # not shendu / a class's internal protocol
        assert allowed not in found, (allowed, found)
