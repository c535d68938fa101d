"""A layered drawing of a directed acyclic graph (Sugiyama's method, simplified).

1. Ranks: each node's rank is the length of the longest path reaching it from a source
   (a topological order, Kahn's algorithm); a source is then moved down to just above its
   first consumer, so that parameters sit beside the op that uses them. An edge that spans
   several ranks (a residual connection) gets a dummy node on each rank it crosses.
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


def split_long_edges(edges, rank):
    """Replace every edge spanning k > 1 ranks by a chain through k − 1 dummy nodes, one per rank
    in between, so that the ordering sweeps route it around the boxes.

    Returns ``(edges, rank, routes)``: the new edges, ranks with the dummies added, and
    ``{(src, dst): [dummy, …]}`` for each split edge (dummies are tuples ``("dummy", src, dst, r)``)."""
    out, routes, rank = [], {}, dict(rank)
    for s, d in edges:
        if rank[d] - rank[s] <= 1:
            out.append((s, d))
            continue
        chain = [("dummy", s, d, r) for r in range(rank[s] + 1, rank[d])]
        for node in chain:
            rank[node] = node[3]
        hops = [s, *chain, d]
        out.extend(zip(hops, hops[1:]))
        routes[(s, d)] = chain
    return out, rank, routes


def is_dummy(node):
    """Whether ``node`` is a dummy of :func:`split_long_edges`."""
    return isinstance(node, tuple) and len(node) == 4 and node[0] == "dummy"


def coordinates(layers, width_of, edges=(), height=36, gap=34, spacing=18):
    """``{node: (x_centre, y_centre)}``: ranks stacked downwards (module docstring, step 3).

    Each rank starts centred on x = 0; then, rank by rank downwards, each node moves towards
    the mean x of the ops feeding it, and upwards, each source towards its consumers (nodes keep
    their order and at least ``spacing`` between boxes). Sources (parameters) and dummies of
    long edges give way to the ops, so that chains of ops run straight."""
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
        overlap, then shift the rank by the mean error of its ops (sources and dummies give way)."""
        placed = []
        for i, n in enumerate(layer):
            p = want[n]
            if i:
                p = max(p, placed[-1] + (width_of(layer[i - 1]) + width_of(n)) / 2 + spacing)
            placed.append(p)
        anchored = ([i for i, n in enumerate(layer) if n in preds and not is_dummy(n)]
                    or [i for i, n in enumerate(layer) if n in preds] or range(len(layer)))
        shift = sum(want[layer[i]] - placed[i] for i in anchored) / len(anchored)
        for n, p in zip(layer, placed):
            x[n] = p + shift

    def mean_x(nodes):
        return sum(x[m] for m in nodes) / len(nodes)

    def feeding(n):  # the ops feeding n, else the dummies of long edges, else anything
        ops = [p for p in preds[n] if p in preds]
        return [p for p in ops if not is_dummy(p)] or ops or preds[n]

    for layer in layers[1:]:
        settle(layer, {n: mean_x(feeding(n)) if n in preds else x[n] for n in layer})
    for layer in reversed(layers[:-1]):
        settle(layer, {n: mean_x(succs[n]) if n not in preds and n in succs else x[n] for n in layer})
    return {n: (x[n], r * (height + gap) + height / 2) for r, layer in enumerate(layers) for n in layer}


def layered(nodes, edges, width_of, height=36, gap=34, spacing=18, dummy_width=6):
    """The whole layout: ``(xy, routes)`` with ``xy`` the centre of every node and ``routes``
    ``{(src, dst): [(x, y), …]}``, the points a long edge passes through (one per rank it crosses)."""
    rank = ranks(nodes, edges)
    split, rank, routes = split_long_edges(edges, rank)
    everything = list(nodes) + [d for chain in routes.values() for d in chain]
    width = lambda n: dummy_width if is_dummy(n) else width_of(n)  # noqa: E731
    xy = coordinates(order_ranks(everything, split, rank), width, split, height, gap, spacing)
    return ({n: xy[n] for n in nodes}, {e: [xy[d] for d in chain] for e, chain in routes.items()})
