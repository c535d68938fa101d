"""Recurrent models: a text classifier, a sequence-to-one regressor and a character-level language model.

All three are built from public layers (``nn.Embedding``, ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU``,
``nn.Linear``) and take batch-first inputs (N, L, …) with optional per-sequence ``lengths``.
"""
from __future__ import annotations

from .. import backend
from ..autograd import no_grad
from ..backend import xp
from ..nn import GRU, LSTM, RNN, Embedding, Linear, Module
from ..tensor import Tensor
from .sampling import next_token

_CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def _recurrent_layer(cell, input_size, hidden_size, num_layers, bidirectional, dropout, owner):
    if cell not in _CELLS:
        raise ValueError(f"{owner}: cell must be one of {sorted(_CELLS)}, received cell={cell!r}")
    return _CELLS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout,
                        bidirectional=bidirectional)


def _last_layer_state(rnn, state):
    """h_n of the last layer, both directions side by side: (N, D·H)."""
    h = state[0] if isinstance(state, tuple) else state  # (num_layers·D, N, H)
    D = 2 if rnn.bidirectional else 1
    last = h[h.shape[0] - D:]                              # (D, N, H)
    return last.transpose(1, 0, 2).reshape(h.shape[1], D * h.shape[2])


class TextClassifier(Module):
    """Token ids → class scores: Embedding → recurrent layer → dense on the final hidden state.

        e_t = E[w_t],   h_1 … h_L = RNN(e_1 … e_L),   logits = W·h_L + b

    With ``lengths`` the final state is each sequence's state at its last real token (padding
    never reaches it); a bidirectional layer contributes both directions' final states.

    Args:
        vocab_size: number of token ids.  embed_dim: size of the embeddings.
        hidden_size: H of the recurrent layer.  num_classes: number of output scores.
        cell: ``'lstm'`` (default), ``'gru'`` or ``'rnn'``.
        num_layers (1), bidirectional (False), dropout (0.0): the recurrent stack's options.
        padding_idx: the id of the padding token, whose embedding stays zero (default None).

    Shape: ids (N, L) integers, lengths (N,) optional -> logits (N, num_classes).

    Example:
        >>> model = TextClassifier(vocab_size=1000, embed_dim=32, hidden_size=64, num_classes=2)
        >>> model(shendu.tensor([[5, 7, 9, 0], [3, 2, 0, 0]]), lengths=[3, 2]).shape
        (2, 2)
    """

    def __init__(self, vocab_size, embed_dim, hidden_size, num_classes, cell="lstm", num_layers=1,
                 bidirectional=False, dropout=0.0, padding_idx=None):
        super().__init__()
        self.embedding = Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.rnn = _recurrent_layer(cell, embed_dim, hidden_size, num_layers, bidirectional, dropout,
                                    "TextClassifier")
        self.fc = Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, ids, lengths=None):
        _, state = self.rnn(self.embedding(ids), lengths=lengths)
        return self.fc(_last_layer_state(self.rnn, state))


class SequenceRegressor(Module):
    """A sequence of feature vectors → one real vector: recurrent layer → dense on the final hidden state.

        h_1 … h_L = RNN(x_1 … x_L),   y = W·h_L + b

    The model of the adding problem (examples/adding_problem.py).

    Args:
        input_size: features per step.  hidden_size: H.  output_size: outputs (default 1).
        cell: ``'lstm'`` (default), ``'gru'`` or ``'rnn'`` (tanh).
        num_layers (1), bidirectional (False), dropout (0.0).

    Shape: x (N, L, input_size), lengths (N,) optional -> y (N, output_size).

    Example:
        >>> model = SequenceRegressor(2, 32)
        >>> model(shendu.randn(8, 100, 2)).shape
        (8, 1)
    """

    def __init__(self, input_size, hidden_size, output_size=1, cell="lstm", num_layers=1, bidirectional=False,
                 dropout=0.0):
        super().__init__()
        self.rnn = _recurrent_layer(cell, input_size, hidden_size, num_layers, bidirectional, dropout,
                                    "SequenceRegressor")
        self.fc = Linear(hidden_size * (2 if bidirectional else 1), output_size)

    def forward(self, x, lengths=None):
        _, state = self.rnn(x, lengths=lengths)
        return self.fc(_last_layer_state(self.rnn, state))


class CharLM(Module):
    """A character-level language model: predicts the next character at every step.

        e_t = E[c_t],   h_t = RNN(e_t, h_{t−1}),   p(c_{t+1} | c_1 … c_t) = softmax(W·h_t + b)

    Trained with cross-entropy on (text[t], text[t+1]) pairs, usually with truncated BPTT over a
    long stream: the state returned by one chunk starts the next, detached
    (:func:`shendu.functional.detach_state`). :meth:`sample` then writes new text one character
    at a time (Karpathy 2015, "The Unreasonable Effectiveness of Recurrent Neural Networks").

    Args:
        vocab_size: number of distinct characters (ids 0 … vocab_size − 1).
        embed_dim (32): size of the character embeddings.  hidden_size (128): H.
        num_layers (1), cell (``'lstm'``), dropout (0.0, between stacked layers).

    Call: ``model(ids, state=None) -> (logits, state)``.
    Shape: ids (N, L) integers -> logits (N, L, vocab_size); state as the recurrent layer's.

    Example:
        >>> model = CharLM(vocab_size=60)
        >>> logits, state = model(shendu.tensor([[1, 2, 3]]))
        >>> logits.shape
        (1, 3, 60)
        >>> model.sample([1, 2, 3], length=20).shape     # 20 new character ids
        (20,)
    """

    def __init__(self, vocab_size, embed_dim=32, hidden_size=128, num_layers=1, cell="lstm", dropout=0.0):
        super().__init__()
        self.vocab_size = int(vocab_size)
        self.embedding = Embedding(vocab_size, embed_dim)
        self.rnn = _recurrent_layer(cell, embed_dim, hidden_size, num_layers, False, dropout, "CharLM")
        self.head = Linear(hidden_size, vocab_size)

    def forward(self, ids, state=None):
        y, state = self.rnn(self.embedding(ids), state)
        return self.head(y), state

    def sample(self, prefix, length, temperature=1.0, greedy=False):
        """Generate ``length`` character ids after ``prefix`` (ids, (L,) or (N, L) for N samples at once).

        Each next id is drawn from softmax(logits / temperature) with the generator that
        ``shendu.manual_seed`` seeds (``greedy=True`` takes the most likely id instead):
        lower temperatures give safer, more repetitive text. Runs in eval mode without a graph.

        Returns: an integer array (length,) or (N, length).
        """
        if temperature <= 0:
            raise ValueError(f"CharLM.sample: temperature must be positive, received temperature={temperature}")
        ids = prefix.data if isinstance(prefix, Tensor) else xp.asarray(prefix)
        single = ids.ndim == 1
        ids = ids.reshape(1, -1) if single else ids
        if ids.shape[1] == 0:
            raise ValueError("CharLM.sample: the prefix needs at least one character")
        was_training = self.training
        self.eval()
        out = xp.empty((ids.shape[0], int(length)), dtype=backend.int64)
        try:
            with no_grad():
                logits, state = self(Tensor(ids.astype(backend.int64)))
                for t in range(int(length)):
                    nxt = next_token(logits.numpy()[:, -1], temperature, greedy=greedy, who="CharLM.sample")
                    out[:, t] = nxt
                    logits, state = self(Tensor(nxt.reshape(-1, 1).astype(backend.int64)), state)
        finally:
            self.train(was_training)
        return out[0] if single else out


__all__ = ["TextClassifier", "SequenceRegressor", "CharLM"]
