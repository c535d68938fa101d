"""ONNX export: ``shendu.onnx.export(model, sample_input, "model.onnx")``.

The model's forward pass is traced once and every recorded op is written as
ONNX operators (:mod:`shendu.onnx.export` explains how, :mod:`shendu.onnx.ops`
holds the translation of each op; docs/onnx.md has the table). Needs the
``onnx`` package: ``pip install 'shendu[onnx]'`` (onnxruntime, to run the
file, is in that extra too). Importing this module does not import onnx.

    >>> import shendu
    >>> model = shendu.models.resnet20()
    >>> shendu.onnx.export(model, shendu.randn(1, 3, 32, 32), "resnet20.onnx")   # doctest: +SKIP
"""
from .export import MIN_OPSET, export

__all__ = ["export", "MIN_OPSET"]
