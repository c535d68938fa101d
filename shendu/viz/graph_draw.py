"""Drawing a :class:`~shendu.viz.graph.Graph`: a layered layout (:mod:`.layout`) written as SVG
by hand (no Graphviz, no matplotlib), or drawn with matplotlib for PNG/PDF.

Boxes: ops blue, parameters green, inputs yellow, other tensors grey, outputs orange; each
shows its label and shape. Edges run downwards from producer to consumer, as cubic Bézier
curves ending in an arrow; an edge that spans several ranks runs through the places the
layout kept for it on each rank it crosses, beside the boxes rather than through them.
"""
from __future__ import annotations

import os
from xml.sax.saxutils import escape

from .._extras import require
from ..serialization import atomic_write
from . import layout

FILL = {"op": "#dbeafe", "parameter": "#dcfce7", "input": "#fef9c3", "tensor": "#e5e7eb", "constant": "#f3f4f6",
        "output": "#fed7aa"}
STROKE = {"op": "#1d4ed8", "parameter": "#15803d", "input": "#a16207", "tensor": "#4b5563", "constant": "#9ca3af",
          "output": "#c2410c"}
HEIGHT, CHAR, PAD, MARGIN = 36, 6.6, 14, 20  # box height, width of a character at 11 px, padding, margin (px)


def place(graph):
    """``(xy, width, routes)``: node centres and box widths in pixels (the drawing's top-left at
    (0, 0)), and for each long edge the points it passes through (:func:`layout.layered`)."""
    ids = [n.id for n in graph.nodes]
    width = {n.id: max(len(t) for t in n.text()) * CHAR + 2 * PAD for n in graph.nodes}
    xy, routes = layout.layered(ids, graph.edges, width.__getitem__, height=HEIGHT)
    x0 = min((xy[i][0] - width[i] / 2 for i in ids), default=0) - MARGIN
    x0 = min([x0] + [x - MARGIN for pts in routes.values() for x, _ in pts])
    move = lambda p: (p[0] - x0, p[1] + MARGIN)  # noqa: E731
    return ({i: move(p) for i, p in xy.items()}, width,
            {e: [move(p) for p in pts] for e, pts in routes.items()})


def _segments(start, via, end):
    """The cubic Bézier segments of an edge: from the bottom of the start box, through each point
    of ``via`` (crossing its rank vertically), to just above the end box: [(p0, c1, c2, p1), …]."""
    points = [(start[0], start[1] + HEIGHT / 2)]
    for x, y in via:
        points += [(x, y - HEIGHT / 2), (x, y + HEIGHT / 2)]
    points.append((end[0], end[1] - HEIGHT / 2 - 3))
    segments = []
    for i in range(0, len(points) - 1, 2):
        (x1, y1), (x2, y2) = points[i], points[i + 1]
        mid = (y1 + y2) / 2
        segments.append(((x1, y1), (x1, mid), (x2, mid), (x2, y2)))
        if i + 2 < len(points):  # the straight run through a dummy's rank
            segments.append(((x2, y2), (x2, y2), points[i + 2], points[i + 2]))
    return segments


def _curve(start, via, end):
    """An SVG path from the bottom of one box to the top of another."""
    parts = []
    for i, (p0, c1, c2, p1) in enumerate(_segments(start, via, end)):
        if i == 0:
            parts.append(f"M{p0[0]:.1f},{p0[1]:.1f}")
        parts.append(f"C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {p1[0]:.1f},{p1[1]:.1f}")
    return " ".join(parts)


def to_svg(graph):
    """The graph as a standalone SVG document: one ``<g class="node {kind}">`` per node, one
    ``<path class="edge">`` per edge."""
    xy, width, routes = place(graph)
    w, h = _extent(xy, width, routes)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}" '
           f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#374151"/></marker></defs>',
           f'<rect width="{w:.0f}" height="{h:.0f}" fill="white"/>']
    for s, d in graph.edges:
        out.append(f'<path class="edge" d="{_curve(xy[s], routes.get((s, d), ()), xy[d])}" fill="none" stroke="#6b7280" '
                   f'stroke-width="1.2" marker-end="url(#arrow)"/>')
    for n in graph.nodes:
        x, y = xy[n.id]
        bw = width[n.id]
        label, shape = (escape(t) for t in n.text())
        rx = 14 if n.kind != "op" else 5
        out.append(f'<g class="node {n.kind}"><title>{escape(n.kind)} {label} {shape}</title>'
                   f'<rect x="{x - bw / 2:.1f}" y="{y - HEIGHT / 2:.1f}" width="{bw:.1f}" height="{HEIGHT}" rx="{rx}" '
                   f'fill="{FILL[n.kind]}" stroke="{STROKE[n.kind]}"/>'
                   f'<text x="{x:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-weight="bold">{label}</text>'
                   f'<text x="{x:.1f}" y="{y + 11:.1f}" text-anchor="middle" fill="#374151">{shape}</text></g>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _extent(xy, width, routes):
    """The drawing's width and height in pixels."""
    w = max([xy[i][0] + width[i] / 2 for i in xy] + [x for pts in routes.values() for x, _ in pts], default=0)
    h = max((xy[i][1] + HEIGHT / 2 for i in xy), default=0)
    return w + MARGIN, h + MARGIN


def _draw_matplotlib(graph, path):
    from ._figure import new_figure, save_figure
    mpath = require("matplotlib.path", "viz", "Graph.save")
    patches = require("matplotlib.patches", "viz", "Graph.save")
    xy, width, routes = place(graph)
    w, h = _extent(xy, width, routes)
    fig = new_figure("Graph.save", figsize=(w / 72, h / 72), dpi=100)
    fig.set_layout_engine(None)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, w), ylim=(h, 0))
    ax.axis("off")
    for s, d in graph.edges:
        segments = _segments(xy[s], routes.get((s, d), ()), xy[d])
        vertices = [segments[0][0]] + [p for seg in segments for p in seg[1:]]
        codes = [mpath.Path.MOVETO] + [mpath.Path.CURVE4] * (3 * len(segments))
        ax.add_patch(patches.FancyArrowPatch(path=mpath.Path(vertices, codes), arrowstyle="-|>", color="#6b7280",
                                             lw=1, mutation_scale=10))
    for n in graph.nodes:
        x, y = xy[n.id]
        bw = width[n.id]
        ax.add_patch(patches.FancyBboxPatch((x - bw / 2, y - HEIGHT / 2), bw, HEIGHT,
                                            boxstyle="round,pad=0,rounding_size=5", fc=FILL[n.kind],
                                            ec=STROKE[n.kind]))
        label, shape = n.text()
        ax.text(x, y - 5, label, ha="center", va="center", fontsize=8, fontweight="bold")
        ax.text(x, y + 9, shape, ha="center", va="center", fontsize=7, color="#374151")
    return save_figure(fig, path)


def save(graph, path):
    """Write ``graph`` to ``path`` (SVG by hand; PNG/PDF through matplotlib). Returns ``path``."""
    if os.fspath(path).lower().endswith(".svg"):
        text = to_svg(graph)
        atomic_write(path, lambda f: f.write(text.encode("utf-8")))
        return path
    return _draw_matplotlib(graph, path)
