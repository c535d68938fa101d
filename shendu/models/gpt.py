"""GPT: a decoder-only Transformer language model (Radford et al. 2018, 2019), as nanoGPT lays it out.

    x₀ = E[tokens] + P[positions]                          token and position embeddings
    xₗ = xₗ₋₁ + Attn(LN(xₗ₋₁));  xₗ = xₗ + MLP(LN(xₗ))       n_layer pre-norm blocks
    logits = LN(x) Eᵀ                                       the head shares E (weight tying)

Attn is causal multi-head self-attention (each position sees itself and the past);
MLP(x) = W₂ GELU(W₁ x), 4× wider inside. Trained with cross-entropy on next-token
prediction; :meth:`GPT.generate` then samples one token at a time.

Parameter names follow nanoGPT (``transformer.wte``, ``transformer.h.0.attn.c_attn``…), the
de-facto layout of small GPTs.
"""
from __future__ import annotations

import math

from .. import backend
from .. import functional as F
from ..autograd import no_grad
from ..backend import xp
from ..nn import Dropout, Embedding, LayerNorm, Linear, Module, ModuleDict, ModuleList, RotaryEmbedding, init
from ..tensor import Tensor
from .sampling import next_token


class CausalSelfAttention(Module):
    """Causal multi-head self-attention with one fused query/key/value projection ``c_attn`` (E → 3E),
    the fused :func:`~shendu.functional.scaled_dot_product_attention` (``is_causal``), and ``c_proj``;
    optionally rotary position embeddings on queries and keys."""

    def __init__(self, n_embd, n_head, block_size, dropout=0.0, bias=True, rotary=False):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd must be divisible by n_head, got n_embd={n_embd}, "
                             f"n_head={n_head}")
        self.n_head, self.n_embd, self.dropout = int(n_head), int(n_embd), float(dropout)
        self.c_attn = Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = Dropout(dropout)
        self.rotary = RotaryEmbedding(n_embd // n_head, max_len=block_size) if rotary else None

    def forward(self, x):
        N, T, E = x.shape
        h = self.n_head
        q, k, v = (t.reshape(N, T, h, E // h).transpose(1, 2)        # (N, h, T, d) each
                   for t in self.c_attn(x).split(E, dim=2))             # one Split node for the three
        if self.rotary is not None:
            q, k = self.rotary(q), self.rotary(k)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, dropout_p=self.dropout if self.training else 0.0)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(N, T, E)))


class MLP(Module):
    """x → c_proj(GELU(c_fc(x))), 4·E wide inside, then dropout."""

    def __init__(self, n_embd, dropout=0.0, bias=True):
        super().__init__()
        self.c_fc = Linear(n_embd, 4 * n_embd, bias=bias)
        self.c_proj = Linear(4 * n_embd, n_embd, bias=bias)
        self.dropout = Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(F.gelu(self.c_fc(x))))


class Block(Module):
    """A pre-norm Transformer block: x + Attn(LN₁(x)), then + MLP(LN₂(x))."""

    def __init__(self, n_embd, n_head, block_size, dropout=0.0, bias=True, rotary=False):
        super().__init__()
        self.ln_1 = LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size, dropout, bias, rotary)
        self.ln_2 = LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(Module):
    """A decoder-only Transformer language model over a vocabulary of ``vocab_size`` tokens.

    Args:
        vocab_size: number of token ids. block_size: the context length (longest input).
        n_layer, n_head, n_embd: depth, heads, width (defaults 4, 4, 128).
        dropout: on embeddings, attention weights and residual branches (default 0).
        bias: biases in the linear layers and layer norms (default False, as nanoGPT's small models).
        rotary: rotary embeddings on queries and keys instead of learned absolute positions.

    Initialisation (GPT-2's): linear and embedding weights N(0, 0.02²), the residual projections
    N(0, (0.02/√(2·n_layer))²), biases 0. The head's weight *is* the token embedding (tied).

    Call: ``model(idx) -> logits``. Shape: idx (N, T) int64, T ≤ block_size -> logits (N, T, vocab_size).

    Example:
        >>> model = GPT(vocab_size=65, block_size=64)           # the 4-layer, 128-wide character model
        >>> model.num_parameters()
        804096
        >>> model(shendu.tensor([[1, 2, 3]])).shape
        (1, 3, 65)
    """

    def __init__(self, vocab_size, block_size, n_layer=4, n_head=4, n_embd=128, dropout=0.0, bias=False,
                 rotary=False):
        super().__init__()
        self.vocab_size, self.block_size = int(vocab_size), int(block_size)
        self.n_layer, self.rotary = int(n_layer), bool(rotary)
        parts = dict(wte=Embedding(vocab_size, n_embd), drop=Dropout(dropout),
                     h=ModuleList([Block(n_embd, n_head, block_size, dropout, bias, rotary) for _ in range(n_layer)]),
                     ln_f=LayerNorm(n_embd, bias=bias))
        if not rotary:
            parts["wpe"] = Embedding(block_size, n_embd)
        self.transformer = ModuleDict(parts)
        self.lm_head = Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.transformer["wte"].weight  # weight tying (Press & Wolf 2017)
        for name, module in self.named_modules():
            if isinstance(module, (Linear, Embedding)):
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj") else 0.02
                init.normal_(module.weight, 0.0, std)
                if getattr(module, "bias", None) is not None:
                    init.zeros_(module.bias)

    def forward(self, idx):
        if idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ValueError(f"GPT: expected token ids of shape (N, T) and an integer dtype, got shape "
                             f"{tuple(idx.shape)} and dtype {idx.dtype}")
        T = idx.shape[1]
        if T > self.block_size:
            raise ValueError(f"GPT: cannot forward a sequence of length {T}, the block size is {self.block_size}")
        t = self.transformer
        x = t["wte"](idx)
        if not self.rotary:
            x = x + t["wpe"](Tensor(xp.arange(T, dtype=backend.int64)))
        x = t["drop"](x)
        for block in t["h"]:
            x = block(x)
        return self.lm_head(t["ln_f"](x))

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, greedy=False, stream=None):
        """Append ``max_new_tokens`` sampled tokens to ``idx`` (N, T) (or (T,)), feeding each back in.

        Each step crops the context to the last ``block_size`` tokens, takes the last position's
        logits, divides them by ``temperature``, keeps the ``top_k`` largest, and draws from the
        softmax (the generator :func:`shendu.manual_seed` seeds); ``greedy`` takes the argmax.
        ``stream(ids)`` is called with each new column of ids (N,) as soon as it is drawn.
        Runs in eval mode without recording a graph.

        Returns: int64 array (N, T + max_new_tokens) (or 1-d for a 1-d ``idx``).
        """
        ids = idx.data if isinstance(idx, Tensor) else xp.asarray(idx)
        single = ids.ndim == 1
        ids = ids.reshape(1, -1).astype(backend.int64) if single else ids.astype(backend.int64)
        if ids.shape[1] == 0:
            raise ValueError("GPT.generate: the prompt needs at least one token")
        if ids.min() < 0 or ids.max() >= self.vocab_size:
            raise ValueError(f"GPT.generate: prompt ids must be in [0, {self.vocab_size}), got "
                             f"[{ids.min()}, {ids.max()}]")
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(int(max_new_tokens)):
                    logits = self(Tensor(ids[:, -self.block_size:])).numpy()[:, -1]
                    nxt = next_token(logits, temperature, top_k, greedy, who="GPT.generate")
                    ids = xp.concatenate([ids, nxt[:, None]], axis=1)
                    if stream is not None:
                        stream(nxt)
        finally:
            self.train(was_training)
        return ids[0] if single else ids


__all__ = ["GPT", "Block", "CausalSelfAttention", "MLP"]
