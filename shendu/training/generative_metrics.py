"""Quality measures of generated images, computed with a classifier trained on the real data.

* Inception score (Salimans et al. 2016), with shendu's LeNet-5 in place of Inception:
  IS = exp( E_x KL(p(y|x) ‖ p(y)) ),  p(y) = E_x p(y|x); between 1 and the number of classes.
* Fréchet distance (Heusel et al. 2017) between Gaussians fitted to classifier features
  (LeNet-5's 84-unit F6 layer) of real (r) and generated (g) images:
  FD = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r Σ_g)^{1/2}).
* Class coverage: the number of distinct classes the classifier assigns to the samples.

Images are given in [0, 1], shape (N, 1, 28, 28) (padded to LeNet-5's 32×32 as in training).
"""
from __future__ import annotations

import numpy as np

__all__ = ["inception_score", "frechet_distance", "class_coverage", "FeatureClassifier"]


def inception_score(probs):
    """exp(mean_n KL(p_n ‖ p̄)) for class probabilities ``probs`` (N, K), p̄ their mean over n."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"inception_score: expected probabilities of shape (N, K), got {p.shape}")
    p = np.clip(p, 1e-12, 1)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp((p * (np.log(p) - np.log(marginal))).sum(axis=1).mean()))


def _sqrtm_psd(a):
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(feat_a, feat_b):
    """The Fréchet distance between Gaussians fitted to two feature sets (N_a, d) and (N_b, d).

    Tr (Σ_a Σ_b)^{1/2} is computed as Tr (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}, a symmetric PSD matrix (eigh)."""
    a, b = np.asarray(feat_a, dtype=np.float64), np.asarray(feat_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"frechet_distance: expected two (N, d) feature arrays with N ≥ 2 and the same d, got "
                         f"{a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ra = _sqrtm_psd(sa)
    cross = np.trace(_sqrtm_psd(ra @ sb @ ra))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sa) + np.trace(sb) - 2 * cross)


def class_coverage(probs):
    """The number of distinct argmax classes among the rows of ``probs`` (N, K)."""
    return int(np.unique(np.asarray(probs).argmax(axis=1)).size)


class FeatureClassifier:
    """shendu's LeNet-5 trained on real labelled images, giving class probabilities and F6 features.

    Args: x (N, 1, H, W) in [0, 1] with H, W ≤ 32; y (N,) labels; epochs (default 20: on 18,000 MNIST
    digits the real test images then score IS 9.81, near the ≈ 9.9 of the classifiers generative
    models are compared with; after 3 epochs 9.27, a ruler that marks every image down), batch_size,
    lr, seed.
    ``probs(x)`` (N, K) and ``features(x)`` (N, 84); ``accuracy(x, y)``.
    """

    def __init__(self, x, y, epochs=20, batch_size=128, lr=2e-3, seed=0, num_classes=10):
        from .. import backend
        from ..models.lenet import LeNet5

        self.image_hw = tuple(x.shape[2:])
        backend.manual_seed(seed)
        self.net = LeNet5(num_classes=num_classes, in_channels=x.shape[1])
        self.net.compile("adam", lr=lr).fit(self._pad(x), np.asarray(y, dtype=np.int64), epochs=epochs,
                                            batch_size=batch_size, verbose=0, seed=seed)

    def _pad(self, x):
        x = np.asarray(x, dtype=np.float32)
        h, w = x.shape[2:]
        if (h, w) != self.image_hw:
            raise ValueError(f"FeatureClassifier: expected images of {self.image_hw}, got {(h, w)}")
        out = np.zeros((len(x), x.shape[1], 32, 32), dtype=np.float32)
        t, lft = (32 - h) // 2, (32 - w) // 2
        out[:, :, t:t + h, lft:lft + w] = x
        return out

    def _run(self, x, upto):
        from ..grad_mode import no_grad
        from ..models.features import feature_extractor
        from ..tensor import tensor

        self.net.eval()
        extract = feature_extractor(self.net, [upto])   # stops the forward at layer `upto`
        outs = []
        with no_grad():
            for i in range(0, len(x), 500):
                outs.append(extract(tensor(self._pad(x[i:i + 500])))[upto].numpy())
        return np.concatenate(outs)

    def probs(self, x):
        """Softmax class probabilities (N, K)."""
        logits = self._run(x, "output").astype(np.float64)
        e = np.exp(logits - logits.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def features(self, x):
        """The 84 activations of F6 (after its ReLU), (N, 84)."""
        return self._run(x, "act6")

    def accuracy(self, x, y):
        return float((self.probs(x).argmax(1) == np.asarray(y)).mean())

    def report(self, generated, real):
        """{"inception_score", "frechet_distance", "classes"} of ``generated`` against ``real`` images."""
        p = self.probs(generated)
        return {"inception_score": inception_score(p),
                "frechet_distance": frechet_distance(self.features(real), self.features(generated)),
                "classes": class_coverage(p)}
