"""The issue-2 acceptance check: a two-layer network of bare Tensor ops learns XOR."""
import importlib.util
import pathlib


def test_two_layer_network_of_tensor_ops_learns_xor():
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "xor_tensors.py"
    spec = importlib.util.spec_from_file_location("xor_tensors", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    accuracy, loss = mod.train_xor(verbose=False)
    assert accuracy == 1.0
    assert loss < 0.05
