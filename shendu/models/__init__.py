"""The model zoo: classic architectures built from public shendu layers (docs/models.md).

    >>> import shendu
    >>> net = shendu.models.resnet20(num_classes=10)          # by function
    >>> net = shendu.models.get_model("lenet5")               # by name (the CLI's way)
    >>> [m.name for m in shendu.models.list_models()]         # every registered model

Each model takes ``num_classes`` and ``in_channels``, cites its paper and is
made of reusable blocks (``BasicBlock``, ``Bottleneck``, ``Inception``, …).
"""
from .registry import ModelInfo, count_parameters, get_model, list_models, model_info, model_table, register_model
# One import line per model family (each registers its models on import).
from .lenet import *  # noqa: F401,F403  (LeNet5, lenet5, ScaledTanh, Subsampling2d, ConnectionTableConv2d)
from .alexnet import *  # noqa: F401,F403  (AlexNet, alexnet)
from .vgg import *  # noqa: F401,F403  (VGG, vgg11 … vgg19_bn)
from .googlenet import *  # noqa: F401,F403  (GoogLeNet, Inception, googlenet)
from .resnet import *  # noqa: F401,F403  (ResNet, CifarResNet, BasicBlock, Bottleneck, resnet18 … resnet110)
from .xo import *  # noqa: F401,F403  (XONet, xo_cnn)
from .recurrent import *  # noqa: F401,F403  (TextClassifier, SequenceRegressor, CharLM)
from .gpt import *  # noqa: F401,F403  (GPT, Block, CausalSelfAttention, MLP)
from .vit import *  # noqa: F401,F403  (ViT)
from .text_transformer import *  # noqa: F401,F403  (TransformerClassifier)
from .features import FeatureExtractor, feature_extractor  # noqa: F401,E402  (inner layers' outputs as a dict)
from .capsnet import *  # noqa: F401,F403  (CapsNet, capsnet)
from . import pretrained  # noqa: F401,E402  (shipped weights: lenet5(pretrained="mnist"))
from .autoencoder import *  # noqa: F401,F403  (AutoEncoder, ConvAutoEncoder, Corruption)
from .vae import *  # noqa: F401,F403  (VAE, ConditionalVAE, vae_loss)
from .gan import *  # noqa: F401,F403  (GAN, DCGAN, ConditionalGAN)
