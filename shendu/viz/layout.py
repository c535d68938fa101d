"""A layered drawing of a directed acyclic graph (Sugiyama's method, simplified).

1. Ranks: each node's rank is the length of the longest path reaching it from a source
   (a topological order, Kahn's algorithm); a source is then moved down to just above its
   first consumer, so that parameters sit beside the op that uses them.
2. Order within a rank: a few sweeps that sort each rank by the barycentre (mean position)
   of the node's neighbours in the ranks above (downward sweep) or below (upward sweep),
   which removes most edge crossings.
3. Coordinates: rank r at y = r · (height + gap); the nodes of a rank side by side, each
   pulled towards the mean x of its neighbours (Brandes–Köpf's aim, by a simpler rule).
"""
from __future__ import annotations


def ranks(nodes, edges):
    """``{node: rank}`` for a DAG given as node ids and (src, dst) edges; ValueError on a cycle."""
    preds = {n: [] for n in nodes}
    succs = {n: [] for n in nodes}
    for s, d in edges:
        preds[d].append(s)
        succs[s].append(d)
    indegree = {n: len(preds[n]) for n in nodes}
    queue = [n for n in nodes if indegree[n] == 0]
    rank, order = {}, []
    while queue:
        n = queue.pop()
        order.append(n)
        rank[n] = max((rank[p] + 1 for p in preds[n]), default=0)
        for d in succs[n]:
            indegree[d] -= 1
            if indegree[d] == 0:
                queue.append(d)
    if len(order) != len(nodes):
        raise ValueError("layout: the graph has a cycle")
    for n in nodes:  # sources: just above the first consumer
        if not preds[n] and succs[n]:
            rank[n] = min(rank[d] for d in succs[n]) - 1
    return rank


def order_ranks(nodes, edges, rank, sweeps=4):
    """``[[node, …] per rank]``, each rank ordered to reduce crossings (module docstring, step 2)."""
    layers = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for n in nodes:  # discovery order first: keeps a chain's nodes aligned
        layers[rank[n]].append(n)
    preds = {n: [] for n in nodes}
    succs = {n: [] for n in nodes}
    for s, d in edges:
        preds[d].append(s)
        succs[s].append(d)

    def position():
        return {n: (i + 0.5) / len(layer) for layer in layers for i, n in enumerate(layer)}

    for sweep in range(sweeps):
        down = sweep % 2 == 0
        for r in (range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)):
            pos = position()
            neighbours = preds if down else succs

            def key(n):
                near = [pos[m] for m in neighbours[n]]
                return sum(near) / len(near) if near else pos[n]

            layers[r].sort(key=key)
    return layers


def coordinates(layers, width_of, edges=(), height=36, gap=34, spacing=18):
    """``{node: (x_centre, y_centre)}``: ranks stacked downwards (module docstring, step 3).

    Each rank starts centred on x = 0; then, rank by rank downwards, each node moves towards
    the mean x of its predecessors, and upwards, each source towards its consumers (nodes keep
    their order and at least ``spacing`` between boxes), so that chains of ops run straight."""
    preds, succs = {}, {}
    for s, d in edges:
        preds.setdefault(d, []).append(s)
        succs.setdefault(s, []).append(d)
    x = {}
    for layer in layers:
        total = sum(width_of(n) for n in layer) + spacing * max(len(layer) - 1, 0)
        left = -total / 2
        for n in layer:
            x[n] = left + width_of(n) / 2
            left += width_of(n) + spacing

    def settle(layer, want):
        """Positions as near ``want`` as the order and spacing allow: push right where boxes would
        overlap, then shift the rank by the mean error of its non-source nodes, so that sources (parameters) give way."""
        placed = []
        for i, n in enumerate(layer):
            p = want[n]
            if i:
                p = max(p, placed[-1] + (width_of(layer[i - 1]) + width_of(n)) / 2 + spacing)
            placed.append(p)
        anchored = [i for i, n in enumerate(layer) if n in preds] or range(len(layer))  # sources give way
        shift = sum(want[layer[i]] - placed[i] for i in anchored) / len(anchored)
        for n, p in zip(layer, placed):
            x[n] = p + shift

    def mean_x(nodes):
        return sum(x[m] for m in nodes) / len(nodes)

    for layer in layers[1:]:  # follow the computed inputs (not the parameters): chains run straight
        settle(layer, {n: mean_x([p for p in preds[n] if p in preds] or preds[n]) if n in preds else x[n]
                       for n in layer})
    for layer in reversed(layers[:-1]):
        settle(layer, {n: mean_x(succs[n]) if n not in preds and n in succs else x[n] for n in layer})
    return {n: (x[n], r * (height + gap) + height / 2) for r, layer in enumerate(layers) for n in layer}
