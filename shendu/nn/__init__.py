"""Neural-network building blocks: modules, layers, activations and losses as layers."""
from .module import Module, ModuleDict, ModuleList, Parameter, Sequential
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

# --- torch-idioms: PyTorch's nn paths
from .linear import Unflatten  # noqa: E402
from . import functional, parallel  # noqa: E402,F401  (shendu.nn.functional is shendu.functional's names)
from .parallel import DataParallel  # noqa: E402
