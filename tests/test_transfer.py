"""Transfer learning: freeze/unfreeze, frozen batch norm, replace_head, param_groups, gradual unfreezing,
init_from and `shendu train --init/--freeze/--head`, the shipped pretrained weights."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import shendu
from shendu import nn
from shendu.models import lenet5, list_models, resnet20
from shendu.nn import init
from shendu.nn.freeze import classifier_heads, freeze, is_frozen, param_groups, replace_head, unfreeze
from shendu.training.transfer import GradualUnfreezing, init_from


def small_bn_net():
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 8, 8)).astype(np.float32) * 2 + 1, rng.integers(0, 3, n)


def test_frozen_layers_get_no_updates_and_batch_norm_keeps_its_statistics():
    net = small_bn_net()
    net.freeze("0", "1")
    before = {k: v.data.copy() for k, v in net.state_dict().items()}
    x, y = data()
    net.compile("adam", lr=1e-2, optimizer_options={"weight_decay": 0.1}).fit(x, y, epochs=2, batch_size=8, verbose=0)
    after = net.state_dict()
    for k in before:                                   # conv, BN affine AND running statistics unchanged
        same = np.array_equal(before[k], after[k].data)
        assert same == (not k.startswith("4.")), k
    held = {id(p) for g in net.trainer.optimizer.param_groups for p in g["params"]}
    assert held == {id(net[4].weight), id(net[4].bias)}   # frozen params are not in the optimizer at all
    assert net.training and not net[1].training          # train() leaves the frozen BN in eval mode


def test_requires_grad_false_alone_is_pytorchs_pitfall():
    # requires_grad_(False) keeps PyTorch's meaning: BN still updates its running statistics (as torch does)
    net = small_bn_net()
    net[1].requires_grad_(False)
    tnet = torch.nn.BatchNorm2d(4)
    tnet.requires_grad_(False)
    x = np.random.default_rng(1).standard_normal((8, 4, 5, 5)).astype(np.float32) + 3
    net[1].train()(shendu.tensor(x))
    tnet.train()(torch.tensor(x))
    np.testing.assert_allclose(net[1].running_mean.data, tnet.running_mean.numpy(), rtol=1e-5)
    assert net[1].running_mean.data.mean() > 0.2
    net[1].freeze()                                      # freeze() stops that
    kept = net[1].running_mean.data.copy()
    net.train()(shendu.tensor(np.random.default_rng(2).standard_normal((2, 1, 8, 8)).astype(np.float32)))
    np.testing.assert_array_equal(net[1].running_mean.data, kept)


def test_unfreeze_restores_training_and_gradients():
    net = resnet20(num_classes=10)
    net.freeze("layer1")
    assert is_frozen(net.layer1) and not is_frozen(net.layer2)
    assert not net.layer1[0].bn1.training and net.layer2[0].bn1.training
    net.eval().train()
    assert not net.layer1[0].bn1.training
    net.unfreeze("layer1")
    assert not is_frozen(net.layer1) and net.layer1[0].bn1.training
    net.eval()
    assert not net.layer1[0].bn1.training
    assert freeze(net) == [""] and net.num_parameters(trainable_only=True) == 0
    unfreeze(net)
    assert net.num_parameters(trainable_only=True) == net.num_parameters()


def test_freeze_bad_names():
    net = lenet5()
    with pytest.raises(ValueError, match=r"freeze: LeNet5 has no module named 'conv1'; its top-level modules are"):
        net.freeze("conv1")
    with pytest.raises(ValueError, match="unfreeze: LeNet5 has no module named 'x'"):
        unfreeze(net, "c1", "x")
    with pytest.raises(TypeError, match="module names must be strings"):
        freeze(net, 3)
    # a name matches whole path components only
    assert freeze(resnet20(), "layer1.0") == ["layer1.0"]


def test_replace_head_every_zoo_classifier():
    for info in list_models():
        with init.skip():
            net = info.factory(num_classes=7, in_channels=info.input_shape[0])
            replace_head(net, 3)
        if info.name == "capsnet":
            assert net.digitcaps.out_caps == 3 and net.decoder[0].in_features == 3 * 16
            continue
        assert [net.get_submodule(h).out_features for h in classifier_heads(net)] == [3], info.name
    with shendu.no_grad():
        assert replace_head(lenet5(), 3)(shendu.zeros(1, 1, 32, 32)).shape == (1, 3)


def test_replace_head_googlenet_aux_and_bad_sizes():
    with init.skip():
        g = shendu.models.googlenet(num_classes=7, aux_logits=True)
    assert classifier_heads(g) == ["aux1.fc2", "aux2.fc2", "fc"]
    replace_head(g, 4)
    assert g.aux1.fc2.out_features == g.aux2.fc2.out_features == g.fc.out_features == 4
    net = lenet5()
    for bad in (0, -2, 2.5, True, "10"):
        with pytest.raises(ValueError, match="replace_head: num_classes must be an int >= 1"):
            replace_head(net, bad)
    with pytest.raises(ValueError, match="head 'c1' of LeNet5 is Conv2d; expected a Linear"):
        replace_head(net, 3, head="c1")
    old = net.output
    replace_head(net, 10)                                # the same size gives a fresh head
    assert net.output is not old and list(dict(net.named_children())) [-1] == "output"


def test_param_groups_discriminative_lrs():
    net = lenet5()
    net.freeze("c1")
    groups = param_groups(net, {"c3": 1e-4, "output": 1e-2}, lr=1e-3, weight_decay=0.1)
    assert [(g["prefix"], g.get("lr")) for g in groups] == [("c3", 1e-4), ("", 1e-3), ("output", 1e-2)]
    names = [n for g in groups for n, _ in g["params"]]
    assert "c1.weight" not in names and len(names) == 8 and all(g["weight_decay"] == 0.1 for g in groups)
    opt = shendu.optim.SGD(groups, lr=0.5)
    assert [g["lr"] for g in opt.param_groups] == [1e-4, 1e-3, 1e-2]
    with pytest.raises(ValueError, match=r"param_groups: no parameter of LeNet5 is under 'features'"):
        param_groups(net, {"features": 1e-4})
    assert [g["prefix"] for g in param_groups(resnet20(), {"layer1": 1.0})][:2] == ["", "layer1"]


def test_param_groups_match_torch_sgd_step():
    net = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)).double()
    net = net.double()
    with torch.no_grad():
        for (_, p), tp in zip(net.named_parameters(), tnet.parameters()):
            tp.copy_(torch.tensor(p.data))
    opt = shendu.optim.SGD(param_groups(net, {"1": 0.1}, lr=0.01, weight_decay=0.01), lr=0.5)
    topt = torch.optim.SGD([{"params": tnet[0].parameters(), "lr": 0.01, "weight_decay": 0.01},
                            {"params": tnet[1].parameters(), "lr": 0.1, "weight_decay": 0.01}], lr=0.5)
    x = np.random.default_rng(0).standard_normal((5, 3))
    (net(shendu.tensor(x)) ** 2).sum().backward()
    (tnet(torch.tensor(x)) ** 2).sum().backward()
    opt.step()
    topt.step()
    for (_, p), tp in zip(net.named_parameters(), tnet.parameters()):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)


def test_gradual_unfreezing_callback():
    net = small_bn_net()
    net.freeze()
    net.unfreeze("4")
    x, y = data()
    cb = GradualUnfreezing([["1"], "0"], every=1, start=1, lr_factor=0.5)
    frozen0 = net[0].weight.data.copy()
    net.compile("sgd", lr=0.1)
    net.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[cb])
    assert cb.unfrozen == [["1"]] and not is_frozen(net[1]) and is_frozen(net[0])
    np.testing.assert_array_equal(net[0].weight.data, frozen0)         # not yet unfrozen: untouched
    groups = net.trainer.optimizer.param_groups
    assert len(groups) == 2 and groups[1]["lr"] == pytest.approx(0.05)
    net.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[GradualUnfreezing(["0"], start=2)])
    assert not is_frozen(net[0]) and not np.array_equal(net[0].weight.data, frozen0)
    with pytest.raises(ValueError, match="GradualUnfreezing: Sequential has no module named 'nope'"):
        net.fit(x, y, epochs=1, verbose=0, callbacks=[GradualUnfreezing(["nope"])])
    with pytest.raises(ValueError, match="stages must be a non-empty list"):
        GradualUnfreezing([])


def test_init_from_checkpoint_head_and_freeze(tmp_path):
    from shendu.training.checkpoint import save_checkpoint
    src = lenet5(num_classes=10)
    save_checkpoint(tmp_path / "a.ckpt", src)
    net = lenet5(num_classes=5)
    with pytest.raises(ValueError, match=r"output layer of .* has 10 classes, the model 5; pass head=5"):
        init_from(net, tmp_path / "a.ckpt")
    with pytest.raises(ValueError, match="--head 3 does not fit: the model was built for 5 classes"):
        init_from(net, tmp_path / "a.ckpt", head=3)
    init_from(net, tmp_path / "a.ckpt", head=5, freeze=["c1", "c3"])
    np.testing.assert_array_equal(net.c5.weight.data, src.c5.weight.data)
    assert net.output.out_features == 5 and is_frozen(net.c1) and not is_frozen(net.c5)
    src.save(tmp_path / "w.safetensors")                 # a Module.save weights file works too
    net2 = init_from(lenet5(num_classes=10), tmp_path / "w.safetensors")
    np.testing.assert_array_equal(net2.output.weight.data, src.output.weight.data)
    with pytest.raises(ValueError, match="init_from: head .* give the weights"):
        init_from(lenet5(), None, head=3)


def test_cli_train_init_freeze_head(tmp_path, capsys):
    from shendu.cli import main
    base = tmp_path / "base"
    assert main(["train", "lenet5", "--epochs", "1", "--out", str(base), "--quiet"]) == 0
    out = tmp_path / "ft"
    assert main(["train", "lenet5", "--dataset", "xo", "--epochs", "1", "--out", str(out), "--quiet",
                 "--init", str(base / "last.ckpt"), "--head", "2", "--freeze", "c1", "c3"]) == 0
    from shendu.training.run import load_run
    model, info = load_run(out / "last.ckpt")
    base_model, _ = load_run(base / "last.ckpt")
    np.testing.assert_array_equal(model.c1.weight.data, base_model.c1.weight.data)     # frozen: unchanged
    assert not np.array_equal(model.c5.weight.data, base_model.c5.weight.data)
    assert info["run"]["freeze"] == ["c1", "c3"] and info["run"]["head"] == 2
    bad = ["train", "lenet5", "--dataset", "xo", "--epochs", "1", "--out", str(tmp_path / "bad"),
           "--init", str(base / "last.ckpt")]
    for extra, message in ((["--freeze", "c1"], "has 10 classes, the model 2"),       # no --head
                           (["--head", "2", "--freeze", "conv9"], "no module named 'conv9'"),
                           (["--head", "3"], "--head 3 does not fit")):
        capsys.readouterr()
        rc = main(bad + extra)
        err = capsys.readouterr().err
        assert rc == 2 and message in err, (extra, rc, err)


def test_pretrained_lenet5_mnist_ships_and_is_checked(tmp_path):
    from shendu.models import pretrained
    net = lenet5(pretrained="mnist")
    state, info = pretrained.read_weights("lenet5", "mnist")
    assert info["test_accuracy"] >= 0.98 and info["test_samples"] == 10000
    np.testing.assert_array_equal(net.output.weight.data, state["output.weight"])
    assert not net.training
    # a damaged copy is refused
    bad = tmp_path / "w.safetensors"
    blob = bytearray((pretrained.WEIGHTS_DIR / "lenet5_mnist.safetensors").read_bytes())
    blob[-1] ^= 1
    bad.write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="has SHA-256 .* expected"):
        pretrained.read_weights("lenet5", "mnist", bad)
    with pytest.raises(ValueError, match="no weights 'imagenet' for 'lenet5'"):
        lenet5(pretrained="imagenet")
    with pytest.raises(ValueError, match=r"build it with num_classes=10 and then"):
        lenet5(num_classes=5, pretrained="mnist")
    x = pretrained.preprocess("lenet5", "mnist", np.zeros((2, 1, 28, 28)))
    assert x.shape == (2, 1, 32, 32)


def test_pretrained_lenet5_on_real_mnist_test_images(mnist_dir):
    from shendu.data.idx import read_idx
    from shendu.models.pretrained import preprocess
    x = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[-500:].astype(np.float32)[:, None] / 255
    y = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[-500:]
    net = lenet5(pretrained="mnist")
    with shendu.no_grad():
        pred = net(shendu.tensor(preprocess("lenet5", "mnist", x))).data.argmax(1)
    assert (pred == y).mean() >= 0.97


def test_pretrained_recipe_is_one_reproducible_command(tmp_path, capsys):
    # `python -m shendu.training.pretrain lenet5-mnist` on a tiny stand-in for the MNIST files: the file it
    # writes holds the recipe and the accuracy, loads into the zoo's LeNet-5, and a second run gives the same bits
    from shendu.data.idx import write_idx
    from shendu.models.pretrained import sha256_of
    from shendu.serialization import load_file
    from shendu.training import pretrain
    rng = np.random.default_rng(0)
    for name, n in (("train-images-first10k-idx3-ubyte.gz", 96), ("t10k-images-idx3-ubyte.gz", 32)):
        write_idx(tmp_path / name, rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
    for name, n in (("train-labels-idx1-ubyte.gz", 96), ("t10k-labels-idx1-ubyte.gz", 32)):
        write_idx(tmp_path / name, rng.integers(0, 10, n, dtype=np.uint8))
    states = []
    for out in (tmp_path / "a.safetensors", tmp_path / "b.safetensors"):
        pretrain.main(["lenet5-mnist", "--data-dir", str(tmp_path), "--out", str(out)])
        assert f"sha256 {sha256_of(out)}" in capsys.readouterr().out
        state, meta = load_file(out, with_metadata=True)
        states.append(state)
    for k in states[0]:             # the same weights, bit for bit (the metadata differs: it holds the time taken)
        np.testing.assert_array_equal(states[0][k], states[1][k])
    info = json.loads(meta["shendu-pretrained"])
    assert info["recipe"]["epochs"] == pretrain.RECIPES["lenet5-mnist"]["epochs"] and info["test_samples"] == 32
    assert info["command"].startswith("python -m shendu.training.pretrain lenet5-mnist")
    lenet5().load_state_dict(state)                     # strict: every name and shape of the zoo's network
