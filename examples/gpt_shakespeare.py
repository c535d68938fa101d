"""A character GPT on tiny shakespeare, with the set-up of the attention issue (and of nanoGPT's small model).

1. read ``tinyshakespeare.txt`` (``../shared/data/text`` in this project's checkout), one id per character
   (65), the first 90 % to train, the last 10 % to validate;
2. a GPT of 4 layers, 4 heads, width 128, context 64, no biases, dropout 0 (804,096 parameters);
3. AdamW, β = (0.9, 0.99), weight decay 0.1 on matrices only, learning rate warmed up linearly over
   100 steps to 10⁻³ and then decayed along a cosine to 10⁻⁴ at the last step; gradients clipped to
   norm 1; 2,000 steps of 12 random windows;
4. the validation loss (nats per character) over 200 random validation batches, and a sample.

Run:  python examples/gpt_shakespeare.py [--steps 2000] [--text ../shared/data/text/tinyshakespeare.txt]
"""
import argparse
import math
import pathlib
import time

import shendu
import shendu.functional as F
from shendu.data import DataLoader, text_splits
from shendu.models import GPT
from shendu.optim import AdamW, clip_grad_norm_
from shendu.optim.lr_scheduler import LambdaLR

HERE = pathlib.Path(__file__).resolve().parent
TEXT = HERE.parent.parent / "shared" / "data" / "text" / "tinyshakespeare.txt"


def warmup_cosine(steps, warmup=100, peak=1e-3, floor=1e-4):
    """The factor of ``peak`` at step t: t/warmup, then a cosine from 1 down to floor/peak at ``steps``."""
    def factor(t):
        if t < warmup:
            return (t + 1) / warmup
        ratio = min(1.0, (t - warmup) / max(1, steps - warmup))
        return (floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * ratio))) / peak
    return factor


def estimate_loss(model, data, batches=200, batch_size=12, seed=1):
    """Mean cross-entropy (nats per character) over ``batches`` random windows of ``data``."""
    model.eval()
    total = 0.0
    with shendu.no_grad():
        for b, (x, y) in enumerate(DataLoader(data, batch_size=batch_size, shuffle=True, seed=seed)):
            if b == batches:
                break
            total += F.cross_entropy(model(x).reshape(-1, model.vocab_size), y.reshape(-1)).item()
    model.train()
    return total / batches


def main(text=TEXT, steps=2000, batch_size=12, block_size=64, seed=0, log_every=200):
    """Train and evaluate; returns ``(validation loss, seconds per step, parameters, sample text)``."""
    shendu.manual_seed(seed)
    train, val, tok = text_splits(text, block_size)
    model = GPT(vocab_size=tok.vocab_size, block_size=block_size, n_layer=4, n_head=4, n_embd=128, bias=False)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                      lr=1e-3, betas=(0.9, 0.99))
    schedule = LambdaLR(optimizer, warmup_cosine(steps))
    batches = iter(DataLoader(train, batch_size=batch_size, shuffle=True, seed=seed))
    t0 = time.perf_counter()
    for step in range(steps):
        x, y = next(batches)
        loss = F.cross_entropy(model(x).reshape(-1, tok.vocab_size), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if log_every and (step % log_every == 0 or step == steps - 1):
            print(f"step {step:5d}  loss {loss.item():.4f}  lr {optimizer.param_groups[0]['lr']:.2e}", flush=True)
    per_step = (time.perf_counter() - t0) / steps
    val_loss = estimate_loss(model, val)
    sample = tok.decode(model.generate(tok.encode("ROMEO:"), 200, temperature=0.8, top_k=20))
    return val_loss, per_step, model.num_parameters(), sample


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", default=str(TEXT))
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    val_loss, per_step, params, sample = main(a.text, a.steps, seed=a.seed)
    print(f"{params:,} parameters; validation loss {val_loss:.4f} nats/char; {per_step * 1e3:.1f} ms per step")
    print(sample)
