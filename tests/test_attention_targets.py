"""The attention issue's measured targets (slow): minGPT's sorting task, date normalisation with Bahdanau
attention, the character GPT on tiny shakespeare and the ViT on real MNIST (the last two skip without
../shared). docs/attention.md records the numbers of a run."""
import importlib.util
import pathlib

import pytest

pytestmark = pytest.mark.slow
ROOT = pathlib.Path(__file__).resolve().parent.parent


def _example(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpt_sorts_every_held_out_sequence():
    accuracy, seconds, params = _example("gpt_sort").main()
    print(f"sorting: {params:,} parameters, {accuracy:.2%} exact on 5,000 held-out draws, {seconds:.1f} s")
    assert 80_000 < params < 100_000 and accuracy == 1.0


def test_seq2seq_with_attention_normalises_unseen_dates(tmp_path):
    accuracy, seconds, path = _example("seq2seq_dates").main(out=tmp_path)
    print(f"dates: {accuracy:.2%} exact on 1,000 unseen dates, {seconds:.0f} s")
    assert accuracy >= 0.95 and path.exists() and path.stat().st_size > 10_000


def test_character_gpt_on_tiny_shakespeare(shared_data):
    text = shared_data / "text" / "tinyshakespeare.txt"
    if not text.exists():
        pytest.skip("../shared/data/text/tinyshakespeare.txt is not present")
    val_loss, per_step, params, sample = _example("gpt_shakespeare").main(text, verbose=0)
    print(f"GPT on tiny shakespeare: {params:,} parameters, validation {val_loss:.4f} nats/char, "
          f"{per_step * 1e3:.1f} ms/step\n{sample}")
    assert params == 804_096 and val_loss <= 1.95


def test_vit_on_real_mnist(mnist_dir):
    if not (mnist_dir / "train-images-first10k-idx3-ubyte.gz").exists():
        pytest.skip("the first 10,000 MNIST training images are not in ../shared")
    accuracy, seconds, params = _example("vit_mnist").main(mnist_dir)
    print(f"ViT on MNIST 18,000 / 2,000: {accuracy:.2%} ({params:,} parameters, {seconds:.0f} s)")
    assert accuracy >= 0.97
