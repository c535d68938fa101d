"""The stateless functional layer: every op, activation, loss, convolution…

Names and option names follow ``torch.nn.functional`` wherever PyTorch has
the same function, so that code moves between the two. Layers in
:mod:`shendu.nn` are thin stateful wrappers over these functions.
"""
from ..ops import *  # noqa: F401,F403
from ..ops import abs, max, min, pow, sum  # noqa: F401
# Each family below adds its public names here (one import line per module).
from .dropout import dropout  # noqa: F401
from .normalization import batch_norm, layer_norm  # noqa: F401
from .embedding import embedding  # noqa: F401
from .activation import *  # noqa: F401,F403  (get_activation, softmax, gelu, ...)
from .loss import *  # noqa: F401,F403  (cross_entropy, mse_loss, ...)
from .recurrent import detach_state, gru, gru_cell, lstm, lstm_cell, rnn, rnn_cell, sequence_mask  # noqa: F401
from .conv import conv1d, conv2d, conv_transpose2d  # noqa: F401
from .pooling import (adaptive_avg_pool2d, avg_pool2d, global_avg_pool2d, interpolate, local_response_norm,  # noqa: F401
                      max_pool2d, pad2d, upsample, zero_pad2d)
# --- lead: attention
from .attention import causal_mask, scaled_dot_product_attention  # noqa: F401
# --- nn-funcs: the neural-network functions of issue 14
from .normalization import group_norm, instance_norm, rms_norm  # noqa: F401
from .einsum import einsum  # noqa: F401
from .distance import normalize, pairwise_distance  # noqa: F401
from .conv import conv3d, conv_transpose1d, conv_transpose3d  # noqa: F401
from .pooling import avg_pool1d, avg_pool3d, max_pool1d, max_pool3d, max_unpool2d  # noqa: F401
from .dropout import dropout1d, dropout2d, dropout3d  # noqa: F401
from .spatial import fold, pixel_shuffle, pixel_unshuffle, unfold  # noqa: F401
from .embedding_bag import embedding_bag  # noqa: F401
