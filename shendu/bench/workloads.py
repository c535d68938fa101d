"""The benchmark workloads, each defined twice: with shendu's public layers and with PyTorch's.

Both sides build exactly the same network; the torch model is filled with the
shendu model's weights (``load_state_dict`` by PyTorch's names), so the two
compute the same numbers from the same float32 data. A workload is

* ``shendu_model()`` — the shendu network, initialised by its own layers;
* ``torch_model()`` — the same architecture in PyTorch (weights are copied in later);
* ``data(rng)`` — the batch: float32 inputs, non-zero, and the targets;
* ``loss`` / ``optimizer`` — names resolved the same way on both sides;
* ``train`` — False for the inference workloads (forward only, no graph).

:func:`build` turns a workload into one ``step()`` closure per framework.
torch is imported only inside the ``torch_*`` functions, so that the shendu
side of the benchmark (and its peak-memory child process) never loads it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import shendu
from shendu import nn
from shendu.backend import xp


@dataclass(frozen=True)
class Workload:
    """One benchmark: a network, its batch, its loss and optimizer.

    Args:
        name: the ``--only`` name.
        description: one line for the table's legend.
        input_shape: the shape of the input batch.
        num_classes: targets are integers in [0, num_classes); 0 for the
            BCE workload (targets in {0, 1} of the output's shape).
        loss: ``"bce"`` or ``"cross_entropy"`` (None for inference).
        optimizer: ``(name, kwargs)``, the same on both sides (None for inference).
        train: a full training step (True) or a forward pass in inference mode (False).
        batch_axis: the input's batch axis (1 for the sequence-first recurrent inputs (L, N, features)).
        target: the goal for the time ratio shendu ÷ PyTorch (lower is better): issue 22's, every workload ≤ 1.0
            but xor ≤ 0.5 and infer_b1 ≤ 0.7.
        tokens: a language model: inputs and targets are token ids in [0, num_classes) of the input's
            shape, and the loss is the cross-entropy over every position.
    """

    name: str
    description: str
    input_shape: tuple
    num_classes: int
    loss: str | None
    optimizer: tuple | None
    train: bool = True
    batch_axis: int = 0
    target: float = 1.0
    tokens: bool = False


# ------------------------------------------------------------------ the networks, shendu side
def mlp():
    """784-256-128-10 with ReLU."""
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def xor_net():
    """2-8-1, tanh then sigmoid."""
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1), nn.Sigmoid())


def lenet5():
    """Modern LeNet-5 on 1×32×32: conv 6@5×5, ReLU, avg-pool 2, conv 16@5×5, ReLU, avg-pool 2, 120, 84, 10."""
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84),
                         nn.ReLU(), nn.Linear(84, 10))


def cnn_bn():
    """conv 32@3×3 → BN → ReLU → max-pool 2 → conv 64@3×3 → BN → ReLU → max-pool 2 → dropout 0.5 → dense 10
    (3×3 convolutions with padding 1)."""
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.5), nn.Linear(64 * 8 * 8, 10))


def resnet20():
    """CIFAR ResNet-20 with option-A shortcuts, from the model zoo."""
    from shendu.models.resnet import resnet20 as zoo_resnet20
    return zoo_resnet20(num_classes=10)


def resnet18():
    """ImageNet ResNet-18 (BasicBlock [2, 2, 2, 2], 1000 classes), from the model zoo."""
    from shendu.models.resnet import resnet18 as zoo_resnet18
    return zoo_resnet18(num_classes=1000)


class RecurrentClassifier(nn.Module):
    """One LSTM or GRU layer over (L, N, input_size); the last hidden state → dense ``num_classes``."""

    def __init__(self, cell, input_size=32, hidden_size=128, num_classes=10):
        super().__init__()
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(input_size, hidden_size)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state   # LSTM: (h_n, c_n); GRU: h_n
        return self.fc(h[-1])


def gpt():
    """The character GPT of the attention issue: 4 layers, 4 heads, width 128, context 64, no biases, 65 tokens."""
    from shendu.models import GPT
    return GPT(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, bias=False)


# ------------------------------------------------------------------ the networks, torch side
def torch_mlp():
    from torch import nn as tnn
    return tnn.Sequential(tnn.Linear(784, 256), tnn.ReLU(), tnn.Linear(256, 128), tnn.ReLU(), tnn.Linear(128, 10))


def torch_xor_net():
    from torch import nn as tnn
    return tnn.Sequential(tnn.Linear(2, 8), tnn.Tanh(), tnn.Linear(8, 1), tnn.Sigmoid())


def torch_lenet5():
    from torch import nn as tnn
    return tnn.Sequential(tnn.Conv2d(1, 6, 5), tnn.ReLU(), tnn.AvgPool2d(2), tnn.Conv2d(6, 16, 5), tnn.ReLU(),
                          tnn.AvgPool2d(2), tnn.Flatten(), tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84),
                          tnn.ReLU(), tnn.Linear(84, 10))


def torch_cnn_bn():
    from torch import nn as tnn
    return tnn.Sequential(tnn.Conv2d(3, 32, 3, padding=1), tnn.BatchNorm2d(32), tnn.ReLU(), tnn.MaxPool2d(2),
                          tnn.Conv2d(32, 64, 3, padding=1), tnn.BatchNorm2d(64), tnn.ReLU(), tnn.MaxPool2d(2),
                          tnn.Flatten(), tnn.Dropout(0.5), tnn.Linear(64 * 8 * 8, 10))


def _torch_basic_block(shortcut):
    """The torch residual BasicBlock class with shendu's names: relu(bn2(conv2(relu(bn1(conv1(x))))) + identity),
    where the identity is ``shortcut(inplanes, planes, stride)`` applied to x when the shape changes."""
    from torch import nn as tnn

    class BasicBlock(tnn.Module):
        def __init__(self, inplanes, planes, stride=1):
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU()
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = shortcut(inplanes, planes, stride) if stride != 1 or inplanes != planes else None

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    return BasicBlock


def torch_resnet18():
    """ImageNet ResNet-18 in PyTorch, with torchvision's (and shendu's) module names."""
    from torch import nn as tnn

    BasicBlock = _torch_basic_block(lambda inplanes, planes, stride: tnn.Sequential(
        tnn.Conv2d(inplanes, planes, 1, stride, bias=False), tnn.BatchNorm2d(planes)))

    class ResNet18(tnn.Module):
        def __init__(self, num_classes=1000):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.relu = tnn.ReLU()
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            inplanes = 64
            for i, (planes, stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2))):
                setattr(self, f"layer{i + 1}", tnn.Sequential(BasicBlock(inplanes, planes, stride),
                                                              BasicBlock(planes, planes)))
                inplanes = planes
            self.avgpool = tnn.AdaptiveAvgPool2d(1)
            self.fc = tnn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet18()


def torch_resnet20():
    """CIFAR ResNet-20 (He et al. 2015, Sec. 4.2) in PyTorch, with shendu's module names (option-A shortcuts)."""
    import torch
    from torch import nn as tnn
    from torch.nn import functional as tF

    class ZeroPadShortcut(tnn.Module):
        def __init__(self, in_channels, out_channels, stride):
            super().__init__()
            self.extra, self.stride = out_channels - in_channels, stride

        def forward(self, x):
            s = self.stride
            return tF.pad(x[:, :, ::s, ::s], (0, 0, 0, 0, 0, self.extra))

    BasicBlock = _torch_basic_block(ZeroPadShortcut)

    class CifarResNet(tnn.Module):
        def __init__(self, n=3, num_classes=10):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(16)
            self.relu = tnn.ReLU()
            stages, inplanes = [], 16
            for planes, stride in ((16, 1), (32, 2), (64, 2)):
                blocks = [BasicBlock(inplanes, planes, stride)] + [BasicBlock(planes, planes) for _ in range(n - 1)]
                stages.append(tnn.Sequential(*blocks))
                inplanes = planes
            self.layer1, self.layer2, self.layer3 = stages
            self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
            self.fc = tnn.Linear(64, num_classes)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return CifarResNet()


def torch_recurrent(cell, input_size=32, hidden_size=128, num_classes=10):
    from torch import nn as tnn

    class RecurrentClassifier(tnn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = (tnn.LSTM if cell == "lstm" else tnn.GRU)(input_size, hidden_size)
            self.fc = tnn.Linear(hidden_size, num_classes)

        def forward(self, x):
            _, state = self.rnn(x)
            h = state[0] if isinstance(state, tuple) else state
            return self.fc(h[-1])

    return RecurrentClassifier()


def torch_gpt(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, bias=False):
    """shendu's :class:`~shendu.models.GPT` written in PyTorch, with its parameter names (nanoGPT's)."""
    import torch
    from torch import nn as tnn

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = tnn.LayerNorm(n_embd, bias=bias), tnn.LayerNorm(n_embd, bias=bias)
            self.attn, self.mlp = tnn.Module(), tnn.Module()
            self.attn.c_attn = tnn.Linear(n_embd, 3 * n_embd, bias=bias)
            self.attn.c_proj = tnn.Linear(n_embd, n_embd, bias=bias)
            self.mlp.c_fc = tnn.Linear(n_embd, 4 * n_embd, bias=bias)
            self.mlp.c_proj = tnn.Linear(4 * n_embd, n_embd, bias=bias)

        def forward(self, x):
            N, T, E = x.shape
            q, k, v = self.attn.c_attn(self.ln_1(x)).split(E, dim=2)
            q, k, v = (t.view(N, T, n_head, E // n_head).transpose(1, 2) for t in (q, k, v))
            y = tnn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn.c_proj(y.transpose(1, 2).reshape(N, T, E))
            return x + self.mlp.c_proj(tnn.functional.gelu(self.mlp.c_fc(self.ln_2(x))))

    class GPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = tnn.ModuleDict(dict(
                wte=tnn.Embedding(vocab_size, n_embd), wpe=tnn.Embedding(block_size, n_embd),
                h=tnn.ModuleList([Block() for _ in range(n_layer)]), ln_f=tnn.LayerNorm(n_embd, bias=bias)))
            self.lm_head = tnn.Linear(n_embd, vocab_size, bias=False)
            self.lm_head.weight = self.transformer.wte.weight

        def forward(self, idx):
            t = self.transformer
            x = t.wte(idx) + t.wpe(torch.arange(idx.shape[1]))
            for block in t.h:
                x = block(x)
            return self.lm_head(t.ln_f(x))

    return GPT()


# ------------------------------------------------------------------ the table of workloads
_SGD_MOMENTUM = ("SGD", dict(lr=0.01, momentum=0.9))
_ADAM = ("Adam", dict(lr=1e-3))

WORKLOADS = {
    "xor": Workload("xor", "MLP 2-8-1, tanh, sigmoid, BCE, SGD lr 0.5, batch 4",
                    (4, 2), 0, "bce", ("SGD", dict(lr=0.5)), target=0.5),
    "mlp": Workload("mlp", "MLP 784-256-128-10, ReLU, cross-entropy, Adam, batch 128",
                    (128, 784), 10, "cross_entropy", _ADAM, target=1.0),
    "lenet5": Workload("lenet5", "LeNet-5 (ReLU, avg-pool) on 1x32x32, cross-entropy, SGD momentum 0.9, batch 128",
                       (128, 1, 32, 32), 10, "cross_entropy", _SGD_MOMENTUM, target=1.0),
    "cnn_bn": Workload("cnn_bn", "2x(conv 3x3, BN, ReLU, max-pool), dropout, dense 10 on 3x32x32, Adam, batch 64",
                       (64, 3, 32, 32), 10, "cross_entropy", _ADAM, target=1.0),
    "resnet20": Workload("resnet20", "CIFAR ResNet-20 (option A) on 3x32x32, SGD momentum 0.9, batch 32",
                         (32, 3, 32, 32), 10, "cross_entropy", ("SGD", dict(lr=0.1, momentum=0.9)), target=1.0),
    "resnet18": Workload("resnet18", "ImageNet ResNet-18 on 3x224x224, 1000 classes, SGD momentum 0.9, batch 8",
                         (8, 3, 224, 224), 1000, "cross_entropy", ("SGD", dict(lr=0.1, momentum=0.9)), target=1.0),
    "lstm": Workload("lstm", "LSTM 32->128 over 50 steps, last h -> dense 10, cross-entropy, Adam, batch 64",
                     (50, 64, 32), 10, "cross_entropy", _ADAM, batch_axis=1, target=1.0),
    "gru": Workload("gru", "GRU 32->128 over 50 steps, last h -> dense 10, cross-entropy, Adam, batch 64",
                    (50, 64, 32), 10, "cross_entropy", _ADAM, batch_axis=1, target=1.0),
    "gpt": Workload("gpt", "character GPT 4x4x128, context 64, 804k parameters, next-token cross-entropy, AdamW, "
                    "batch 12", (12, 64), 65, "cross_entropy", ("AdamW", dict(lr=1e-3, betas=(0.9, 0.99),
                                                                                  weight_decay=0.1)),
                    target=1.0, tokens=True),
    "infer_b1": Workload("infer_b1", "the mlp's forward pass in inference mode, batch 1",
                         (1, 784), 10, None, None, train=False, target=0.7),
    "infer_b1024": Workload("infer_b1024", "the mlp's forward pass in inference mode, batch 1024",
                            (1024, 784), 10, None, None, train=False, target=1.0),
}

#: The issue's goal for every workload's peak memory: at most this multiple of PyTorch's.
MEMORY_TARGET = 1.2

_SHENDU_MODELS = {"xor": xor_net, "mlp": mlp, "lenet5": lenet5, "cnn_bn": cnn_bn, "resnet20": resnet20,
                  "resnet18": resnet18, "lstm": lambda: RecurrentClassifier("lstm"), "gru": lambda: RecurrentClassifier("gru"),
                  "gpt": gpt, "infer_b1": mlp, "infer_b1024": mlp}
_TORCH_MODELS = {"xor": torch_xor_net, "mlp": torch_mlp, "lenet5": torch_lenet5, "cnn_bn": torch_cnn_bn,
                 "resnet20": torch_resnet20, "resnet18": torch_resnet18, "lstm": lambda: torch_recurrent("lstm"),
                 "gru": lambda: torch_recurrent("gru"), "gpt": torch_gpt, "infer_b1": torch_mlp,
                 "infer_b1024": torch_mlp}


def data(workload, seed=0):
    """The batch as float32 / int64 NumPy arrays: inputs ~ N(0, 1) with no exact zero, and targets
    (token ids of the input's shape for a language model)."""
    gen = xp.random.default_rng(seed)
    if workload.tokens:
        ids = gen.integers(0, workload.num_classes, size=(workload.input_shape[0], workload.input_shape[1] + 1))
        return ids[:, :-1].astype(xp.int64), ids[:, 1:].astype(xp.int64)
    x = gen.standard_normal(workload.input_shape).astype(xp.float32)
    x[x == 0] = 1.0  # "non-zero data": no sparsity short-cut can help either side
    if workload.num_classes:
        y = gen.integers(0, workload.num_classes, size=workload.input_shape[workload.batch_axis]).astype(xp.int64)
    else:
        y = gen.integers(0, 2, size=(workload.input_shape[0], 1)).astype(xp.float32)
    return x, y


def flops_per_step(workload, model):
    """Floating-point operations of one step: 2·MACs of the forward pass (from the layers' ``macs``),
    times 3 for a training step (the backward pass does two products per forward product).

    A language model's count is PaLM's (Chowdhery et al. 2022, app. B): 6·N per token for the N weights
    of the matrices (the tied head once, the position table not at all), plus 12·layers·T·E per token
    for the attention scores and their use, over the batch's N·T tokens.
    """
    if workload.tokens:
        batch, T = workload.input_shape
        n = model.num_parameters() - model.transformer["wpe"].weight.data.size
        per_token = 6 * n + 12 * model.n_layer * T * model.transformer["wte"].weight.shape[1]
        return per_token * batch * T
    # summary counts per sample over the leading axis; for a sequence-first input that axis is time,
    # which is fine: only the product "per leading index × leading size" is used.
    batch, sample = workload.input_shape[0], workload.input_shape[1:]
    s = shendu.summary(model, sample, batch_size=batch, print_fn=None)
    return 2 * s.total_macs * batch * (3 if workload.train else 1)


# ------------------------------------------------------------------ step closures
def shendu_step(workload, model, x, y):
    """The closure that runs one shendu step on the batch (a training step, or a forward pass)."""
    xt = shendu.tensor(x)
    if not workload.train:
        model.eval()

        def infer():
            with shendu.no_grad():
                return model(xt)

        return infer
    model.train()
    yt = shendu.tensor(y)
    loss_fn = nn.BCELoss() if workload.loss == "bce" else nn.CrossEntropyLoss()
    if workload.tokens:
        loss_fn = _per_token(loss_fn, workload.num_classes)
    name, kwargs = workload.optimizer
    opt = getattr(shendu.optim, name)(model.parameters(), **kwargs)

    def train_step():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return train_step


def torch_step(workload, model, x, y):
    """The same closure in PyTorch (``inference_mode`` for the forward-only workloads)."""
    import torch
    xt = torch.from_numpy(x.copy())
    if not workload.train:
        model.eval()

        def infer():
            with torch.inference_mode():
                return model(xt)

        return infer
    model.train()
    yt = torch.from_numpy(y.copy())
    loss_fn = torch.nn.BCELoss() if workload.loss == "bce" else torch.nn.CrossEntropyLoss()
    if workload.tokens:
        loss_fn = _per_token(loss_fn, workload.num_classes)
    name, kwargs = workload.optimizer
    opt = getattr(torch.optim, name)(model.parameters(), **kwargs)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return train_step


def _per_token(loss_fn, vocab_size):
    """The loss over every position of (N, T, V) logits and (N, T) targets (either framework)."""
    return lambda logits, y: loss_fn(logits.reshape(-1, vocab_size), y.reshape(-1))


def copy_weights(sd_model, torch_model):
    """Load the shendu model's parameters and buffers into the torch model (same names, same shapes)."""
    import torch
    state = {k: torch.from_numpy(xp.array(t.numpy(), copy=True)) for k, t in sd_model.state_dict().items()}
    torch_model.load_state_dict(state, strict=True)


def build(name, frameworks=("shendu", "torch"), seed=0):
    """Build workload ``name`` for ``frameworks``: returns ``(workload, {framework: step}, sd_model)``.

    Both models start from the same weights (shendu's initialisation, copied to
    torch) and see the same batch. ``sd_model`` is None when shendu is not asked for
    and no weights need copying.
    """
    workload = WORKLOADS[name]
    shendu.manual_seed(seed)
    x, y = data(workload, seed)
    sd_model = _SHENDU_MODELS[name]()
    steps = {}
    if "torch" in frameworks:
        import torch
        torch.manual_seed(seed)
        t_model = _TORCH_MODELS[name]()
        copy_weights(sd_model, t_model)
        steps["torch"] = torch_step(workload, t_model, x, y)
    if "shendu" in frameworks:
        steps["shendu"] = shendu_step(workload, sd_model, x, y)
    else:
        sd_model = None
    return workload, steps, sd_model


def check_same_numbers(name, seed=0):
    """Run one forward pass (eval mode) of both models on the same batch and return the relative L1 difference
    Σ|a − b| / Σ|b| of the outputs.

    A sanity check that the two sides are the same network with the same weights.
    """
    import torch
    workload = WORKLOADS[name]
    shendu.manual_seed(seed)
    x, _ = data(workload, seed)
    sd_model = _SHENDU_MODELS[name]()
    t_model = _TORCH_MODELS[name]()
    copy_weights(sd_model, t_model)
    sd_model.eval()
    t_model.eval()
    with shendu.no_grad():
        a = sd_model(shendu.tensor(x)).numpy()
    with torch.no_grad():
        b = t_model(torch.from_numpy(x)).numpy()
    return float(math.fsum(abs(a - b).ravel()) / max(math.fsum(abs(b).ravel()), 1e-30))
