"""The `chainrule` command: argument parsing only; each command calls one library function.

Errors in what the user typed are one line on stderr and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import math
import re
import sys
import unicodedata
from collections.abc import Sequence

from . import __version__, limits

# Arguments like -1, -0.5, -1,0 or -2e-3 are numbers, not options (argparse's matcher knows only -1 and -0.5).
NEGATIVE_NUMBERS = re.compile(r"^-\.?\d[\d.,eE+-]*$")


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


def _parser_for(sub: argparse._SubParsersAction, name: str, help: str, example: str) -> argparse.ArgumentParser:
    """A subcommand parser whose --help ends with an example."""
    return sub.add_parser(
        name, help=help, description=help, epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


# ---------------------------------------------------------------- train, predict, demo (networks issue)
def _add_training_commands(sub: argparse._SubParsersAction) -> None:
    train = _parser_for(
        sub, "train",
        "Train an MLP on a data set (xor circles moons spirals gaussians digits); write model.npz, metrics.json, "
        "loss.png and, for 2-D data, boundary.png; print the final train and test accuracy.",
        "chainrule train xor          # the data set's recipe (2-4-1 sigmoid, mse, SGD lr 2, 2000 epochs): 100%\n"
        "  chainrule train spirals --hidden 32 32 --activation tanh --optimizer adam --lr 0.01 --epochs 2000"
        "   # ≥ 95% test accuracy\n"
        "  chainrule train digits --hidden 128 --loss ce --optimizer adam --lr 0.01 --epochs 30 --batch-size 32"
        "   # mini-batches: ≥ 95% test accuracy")
    train.add_argument("dataset", metavar="DATASET", nargs="?",
                       help="xor, circles, moons, spirals, gaussians or digits (not with --resume)")
    train.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR (its model.npz and "
                       "metrics.json) where it stopped, until its own epochs or --epochs in all")
    train.add_argument("--hidden", type=int, nargs="+", metavar="N",
                       help="hidden layer widths, e.g. --hidden 4 4 (default: the data set's recipe)")
    train.add_argument("--activation",
                       help="hidden units, a name in chainrule.nn.ACTIVATIONS, e.g. tanh (default: the recipe's)")
    train.add_argument("--loss", help="mse, half_sum, bce, bce_logits or ce (default: the recipe's)")
    train.add_argument("--optimizer", help="a name in chainrule.optim.OPTIMIZERS: sgd, adam, ... (default: the recipe's)")
    train.add_argument("--lr", type=float, help="learning rate η (default: the recipe's; 0.5 for sgd, 0.01 for "
                       "adam when the optimizer differs from the recipe's)")
    train.add_argument("--momentum", type=float, default=0.0, help="SGD momentum μ in [0, 1) (default 0)")
    train.add_argument("--epochs", type=int, help="passes over the training set (default: the recipe's)")
    train.add_argument("--batch-size", type=int, help="examples per step (default: the whole training set)")
    train.add_argument("--seed", type=int, default=0, help="seed for data, split, weights and shuffling (default 0)")
    train.add_argument("--no-compile", dest="compile", action="store_false",
                       help="run every step on the eager engine instead of a chainrule.compile program")
    train.add_argument("--samples", type=int, help="data set size for generated data (default 200)")
    train.add_argument("--noise", type=float, help="noise of generated data (default: the generator's)")
    train.add_argument("--test-size", type=float, help="share held out for testing (default 0.2; 0 for xor)")
    train.add_argument("--init", help="weight initialiser: xavier, he, xavier_normal, he_uniform, normal, ...")
    train.add_argument("--out", metavar="DIR", help="output folder (default runs/DATASET)")
    train.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar (default: only when output is a terminal)")
    limits.add_memory_flag(train)
    train.set_defaults(func=_train_command)

    predict = _parser_for(
        sub, "predict",
        "Evaluate a saved model on inputs given on the command line: one example per argument, its numbers "
        "separated by commas (or, for one example, just its numbers). A model from the playground that takes "
        "input features (x₁², sin x₁, ...) takes points x₁,x₂ here and computes its features itself.",
        "chainrule predict runs/demo/model.npz 0,0 0,1 1,0 1,1\n  chainrule predict runs/demo/model.npz -1,0 0.5,-0.5")
    predict.add_argument("model", metavar="MODEL", help="a model file written by chainrule train or demo")
    predict.add_argument("inputs", nargs="+", metavar="X", help="an example, e.g. 0,1 (negative numbers welcome)")
    predict.set_defaults(func=_predict_command)
    predict._negative_number_matcher = NEGATIVE_NUMBERS  # so that -1,0 is an example, not an option

    demo = _parser_for(
        sub, "demo",
        "Train XOR the classic way: a 2-2-1 sigmoid network, C = ½Σ(t − y)², plain full-batch gradient descent; "
        "print the four predictions and where the pictures are.",
        "chainrule demo                              # reaches 100% accuracy\n"
        "  chainrule demo --lr 100 --seed 1            # fails on purpose: η too large, and the output says so")
    demo.add_argument("--lr", type=float, default=0.5, help="learning rate η (default 0.5)")
    demo.add_argument("--loss", default="half_sum", help="half_sum (½Σ(t − y)², default), mse, bce or bce_logits")
    demo.add_argument("--epochs", type=int, default=5000, help="epochs of full-batch descent (default 5000)")
    demo.add_argument("--seed", type=int, default=1, help="seed of the initial weights (default 1)")
    demo.add_argument("--no-compile", dest="compile", action="store_false",
                      help="run every step on the eager engine instead of a chainrule.compile program")
    demo.add_argument("--hidden", type=int, default=2, help="hidden units (default 2)")
    demo.add_argument("--momentum", type=float, default=0.0, help="SGD momentum μ (default 0: plain descent)")
    demo.add_argument("--out", metavar="DIR", help="output folder (default runs/demo with the default settings, "
                      "else runs/demo-LOSS-lrLR-seedSEED, so runs/demo/model.npz is never overwritten by a variant)")
    demo.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                      help="show a progress bar (default: only when output is a terminal)")
    limits.add_memory_flag(demo)
    demo.set_defaults(func=_demo_command)
    _add_sweep_command(sub)


def _add_sweep_command(sub: argparse._SubParsersAction) -> None:
    sweep = _parser_for(
        sub, "sweep",
        "The learner's experiment: train one network per learning rate × cost × architecture × optimizer × seed "
        "on the same data (each seed starts from the same weights in every setting); print a table with every "
        "run's final cost, accuracies, the epoch it reached --target and its diagnosis; write sweep.csv, "
        "sweep.json and sweep.png (cost curves, one panel per setting, seeds overlaid).",
        "chainrule sweep xor          # the classic grid: 2-2-1, η 0.1 0.5 2 10, mse and bce, seeds 0-9\n"
        "  chainrule sweep xor --lr 0.5 2 --loss mse bce --seed 0 1 2 --hidden 2 4 --epochs 2000")
    sweep.add_argument("dataset", metavar="DATASET", help="xor, circles, moons, spirals, gaussians or digits")
    sweep.add_argument("--lr", type=float, nargs="+", default=[0.1, 0.5, 2.0, 10.0], metavar="LR",
                       help="learning rates η (default 0.1 0.5 2 10)")
    sweep.add_argument("--loss", nargs="+", default=["mse", "bce"], metavar="COST",
                       help="costs: mse, half_sum, bce, bce_logits, ce (default mse bce)")
    sweep.add_argument("--seed", type=int, nargs="+", default=list(range(10)), metavar="SEED",
                       help="seeds of the initial weights (default 0 to 9)")
    sweep.add_argument("--hidden", nargs="+", default=["2"], metavar="WIDTHS",
                       help="architectures, one per value, widths joined by commas: --hidden 2 4 8,8 (default 2)")
    sweep.add_argument("--optimizer", nargs="+", default=["sgd"], metavar="OPT", help="sgd and/or adam (default sgd)")
    sweep.add_argument("--activation", default="sigmoid", help="hidden units (default sigmoid)")
    sweep.add_argument("--epochs", type=int, default=5000, help="epochs of full-batch descent per run (default 5000)")
    sweep.add_argument("--no-compile", dest="engine", action="store_const", const="eager", default="stacked",
                       help="train each run on its own with the eager engine (the reference path; slower) instead "
                       "of all seeds of a setting in one vectorised program")
    sweep.add_argument("--target", type=float, metavar="ACCURACY",
                       help="accuracy that counts as reached, e.g. 0.95 (default: 100%% train accuracy for xor, "
                       "95%% test accuracy otherwise)")
    sweep.add_argument("--out", default="runs/sweep", metavar="DIR", help="output folder (default runs/sweep)")
    sweep.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar (default: only on a terminal)")
    limits.add_memory_flag(sweep)
    sweep.set_defaults(func=_sweep_command)


def _sweep_command(args: argparse.Namespace) -> int:
    limits.check_sweep(args)
    from .diagnose import Target, default_target
    from .sweep import check_sweep, run_sweep, write_sweep

    try:
        hidden = [[int(w) for w in text.split(",")] for text in args.hidden]
    except ValueError:
        raise UsageError(f"--hidden takes widths joined by commas, e.g. 2 or 8,8; got {' '.join(args.hidden)}") from None
    target = None
    if args.target is not None:
        if not 0 < args.target <= 1:
            raise UsageError(f"--target is an accuracy in (0, 1], got {args.target}")
        target = Target(default_target(args.dataset).metric, args.target)
    options = dict(lrs=args.lr, losses=args.loss, seeds=args.seed, hidden=hidden, optimizers=args.optimizer,
                   epochs=args.epochs)
    try:
        check_sweep(args.dataset, activation=args.activation, **options)
        result = run_sweep(args.dataset, target=target, activation=args.activation, progress=args.progress,
                           engine=args.engine, **options)
    except ValueError as error:
        raise UsageError(str(error)) from None
    print(result.text())
    how = "the seeds of each setting stacked in one program" if args.engine == "stacked" else "the eager engine"
    print(f"{len(result.runs)} runs in {result.seconds:.1f} s ({how})")
    for path in write_sweep(result, args.out).values():
        print(f"wrote {path}")
    if result.interrupted:
        print(f"interrupted: kept the {len(result.runs)} of {result.planned} runs that finished", file=sys.stderr)
        return 130
    return 0


def _run_training(settings, progress):
    """chainrule.train.run, with bad settings turned into a UsageError."""
    from .train import run

    try:
        return run(settings, progress=progress)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _score(accuracy: float | None, loss: float | None, examples: int) -> str:
    if accuracy is None:
        return "n/a (no test split)"
    return f"{accuracy:8.2%}  ({round(accuracy * examples)}/{examples})   loss {loss:.8g}"


def _steps(history: object) -> str:
    """How the steps ran: as chainrule.compile programs, or on the eager engine."""
    return "compiled steps; --no-compile for the eager engine" if getattr(history, "compiled", False) else "eager steps"


def _report_files(files: dict) -> None:
    for path in files.values():
        print(f"wrote {path}")


def _train_command(args: argparse.Namespace) -> int:
    from .train import RunSettings

    if args.resume is not None:
        return _resume_command(args)
    if args.dataset is None:
        raise UsageError("give a DATASET, or --resume DIR")
    limits.check_train(args)
    settings = RunSettings(
        dataset=args.dataset, hidden=args.hidden, activation=args.activation, loss=args.loss,
        optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, epochs=args.epochs,
        batch_size=args.batch_size, seed=args.seed, samples=args.samples, noise=args.noise,
        test_size=args.test_size, init=args.init, out=args.out, compile=args.compile)
    result = _run_training(settings, args.progress)
    s, model = result.settings, result.model
    batch = f"batch size {s.batch_size}" if s.batch_size else "full batch"
    from .optim import OPTIMIZERS
    optimizer = f"{OPTIMIZERS[s.optimizer].label} lr {s.lr:g}" + (f" momentum {s.momentum:g}" if s.momentum else "")
    print(f"{s.dataset}: MLP {'-'.join(map(str, model.sizes))} ({s.activation} hidden, "
          f"{model.activation_name(model.L)} output), loss {s.loss}, {optimizer}, "
          f"{batch}, seed {s.seed}; {result.history.epochs} epochs in {result.history.seconds:.1f} s "
          f"({_steps(result.history)})")
    for message in result.history.messages:
        print(message)
    print(f"diagnosis: {result.diagnosis.message}")
    test_examples = len(result.test_data[1]) if result.test_data else 0
    print(f"train accuracy {_score(result.final['train_acc'], result.final['train_loss'], len(result.train_data[1]))}")
    print(f"test accuracy  {_score(result.final['test_acc'], result.final['test_loss'], test_examples)}")
    _report_files(result.files)
    return 0


def _resume_command(args: argparse.Namespace) -> int:
    """`train --resume DIR`: the saved run's own settings; only --epochs (the new total) and --no-compile apply."""
    from .train import RunSettings, run

    given = [name for name in ("dataset", "hidden", "activation", "loss", "optimizer", "lr", "batch_size",
                               "samples", "noise", "test_size", "init", "out") if getattr(args, name) is not None]
    if given:
        raise UsageError(f"--resume continues a run with its own settings; leave out {', '.join(given)}")
    try:
        result = run(RunSettings(epochs=args.epochs, compile=args.compile), args.progress, resume=args.resume)
    except ValueError as error:
        raise UsageError(str(error)) from None
    s, history = result.settings, result.history
    print(f"{s.dataset}: resumed {args.resume} to {history.epochs} epochs in all ({_steps(history)})")
    for message in history.messages:
        print(message)
    print(f"diagnosis: {result.diagnosis.message}")
    print(f"train accuracy {_score(result.final['train_acc'], result.final['train_loss'], len(result.train_data[1]))}")
    _report_files(result.files)
    return 0


def _demo_command(args: argparse.Namespace) -> int:
    from .train import LOSS_LABELS, RunSettings, prediction_table

    defaults = build_parser().parse_args(["demo"])
    varied = [args.loss if name == "loss" else f"{name}{getattr(args, name):g}"
              for name in ("lr", "loss", "epochs", "seed", "hidden", "momentum")
              if getattr(args, name) != getattr(defaults, name)]
    out = args.out = args.out or "-".join(["runs/demo", *varied])  # one folder per setting: runs/demo is the default's
    limits.check_demo(args)
    settings = RunSettings(dataset="xor", hidden=[args.hidden], activation="sigmoid", loss=args.loss,
                           optimizer="sgd", lr=args.lr, momentum=args.momentum, epochs=args.epochs,
                           seed=args.seed, test_size=0.0, out=out, compile=args.compile)
    result = _run_training(settings, args.progress)
    s, history = result.settings, result.history
    print(f"XOR with an MLP {'-'.join(map(str, result.model.sizes))} of sigmoid units, {LOSS_LABELS[s.loss]}, "
          f"plain gradient descent with lr {s.lr:g}" + (f" and momentum {s.momentum:g}" if s.momentum else "")
          + f", seed {s.seed}: {history.epochs} epochs in {history.seconds:.1f} s ({_steps(history)})")
    X, t = result.train_data
    heading = "outputs (logits)" if s.loss in ("ce", "bce_logits") else "output y"
    print(f"   x1  x2   target   {heading:<28} class")
    for (x, outputs, label, right), target in zip(prediction_table(result.model, X, t, result.threshold), t):
        x1, x2 = x.split(", ")
        print(f"   {x1:>2}  {x2:>2}   {target:6d}   {outputs:<28} {label}  {'right' if right else 'WRONG'}")
    print(f"cost {result.final['train_loss']:.8g}, accuracy {result.final['train_acc']:.0%}")
    print(f"diagnosis: {result.diagnosis.message}")
    print(f"pictures: {result.files['loss_plot']}  {result.files['boundary_plot']}")
    print(f"model:    {result.files['model']}  (try: chainrule predict {result.files['model']} 0,1)")
    return 0


def _parse_examples(texts: Sequence[str], features: int) -> list[list[float]]:
    """Rows of numbers from 'a,b' arguments (one example each) or from bare numbers, `features` at a time."""
    try:
        if any("," in text for text in texts):
            rows = [[float(part) for part in text.split(",")] for text in texts]
        else:
            numbers = [float(text) for text in texts]
            if len(numbers) % features:
                raise UsageError(f"got {len(numbers)} numbers; the model takes {features} per example")
            rows = [numbers[i:i + features] for i in range(0, len(numbers), features)]
    except ValueError as error:
        raise UsageError(f"inputs must be numbers: {error}") from None
    for row in rows:
        if len(row) != features:
            raise UsageError(f"an example has {len(row)} numbers ({row}); the model takes {features}")
        if not all(math.isfinite(v) for v in row):
            raise UsageError(f"an example holds {', '.join(map(str, row))}; inputs must be finite numbers")
    return rows


def _input_features(metadata: dict, features: int) -> list[str] | None:
    """The input features a model takes (its metadata's "features" as the playground saves them: a list of
    names), checked against its first layer; None for a model that takes its inputs as they are (no entry, or
    `chainrule train`'s count of input columns)."""
    from .data import INPUT_FEATURES

    names = metadata.get("features")
    if names is None or (isinstance(names, int) and not isinstance(names, bool)):
        return None
    if (not isinstance(names, list) or not names or len(names) != features
            or not all(isinstance(n, str) and n in INPUT_FEATURES for n in names)):
        raise UsageError(f"the model file's input features {str(names)[:80]} are not {features} of "
                         f"{', '.join(INPUT_FEATURES)}")
    return names


def _predict_command(args: argparse.Namespace) -> int:
    import numpy as np

    from . import io
    from .data import INPUT_FEATURES, feature_matrix
    from .nn.functional import predict_labels
    from .train import predict

    try:
        model = io.load(args.model)
        metadata = io.metadata(args.model)
    except ValueError as error:
        raise UsageError(str(error)) from None
    features = model.sizes[0] if hasattr(model, "sizes") else model.parameters()[0].shape[1]
    names = _input_features(metadata, features)
    X = np.array(_parse_examples(args.inputs, 2 if names else features))
    outputs = predict(model, X if names is None else feature_matrix(X, names)).reshape(len(X), -1)
    threshold = float(metadata.get("threshold", 0.5))
    labels = predict_labels(outputs, threshold)
    if names:
        print(f"the model takes the features {', '.join(INPUT_FEATURES[n].label for n in names)} of a point "
              "(x₁, x₂); they are computed from each input")
    heading = "output (logits)" if metadata.get("loss") in ("ce", "bce_logits") else "output"
    print(f"{'input' if names is None else 'input (x₁, x₂)':<24} {heading:<40} class")
    for x, y, label in zip(X, outputs, labels):
        inputs = ", ".join(f"{v:g}" for v in x)
        values = ", ".join(f"{v:.8g}" for v in y)
        print(f"{inputs:<24} {values:<40} {label}")
    return 0


# ---------------------------------------------------------------- explain (explanations issue, part 1)
def _add_explain_commands(sub: argparse._SubParsersAction) -> None:
    parser = _parser_for(
        sub, "explain",
        "Show one step of back-propagation with a network's own numbers: the forward pass, the errors δ by "
        "BP1 and BP2, every gradient by BP3/BP4 (checked against the engine and finite differences), the "
        "update and the cost before and after.",
        "chainrule explain examples/two-two-two.json --format html --out explain.html\n"
        "  chainrule explain --sizes 2 3 1 --seed 0\n"
        "  chainrule explain model.npz --x 0.5 -1 --t 1 --loss bce")
    parser.add_argument("source", nargs="?", metavar="SPEC_OR_MODEL",
                        help="a JSON spec (see examples/two-two-two.json) or a model file saved by chainrule")
    parser.add_argument("--sizes", type=int, nargs="+", metavar="N",
                        help="instead of a file: layer widths of a fresh MLP, e.g. --sizes 2 3 1")
    parser.add_argument("--seed", type=int, default=0, help="seed for --sizes: weights and example (default 0)")
    parser.add_argument("--activation", default="sigmoid", help="hidden activation for --sizes (default sigmoid)")
    parser.add_argument("--output-activation", default=None,
                        help="output activation for --sizes (default sigmoid; identity for --loss ce)")
    parser.add_argument("--x", type=float, nargs="+", action="append", metavar="X",
                        help="one input example (repeat --x for a small batch)")
    parser.add_argument("--t", type=float, nargs="+", action="append", metavar="T",
                        help="its target(s), one --t per --x; for --loss ce a class label or a one-hot row")
    parser.add_argument("--lr", type=float, help="learning rate η (default: the spec's, else 0.5)")
    parser.add_argument("--loss", choices=["half_sum", "mse", "bce", "ce"],
                        help="cost (default: the spec's, else half_sum)")
    parser.add_argument("--format", choices=["terminal", "markdown", "latex", "html"],
                        help="output format (default: from --out's extension, else terminal)")
    parser.add_argument("--out", metavar="FILE", help="write here (default: terminal text to the screen; "
                        "other formats to explanation.md / .tex / .html)")
    parser.add_argument("--no-color", action="store_true", help="no ANSI colours on a terminal")
    parser.add_argument("--fixed-biases", action="store_true",
                        help="update only the weights, as some step-by-step articles do (default: biases too)")
    parser.add_argument("--regularization", choices=["none", "l1", "l2"], default="none",
                        help="a penalty on the weights added to the cost: l1, λ Σ|w|; l2, ½ λ Σ w² (default none)")
    parser.add_argument("--regularization-rate", type=float, default=0.0, metavar="LAMBDA",
                        help="its rate λ (default 0)")
    parser.add_argument("--code", action="store_true",
                        help="print the step as the NumPy source chainrule.compile writes for it (forward, "
                        "backward, update), with BP1-BP4 beside it, instead of the derivation")
    limits.add_memory_flag(parser)
    parser.set_defaults(func=_explain)


def _explain(args: argparse.Namespace) -> int:
    """Build the problem from the arguments, explain it, and print or write it in the chosen format."""
    limits.check_explain(args)
    import os

    from chainrule.explain import GradientMismatchError, render

    if (args.source is None) == (args.sizes is None):
        raise UsageError("give a JSON spec or a model file, or --sizes (one of them)")
    if args.code:
        return _explain_code(args)
    out, format_ = _explain_destination(args)
    try:
        explanation = _explanation_for(args)
    except GradientMismatchError as error:
        print(f"chainrule explain: CHECK FAILED: {error}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, KeyError) as error:
        raise UsageError(str(error).splitlines()[0] if str(error) else type(error).__name__) from None
    if out is None and format_ == "terminal":
        colour = sys.stdout.isatty() and not args.no_color and "NO_COLOR" not in os.environ
        sys.stdout.write(render(explanation, "terminal", colour=colour))
        return 0
    _write_explanation(explanation, out, format_)
    return 0


def _explain_destination(args: argparse.Namespace):
    """(the --out path or None, the format): --format, else the extension of --out, else the terminal."""
    from pathlib import Path

    from chainrule.explain import FORMATS
    from chainrule.explain.render import EXTENSIONS

    suffixes = {extension: name for name, extension in EXTENSIONS.items()}
    out = Path(args.out) if args.out else None
    format_ = args.format or (suffixes.get(out.suffix.lower(), "terminal") if out else "terminal")
    if format_ not in FORMATS:
        raise UsageError(f"unknown format {format_!r}")
    return out, format_


def _explain_code(args: argparse.Namespace) -> int:
    """`explain --code`: the generated source of one gradient-descent step of the network, on its example."""
    from chainrule.compiler import TraceError
    from chainrule.compiler.written_out import training_step_source

    problem, x, t = _problem_for(args)
    if args.regularization != "none":
        raise UsageError("--code writes the step without a penalty; leave out --regularization")
    try:
        source = training_step_source(problem.model, x, t, args.loss or problem.loss,
                                      problem.lr if args.lr is None else args.lr, fixed_biases=args.fixed_biases)
    except (ValueError, TypeError, TraceError) as error:
        raise UsageError(str(error).splitlines()[0]) from None
    if args.out:
        from pathlib import Path

        from chainrule.files import write_atomically

        write_atomically(Path(args.out), source)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(source)
    return 0


def _problem_for(args: argparse.Namespace):
    """(problem, x, t): the spec, model or --sizes network, and its example or --x and --t."""
    from chainrule.explain import load_problem, random_problem

    if args.sizes is not None:
        problem = random_problem(args.sizes, args.seed, args.activation, args.output_activation,
                                 args.loss or "half_sum")
    else:
        problem = load_problem(args.source)
    x = problem.x if args.x is None else (args.x[0] if len(args.x) == 1 else args.x)
    t = problem.t if args.t is None else _explain_targets(args.t)
    if x is None or t is None:
        raise UsageError(f"{args.source} holds no example: give --x and --t")
    return problem, x, t


def _explanation_for(args: argparse.Namespace):
    """The explanation of the spec, model or --sizes network, on its example or on --x and --t."""
    from chainrule.explain import explain

    problem, x, t = _problem_for(args)
    return explain(problem.model, x, t, args.loss or problem.loss, problem.lr if args.lr is None else args.lr,
                   title=problem.title, fixed_biases=args.fixed_biases, regularization=args.regularization,
                   regularization_rate=args.regularization_rate)


def _write_explanation(explanation, out, format_: str) -> None:
    """Write the explanation in `format_` (to explanation.<ext> when no --out) and say what was written."""
    from pathlib import Path

    from chainrule.explain import render
    from chainrule.explain.render import EXTENSIONS
    from chainrule.files import write_atomically

    out = out or Path(f"explanation{EXTENSIONS[format_]}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(out, render(explanation, format_))
    except OSError as error:
        raise UsageError(f"cannot write {out}: {error.strerror or error}") from None
    summary = explanation.summary()
    print(f"cost {summary['cost']:.8g} -> {summary['cost_after']:.8g} after one step; "
          f"all gradients checked (engine and finite differences)")
    print(f"wrote {out}")


def _explain_targets(rows: list) -> list:
    """--t values: one number per example becomes a flat list (labels or single outputs), else rows."""
    if all(len(row) == 1 for row in rows):
        return [row[0] for row in rows] if len(rows) > 1 else rows[0]
    return rows if len(rows) > 1 else rows[0]


# ---------------------------------------------------------------- chain, compare, graph (explanations issue, part 2)
def _add_chain_commands(sub: argparse._SubParsersAction) -> None:
    chain = _parser_for(
        sub, "chain",
        "The chain rule for one expression: its elementary steps with their values, the reverse sweep of "
        "adjoints, one forward-mode sweep per variable, and the derivative checked by finite differences.",
        'chainrule chain "exp(sin(x**2))" --at x=0.7\n  chainrule chain "x*y + sin(x)" --at x=0.5 y=2 '
        "--graph chain.svg")
    chain.add_argument("expression", help="operators + - * / ** and functions exp log sin cos tan tanh sqrt "
                       "sigmoid relu softplus abs log1p expm1 square, max(a, b) min(a, b) (quote it)")
    chain.add_argument("--at", nargs="+", required=True, metavar="NAME=VALUE",
                       help="the point, e.g. --at x=0.7 y=2 (or x=0.7,y=2)")
    chain.add_argument("--graph", metavar="FILE", help="also draw the computation graph (.svg or .dot)")
    chain.set_defaults(func=_chain_command)

    compare = _parser_for(sub, "compare", "Compare ways of computing gradients: naive or modes.",
                          "chainrule compare naive\n  chainrule compare modes")
    what = compare.add_subparsers(dest="what", metavar="naive|modes", required=True)
    naive = _parser_for(
        what, "naive",
        "Differentiate the written-out cost once per weight with SymPy (the naive method): check it equals "
        "back-propagation, show the pieces the derivatives share (the δ's), and measure how its cost grows "
        "with depth.",
        "chainrule compare naive\n  chainrule compare naive --hidden 1 3 --widths 2 --out runs/naive")
    naive.add_argument("--hidden", type=int, nargs=2, default=[1, 6], metavar=("MIN", "MAX"),
                       help="range of hidden layers for the sweep (default 1 6)")
    naive.add_argument("--widths", type=int, nargs="+", default=[2, 3, 4], metavar="W",
                       help="hidden layer widths for the sweep (default 2 3 4)")
    naive.add_argument("--limit", type=float, default=60.0, metavar="SECONDS",
                       help="skip a network whose SymPy time is predicted above this (default 60)")
    naive.add_argument("--sizes", type=int, nargs="+", metavar="N",
                       help="the network for parts (a) and (c) (default: the classic 2-2-2 example)")
    naive.add_argument("--seed", type=int, default=0, help="seed for --sizes weights (default 0)")
    naive.add_argument("--out", default="runs/compare-naive", metavar="DIR",
                       help="folder for naive.csv and naive.png (default runs/compare-naive)")
    limits.add_memory_flag(naive)
    naive.set_defaults(func=_compare_naive_command)
    modes = _parser_for(
        what, "modes",
        "The full gradient by reverse mode (one backward pass), forward mode (n JVPs) and finite differences "
        "(2n evaluations), for networks of tens to tens of thousands of parameters; and what the backward "
        "pass must keep from the forward pass.",
        "chainrule compare modes\n  chainrule compare modes --max-params 5000 --sample 32")
    modes.add_argument("--max-params", type=int, default=40000, metavar="N",
                       help="largest network to include (default 40000)")
    modes.add_argument("--sample", type=int, default=64,
                       help="JVPs and differences actually run per network before scaling up (default 64)")
    modes.add_argument("--batch", type=int, default=16, help="examples in the batch (default 16)")
    modes.add_argument("--out", default="runs/compare-modes", metavar="DIR",
                       help="folder for modes.csv and modes.png (default runs/compare-modes)")
    limits.add_memory_flag(modes)
    modes.set_defaults(func=_compare_modes_command)

    graph = _parser_for(
        sub, "graph",
        "Draw the computation graph of an expression, with every node's value and gradient, as SVG or DOT.",
        'chainrule graph "exp(sin(x**2))" --at x=0.7 --out graph.svg')
    graph.add_argument("expression", help="as for `chainrule chain`")
    graph.add_argument("--at", nargs="+", required=True, metavar="NAME=VALUE", help="the point, e.g. --at x=0.7")
    graph.add_argument("--out", default="graph.svg", metavar="FILE", help="an .svg or .dot file (default graph.svg)")
    graph.set_defaults(func=_graph_command)


def _parse_point(items: Sequence[str]) -> dict[str, float]:
    """--at x=0.7 y=2 (or x=0.7,y=2) as {'x': 0.7, 'y': 2.0}."""
    point: dict[str, float] = {}
    for item in (part for text in items for part in text.split(",") if part.strip()):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--at expects NAME=VALUE, got {item!r}")
        try:  # names as Python reads identifiers in the expression (NFKC: a full-width ｘ is x)
            point[unicodedata.normalize("NFKC", name.strip())] = float(value)
        except ValueError:
            raise UsageError(f"--at {name.strip()}: {value!r} is not a number") from None
    return point


def _chain_explanation(args: argparse.Namespace):
    from chainrule.explain.chain import ExpressionError, explain_chain

    try:
        return explain_chain(args.expression, _parse_point(args.at))
    except ExpressionError as error:
        raise UsageError(str(error)) from None


def _chain_command(args: argparse.Namespace) -> int:
    if args.graph:
        limits.check_output(args.graph)
    explanation = _chain_explanation(args)
    print(explanation.to_text())
    if args.graph:
        _save_drawing(explanation, args.graph)
    return 0 if all(explanation.agrees_with_finite_differences().values()) else 1


def _save_drawing(explanation, path: str) -> None:
    try:
        written = explanation.graph().save(path)
    except ValueError as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    print(f"wrote {written}")


def _graph_command(args: argparse.Namespace) -> int:
    limits.check_output(args.out)
    _save_drawing(_chain_explanation(args), args.out)
    return 0


def _compare_naive_command(args: argparse.Namespace) -> int:
    limits.check_compare_naive(args)
    from chainrule.explain import naive

    low, high = args.hidden
    if not 1 <= low <= high or high > 8:
        raise UsageError(f"--hidden must be MIN MAX with 1 <= MIN <= MAX <= 8, got {low} {high}")
    if min(args.widths) < 1 or max(args.widths) > 6:
        raise UsageError(f"--widths must be between 1 and 6, got {args.widths}")
    if args.limit <= 0:
        raise UsageError(f"--limit must be positive, got {args.limit}")
    try:
        network = naive.random_network(args.sizes, seed=args.seed) if args.sizes else None
        if network is not None:
            naive.symbolic_cost(network)  # refuses a network too large to write out
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        naive.compare_naive(args.out, network, range(low, high + 1), args.widths, args.limit)
    except OSError as error:
        raise UsageError(f"cannot write to {args.out}: {error.strerror or error}") from None
    return 0


def _compare_modes_command(args: argparse.Namespace) -> int:
    from chainrule.explain import modes

    if args.sample < 1 or args.batch < 1:
        raise UsageError("--sample and --batch must be at least 1")
    sizes = [s for s in modes.SIZES if modes.make_problem(s, batch=1).n <= args.max_params]
    if not sizes:
        raise UsageError(f"--max-params {args.max_params} is below the smallest network "
                         f"({modes.make_problem(modes.SIZES[0], batch=1).n} parameters)")
    limits.check_compare_modes(args, sizes[-1])
    try:
        modes.compare_modes_report(args.out, sizes, sample=args.sample, batch=args.batch)
    except OSError as error:
        raise UsageError(f"cannot write to {args.out}: {error.strerror or error}") from None
    return 0


# ---------------------------------------------------------------- serve (playground issue)
def _add_serve_command(sub: argparse._SubParsersAction) -> None:
    parser = _parser_for(sub, "serve", "Run the browser playground: watch δ flow backwards while a network trains.",
                         "chainrule serve --port 8000 --open")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--open", action="store_true", help="open the playground in a web browser")
    parser.add_argument("--max-sessions", type=int, default=256, metavar="N",
                        help="sessions kept at once, 8 per browser; a full server answers 429 (default 256)")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    """Start the playground server (blocks until Ctrl+C)."""
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {args.port}")
    if not 1 <= args.max_sessions <= 100_000:
        raise UsageError(f"--max-sessions must be between 1 and 100000, got {args.max_sessions}")
    try:
        from chainrule.web import serve
    except ImportError as error:
        raise UsageError(f"the playground needs Starlette and uvicorn: pip install 'chainrule[web]' ({error})") from None
    try:
        serve(host=args.host, port=args.port, open_browser=args.open, capacity=args.max_sessions)
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    return 0


# ---------------------------------------------------------------- export, optional packages (interop issue)
def _add_export_command(sub: argparse._SubParsersAction) -> None:
    parser = _parser_for(
        sub, "export",
        "Write a saved model for PyTorch or ONNX Runtime: safetensors (parameters under nn.Sequential's names, "
        "the architecture in the metadata), a torch state_dict file, or an ONNX graph checked under ONNX Runtime.",
        "chainrule export runs/demo/model.npz --to onnx --out xor.onnx\n"
        "  chainrule export runs/demo/model.npz --to safetensors --out xor.safetensors\n"
        "  chainrule export runs/demo/model.npz --to torch --out xor.pt")
    parser.add_argument("model", metavar="MODEL", help="a model file written by chainrule (.npz or .safetensors)")
    parser.add_argument("--to", required=True, choices=["torch", "safetensors", "onnx"], help="the format")
    parser.add_argument("--out", metavar="FILE", help="where to write (default: MODEL with .pt, .safetensors "
                        "or .onnx)")
    parser.add_argument("--dtype", choices=["float32", "float64"], help="number type of the file (default: "
                        "the model's own for safetensors; float32, PyTorch's and ONNX Runtime's default, otherwise)")
    parser.set_defaults(func=_export_command)


def _export_command(args: argparse.Namespace) -> int:
    from .interop import ExportError, export

    try:
        written = export(args.model, args.to, args.out, dtype=args.dtype)
    except (ExportError, ValueError) as error:
        raise UsageError(str(error)) from None
    for line in written.lines():
        print(line)
    return 0


# The optional packages behind the commands, and the extra (pyproject.toml) that installs each.
EXTRAS = {"matplotlib": "train", "tqdm": "train", "sklearn": "train", "sympy": "explain", "starlette": "web",
          "uvicorn": "web", "anyio": "web", "torch": "compare", "onnx": "interop", "onnxruntime": "interop",
          "safetensors": "interop"}


def missing_extra_message(error: ModuleNotFoundError) -> str:
    """One line naming the missing package and the extra that installs it; re-raises for any other module."""
    package = (error.name or "").split(".")[0]
    if package not in EXTRAS:
        raise error
    extra = EXTRAS[package]
    return (f"this command needs {package}, which chainrule installs only on request: "
            f"pip install 'chainrule[{extra}]'")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Back-propagation you can run, see and trust.",
        epilog="example:\n  chainrule demo               # trains the classic XOR network to 100% accuracy\n"
               "  chainrule train spirals      # the data set's recipe: ≥ 95% test accuracy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser._negative_number_matcher = NEGATIVE_NUMBERS  # argparse's own matcher misses -1,0 and -1e-3
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_training_commands(sub)
    _add_explain_commands(sub)
    _add_chain_commands(sub)
    _add_serve_command(sub)
    _add_export_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        limits.check_arguments_are_text(argv)
    except limits.LimitError as error:
        print(f"chainrule: error: {error}", file=sys.stderr)
        return 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has already printed its one-line message
        return int(exit_.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UsageError, limits.LimitError) as error:
        print(f"chainrule {args.command}: error: {error}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"chainrule {args.command}: error: out of memory; try smaller sizes", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:  # an optional package: one line naming the extra that brings it
        print(f"chainrule {args.command}: error: {missing_extra_message(error)}", file=sys.stderr)
        return 2
    except OSError as error:  # a file system refusal the command did not foresee (disk full, ...): one line
        where = f" ({error.filename})" if error.filename else ""
        print(f"chainrule {args.command}: error: {error.strerror or error}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
