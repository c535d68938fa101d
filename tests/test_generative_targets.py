"""The generative targets on real MNIST (../shared/data/mnist; slow, skipped without it).

Split: the 10,000 training images there plus the first 8,000 test images train (18,000), the last
2,000 test images test (../shared/data/README.md's convention). Measured numbers: docs/generative.md.
"""
import gzip
import time

import numpy as np
import pytest

import shendu
from shendu.models.autoencoder import AutoEncoder
from shendu.models.gan import DCGAN
from shendu.models.vae import VAE
from shendu.training.generative_metrics import FeatureClassifier
from shendu.training.generative_run import image_grid, write_png

pytestmark = pytest.mark.slow


def _idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist_18000_2000(mnist_dir):
    """(x_train (18000, 1, 28, 28), y_train, x_test (2000, 1, 28, 28), y_test), images in [0, 1]."""
    tr = mnist_dir / "train-images-first10k-idx3-ubyte.gz"
    if not tr.exists():
        pytest.skip(f"{tr} is not present")
    xa, ya = _idx(tr), _idx(mnist_dir / "train-labels-idx1-ubyte.gz")[:10000]
    xb, yb = _idx(mnist_dir / "t10k-images-idx3-ubyte.gz"), _idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    x = np.concatenate([xa, xb[:8000]])[:, None].astype(np.float32) / 255
    y = np.concatenate([ya, yb[:8000]]).astype(np.int64)
    return x, y, xb[8000:, None].astype(np.float32) / 255, yb[8000:].astype(np.int64)


def pca_error(x_train, x_test, k=30):
    """Held-out squared error per image of the best rank-k linear reconstruction fitted on x_train."""
    a, b = x_train.reshape(len(x_train), -1).astype(np.float64), x_test.reshape(len(x_test), -1).astype(np.float64)
    mean = a.mean(0)
    _, _, vt = np.linalg.svd(a - mean, full_matrices=False)
    p = vt[:k]
    rec = (b - mean) @ p.T @ p + mean
    return float(((rec - b) ** 2).sum(1).mean())


def test_deep_autoencoder_halves_the_pca30_error(mnist_dir):
    x, _, xt, _ = mnist_18000_2000(mnist_dir)
    pca = pca_error(x, xt)
    shendu.manual_seed(0)
    # Hinton & Salakhutdinov's shape with a linear code; batch norm before each hidden ReLU, the
    # cross-entropy of the sigmoid output, Adam 3e-3 annealed to 0 by a cosine over the batches.
    epochs = 30
    ae = AutoEncoder((784, 1000, 500, 250, 30), input_shape=(1, 28, 28), batch_norm=True, loss="bce")
    ae.compile("adam", lr=3e-3, schedule="cosine")
    t = time.perf_counter()
    h = ae.fit(x, epochs=epochs, batch_size=128, seed=0, validation_data=xt, verbose=2).history   # a line per epoch
    ae.eval()
    with shendu.no_grad():
        err = float(((ae(shendu.tensor(xt)).numpy() - xt) ** 2).reshape(len(xt), -1).sum(1).mean())
    assert err == pytest.approx(h["val_reconstruction"][-1], rel=1e-4)
    print(f"deep AE 784-1000-500-250-30: test error {err:.3f} per image, PCA-30 {pca:.3f}, "
          f"{time.perf_counter() - t:.0f} s")
    assert err <= 0.5 * pca


def torch_vae_neg_elbo(x, xt, epochs=10, seed=0):
    """PyTorch's examples/vae set-up (784-400-20, Adam 1e-3, batch 128) on the same data: test −ELBO per image."""
    import torch
    import torch.nn.functional as tf

    torch.manual_seed(seed)

    class TorchVAE(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc21, self.fc22 = torch.nn.Linear(784, 400), torch.nn.Linear(400, 20), torch.nn.Linear(400, 20)
            self.fc3, self.fc4 = torch.nn.Linear(20, 400), torch.nn.Linear(400, 784)

        def forward(self, v):
            h = tf.relu(self.fc1(v))
            mu, lv = self.fc21(h), self.fc22(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * lv)
            return self.fc4(tf.relu(self.fc3(z))), mu, lv

    def loss(logits, v, mu, lv):
        return (tf.binary_cross_entropy_with_logits(logits, v, reduction="sum")
                - 0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp()))

    model = TorchVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs, xts = torch.tensor(x.reshape(len(x), -1)), torch.tensor(xt.reshape(len(xt), -1))
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(xs), generator=g).split(128):
            opt.zero_grad()
            out, mu, lv = model(xs[idx])
            (loss(out, xs[idx], mu, lv) / len(idx)).backward()
            opt.step()
    with torch.no_grad():
        out, mu, lv = model(xts)
        return float(loss(out, xts, mu, lv) / len(xts))


def test_vae_within_half_a_nat_of_pytorch(mnist_dir):
    x, _, xt, _ = mnist_18000_2000(mnist_dir)
    shendu.manual_seed(0)
    vae = VAE((1, 28, 28), hidden=400, latent=20).compile("adam", lr=1e-3)
    t = time.perf_counter()
    vae.fit(x, epochs=10, batch_size=128, seed=0, verbose=0)
    vae.eval()
    with shendu.no_grad():
        ours = vae.loss(shendu.tensor(xt))[0].item()
    t_ours = time.perf_counter() - t
    theirs = torch_vae_neg_elbo(x, xt)
    print(f"VAE 784-400-20, 10 epochs: shendu {ours:.2f} nats, PyTorch {theirs:.2f} nats ({t_ours:.0f} s shendu)")
    assert abs(ours - theirs) <= 0.5


#: the DCGAN of the target: width 32 (half of Radford et al.'s 64) on a 32-pixel canvas (three
#: up-sampling stages; 28 pixels halve only twice), 20 epochs; the scorer is LeNet-5 trained 20
#: epochs, which gives the real test images IS ≈ 9.8 as the issue's reference does (≈ 9.9) — the
#: 3-epoch one gives them 9.3 (docs/generative.md records the samples under both)
DCGAN_WIDTH, DCGAN_CANVAS, DCGAN_EPOCHS, SCORER_EPOCHS = 32, 32, 20, 20


def test_dcgan_inception_score_and_coverage(mnist_dir, tmp_path):
    x, y, xt, yt = mnist_18000_2000(mnist_dir)
    clf = FeatureClassifier(x, y, epochs=SCORER_EPOCHS)
    real = clf.report(xt, x[:2000])
    shendu.manual_seed(0)
    gan = DCGAN((1, 28, 28), width=DCGAN_WIDTH, canvas=DCGAN_CANVAS)
    gan.compile(gan.optimizers_spec())
    t = time.perf_counter()
    gan.fit(x, epochs=DCGAN_EPOCHS, batch_size=64, seed=0, verbose=0)
    seconds = time.perf_counter() - t
    shendu.manual_seed(1)
    samples = gan.sample(1000)
    fake = clf.report(samples, xt)
    fake3 = FeatureClassifier(x, y, epochs=3).report(samples, xt)
    write_png(tmp_path / "dcgan_mnist.png", image_grid(samples[:100], 10))     # the grid of docs/generative.md
    print(f"classifier accuracy {clf.accuracy(xt, yt):.4f}; real test images: IS {real['inception_score']:.2f}; "
          f"DCGAN ({seconds:.0f} s): IS {fake['inception_score']:.2f}, FD {fake['frechet_distance']:.2f}, "
          f"classes {fake['classes']}; under the 3-epoch scorer IS {fake3['inception_score']:.2f}; grid "
          f"{tmp_path / 'dcgan_mnist.png'}")
    assert real["inception_score"] >= 9.75          # the ruler is the (real images ≈ 9.9)
    assert fake["inception_score"] >= 8.0 and fake["classes"] == 10
