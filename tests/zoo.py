"""The model zoo as test parameters: one place for the rule of which models are `slow` and for the smallest
input each model takes (tests/test_onnx.py, tests/test_onednn_zoo.py)."""
import pytest

import shendu


def zoo_params(heavy):
    """Every registered model's name as a pytest parameter, marked ``slow`` when it is in ``heavy``."""
    for info in shendu.models.list_models():
        yield pytest.param(info.name, marks=[pytest.mark.slow] if info.name in heavy else [], id=info.name)


def smallest_size(info, cap):
    """The side of the square input to feed zoo model ``info``: its own, at most ``cap``; 63 for AlexNet, whose
    strides need it."""
    return 63 if info.name.startswith("alexnet") else min(info.input_shape[1], cap)
