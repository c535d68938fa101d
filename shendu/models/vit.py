"""The Vision Transformer (Dosovitskiy et al. 2020, "An image is worth 16x16 words").

    patches = Conv(k = stride = patch)(x)                (N, D, H/p, W/p): one linear map per patch
    z₀ = [cls; patches as a sequence] + P                a learned class token, learned positions
    z = TransformerEncoder(z₀)                           pre-norm blocks, GELU MLPs
    logits = W · LN(z)[class token]

The patch embedding as a strided convolution is the same linear map applied to every
non-overlapping p×p patch, written as one kernel.
"""
from __future__ import annotations

from ..nn import (Conv2d, Dropout, LayerNorm, Linear, Module, Parameter, TransformerEncoder, TransformerEncoderLayer,
                  init)
from ..ops import concatenate
from ..tensor import zeros


class ViT(Module):
    """A small Vision Transformer for images of ``image_size`` × ``image_size``.

    Args:
        image_size: H = W (e.g. 28 or 32). patch_size: p, dividing image_size (default 7).
        num_classes (10), in_channels (1), dim (64): the token width D, depth (4): encoder layers,
        heads (4), mlp_dim (128): the feed-forward width, dropout (0.0).

    Shape: x (N, in_channels, image_size, image_size) -> logits (N, num_classes).

    Example:
        >>> vit = ViT(image_size=28, patch_size=7)
        >>> vit(shendu.randn(2, 1, 28, 28)).shape
        (2, 10)
    """

    def __init__(self, image_size=28, patch_size=7, num_classes=10, in_channels=1, dim=64, depth=4, heads=4,
                 mlp_dim=128, dropout=0.0):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"ViT: image_size {image_size} is not divisible by patch_size {patch_size}")
        self.image_size, self.patch_size, self.in_channels = int(image_size), int(patch_size), int(in_channels)
        n = (image_size // patch_size) ** 2
        self.patch_embed = Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.cls_token = Parameter(zeros(1, 1, dim))
        self.pos_embed = Parameter(zeros(1, n + 1, dim))
        init.normal_(self.pos_embed, 0.0, 0.02)
        init.normal_(self.cls_token, 0.0, 0.02)
        self.dropout = Dropout(dropout)
        layer = TransformerEncoderLayer(dim, heads, dim_feedforward=mlp_dim, dropout=dropout, activation="gelu",
                                        batch_first=True, norm_first=True)
        self.encoder = TransformerEncoder(layer, depth)
        self.norm = LayerNorm(dim)
        self.head = Linear(dim, num_classes)

    def forward(self, x):
        want = (self.in_channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(f"ViT: expected images (N, {', '.join(map(str, want))}), got shape {tuple(x.shape)}")
        p = self.patch_embed(x)                                   # (N, D, h, w)
        tokens = p.reshape(p.shape[0], p.shape[1], -1).transpose(1, 2)   # (N, h·w, D)
        cls = self.cls_token.expand(x.shape[0], 1, self.cls_token.shape[-1])
        z = self.dropout(concatenate([cls, tokens], axis=1) + self.pos_embed)
        z = self.norm(self.encoder(z))
        return self.head(z[:, 0])


__all__ = ["ViT"]
