"""Drawing a :class:`~shendu.viz.graph.Graph`: a layered layout (:mod:`.layout`) written as SVG
by hand (no Graphviz, no matplotlib), or drawn with matplotlib for PNG/PDF.

Boxes: ops blue, parameters green, inputs yellow, other tensors grey, outputs orange; each
shows its label and shape. Edges run downwards from producer to consumer, as cubic Bézier
curves ending in an arrow.
"""
from __future__ import annotations

import os
from xml.sax.saxutils import escape

from ..serialization import atomic_write
from . import layout

FILL = {"op": "#dbeafe", "parameter": "#dcfce7", "input": "#fef9c3", "tensor": "#e5e7eb", "constant": "#f3f4f6",
        "output": "#fed7aa"}
STROKE = {"op": "#1d4ed8", "parameter": "#15803d", "input": "#a16207", "tensor": "#4b5563", "constant": "#9ca3af",
          "output": "#c2410c"}
HEIGHT, CHAR, PAD, MARGIN = 36, 6.6, 14, 20  # box height, width of a character at 11 px, padding, margin (px)


def place(graph):
    """``({id: (x, y)}, {id: width})``: node centres and box widths, in pixels, the top-left at (0, 0)."""
    ids = [n.id for n in graph.nodes]
    width = {n.id: max(len(t) for t in n.text()) * CHAR + 2 * PAD for n in graph.nodes}
    rank = layout.ranks(ids, graph.edges)
    xy = layout.coordinates(layout.order_ranks(ids, graph.edges, rank), width.__getitem__, graph.edges,
                            height=HEIGHT)
    x0 = min((xy[i][0] - width[i] / 2 for i in ids), default=0)
    return {i: (x - x0 + MARGIN, y + MARGIN) for i, (x, y) in xy.items()}, width


def _curve(x1, y1, x2, y2):
    """An SVG path from the bottom of one box to the top of another."""
    y1, y2 = y1 + HEIGHT / 2, y2 - HEIGHT / 2 - 3
    mid = (y1 + y2) / 2
    return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"


def to_svg(graph):
    """The graph as a standalone SVG document: one ``<g class="node {kind}">`` per node, one
    ``<path class="edge">`` per edge."""
    xy, width = place(graph)
    w = max((xy[i][0] + width[i] / 2 for i in xy), default=0) + MARGIN
    h = max((xy[i][1] + HEIGHT / 2 for i in xy), default=0) + MARGIN
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.0f} {h:.0f}" '
           f'font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#374151"/></marker></defs>',
           f'<rect width="{w:.0f}" height="{h:.0f}" fill="white"/>']
    for s, d in graph.edges:
        out.append(f'<path class="edge" d="{_curve(*xy[s], *xy[d])}" fill="none" stroke="#6b7280" '
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


def _draw_matplotlib(graph, path):
    from ._figure import new_figure, save_figure
    xy, width = place(graph)
    w = max((xy[i][0] + width[i] / 2 for i in xy), default=0) + MARGIN
    h = max((xy[i][1] + HEIGHT / 2 for i in xy), default=0) + MARGIN
    fig = new_figure("Graph.save", figsize=(w / 72, h / 72), dpi=100)
    fig.set_layout_engine(None)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, w), ylim=(h, 0))
    ax.axis("off")
    patches = __import__("matplotlib.patches", fromlist=["FancyBboxPatch"])
    for s, d in graph.edges:
        (x1, y1), (x2, y2) = xy[s], xy[d]
        ax.annotate("", xy=(x2, y2 - HEIGHT / 2), xytext=(x1, y1 + HEIGHT / 2),
                    arrowprops={"arrowstyle": "-|>", "color": "#6b7280", "lw": 1,
                                "connectionstyle": "arc3,rad=0", "shrinkA": 0, "shrinkB": 1})
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
