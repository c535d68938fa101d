"""A character GPT on tiny shakespeare, with the set-up of the attention issue (and of nanoGPT's small model).

1. read ``tinyshakespeare.txt`` (``../shared/data/text`` in this project's checkout), one id per character
   (65), the first 90 % to train, the last 10 % to validate;
2. a GPT of 4 layers, 4 heads, width 128, context 64, no biases, dropout 0 (804,096 parameters);
3. AdamW, β = (0.9, 0.99), weight decay 0.1 on matrices only, learning rate warmed up linearly over
   100 steps to 10⁻³ and then decayed along a cosine to 10⁻⁴ at the last step; gradients clipped to
   norm 1; 2,000 steps of 12 random windows;
4. the validation loss (nats per character) over 200 random validation batches, and a sample.

The job is the library's (``shendu.training.text_run``), the one ``shendu train gpt --text FILE`` runs.

Run:  python examples/gpt_shakespeare.py [--steps 2000] [--text ../shared/data/text/tinyshakespeare.txt]
"""
import argparse
import pathlib
import tempfile

from shendu.training.text_run import generate_text, train_text_run

HERE = pathlib.Path(__file__).resolve().parent
TEXT = HERE.parent.parent / "shared" / "data" / "text" / "tinyshakespeare.txt"


def main(text=TEXT, steps=2000, seed=0, verbose=1):
    """Train and evaluate; returns ``(validation loss, seconds per step, parameters, sample text)``."""
    with tempfile.TemporaryDirectory() as out:
        m = train_text_run(text, steps=steps, seed=seed, out=out, verbose=verbose)
        sample = generate_text(m["checkpoint"], "ROMEO:", 200, temperature=0.8, top_k=20, seed=seed)
    return m["val_loss"], m["ms_per_step"] / 1e3, m["parameters"], sample


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", default=str(TEXT))
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    val_loss, per_step, params, sample = main(a.text, a.steps, seed=a.seed)
    print(f"{params:,} parameters; validation loss {val_loss:.4f} nats/char; {per_step * 1e3:.1f} ms per step")
    print(sample)
