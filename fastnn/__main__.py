"""Command line: python -m fastnn train DATASET [options]

    python -m fastnn train digits
    python -m fastnn train iris --hidden 32 32 --optimizer sgd --lr 0.1 --epochs 200
    python -m fastnn train --csv table.csv --target label --save model.npz --plot curves.png
    python -m fastnn bench [--quick]      (the training benchmarks: fastnn/bench.py)

Every error (unknown data set, bad option, unreadable or malformed CSV, an output path that
cannot be written, bad input found by the library) prints one line, `error: ...`, on stderr and
exits with status 2; Ctrl-C prints one line and exits with 130. The options, the CSV file and
the --save / --plot paths are all checked before training starts, so a trained network is not
lost to a bad path. CSV rows are numbered as the file's lines (the header is row 1).
"""
import argparse
import csv
import io
import math
import os
import re
import stat
import sys
import tempfile
import time

import numpy as np

from fastnn import registry

DATASETS = ("digits", "iris", "spiral", "vertical", "xor")
# The hidden layers' activations: the registry's, but for those that only make sense as outputs.
CLI_ACTIVATIONS = [entry.name for entry in registry.ACTIVATIONS
                   if entry.name not in ("identity", "softmax", "exponential")]


DEFAULT_EPOCHS = {"digits": 30, "iris": 100, "spiral": 1000, "vertical": 100, "xor": 2000}
MAX_CSV_BYTES = 1 << 30  # the CSV is read whole into memory, and parsed as text
MAX_SEED = 2**32 - 1  # scikit-learn's train_test_split (the bundled sets' splits) takes no more


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
    t.add_argument("--csv", help="train on this CSV file instead (UTF-8, a header row, numeric "
                                 "feature columns)")
    t.add_argument("--target", help="with --csv: the column holding the class label")
    t.add_argument("--hidden", type=int, nargs="+", default=[64], metavar="N",
                   help="hidden layer sizes (default: 64)")
    t.add_argument("--activation", default="relu",
                   choices=CLI_ACTIVATIONS)
    t.add_argument("--optimizer", default="adam", choices=[e.name for e in registry.OPTIMIZERS])
    t.add_argument("--lr", type=float, help="learning rate, finite and >= 0 (default: 0.01, "
                                            "0.1 for sgd)")
    t.add_argument("--epochs", type=int, help="passes over the data, at least 1 (default "
                                              "depends on the set)")
    t.add_argument("--batch-size", type=int, default=32,
                   help="at least 1; more than the training samples means full batch")
    t.add_argument("--threads", type=int, default=1,
                   help="BLAS threads, from 1 to the CPUs available (default 1)")
    t.add_argument("--seed", type=int, default=0, help=f"0 to {MAX_SEED} (default 0)")
    t.add_argument("--save", metavar="PATH", help="save the trained network (.npz)")
    t.add_argument("--plot", metavar="PATH", help="save the training curves (PNG, matplotlib)")
    t.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    return p


def available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_options(args):
    """Refuse, naming the option, every value the training would refuse or misuse."""
    if args.dataset is not None and args.csv is not None:
        raise UsageError(f"give a data set ({args.dataset}) or --csv FILE, not both")
    if args.dataset is None and args.csv is None:
        raise UsageError("name a data set (" + ", ".join(DATASETS) + ") or give --csv FILE")
    if args.csv is not None and not args.target:
        raise UsageError("--csv needs --target COLUMN naming the label column")
    if args.csv is None and args.target is not None:
        raise UsageError("--target goes with --csv FILE; the bundled data sets have their labels")
    for name in ("epochs", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    cpus = available_cpus()
    if not 1 <= args.threads <= cpus:
        raise UsageError(f"--threads must be between 1 and {cpus} (the CPUs available), "
                         f"got {args.threads}")
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    if args.seed > MAX_SEED:
        raise UsageError(f"--seed must be at most {MAX_SEED}, got {args.seed}")
    bad = [h for h in args.hidden if h < 1]
    if bad:
        raise UsageError(f"--hidden sizes must be at least 1, got {bad[0]} in --hidden "
                         f"{' '.join(map(str, args.hidden))}")
    if args.lr is not None and not (math.isfinite(args.lr) and args.lr >= 0):
        raise UsageError(f"--lr must be a finite number >= 0, got {args.lr}")


def check_output(option, path):
    """Refuse an output path that could not be written after training: an empty name, a folder,
    a missing or non-folder parent, a folder this process cannot create files in."""
    if path == "":
        raise UsageError(f"{option} needs a file name")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path} is a folder; give a file name inside it")
    if option == "--save" and os.path.lexists(path) and not (
            os.path.islink(path) or os.path.isfile(path)):
        raise UsageError(f"{option} {path} exists and is not a regular file")
    if option == "--plot" and os.path.isfile(path) and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {path}: the file exists and is not writable")
    # The folder as the system will resolve it for the final rename or open, and the absolute
    # folder Network.save makes its temporary file in (they differ with "..", symbolic links).
    folders = [os.path.dirname(path) or os.curdir]
    if os.path.dirname(os.path.abspath(path)) != os.path.abspath(folders[0]):
        folders.append(os.path.dirname(os.path.abspath(path)))
    for folder in folders:
        if not os.path.exists(folder):
            raise UsageError(f"{option} {path}: the folder {folder} does not exist")
        if not os.path.isdir(folder):
            raise UsageError(f"{option} {path}: {folder} is not a folder")
        try:
            fd, probe = tempfile.mkstemp(prefix=".fastnn-check-", dir=folder)
        except OSError as error:
            raise UsageError(f"{option} {path}: cannot write in the folder {folder} "
                             f"({error.strerror or error})") from None
        os.close(fd)
        os.unlink(probe)
    if option == "--save":
        from fastnn import io as model_files
        try:
            model_files.check_path(path)  # what save itself refuses (long names, links, ...)
        except (ValueError, OSError) as error:
            raise UsageError(f"{option} {path}: {one_line(error)}") from None


def check_plot(path):
    """--plot needs matplotlib and a file type it can write; find out before training."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'fastnn[plot]'") from None
    extension = os.path.splitext(path)[1][1:].lower()
    supported = FigureCanvasBase.get_supported_filetypes()
    if extension and extension not in supported:
        raise UsageError(f"--plot {path}: matplotlib cannot write .{extension} files; use one "
                         f"of {', '.join('.' + e for e in sorted(supported))}")


def read_csv(path):
    """The header (names stripped) and the data rows as (row number, fields); blank rows are
    skipped. Every problem is a UsageError naming the file and the row."""
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise UsageError(f"cannot read {path}: not a regular file")
            if info.st_size > MAX_CSV_BYTES:
                raise UsageError(f"{path} is {info.st_size} bytes; --csv reads files of up to "
                                 f"{MAX_CSV_BYTES} bytes (train larger data from Python)")
            data = f.read(MAX_CSV_BYTES + 1)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data.count(b"\n", 0, error.start) + 1
        raise UsageError(f"{path} row {row} is not UTF-8 text (byte 0x{data[error.start]:02x}); "
                         f"save the file as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                rows.append((reader.line_num, fields))
    except csv.Error as error:
        raise UsageError(f"{path} row {reader.line_num}: {error}") from None
    if not rows:
        raise UsageError(f"{path} is empty; it needs a header row and data rows")
    (_, header), body = rows[0], rows[1:]
    header = [name.strip() for name in header]
    if not body:
        raise UsageError(f"{path} has a header but no data rows")
    for row, fields in body:
        if len(fields) != len(header):
            raise UsageError(f"{path} row {row} has {len(fields)} fields, the header has "
                             f"{len(header)}")
    return header, body


def load_csv(path, target):
    header, body = read_csv(path)
    if target not in header:
        raise UsageError(f"{path} has no column {target!r}; its columns are {', '.join(header)}")
    if header.count(target) > 1:
        raise UsageError(f"{path} has {header.count(target)} columns named {target!r}")
    col = header.index(target)
    features = [i for i in range(len(header)) if i != col]
    if not features:
        raise UsageError(f"{path} has no feature columns, only the target {target!r}")
    if len(body) < 2:
        raise UsageError(f"{path} has {len(body)} data row; it needs at least 2 (to train and "
                         f"to test on)")
    X = np.empty((len(body), len(features)))
    labels = []
    for r, (row, fields) in enumerate(body):
        for j, i in enumerate(features):
            try:
                value = float(fields[i])
            except ValueError:
                raise UsageError(f"{path} row {row} column {header[i]!r}: {fields[i]!r} is not a "
                                 f"number") from None
            if not math.isfinite(value):
                raise UsageError(f"{path} row {row} column {header[i]!r}: {fields[i]!r} is not a "
                                 f"finite number")
            X[r, j] = value
        label = fields[col].strip()
        if not label:
            raise UsageError(f"{path} row {row} column {target!r} is empty (no class label)")
        labels.append(label)
    classes, y = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise UsageError(f"{path}: column {target!r} has a single class")
    from sklearn.model_selection import train_test_split
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        std[std == 0] = 1
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    bad = ~(np.isfinite(X_train).all(axis=0) & np.isfinite(X_test).all(axis=0))
    if bad.any():
        name = header[features[int(np.argmax(bad))]]
        raise UsageError(f"{path} column {name!r}: values too large to standardize (largest "
                         f"magnitude {np.abs(X[:, np.argmax(bad)]).max():g})")
    return (X_train, X_test, y_train, y_test), len(classes)


def train(args):
    check_options(args)
    if args.save is not None:
        check_output("--save", args.save)
    if args.plot is not None:
        check_output("--plot", args.plot)
        check_plot(args.plot)
        if args.save is not None and os.path.abspath(args.save) == os.path.abspath(args.plot):
            raise UsageError(f"--save and --plot name the same file, {args.save}")

    import fastnn as fnn

    if args.csv is not None:
        (X_train, X_test, y_train, y_test), n_classes = load_csv(args.csv, args.target)
        name = args.csv
    else:
        X_train, X_test, y_train, y_test = fnn.datasets.load(args.dataset, random_state=args.seed)
        n_classes = 1 if args.dataset == "xor" else int(y_train.max()) + 1
        name = args.dataset
    binary = n_classes == 1
    sizes = [X_train.shape[1], *args.hidden, n_classes]
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [fnn.Dense(n_in, n_out), fnn.layers.activation_layer(args.activation)]
    layers.pop()
    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 0.01)
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
    if args.save is not None:
        try:
            net.save(args.save)
        except OSError as error:
            raise UsageError(f"cannot save the network to {args.save}: "
                             f"{error.strerror or error}") from None
        print(f"saved the network to {args.save}")
    if args.plot is not None:
        try:
            history.plot(args.plot)
        except OSError as error:
            raise UsageError(f"cannot save the training curves to {args.plot}: "
                             f"{error.strerror or error}") from None
        print(f"saved the training curves to {args.plot}")
    return 0


def one_line(message):
    return re.sub(r"\s*[\r\n]+\s*", " ", str(message)).strip()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from fastnn.bench import main as bench
        return bench(argv[1:])
    args = parser().parse_args(argv)
    try:
        return train(args)
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
