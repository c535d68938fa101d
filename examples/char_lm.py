"""A character-level language model (sequence to sequence): read text, predict the next character, write new text.

The model (``shendu.models.CharLM``) embeds each character, runs an LSTM over the sequence and scores
the next character at every step; the loss is the cross-entropy of those predictions, reported in
bits per character (bpc = nats / ln 2; a uniform guess over V characters costs log₂ V bits).

Training uses truncated backpropagation through time over one long stream: the text is cut into N
parallel streams, each step trains on the next ``--seq`` characters of every stream, and the final
LSTM state of one step starts the next one, detached from the graph (``F.detach_state``): the state
carries information across chunk borders, the gradient stops there.

After training, ``CharLM.sample`` writes text one character at a time from a prompt.

The default corpus is the Python reference documentation that ships with CPython
(``pydoc_data.topics``, ~465k characters, without its ASCII tables); ``--text FILE`` trains on any UTF-8
file instead.

Run:  OMP_NUM_THREADS=1 python examples/char_lm.py [--steps 3000] [--hidden 128] [--text FILE]
"""
import argparse
import math
import time

import numpy as np

import shendu
import shendu.functional as F
from shendu.models import CharLM


def load_text(path=None):
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read()
    from pydoc_data.topics import topics
    text = "\n".join(topics[k] for k in sorted(topics))
    # keep the prose and the code, drop the ASCII-art tables (runs of spaces and "|" the model would only copy)
    return "\n".join(line for line in text.split("\n") if "|" not in line and not line.lstrip().startswith("+-"))


def streams(ids, n):
    """The id array cut into n contiguous rows (n, len // n)."""
    per = len(ids) // n
    return ids[:per * n].reshape(n, per)


def evaluate(model, data, seq):
    """Bits per character on ``data`` (n, len), read in order with the state carried."""
    model.eval()
    total, count, state = 0.0, 0, None
    with shendu.no_grad():
        for start in range(0, data.shape[1] - 1, seq):
            x = data[:, start:start + seq]
            y = data[:, start + 1:start + seq + 1]
            x = x[:, :y.shape[1]]
            logits, state = model(shendu.tensor(x), state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), shendu.tensor(y.reshape(-1)),
                                     reduction="sum").item()
            count += y.size
    model.train()
    return total / count / math.log(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--text", default=None, help="a UTF-8 text file (default: the Python docs)")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--embed", type=int, default=32)
    ap.add_argument("--batch", type=int, default=32, help="parallel streams N")
    ap.add_argument("--seq", type=int, default=64, help="characters per truncated-BPTT chunk")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--prompt", default="The ")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    shendu.manual_seed(args.seed)
    text = load_text(args.text)
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], dtype=np.int64)
    split = int(len(ids) * 0.95)
    train, valid = streams(ids[:split], args.batch), streams(ids[split:], 8)
    print(f"{len(text):,} characters, {len(chars)} distinct (uniform guess: {math.log2(len(chars)):.2f} bpc); "
          f"{train.shape[1] // args.seq} chunks of {args.seq} per epoch over {args.batch} streams")

    model = CharLM(len(chars), embed_dim=args.embed, hidden_size=args.hidden)
    opt = shendu.optim.Adam(model.parameters(), lr=args.lr)
    sched = shendu.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps)
    state, pos, start = None, 0, time.perf_counter()
    for step in range(1, args.steps + 1):
        if pos + args.seq + 1 > train.shape[1]:  # a new epoch: back to the start of the streams
            state, pos = None, 0
        x = train[:, pos:pos + args.seq]
        y = train[:, pos + 1:pos + args.seq + 1]
        pos += args.seq
        logits, state = model(shendu.tensor(x), state)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), shendu.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()                      # through this chunk only …
        shendu.optim.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        sched.step()
        state = F.detach_state(state)        # … while the state goes on to the next
        if step % 100 == 0 or step == args.steps:
            print(f"step {step:5d}  train {loss.item() / math.log(2):.3f} bpc  "
                  f"({time.perf_counter() - start:.0f} s)")
    seconds = time.perf_counter() - start
    bpc = evaluate(model, valid, args.seq)
    print(f"\nvalidation: {bpc:.3f} bpc after {args.steps} steps ({seconds:.0f} s); "
          f"hidden {args.hidden}, batch {args.batch} × {args.seq} characters")
    prompt = [index[c] for c in args.prompt if c in index] or [0]
    out = model.sample(prompt, length=600, temperature=args.temperature)
    print(f"\nsample (temperature {args.temperature}):\n" + args.prompt + "".join(chars[i] for i in out))


if __name__ == "__main__":
    main()
