"""The language-model jobs behind ``shendu train gpt --text FILE`` and ``shendu generate CKPT``.

Training follows nanoGPT's small-model recipe: a :class:`~shendu.models.GPT` over the characters
(or bytes) of a text file, the first 90 % to train and the last 10 % to validate; AdamW with
β = (0.9, 0.99), weight decay on the matrices only, the learning rate warmed up linearly and then
decayed along a cosine to a tenth of its peak; gradients clipped to norm 1. The checkpoint holds
the weights, the model's arguments and the tokenizer, as plain data (``shendu.save``, never pickle).
"""
from __future__ import annotations

import math
import os
import pathlib
import time

from .. import functional as F
from ..autograd import no_grad
from ..backend import manual_seed
from ..data import DataLoader, text_splits, tokenizer_from_config
from ..io import load, save
from ..models import GPT
from ..optim import AdamW, clip_grad_norm_
from ..optim.lr_scheduler import LambdaLR

#: The defaults of ``shendu train gpt``: the character GPT of docs/attention.md.
TEXT_DEFAULTS = dict(steps=2000, batch_size=12, block_size=64, n_layer=4, n_head=4, n_embd=128, lr=1e-3,
                     min_lr=1e-4, warmup=100, weight_decay=0.1, seed=0, eval_batches=200)


def warmup_cosine(steps, warmup, peak, floor):
    """The factor of ``peak`` at step t: (t + 1)/warmup during the warm-up, then a cosine from 1 down to
    floor/peak at ``steps``."""
    def factor(t):
        if t < warmup:
            return (t + 1) / warmup
        ratio = min(1.0, (t - warmup) / max(1, steps - warmup))
        return (floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * ratio))) / peak
    return factor


def estimate_loss(model, windows, batches=200, batch_size=12, seed=1):
    """Mean next-token cross-entropy (nats per token) over ``batches`` random batches of ``windows``."""
    was_training = model.training
    model.eval()
    total, seen = 0.0, 0
    with no_grad():
        for x, y in DataLoader(windows, batch_size=batch_size, shuffle=True, seed=seed):
            if seen == batches:
                break
            total += F.cross_entropy(model(x).reshape(-1, model.vocab_size), y.reshape(-1)).item()
            seen += 1
    model.train(was_training)
    return total / max(seen, 1)


def train_text_run(text, steps=None, batch_size=None, block_size=None, lr=None, tokenizer="char", out=None,
                   seed=None, verbose=1, **model_kw):
    """Train a GPT on a text file; returns the metrics (and writes ``last.ckpt`` to ``out`` when given).

    Args:
        text: a UTF-8 text file. steps, batch_size, block_size, lr, seed: as :data:`TEXT_DEFAULTS`.
        tokenizer: ``"char"`` or ``"byte"``. out: a directory for ``last.ckpt`` (None: write nothing).
        verbose: print the loss every 200 steps. model_kw: n_layer, n_head, n_embd, dropout, bias, rotary.

    Returns: ``{"val_loss", "train_loss", "steps", "seconds", "ms_per_step", "parameters", "checkpoint"}``.
    """
    d = TEXT_DEFAULTS
    steps, batch_size = steps or d["steps"], batch_size or d["batch_size"]
    block_size, lr, seed = block_size or d["block_size"], lr or d["lr"], d["seed"] if seed is None else seed
    manual_seed(seed)
    train, val, tok = text_splits(text, block_size, tokenizer=tokenizer)
    arch = dict(vocab_size=tok.vocab_size, block_size=block_size, n_layer=d["n_layer"], n_head=d["n_head"],
                n_embd=d["n_embd"], bias=False, **model_kw)
    model = GPT(**arch)
    matrices = [p for p in model.parameters() if p.ndim >= 2]
    others = [p for p in model.parameters() if p.ndim < 2]
    optimizer = AdamW([{"params": matrices, "weight_decay": d["weight_decay"]}, {"params": others, "weight_decay": 0.0}],
                      lr=lr, betas=(0.9, 0.99))
    schedule = LambdaLR(optimizer, warmup_cosine(steps, d["warmup"], lr, lr * d["min_lr"] / d["lr"]))
    batches = iter(DataLoader(train, batch_size=batch_size, shuffle=True, seed=seed))
    t0 = time.perf_counter()
    for step in range(steps):
        try:
            x, y = next(batches)
        except StopIteration:  # a short text: start another epoch
            batches = iter(DataLoader(train, batch_size=batch_size, shuffle=True, seed=seed + step))
            x, y = next(batches)
        loss = F.cross_entropy(model(x).reshape(-1, tok.vocab_size), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if verbose and (step % 200 == 0 or step == steps - 1):
            print(f"step {step:5d}  loss {loss.item():.4f}  lr {optimizer.param_groups[0]['lr']:.2e}", flush=True)
    seconds = time.perf_counter() - t0
    metrics = {"val_loss": estimate_loss(model, val, d["eval_batches"], batch_size), "train_loss": loss.item(),
               "steps": steps, "seconds": seconds, "ms_per_step": 1e3 * seconds / steps,
               "parameters": model.num_parameters(), "checkpoint": None}
    if out is not None:
        path = pathlib.Path(out) / "last.ckpt"
        path.parent.mkdir(parents=True, exist_ok=True)
        save({"kind": "shendu-gpt", "arch": arch, "tokenizer": tok.get_config(), "state_dict": model.state_dict(),
              "metrics": {k: v for k, v in metrics.items() if k != "checkpoint"}}, path)
        metrics["checkpoint"] = os.fspath(path)
    return metrics


def load_text_model(path):
    """The GPT and tokenizer of a checkpoint written by :func:`train_text_run` (plain data; never runs code)."""
    saved = load(path)
    if not isinstance(saved, dict) or saved.get("kind") != "shendu-gpt":
        raise ValueError(f"{os.fspath(path)}: not a language-model checkpoint of `shendu train gpt --text FILE`")
    model = GPT(**saved["arch"])
    model.load_state_dict(saved["state_dict"])
    return model.eval(), tokenizer_from_config(saved["tokenizer"])


def generate_text(path, prompt, tokens=200, temperature=1.0, top_k=None, seed=None, stream=None):
    """Continue ``prompt`` with ``tokens`` tokens sampled from the checkpoint's GPT.

    ``stream(text)`` receives the prompt (once it is known to encode), then each new piece of text as
    soon as it is drawn. Returns the whole text.
    """
    model, tok = load_text_model(path)
    if seed is not None:
        manual_seed(seed)
    ids = tok.encode(prompt)
    if stream is not None:
        stream(prompt)
    emit = None if stream is None else (lambda new: stream(tok.decode(new)))
    out = model.generate(ids, tokens, temperature=temperature, top_k=top_k, stream=emit)
    return tok.decode(out)


__all__ = ["TEXT_DEFAULTS", "train_text_run", "load_text_model", "generate_text", "estimate_loss", "warmup_cosine"]
