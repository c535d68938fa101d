"""Neural-network building blocks: modules, layers, activations and losses as layers."""
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential, no_fusion
from .linear import Dense, Flatten, Identity, Linear
from .dropout import Dropout
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm
from .embedding import Embedding
from .perceptron import Perceptron
from . import init, regularizers
from . import utils  # clip_grad_norm_, clip_grad_value_ (torch.nn.utils' path)
from .activation import *  # noqa: F401,F403  (ReLU, GELU, Softmax, ...)
from .loss import *  # noqa: F401,F403  (CrossEntropyLoss, MSELoss, ...)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .conv import Conv1d, Conv2d, Conv2D, ConvTranspose2d
from .pooling import (AdaptiveAvgPool2d, AvgPool2d, Concatenate, GlobalAvgPool2d, LocalResponseNorm, MaxPool2d,
                      Upsample, ZeroPad2d)
# --- lead: attention and the Transformer
from .attention import MultiheadAttention
from .transformer import (Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                          TransformerEncoderLayer)
from .positional import LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding

# --- trust-files: classes a saved file may build (shendu.nn.register)
from . import config  # noqa: E402
from .config import ConfigError, UnsafeConfigError, register  # noqa: E402,F401
# --- nn-funcs: the layers of issue 14's neural-network functions
from .normalization import GroupNorm, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, RMSNorm
from .distance import CosineSimilarity, PairwiseDistance
from .conv import Conv3d, ConvTranspose1d, ConvTranspose3d
from .pooling import AvgPool1d, AvgPool3d, MaxPool1d, MaxPool3d, MaxUnpool2d
from .dropout import Dropout1d, Dropout2d, Dropout3d
from .embedding_bag import EmbeddingBag
from .spatial import Fold, PixelShuffle, PixelUnshuffle, Unfold
# --- lead: attention of RNN encoder-decoders
from .seq_attention import AdditiveAttention, DotProductAttention

# --- torch-idioms: PyTorch's nn paths
from .linear import Unflatten  # noqa: E402
from . import functional, parallel  # noqa: E402,F401  (shendu.nn.functional is shendu.functional's names)
from .parallel import DataParallel  # noqa: E402
