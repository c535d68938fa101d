"""Text for language models: character and byte tokenisers, and next-token windows over a token stream.

A language model learns p(tokenₜ₊₁ | token₁ … tokenₜ). Its training pairs are windows of the
stream: x = ids[i : i+T], y = ids[i+1 : i+T+1] — every position of y is the token after the same
position of x. :func:`text_splits` cuts a text file by position (the first 90 % trains, the last
10 % validates, as char-rnn and nanoGPT do), so no validation text is ever seen in training.
"""
from __future__ import annotations

import pathlib

from shendu import backend
from shendu.backend import xp

from .dataset import Dataset


class CharTokenizer:
    """One id per distinct character of a text, in sorted order.

    Args:
        text: the text whose characters make the vocabulary (or pass ``chars``).
        chars: the vocabulary itself, a string or list of characters.

    Example:
        >>> tok = CharTokenizer("hello")
        >>> tok.vocab_size, tok.encode("hole").tolist(), tok.decode([3, 1, 2])
        (4, [1, 3, 2, 0], 'ole')
    """

    def __init__(self, text=None, chars=None):
        if (text is None) == (chars is None):
            raise ValueError("CharTokenizer: pass exactly one of text= or chars=")
        self.chars = sorted(set(text)) if text is not None else list(chars)
        if len(set(self.chars)) != len(self.chars) or not all(isinstance(c, str) and len(c) == 1 for c in self.chars):
            raise ValueError("CharTokenizer: chars must be distinct single characters")
        self.stoi = {c: i for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self):
        return len(self.chars)

    def encode(self, text):
        """The ids of ``text`` (int64 array); a character outside the vocabulary is an error naming it."""
        try:
            return xp.fromiter((self.stoi[c] for c in text), dtype=backend.int64, count=len(text))
        except KeyError as exc:
            c = exc.args[0]
            raise ValueError(f"CharTokenizer: the character {c!r} (U+{ord(c):04X}) at position {text.index(c)} is "
                             f"not in the vocabulary of {self.vocab_size} characters") from None

    def decode(self, ids):
        """The text of ``ids`` (any iterable of ints in [0, vocab_size))."""
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"CharTokenizer: id {bad[0]} is outside the vocabulary [0, {self.vocab_size})")
        return "".join(self.chars[i] for i in ids)

    def get_config(self):
        return {"kind": "char", "chars": "".join(self.chars)}


class ByteTokenizer:
    """The 256 byte values of the UTF-8 encoding: any text, no vocabulary to build.

    Example:
        >>> tok = ByteTokenizer()
        >>> tok.encode("é").tolist(), tok.decode(tok.encode("é"))
        ([195, 169], 'é')
    """

    vocab_size = 256

    def encode(self, text):
        return xp.frombuffer(text.encode("utf-8"), dtype=xp.uint8).astype(backend.int64)

    def decode(self, ids):
        """The text of the bytes ``ids``; an incomplete UTF-8 sequence becomes U+FFFD."""
        return bytes(int(i) for i in ids).decode("utf-8", errors="replace")

    def get_config(self):
        return {"kind": "byte"}


def tokenizer_from_config(config):
    """The tokenizer that ``get_config()`` described (plain data only)."""
    kind = config.get("kind") if isinstance(config, dict) else None
    if kind == "char":
        return CharTokenizer(chars=str(config["chars"]))
    if kind == "byte":
        return ByteTokenizer()
    raise ValueError(f"tokenizer_from_config: expected {{'kind': 'char' | 'byte', ...}}, got {config!r}")


class TextWindows(Dataset):
    """Next-token windows over a stream of ids: sample i is (ids[i : i+T], ids[i+1 : i+T+1]).

    Args:
        ids: a 1-d integer array (the encoded text). block_size: T.

    Example:
        >>> ds = TextWindows(np.arange(10), block_size=4)
        >>> len(ds), [a.tolist() for a in ds[2]]
        (6, [[2, 3, 4, 5], [3, 4, 5, 6]])
    """

    def __init__(self, ids, block_size):
        self.ids = xp.asarray(ids, dtype=backend.int64)
        self.block_size = int(block_size)
        if self.ids.ndim != 1 or len(self.ids) <= self.block_size:
            raise ValueError(f"TextWindows: need a 1-d stream longer than block_size={self.block_size}, got shape "
                             f"{self.ids.shape}")

    def __len__(self):
        return len(self.ids) - self.block_size

    def __getitem__(self, i):
        i = int(i) + len(self) if int(i) < 0 else int(i)
        if not 0 <= i < len(self):
            raise IndexError(f"TextWindows: index {i} is out of range for {len(self)} windows")
        return self.ids[i:i + self.block_size], self.ids[i + 1:i + 1 + self.block_size]

    def get_batch(self, indices):
        rows = xp.asarray(indices, dtype=backend.int64)[:, None] + xp.arange(self.block_size)
        return self.ids[rows], self.ids[rows + 1]


def text_splits(path, block_size, val_fraction=0.1, tokenizer="char"):
    """A text file as training and validation windows, split by position.

    Args:
        path: a UTF-8 text file. block_size: the context length T.
        val_fraction: the last part of the text that validates (default 0.1).
        tokenizer: ``"char"`` (vocabulary from the whole file), ``"byte"``, or a tokenizer object.

    Returns: ``(train, val, tokenizer)`` — two :class:`TextWindows` and the tokenizer.

    Example:
        >>> train, val, tok = text_splits("tinyshakespeare.txt", block_size=64)   # doctest: +SKIP
    """
    text = pathlib.Path(path).read_text(encoding="utf-8")
    if tokenizer == "char":
        tokenizer = CharTokenizer(text)
    elif tokenizer == "byte":
        tokenizer = ByteTokenizer()
    ids = tokenizer.encode(text)
    if not 0 < val_fraction < 1:
        raise ValueError(f"text_splits: val_fraction must be in (0, 1), got {val_fraction}")
    cut = int(len(ids) * (1 - val_fraction))
    return TextWindows(ids[:cut], block_size), TextWindows(ids[cut:], block_size), tokenizer


__all__ = ["CharTokenizer", "ByteTokenizer", "TextWindows", "text_splits", "tokenizer_from_config"]
