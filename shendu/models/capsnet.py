"""CapsNet: Sabour, Frosst & Hinton (2017), "Dynamic Routing Between Capsules", NIPS.

    >>> net = capsnet()                       # the paper's network: 8,215,568 parameters
    >>> net.num_parameters(), net.num_parameters() - net.decoder.num_parameters()
    (8215568, 6804224)
    >>> small = capsnet(reduced=True)         # Conv1 64@9×9, 8 types × 8 dims: for the CPU
    >>> small(shendu.randn(2, 1, 28, 28)).shape          # capsule lengths, one per class
    (2, 10)

Training: ``net.compile("adam", lr=1e-3).fit(x, y, …)`` runs :meth:`CapsNet.train_step` (margin
loss + 0.0005 × masked reconstruction loss); the paper's shift augmentation of up to 2 pixels is
``fit(…, transform=shendu.data.RandomCrop(28, padding=2))``. Docs: docs/capsules.md.
"""
from __future__ import annotations

from ..nn import Conv2d, Linear, Module, ReLU, Sequential, Sigmoid
from ..nn.capsule import CapsuleLayer, PrimaryCaps, margin_loss
from ..ops.selection import one_hot
from ..tensor import Tensor
from .registry import register_model

#: The paper's weight of the reconstruction loss (the sum of squared pixel errors).
RECONSTRUCTION_WEIGHT = 0.0005


class CapsNet(Module):
    """The three-layer capsule network of Sabour et al. (2017), Fig. 1 and Fig. 2.

    ==========  ==============================================  ===============  ============
    layer       what                                            output           parameters
    ==========  ==============================================  ===============  ============
    conv1       conv 9×9, 256 maps, stride 1, ReLU              256@20×20        20,992
    primary     conv 9×9 stride 2 → 32 types of 8-D capsules    1152 × 8         5,308,672
    digitcaps   W_ij 16×8 per (i, j), routing by agreement ×3   10 × 16          1,474,560
    decoder     masked 160 → 512 → 1024 → 784 (ReLU, sigmoid)  784              1,411,344
    ==========  ==============================================  ===============  ============

    6,804,224 parameters without the decoder, 8,215,568 with it (for 10 classes on 1×28×28).

    The class score is the length |v_k| of digit capsule k (``forward``). The decoder sees the
    digit capsules with all but one masked to zero — the target class in training, the longest
    capsule otherwise — and reconstructs the image; its loss, Σ (x − x̂)², is weighted by
    ``reconstruction_weight`` (0.0005) so that it does not dominate the margin loss.

    Args:
        num_classes: K, digit capsules (default 10).
        in_channels: input channels (default 1).
        input_size: the side of the square input (default 28).
        conv_channels: Conv1's maps (256; reduced: 64).
        primary_types, primary_dim: PrimaryCaps' types and dimension (32, 8; reduced: 8, 8).
        digit_dim: the digit capsules' dimension (16).
        routings: routing iterations (3).
        decoder: build the reconstruction decoder (default True).
        reconstruction_weight: the decoder loss's weight (0.0005).
        decoder_sizes: the decoder's two hidden layers (512, 1024).

    Shape: input (N, in_channels, input_size, input_size) -> output (N, K), capsule lengths in [0, 1).
    """

    def __init__(self, num_classes=10, in_channels=1, input_size=28, conv_channels=256, primary_types=32,
                 primary_dim=8, digit_dim=16, routings=3, decoder=True, reconstruction_weight=RECONSTRUCTION_WEIGHT,
                 decoder_sizes=(512, 1024)):
        super().__init__()
        self.num_classes, self.in_channels, self.input_size = int(num_classes), int(in_channels), int(input_size)
        self.digit_dim, self.reconstruction_weight = int(digit_dim), float(reconstruction_weight)
        self.decoder_sizes = tuple(int(n) for n in decoder_sizes)
        if self.input_size < 17:
            raise ValueError(f"CapsNet: input_size must be at least 17 (two 9×9 convolutions), got {input_size}")
        side = (self.input_size - 8 - 9) // 2 + 1     # conv1 9×9 stride 1, then primary 9×9 stride 2
        self.conv1 = Conv2d(in_channels, conv_channels, 9)
        self.relu = ReLU()
        self.primary = PrimaryCaps(conv_channels, primary_types, primary_dim, kernel_size=9, stride=2)
        self.digitcaps = CapsuleLayer(primary_types * side * side, primary_dim, self.num_classes, self.digit_dim,
                                      routings)
        self.decoder = self._decoder() if decoder else None

    def _decoder(self):
        pixels = self.in_channels * self.input_size ** 2
        a, b = self.decoder_sizes
        return Sequential(Linear(self.num_classes * self.digit_dim, a), ReLU(), Linear(a, b), ReLU(),
                          Linear(b, pixels), Sigmoid())

    def capsules(self, x):
        """The digit capsules v, shape (N, K, digit_dim)."""
        expected = (self.in_channels, self.input_size, self.input_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"CapsNet: expected input of shape (N, {', '.join(map(str, expected))}), "
                             f"got shape {tuple(x.shape)}")
        return self.digitcaps(self.primary(self.relu(self.conv1(x))))

    def forward(self, x):
        return self.capsules(x).norm(dim=-1)

    def reconstruct(self, v, target=None):
        """The decoder's image (N, C·H·W) from capsules v (N, K, D), all but capsule ``target``
        (class indices (N,); default: the longest one) masked to zero."""
        if self.decoder is None:
            raise ValueError("CapsNet.reconstruct: the network was built with decoder=False")
        if target is None:
            target = Tensor(v.detach().norm(dim=-1).data.argmax(axis=1))
        mask = one_hot(target if isinstance(target, Tensor) else Tensor(target), self.num_classes).astype(v.dtype)
        return self.decoder((v * mask.unsqueeze(-1)).reshape(v.shape[0], -1))

    def losses(self, x, y):
        """``(total, margin, reconstruction, lengths)`` for a batch: the margin loss, the weighted
        reconstruction loss (the sum of squared errors per image, averaged over the batch; 0
        without a decoder) and their sum."""
        v = self.capsules(x)
        lengths = v.norm(dim=-1)
        margin = margin_loss(lengths, y)
        if self.decoder is None:
            return margin, margin, margin * 0, lengths
        error = self.reconstruct(v, y) - x.reshape(x.shape[0], -1)
        reconstruction = (error * error).sum(axis=1).mean() * self.reconstruction_weight
        return margin + reconstruction, margin, reconstruction, lengths

    def _logs(self, total, margin, reconstruction, lengths, y):
        hits = (lengths.data.argmax(axis=1) == (y.data if isinstance(y, Tensor) else y)).mean()
        return {"loss": total.item(), "margin_loss": margin.item(), "reconstruction_loss": reconstruction.item(),
                "accuracy": float(hits)}

    def train_step(self, batch):
        """One step of ``fit``: margin + weighted reconstruction loss, backward, the optimizer's step."""
        x, y = batch
        opt = self.optimizers["default"]
        opt.zero_grad()
        total, margin, reconstruction, lengths = self.losses(x, y)
        total.backward()
        opt.step()
        return self._logs(total, margin, reconstruction, lengths, y)

    def test_step(self, batch):
        """The losses and the accuracy of one batch (``evaluate``, validation)."""
        x, y = batch
        return self._logs(*self.losses(x, y), y)

    def replace_head(self, num_classes):
        """New digit capsules (and decoder input) for ``num_classes`` classes; the rest is kept."""
        old = self.digitcaps
        self.num_classes = int(num_classes)
        self.digitcaps = CapsuleLayer(old.in_caps, old.in_dim, self.num_classes, old.out_dim, old.routings)
        if self.decoder is not None:
            self.decoder = self._decoder()
        return self

    def extra_repr(self):
        return f"num_classes={self.num_classes}, input_size={self.input_size}"


#: The reduced configuration for the CPU (issue 18): Conv1 64@9×9, 8 primary types of 8 dimensions.
REDUCED = {"conv_channels": 64, "primary_types": 8, "primary_dim": 8}


@register_model("capsnet", "CapsNet: capsules with routing by agreement, margin loss, decoder (Sabour et al. 2017)",
                input_shape=(1, 28, 28), num_classes=10)
def capsnet(num_classes=10, in_channels=1, reduced=False, **kwargs):
    """The paper's CapsNet (8,215,568 parameters; 6,804,224 without the decoder), or with
    ``reduced=True`` Conv1 64@9×9, 8 primary types of 8 dims, 10×16 digit capsules, 3 routings and
    the decoder (2,117,072 parameters). Keywords as :class:`CapsNet` (``decoder=False``, ``routings``…)."""
    options = {**(REDUCED if reduced else {}), **kwargs}
    return CapsNet(num_classes=num_classes, in_channels=in_channels, **options)


__all__ = ["CapsNet", "capsnet", "RECONSTRUCTION_WEIGHT", "REDUCED"]
