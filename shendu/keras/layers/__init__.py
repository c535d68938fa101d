"""``keras.layers``: Keras 3's layers over shendu (channels-last data, Keras's weights and defaults)."""
from ..engine import Input  # noqa: F401  (keras.layers.Input, as in Keras)
from .attention import MultiHeadAttention
from .augment import RandomFlip, RandomRotation
from .base import InputLayer, Layer
from .conv import Conv1D, Conv2D, Conv2DTranspose
from .core import (ELU, Activation, Dense, Dropout, Embedding, Flatten, LeakyReLU, Permute, ReLU, RepeatVector,
                   Rescaling, Reshape, Softmax)
from .merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                    dot, multiply, subtract)
from .merge import maximum_ as maximum, minimum_ as minimum  # noqa: F401
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D)
from .recurrent import GRU, LSTM, SimpleRNN
from .wrappers import Bidirectional, TimeDistributed

# Keras's aliases
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
Convolution1D, Convolution2D, Conv2DTransposed = Conv1D, Conv2D, Conv2DTranspose

__all__ = [
    "Input", "InputLayer", "Layer", "Dense", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Flatten",
    "Reshape", "Permute", "RepeatVector", "Dropout", "Embedding", "Rescaling", "Conv1D", "Conv2D", "Conv2DTranspose",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "BatchNormalization",
    "LayerNormalization", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "TimeDistributed", "Concatenate", "Add",
    "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Dot", "concatenate", "add", "subtract", "multiply",
    "average", "maximum", "minimum", "dot", "RandomFlip", "RandomRotation", "MultiHeadAttention",
]
