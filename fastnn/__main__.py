"""Command line: python -m fastnn COMMAND [options]

    python -m fastnn train digits
    python -m fastnn train iris --hidden 32 32 --optimizer sgd --lr 0.1 --epochs 200
    python -m fastnn train --csv table.csv --target label --save model.npz --plot curves.png
    python -m fastnn predict model.npz new_rows.csv [--output predictions.csv] [--proba]
    python -m fastnn evaluate model.npz labelled.csv [--target label]

The commands live in fastnn.cli_train (train) and fastnn.cli_predict (predict, evaluate); CSV
files are read by fastnn.cli_csv. Every error (unknown data set, bad option, unreadable or
malformed CSV or model file, an output path that cannot be written, bad input found by the
library) prints one line, `error: ...`, on stderr and exits with status 2; Ctrl-C prints one
line and exits with 130. The options, the CSV file and the output paths are all checked before
training starts, so a trained network is not lost to a bad path. CSV rows are numbered as the
file's lines (the header is row 1). docs/command-line.md shows every command and option.
"""
import argparse
import csv
import os
import sys

from fastnn import __version__, registry
from fastnn.cli import UsageError, one_line
from fastnn.cli_train import CLI_ACTIVATIONS, DATASETS, DEFAULT_VALIDATION, LOSS_NAMES, MAX_SEED


class OneLineParser(argparse.ArgumentParser):
    """Bad options get one line, not the usage block (`--help` still shows it)."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def add_train(sub):
    t = sub.add_parser("train", help="train a network on a bundled data set or a CSV file",
                       description="Train a network, print its test metrics, and save it.")
    t.add_argument("dataset", nargs="?", choices=DATASETS, help="bundled data set")
    t.add_argument("--csv", help="train on this CSV file instead (UTF-8, a header row, numeric "
                                 "feature columns)")
    t.add_argument("--target", help="with --csv: the column to predict (class labels or values)")
    t.add_argument("--task", choices=["classification", "regression"],
                   help="with --csv: what the target holds (default: guessed from its values; "
                        "words or at most 20 distinct whole numbers are classes, other numbers "
                        "regression)")
    t.add_argument("--hidden", type=int, nargs="+", default=[64], metavar="N",
                   help="hidden layer sizes (default: 64)")
    t.add_argument("--activation", default="relu", choices=CLI_ACTIVATIONS,
                   help="the hidden layers' activation (default: relu)")
    t.add_argument("--loss", choices=LOSS_NAMES,
                   help="the training loss, one that fits the task (default: "
                        "softmax_cross_entropy for classes, binary_cross_entropy for xor, mse "
                        "for regression)")
    t.add_argument("--optimizer", default="adam", choices=[e.name for e in registry.OPTIMIZERS],
                   help="the optimizer (default: adam)")
    t.add_argument("--lr", type=float, help="learning rate, finite and >= 0 (default: 0.01, "
                                            "0.1 for sgd)")
    t.add_argument("--epochs", type=int, help="passes over the data, at least 1 (default "
                                              "depends on the set; 50 for a CSV)")
    t.add_argument("--batch-size", type=int, default=32,
                   help="at least 1; more than the training samples means full batch "
                        "(default 32)")
    t.add_argument("--dropout", type=float, metavar="RATE",
                   help="a Dropout layer of this rate (0 to below 1) after every hidden "
                        "activation")
    t.add_argument("--batch-norm", action="store_true",
                   help="a BatchNorm layer between every hidden Dense layer and its activation")
    t.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                   help="stop when the validation loss has not improved for PATIENCE epochs, "
                        "and keep the best epoch's weights")
    t.add_argument("--validation-split", type=float, metavar="FRACTION",
                   help=f"hold out this fraction of the training rows to validate on (default "
                        f"{DEFAULT_VALIDATION} with --early-stopping, else none)")
    t.add_argument("--threads", type=int, default=1,
                   help="BLAS threads, from 1 to the CPUs available (default 1)")
    t.add_argument("--seed", type=int, default=0,
                   help=f"seeds the weights, shuffling and dropout (and a bundled set's "
                        f"split), 0 to {MAX_SEED} (default 0)")
    t.add_argument("--save", metavar="PATH", help="save the trained network (.npz); with --csv "
                                                  "it predicts on raw rows")
    t.add_argument("--export-onnx", metavar="PATH",
                   help="export the trained network to ONNX (needs pip install 'fastnn[onnx]')")
    t.add_argument("--plot", metavar="PATH", help="save the training curves (PNG, matplotlib)")
    t.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2],
                   help="0 silent, 1 a progress bar, 2 a line per epoch (default 1)")


def add_predict(sub):
    p = sub.add_parser("predict", help="predict the rows of a CSV file with a saved network",
                       description="Write a saved network's predictions for the rows of a CSV "
                                   "file, as a CSV with a header.")
    p.add_argument("model", help="a model file (train --save)")
    p.add_argument("input", help="a CSV file with the training file's feature columns (by name; "
                                 "other columns are ignored)")
    p.add_argument("--output", metavar="PATH", help="write the predictions here (default: "
                                                    "standard output)")
    p.add_argument("--proba", action="store_true",
                   help="a classifier's probabilities, one column per class, instead of labels")


def add_evaluate(sub):
    e = sub.add_parser("evaluate", help="a saved network's metrics on a labelled CSV file",
                       description="Print a saved network's loss and accuracy (classifiers) or "
                                   "R^2, MAE and MSE (regressors) on a labelled CSV file.")
    e.add_argument("model", help="a model file (train --save)")
    e.add_argument("data", help="a CSV file with the feature columns and the target column")
    e.add_argument("--target", help="the target column (default: the one the model was "
                                    "trained on)")


def parser():
    p = OneLineParser(prog="python -m fastnn",
                      description="Train fastnn networks, predict and evaluate with them.")
    p.add_argument("--version", action="version", version=f"fastnn {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser,
                           metavar="{train,predict,evaluate}")
    add_train(sub)
    add_predict(sub)
    add_evaluate(sub)
    return p


def run(args):
    if args.command == "train":
        from fastnn.cli_train import train
        return train(args)
    from fastnn import cli_predict
    return getattr(cli_predict, args.command)(args)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        print("error: the benchmarks are scripts of fastnn's source tree now, not a command: "
              "python benchmarks/training.py (or estimators.py, kernels.py)", file=sys.stderr)
        return 2
    args = parser().parse_args(argv)
    try:
        return run(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout's reader went away (| head): later writes, and the flush at exit, go nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print("error: standard output was closed (broken pipe)", file=sys.stderr)
        return 2
    except UsageError as error:
        message = one_line(error)
    # Bad input found by the library (fastnn, numpy, scikit-learn) or the system; anything
    # else is a bug and keeps its traceback.
    except (ValueError, TypeError, OSError, csv.Error) as error:
        message = one_line(error) or type(error).__name__
    except MemoryError:
        message = "not enough memory for this network and data (try smaller --hidden sizes)"
    print(f"error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
