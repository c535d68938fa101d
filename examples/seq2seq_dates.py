"""Attention in an RNN encoder–decoder: normalising dates written in many formats ("3 May 1979",
"05/03/79", "Thursday, May 3, 1979", …) to ISO 8601 ("1979-05-03"), with Bahdanau's additive attention.

1. dates from 1950 to 2049 written in 12 formats; 10,000 to train, 1,000 other dates to test;
2. encoder: character embeddings → bidirectional GRU (padded batches through ``lengths``);
3. decoder: a GRU cell that at each of the 10 output characters attends over the encoder's outputs
   (``nn.AdditiveAttention``, padding masked out), reads the context and its previous character;
   trained with teacher forcing, decoded greedily;
4. reports the exact-match accuracy on the test dates and draws the attention map of one of them
   (which input characters each output character looked at) to ``OUT/attention.png``.

Run:  python examples/seq2seq_dates.py [--epochs 8] [--out runs/seq2seq_dates]
"""
import argparse
import datetime
import pathlib
import time

import numpy as np

import shendu
import shendu.functional as F
from shendu import nn

FORMATS = ["%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d", "%d.%m.%Y",
           "%A, %d %B %Y", "%A, %B %d, %Y", "%a %d %b %y", "%Y%m%d"]
OUTPUT = "0123456789-"
PAD, START = 0, 1          # output ids: PAD, START, then OUTPUT's characters


def make_dates(n, rng, exclude=frozenset()):
    """``n`` (human, ISO) pairs of distinct random dates outside ``exclude`` (ISO strings)."""
    first = datetime.date(1950, 1, 1).toordinal()
    span = datetime.date(2049, 12, 31).toordinal() - first
    pairs, seen = [], set(exclude)
    while len(pairs) < n:
        d = datetime.date.fromordinal(first + int(rng.integers(0, span + 1)))
        iso = d.isoformat()
        if iso in seen:
            continue
        seen.add(iso)
        pairs.append((d.strftime(FORMATS[int(rng.integers(0, len(FORMATS)))]).lower(), iso))
    return pairs


class Encoding:
    """Character ids of the inputs (0 = padding) and of the ISO outputs."""

    def __init__(self, texts):
        self.chars = sorted({c for t in texts for c in t})
        self.ids = {c: i + 1 for i, c in enumerate(self.chars)}

    def inputs(self, texts):
        ids = np.zeros((len(texts), max(map(len, texts))), dtype=np.int64)
        for r, t in enumerate(texts):
            ids[r, :len(t)] = [self.ids[c] for c in t]
        return ids, np.array([len(t) for t in texts])

    @staticmethod
    def outputs(isos):
        return np.array([[2 + OUTPUT.index(c) for c in iso] for iso in isos], dtype=np.int64)


class DateNormaliser(nn.Module):
    """Encoder (embeddings + bidirectional GRU) and an attentive GRU decoder (Bahdanau et al. 2014)."""

    def __init__(self, in_vocab, out_vocab=len(OUTPUT) + 2, emb=32, hidden=64):
        super().__init__()
        self.src_emb = nn.Embedding(in_vocab, emb)
        self.encoder = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden, 2 * hidden)
        self.tgt_emb = nn.Embedding(out_vocab, emb)
        self.attention = nn.AdditiveAttention(query_dim=2 * hidden, key_dim=2 * hidden)
        self.cell = nn.GRUCell(emb + 2 * hidden, 2 * hidden)
        self.out = nn.Linear(4 * hidden, out_vocab)

    def encode(self, src, lengths):
        keys, h = self.encoder(self.src_emb(src), lengths=lengths)            # (N, S, 2H), (2, N, H)
        state = self.bridge(shendu.concatenate([h[0], h[1]], axis=1)).tanh()
        return keys, state

    def step(self, prev, state, keys, mask):
        context, weights = self.attention(state, keys, mask=mask)
        state = self.cell(shendu.concatenate([self.tgt_emb(prev), context], axis=1), state)
        return self.out(shendu.concatenate([state, context], axis=1)), state, weights

    def forward(self, src, lengths, tgt):
        """Teacher forcing: logits (N, T, out_vocab) for targets ``tgt`` (N, T)."""
        keys, state = self.encode(src, lengths)
        mask = src != PAD
        prev = shendu.full((src.shape[0],), START, dtype=shendu.int64)
        logits = []
        for t in range(tgt.shape[1]):
            step_logits, state, _ = self.step(prev, state, keys, mask)
            logits.append(step_logits)
            prev = tgt[:, t]
        return shendu.stack(logits, axis=1)

    @shendu.no_grad()
    def translate(self, src, lengths, steps=10):
        """Greedy decoding: (ids (N, steps), attention weights (N, steps, S))."""
        keys, state = self.encode(src, lengths)
        mask = src != PAD
        prev = shendu.full((src.shape[0],), START, dtype=shendu.int64)
        ids, maps = [], []
        for _ in range(steps):
            step_logits, state, weights = self.step(prev, state, keys, mask)
            prev = step_logits.argmax(axis=1)
            ids.append(prev.numpy())
            maps.append(weights.numpy())
        return np.stack(ids, axis=1), np.stack(maps, axis=1)


def plot_attention(path, source, output, weights):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(0.35 * len(source) + 2, 4.2))
    ax.imshow(weights[:, :len(source)], cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(source)), list(source))
    ax.set_yticks(range(len(output)), list(output))
    ax.set_xlabel("input characters")
    ax.set_ylabel("output characters")
    ax.set_title("Bahdanau attention: where each output character looked")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(epochs=8, n_train=10000, n_test=1000, batch_size=64, seed=0, out=None):
    """Train and test; returns ``(test exact-match accuracy, seconds, path of the attention map or None)``."""
    shendu.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train = make_dates(n_train, rng)
    test = make_dates(n_test, rng, exclude={iso for _, iso in train})
    enc = Encoding([h for h, _ in train + test])
    x, lengths = enc.inputs([h for h, _ in train])
    y = enc.outputs([iso for _, iso in train])
    model = DateNormaliser(len(enc.chars) + 1)
    optimizer = shendu.optim.Adam(model.parameters(), lr=3e-3)
    t0 = time.perf_counter()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch_size):
            b = order[s:s + batch_size]
            width = int(lengths[b].max())
            logits = model(shendu.tensor(x[b, :width]), shendu.tensor(lengths[b]), shendu.tensor(y[b]))
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), shendu.tensor(y[b].reshape(-1)))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
    seconds = time.perf_counter() - t0
    model.eval()
    tx, tl = enc.inputs([h for h, _ in test])
    ids, maps = model.translate(shendu.tensor(tx), shendu.tensor(tl))
    decoded = ["".join(OUTPUT[i - 2] if i >= 2 else "?" for i in row) for row in ids]
    accuracy = float(np.mean([d == iso for d, (_, iso) in zip(decoded, test)]))
    path = None
    if out is not None:
        out = pathlib.Path(out)
        out.mkdir(parents=True, exist_ok=True)
        k = max(range(len(test)), key=lambda i: len(test[i][0]))    # the longest test input
        path = out / "attention.png"
        plot_attention(path, test[k][0], decoded[k], maps[k])
    return accuracy, seconds, path


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--out", default="runs/seq2seq_dates")
    a = p.parse_args()
    acc, seconds, path = main(a.epochs, out=a.out)
    print(f"exact match on 1,000 unseen dates: {acc:.1%} (trained in {seconds:.0f} s); attention map: {path}")
