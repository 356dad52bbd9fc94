"""Command line: python -m fastnn train DATASET [options]

    python -m fastnn train digits
    python -m fastnn train iris --hidden 32 32 --optimizer sgd --lr 0.1 --epochs 200
    python -m fastnn train --csv table.csv --target label --save model.npz --plot curves.png
    python -m fastnn bench [--quick]      (the training benchmarks: fastnn/bench.py)

Errors (unknown data set, missing file, bad option) print one line and exit with status 2.
"""
import argparse
import sys
import time

import numpy as np

DATASETS = ("digits", "iris", "spiral", "vertical", "xor")
DEFAULT_EPOCHS = {"digits": 30, "iris": 100, "spiral": 1000, "vertical": 100, "xor": 2000}


class UsageError(Exception):
    pass


class OneLineParser(argparse.ArgumentParser):
    """Bad options get one line, not the usage block (`--help` still shows it)."""

    def error(self, message):
        self.exit(2, f"error: {message} (see python -m fastnn train --help)\n")


def parser():
    p = OneLineParser(prog="python -m fastnn", description="Train fastnn networks.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    t = sub.add_parser("train", help="train a network on a bundled data set or a CSV file")
    t.add_argument("dataset", nargs="?", choices=DATASETS, help="bundled data set")
    t.add_argument("--csv", help="train on this CSV file instead (header row, numeric columns)")
    t.add_argument("--target", help="with --csv: the column holding the class label")
    t.add_argument("--hidden", type=int, nargs="+", default=[64], metavar="N",
                   help="hidden layer sizes (default: 64)")
    t.add_argument("--activation", default="relu",
                   choices=["relu", "leaky_relu", "tanh", "sigmoid"])
    t.add_argument("--optimizer", default="adam", choices=["sgd", "adam", "rmsprop", "adagrad"])
    t.add_argument("--lr", type=float, help="learning rate (default: 0.01 for adam, 0.1 for sgd)")
    t.add_argument("--epochs", type=int, help="passes over the data (default depends on the set)")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--save", metavar="PATH", help="save the trained network (.npz)")
    t.add_argument("--plot", metavar="PATH", help="save the training curves (PNG, matplotlib)")
    t.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    return p


def load_csv(path, target):
    import csv
    if not target:
        raise UsageError("--csv needs --target COLUMN naming the label column")
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    if len(rows) < 3:
        raise UsageError(f"{path} needs a header row and at least two data rows")
    header, body = rows[0], rows[1:]
    if target not in header:
        raise UsageError(f"{path} has no column {target!r}; its columns are {', '.join(header)}")
    col = header.index(target)
    try:
        X = np.array([[float(v) for i, v in enumerate(r) if i != col] for r in body])
    except ValueError as error:
        raise UsageError(f"{path}: feature columns must be numeric ({error})") from None
    classes, y = np.unique([r[col] for r in body], return_inverse=True)
    if len(classes) < 2:
        raise UsageError(f"{path}: column {target!r} has a single class")
    from sklearn.model_selection import train_test_split
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1
    return ((X_train - mean) / std, (X_test - mean) / std, y_train, y_test), len(classes)


def train(args):
    import fastnn as fnn

    if (args.dataset is None) == (args.csv is None):
        raise UsageError("name a data set (" + ", ".join(DATASETS) + ") or give --csv FILE")
    for name in ("epochs", "batch_size", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if any(h < 1 for h in args.hidden):
        raise UsageError(f"--hidden sizes must be at least 1, got {args.hidden}")
    if args.lr is not None and not args.lr > 0:
        raise UsageError(f"--lr must be positive, got {args.lr}")

    if args.csv:
        (X_train, X_test, y_train, y_test), n_classes = load_csv(args.csv, args.target)
        name = args.csv
    else:
        X_train, X_test, y_train, y_test = fnn.datasets.load(args.dataset, random_state=args.seed)
        n_classes = 1 if args.dataset == "xor" else int(y_train.max()) + 1
        name = args.dataset
    binary = n_classes == 1
    activation = {"relu": fnn.ReLU, "leaky_relu": fnn.LeakyReLU, "tanh": fnn.Tanh,
                  "sigmoid": fnn.Sigmoid}[args.activation]
    sizes = [X_train.shape[1], *args.hidden, n_classes]
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [fnn.Dense(n_in, n_out), activation()]
    layers.pop()
    lr = args.lr or (0.1 if args.optimizer == "sgd" else 0.01)
    optimizer = fnn.optimizers.OPTIMIZERS[args.optimizer](lr=lr)
    loss = "binary_cross_entropy" if binary else "softmax_cross_entropy"
    net = fnn.Network(layers, loss=loss, optimizer=optimizer, random_state=args.seed,
                      threads=args.threads)
    epochs = args.epochs or DEFAULT_EPOCHS.get(args.dataset, 50)
    batch_size = min(args.batch_size, len(X_train))

    print(f"fastnn {fnn.__version__} (kernels: {fnn.kernels.VARIANT}): {name}, "
          f"{len(X_train)} training / {len(X_test)} test samples, network "
          f"{'-'.join(map(str, sizes))} ({args.activation}), {args.optimizer} lr={lr}, "
          f"{epochs} epochs, batch {batch_size}")
    start = time.perf_counter()
    history = net.fit(X_train, y_train, epochs=epochs, batch_size=batch_size, verbose=args.verbose)
    seconds = time.perf_counter() - start
    result = net.evaluate(X_test, y_test)
    print(f"test accuracy {result['accuracy']:.4f}, test loss {result['loss']:.4f}, "
          f"trained in {seconds:.2f} s")
    if args.save:
        net.save(args.save)
        print(f"saved the network to {args.save}")
    if args.plot:
        history.plot(args.plot)
        print(f"saved the training curves to {args.plot}")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from fastnn.bench import main as bench
        return bench(argv[1:])
    args = parser().parse_args(argv)
    try:
        return train(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ImportError as error:  # e.g. --plot without matplotlib
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
