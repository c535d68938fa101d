"""The ``shendu`` command (also ``python -m shendu``): parses arguments and calls the library.

    shendu train [MODEL] [--dataset D] [--epochs N] [--batch-size B] [--optimizer O] [--lr LR]
                 [--augment] [--out DIR] [--resume CKPT] [--seed S]
    shendu train gpt --text FILE [--steps N] [--block-size T] [--batch-size B] [--lr LR] [--out DIR]
    shendu generate CKPT [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K] [--seed S]
    shendu evaluate CKPT [--dataset D] [--split test|val|train]
    shendu predict CKPT IMAGE... [--top K] [--invert | --no-invert]
    shendu summary MODEL|CKPT
    shendu models
    shendu bench ...            (the benchmark suite, shendu.bench)
    shendu rl ENV_ID --algo A ... / shendu rl play CKPT   (reinforcement learning, shendu.rl.cli)
    shendu playground [--port N] [--host H] [--no-browser]
    shendu lab list / shendu lab run NAME|all [--quick] [--out DIR]   (the lab, shendu.lab.cli)

The work is done by :mod:`shendu.training.run` and :mod:`shendu.training.text_run` (docs/cli.md). Wrong arguments, unknown
models or datasets and unreadable files end with one line ``shendu: error: …`` on stderr and
exit status 2; a training run that diverges ends with status 1. ``SHENDU_DEBUG=1`` shows the
traceback of an unexpected error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

USAGE_ERROR, RUN_ERROR = 2, 1


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (argparse prints the usage first)."""

    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message} (see {self.prog} --help)")


class _UsageError(Exception):
    pass


def _one_line(exc):
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    joined = "".join(ln + ("" if i + 1 == len(lines) else " " if ln.endswith(":") else "; ")
                     for i, ln in enumerate(lines))
    return joined or type(exc).__name__


def positive_int(text):
    """argparse type: a positive integer, or an ArgumentTypeError naming what came (shared by the sub-CLIs)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser():
    """The argument parser of ``shendu`` (every subcommand)."""
    from .data.datasets import DATASETS
    from .training.run import DEFAULTS

    p = _Parser(prog="shendu", description="shendu (深度): train, evaluate and inspect models from the command line.")
    p.add_argument("--version", action="version", version=f"shendu {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    t = sub.add_parser("train", help="train a model of the zoo on a dataset (default: LeNet-5 on digits)",
                       description="Train MODEL on a dataset; write last.ckpt, curves.png and metrics.json to --out.")
    t.add_argument("model", nargs="?", metavar="MODEL",
                   help=f"a name from `shendu models` (default {DEFAULTS['model']})")
    t.add_argument("--dataset", choices=sorted(DATASETS), help=f"default {DEFAULTS['dataset']}")
    t.add_argument("--epochs", type=positive_int, help=f"epochs in all (default {DEFAULTS['epochs']})")
    t.add_argument("--batch-size", type=positive_int, help=f"default {DEFAULTS['batch_size']}")
    t.add_argument("--optimizer", help=f"sgd, adam, adamw, rmsprop, … (default {DEFAULTS['optimizer']})")
    t.add_argument("--lr", type=_positive_float, help=f"learning rate (default {DEFAULTS['lr']:g})")
    t.add_argument("--schedule", choices=("cosine", "constant"), help="learning-rate schedule (default cosine)")
    t.add_argument("--augment", action="store_true", default=None,
                   help="random rotations, zooms and shifts (grey) or crops and flips (colour)")
    t.add_argument("--val", type=float, help=f"validation fraction of the training images (default {DEFAULTS['val']})")
    t.add_argument("--out", metavar="DIR", help="output directory (default runs/<timestamp>)")
    t.add_argument("--resume", metavar="CKPT", help="continue the run of this last.ckpt")
    t.add_argument("--seed", type=int, help=f"random seed (default {DEFAULTS['seed']})")
    t.add_argument("--data-dir", metavar="DIR", help="where the mnist / fashion_mnist / cifar10 files are")
    t.add_argument("--quiet", action="store_true", help="print only the final line")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over the ranks of `mpirun -n N shendu train … --distributed` (batch size per "
                        "rank; docs/distributed.md)")
    t.add_argument("--init", metavar="CKPT", help="fine-tune: start from the weights of this checkpoint / weights file")
    t.add_argument("--freeze", nargs="+", metavar="PREFIX", default=(), help="fine-tune: keep these modules fixed")
    t.add_argument("--head", type=positive_int, metavar="N", help="fine-tune: a fresh output layer of N classes")
    t.add_argument("--text", metavar="FILE", help="train MODEL gpt on this UTF-8 text file (a language model)")
    t.add_argument("--steps", type=positive_int, help="language model: training steps (default 2000)")
    t.add_argument("--block-size", type=positive_int, help="language model: context length (default 64)")
    t.add_argument("--tokenizer", choices=("char", "byte"), default="char",
                   help="language model: one id per character (default) or per UTF-8 byte")

    from .training import generative_run  # shendu sample: the generative models' samples

    generative_run.add_sample_arguments(sub.add_parser(
        "sample", help="samples of a vae / gan / dcgan checkpoint as a PNG grid or a .npy array"))

    g = sub.add_parser("generate", help="continue a prompt with a language-model checkpoint (shendu train gpt)",
                       description="Sample text from the GPT of CKPT after PROMPT, printed as it is generated.")
    g.add_argument("checkpoint", metavar="CKPT")
    g.add_argument("--prompt", default="\n", help="the text to continue (default a newline)")
    g.add_argument("--tokens", type=positive_int, default=200, help="tokens to generate (default 200)")
    g.add_argument("--temperature", type=_positive_float, default=1.0, help="softmax temperature (default 1.0)")
    g.add_argument("--top-k", type=positive_int, help="sample among the k most likely tokens only")
    g.add_argument("--seed", type=int, help="random seed of the sampling")

    e = sub.add_parser("evaluate", help="loss and accuracy of a checkpoint on its test split",
                       description="Evaluate the model of CKPT on a split of its dataset, preprocessed as in training.")
    e.add_argument("checkpoint", metavar="CKPT")
    e.add_argument("--dataset", choices=sorted(DATASETS), help="default: the checkpoint's")
    e.add_argument("--split", choices=("test", "val", "train"), default="test")
    e.add_argument("--batch-size", type=positive_int, default=256)
    e.add_argument("--data-dir", metavar="DIR")
    e.add_argument("--json", action="store_true", help="print the result as JSON")

    r = sub.add_parser("predict", help="classify image files (PNG, JPEG, …) with a checkpoint",
                       description="Print the most probable classes of each IMAGE, preprocessed as in training.")
    r.add_argument("checkpoint", metavar="CKPT")
    r.add_argument("images", nargs="+", metavar="IMAGE")
    r.add_argument("--top", type=positive_int, default=3, help="classes to show (default 3)")
    r.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                   help="invert grey images (dark ink on white); default: when the image's border is light")
    r.add_argument("--json", action="store_true", help="print the result as JSON")

    s = sub.add_parser("summary", help="the layer table of a model (or of a checkpoint's model)",
                       description="Print the summary table: output shapes, parameters, MACs, FLOPs, connections.")
    s.add_argument("model", metavar="MODEL", help="a name from `shendu models`, or a checkpoint file")
    s.add_argument("--num-classes", type=positive_int)
    s.add_argument("--in-channels", type=positive_int)

    m = sub.add_parser("models", help="the model zoo with parameter counts")
    m.add_argument("--json", action="store_true", help="print the table as JSON")

    sub.add_parser("bench", help="the benchmark suite (arguments go to shendu.bench)", add_help=False)
    sub.add_parser("rl", help="train or play a reinforcement-learning agent on Gymnasium (arguments go to "
                              "shendu.rl.cli)", add_help=False)

    from . import lr_finder, tune  # neither imports optuna until a search runs
    tune.add_arguments(sub.add_parser("tune", help="search training hyperparameters (Optuna: grid, random, TPE, CMA-ES)",
                                      description="Hyperparameter search: trials train on the training split and are "
                                                  "scored on validation; the best is refit and tested once."))
    lr_finder.add_arguments(sub.add_parser("lr-find", help="learning-rate range test: loss against a log-spaced lr",
                                           description="Learning-rate range test with a suggested learning rate."))
    from .style import cli as style_cli  # light: Pillow and torch are imported only when a command runs
    style_cli.add_style_arguments(sub.add_parser("style", help="neural style transfer: CONTENT in the style of STYLE",
                                                 description="Optimise an image (L-BFGS) to keep CONTENT's features "
                                                             "and take STYLE's Gram statistics (docs/style.md)."))
    style_cli.add_texture_arguments(sub.add_parser("texture", help="texture synthesis from an example image",
                                                   description="Optimise noise (L-BFGS) to take STYLE's Gram "
                                                               "statistics (docs/style.md)."))
    from .lab import cli as lab_cli  # the experiments are imported only when a lab command runs
    lab_cli.add_arguments(sub.add_parser("lab", help="the lab: the articles' claims as experiments with pages",
                                         description="List or run the lab's experiments (docs/lab/index.md)."))
    pg = sub.add_parser("playground", help="TensorFlow Playground's experiments in the browser, trained by shendu",
                        description="Serve the playground page on http://HOST:PORT/ until Ctrl-C.")
    pg.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free port)")
    pg.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    pg.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    return p


def _version():
    from . import __version__

    return __version__


# ------------------------------------------------------------------ commands
def cmd_train(a):
    if a.model == "gpt" or a.text is not None:
        return cmd_train_text(a)
    if a.model == "dbn":  # a deep belief network: pre-trained RBMs, then fine-tuned (docs/rbm.md)
        from .training.dbn_run import cli_train_dbn
        return cli_train_dbn(a)
    from .training import generative_run

    if a.model in generative_run.KINDS:
        return generative_run.cli_train(a)
    from .training.run import train_run

    if a.distributed:
        from .distributed.launch import launch_hint, require_launcher

        try:
            require_launcher(f"shendu train {a.model or 'MODEL'} --distributed")
        except ValueError:
            raise _UsageError(launch_hint(f"shendu train {a.model or 'MODEL'} --distributed")) from None
    metrics = train_run(model=a.model, dataset=a.dataset, epochs=a.epochs, batch_size=a.batch_size,
                        optimizer=a.optimizer, lr=a.lr, augment=a.augment, out=a.out, resume=a.resume, seed=a.seed,
                        val=a.val, schedule=a.schedule, data_dir=a.data_dir, verbose=0 if a.quiet else 1,
                        init=a.init, freeze=a.freeze, head=a.head,
                        **({"distributed": True} if a.distributed else {}))
    if metrics is None:  # a rank other than 0 of a distributed run: rank 0 reports
        return 0
    files = metrics["files"]
    out = os.path.dirname(files["checkpoint"])
    correct = round(metrics["test_accuracy"] * metrics["test_samples"])
    print(f"test accuracy {100 * metrics['test_accuracy']:.2f} % ({correct}/{metrics['test_samples']}), "
          f"test loss {metrics['test_loss']:.4f}; {metrics['model']} on {metrics['dataset']}, "
          f"{metrics['epochs']} epoch{'s' if metrics['epochs'] != 1 else ''} in {metrics['seconds']:.1f} s; wrote "
          f"{', '.join(os.path.basename(f) for f in files.values())} to {out}", flush=True)
    return 0


def cmd_train_text(a):
    if a.model not in (None, "gpt") or a.text is None:
        raise _UsageError("shendu train: a language model is trained as `shendu train gpt --text FILE`")
    from .training.text_run import train_text_run

    out = a.out or os.path.join("runs", time.strftime("%Y%m%d-%H%M%S"))
    m = train_text_run(a.text, steps=a.steps, batch_size=a.batch_size, block_size=a.block_size, lr=a.lr,
                       tokenizer=a.tokenizer, out=out, seed=a.seed, verbose=0 if a.quiet else 1)
    print(f"validation loss {m['val_loss']:.4f} nats/token; gpt ({m['parameters']:,} parameters), {m['steps']} steps "
          f"in {m['seconds']:.1f} s ({m['ms_per_step']:.1f} ms/step); wrote {m['checkpoint']}", flush=True)
    return 0


def cmd_generate(a):
    from .training.text_run import generate_text

    generate_text(a.checkpoint, a.prompt, a.tokens, a.temperature, a.top_k, a.seed,
                  stream=lambda piece: print(piece, end="", flush=True))
    print(flush=True)
    return 0


def cmd_evaluate(a):
    from .training.run import evaluate_run

    res = evaluate_run(a.checkpoint, dataset=a.dataset, split=a.split, batch_size=a.batch_size, data_dir=a.data_dir)
    if a.json:
        print(json.dumps(res))
    else:
        correct = round(res["accuracy"] * res["samples"])
        print(f"{res['split']} accuracy {100 * res['accuracy']:.2f} % ({correct}/{res['samples']}), "
              f"loss {res['loss']:.4f}; {res['model']} on {res['dataset']}")
    return 0


def cmd_predict(a):
    from .training.run import predict_images

    results = predict_images(a.checkpoint, a.images, top=a.top, invert=a.invert)
    if a.json:
        print(json.dumps(results))
    for r in results if not a.json else ():
        print(f"{r['path']}: " + ", ".join(f"{c} {100 * p:.2f} %" for c, p in r["top"]))
    return 0


def cmd_summary(a):
    from .summary import summary

    if os.path.isfile(a.model):
        from .training.run import load_run

        model, info = load_run(a.model)
        shape = (info.get("preprocess") or {}).get("input_shape")
        if shape is None:
            raise ValueError(f"{a.model}: the checkpoint records no input shape")
    else:
        from .models import get_model, model_info

        info = model_info(a.model)
        model = get_model(a.model, num_classes=a.num_classes, in_channels=a.in_channels)
        shape = (a.in_channels or info.input_shape[0], *info.input_shape[1:])
    summary(model, tuple(shape))
    return 0


def cmd_models(a):
    from .models import model_table

    rows = model_table()
    if a.json:
        print(json.dumps(rows))
        return 0
    head = ("model", "parameters", "input", "classes", "description")
    table = [(r["name"], f"{r['parameters']:,}", "×".join(map(str, r["input_shape"])), str(r["num_classes"]),
              r["description"]) for r in rows]
    widths = [max(len(row[i]) for row in [head, *table]) for i in range(4)]
    for row in [head, *table]:
        print(f"{row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]:>{widths[3]}}  {row[4]}")
    return 0


def cmd_bench(argv):
    import importlib

    try:
        bench = importlib.import_module("shendu.bench")  # imported only when asked for
    except ModuleNotFoundError as exc:
        if exc.name == "shendu.bench":
            raise _UsageError("shendu bench: the benchmark suite (shendu.bench) is not installed") from None
        raise
    code = bench.main(list(argv))
    return 0 if code is None else int(code)


def cmd_rl(argv):
    from .rl.cli import main as rl_main  # its own parser: `rl ENV_ID` and `rl play CKPT`

    return rl_main(argv)


def cmd_tune(args):
    from . import tune
    return tune.run(args)


def cmd_lr_find(args):
    from . import lr_finder
    return lr_finder.run(args)


def _style_cli():
    from .style import cli

    return cli


def _lab_cli():
    from .lab import cli

    return cli


def cmd_playground(a):
    from .playground import serve

    if not 0 <= a.port <= 65535:
        raise _UsageError(f"shendu playground: error: --port must be between 0 and 65535, got {a.port}")
    return serve(host=a.host, port=a.port, open_browser=not a.no_browser)


def cmd_sample(a):
    from .training.generative_run import cli_sample

    return cli_sample(a)


COMMANDS = {"train": cmd_train, "generate": cmd_generate, "evaluate": cmd_evaluate, "predict": cmd_predict,
            "summary": cmd_summary, "models": cmd_models, "tune": cmd_tune, "lr-find": cmd_lr_find,
            "style": lambda a: _style_cli().run_style(a), "texture": lambda a: _style_cli().run_texture(a),
            "playground": cmd_playground, "sample": cmd_sample, "lab": lambda a: _lab_cli().run(a)}


def main(argv=None):
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "bench":  # everything after it belongs to shendu.bench
            return cmd_bench(argv[1:])
        if argv and argv[0] == "rl":
            return cmd_rl(argv[1:])
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else 0
        from .backend import xp

        # NumPy's overflow / invalid-value warnings would print source lines; fit's guard
        # reports a non-finite loss or gradient in one line, naming the layer, instead
        with xp.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return COMMANDS[args.command](args)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("shendu: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `shendu models | head`: the reader left; say nothing more
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so that the exit flush is quiet
        except (OSError, ValueError, AttributeError):
            pass
        return RUN_ERROR
    except FloatingPointError as exc:  # the NaN guard of fit: the run diverged
        print(f"shendu: error: {_one_line(exc)}", file=sys.stderr)
        return RUN_ERROR
    except (ValueError, KeyError, OSError, ImportError) as exc:  # bad names, values, files; missing packages
        print(f"shendu: error: {_one_line(exc)}", file=sys.stderr)
        return USAGE_ERROR
    except Exception as exc:  # noqa: BLE001 - a bug: still one line unless asked for the traceback
        if os.environ.get("SHENDU_DEBUG"):
            raise
        print(f"shendu: internal error: {type(exc).__name__}: {_one_line(exc)} "
              f"(SHENDU_DEBUG=1 shows the traceback)", file=sys.stderr)
        return RUN_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
