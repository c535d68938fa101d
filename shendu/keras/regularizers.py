"""``keras.regularizers``: L1, L2, L1L2 (Keras's penalties and default factor 0.01), from shendu.nn.regularizers.

    L1(l1): l1 · Σ|w|      L2(l2): l2 · Σ w²      L1L2(l1, l2): both
"""
from ..nn.regularizers import L1, L2, L1L2, Regularizer, get, l1, l1_l2, l2  # noqa: F401
