"""What counts as shendu's public API: its groups (modules) and the public names of each.

The definition, used by the site's API reference (docs/_ext/shendu_site.py) and checked against the
built site by tests/test_site.py:

- **groups**: ``shendu`` and every subpackage (a directory with ``__init__.py``) none of whose dotted
  parts starts with ``_``; plus every ``shendu`` module that such a group *exports by name* (lists in
  its ``__all__``, or binds with an import statement of its own source, e.g. ``from . import linalg``,
  ``from . import functional``), again none of whose parts starts with ``_``. A submodule that Python
  binds on its parent only because the parent imported something from it (``from .conv import Conv2d``
  binds ``shendu.nn.conv``) is not exported.
- **public names of a group**: its ``__all__`` when it has one; otherwise, for a package, every name in
  its namespace not starting with ``_``; for a plain module, every name not starting with ``_`` that its
  own source defines at top level (``def``, ``class``, assignment: not what it imports).
  Modules among these names are groups, not names.

An object exported by several groups (``shendu.add`` is ``shendu.ops.add``) has one *home*: the group
whose name is the longest prefix of the object's ``__module__`` (else the first group, in group order,
that exports it); the reference documents it there and lists it in the other groups as an alias.
"""
import __future__
import ast
import importlib
import inspect
import pathlib
import pkgutil
import types

ROOT_PACKAGE = "shendu"


def is_public_module_name(name):
    """True when no dotted part of ``name`` starts with ``_``."""
    return not any(part.startswith("_") for part in name.split("."))


def _source_tree(module):
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py"):
        return ast.Module(body=[], type_ignores=[])
    return ast.parse(pathlib.Path(path).read_text(encoding="utf-8"))


def _imported_names(tree):
    """Names bound by the top-level import statements of a module's source."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def _defined_names(tree):
    """Names that a module's source binds at top level by def, class or assignment."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        names.add(leaf.id)
    return names


def _candidate_names(module):
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return list(declared)
    if hasattr(module, "__path__"):  # a package: its namespace is what its __init__ gathered
        return [n for n in vars(module) if not n.startswith("_")]
    return sorted(n for n in _defined_names(_source_tree(module)) if not n.startswith("_"))


def _is_shendu_module(value):
    return (isinstance(value, types.ModuleType) and value.__name__.split(".")[0] == ROOT_PACKAGE
            and is_public_module_name(value.__name__))


def public_groups(root=ROOT_PACKAGE):
    """``{group module name: sorted public names}`` for every public group, in a stable order."""
    package = importlib.import_module(root)
    pending = [root] + [info.name for info in pkgutil.walk_packages(package.__path__, root + ".")
                        if info.ispkg and is_public_module_name(info.name)]
    groups = {}
    while pending:
        name = pending.pop(0)
        if name in groups:
            continue
        module = importlib.import_module(name)
        exported = set(getattr(module, "__all__", ())) | _imported_names(_source_tree(module))
        names = []
        for attr in _candidate_names(module):
            value = getattr(module, attr)
            if isinstance(value, types.ModuleType):
                continue
            if isinstance(value, __future__._Feature):  # `from __future__ import annotations`
                continue
            names.append(attr)
        for attr in sorted(exported):
            value = getattr(module, attr, None)
            if not attr.startswith("_") and _is_shendu_module(value) and value.__name__ not in groups:
                pending.append(value.__name__)
        groups[name] = sorted(names)
    return dict(sorted(groups.items()))


def _shares_identity(value):
    """Objects whose identity means something (not small ints or interned strings that coincide)."""
    return inspect.isclass(value) or inspect.isroutine(value) or callable(value)


def homes(groups):
    """``{(group, name): "home_group.home_name"}`` for each name that is an alias of one documented elsewhere."""
    owners = {}
    for group, names in groups.items():
        module = importlib.import_module(group)
        for name in names:
            value = getattr(module, name)
            if _shares_identity(value):
                owners.setdefault(id(value), (value, []))[1].append((group, name))
    aliases = {}
    for value, places in owners.values():
        if len(places) < 2:
            continue
        where = getattr(value, "__module__", None) or ""
        own_name = getattr(value, "__name__", None)

        def rank(place):
            group, name = place
            prefix = where == group or where.startswith(group + ".")
            return (not prefix, -len(group) if prefix else 0, name != own_name, list(groups).index(group), name)

        home = min(places, key=rank)
        for place in places:
            if place != home:
                aliases[place] = f"{home[0]}.{home[1]}"
    return aliases
