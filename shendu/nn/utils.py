"""``shendu.nn.utils``: PyTorch's ``torch.nn.utils`` helpers.

Gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``) lives in
:mod:`shendu.optim.clip` and is re-exported here; ``parameters_to_vector`` and
``vector_to_parameters`` flatten parameters into one vector and back; ``skip_init``
builds a module without initialising it.
"""
from ..ops import cat
from ..optim.clip import clip_grad_norm_, clip_grad_value_
from . import init


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with its parameters and buffers allocated but not initialised.

    PyTorch's ``torch.nn.utils.skip_init``: for a module whose weights are about
    to be overwritten (loaded from a file, or initialised by hand), skip the
    random draws. The values are arbitrary until written.

    Example:
        >>> layer = shendu.nn.utils.skip_init(shendu.nn.Linear, 10, 5)
        >>> layer.weight.shape
        (5, 10)
    """
    with init.skip():
        return module_cls(*args, **kwargs)


__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters", "skip_init"]


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one vector (differentiable): v = [p_1.ravel(), p_2.ravel(), ...].

    Shape: parameters of n_1, n_2, ... elements -> (n_1 + n_2 + ...,).
    """
    params = list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the vector ``vec`` into the parameters (their ``.data``), in order.

    Shape: vec (n_1 + n_2 + ...,) -> parameters of n_1, n_2, ... elements.
    """
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(f"vector_to_parameters: expected a vector of {total} elements (the parameters' total), "
                         f"got shape {tuple(vec.shape)}")
    start = 0
    for p in params:
        n = p.numel()
        p.data = vec.data[start:start + n].reshape(p.shape).astype(p.dtype, copy=True)
        start += n
