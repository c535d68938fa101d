"""``shendu.linalg``: PyTorch's ``torch.linalg`` norms.

``vector_norm(x, ord=2, dim=None)``, ``matrix_norm(A, ord='fro', dim=(-2, -1))`` and
``norm(A, ord=None, dim=None)`` (vector or matrix by ``dim``); formulas in
:mod:`shendu.ops.norm`.
"""
from .ops.norm import linalg_norm as norm, matrix_norm, vector_norm

__all__ = ["norm", "matrix_norm", "vector_norm"]
