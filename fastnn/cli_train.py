"""python -m fastnn train: a network on a bundled data set or a CSV file, then its test metrics,
and the network saved, exported and its curves plotted as asked.

With --csv the network trains on standardized features (and, for regression, a standardized
target), and the network saved is that network between two Normalization layers:
Normalization(mean, variance) of the training features first and, for regression,
Normalization(mean_y, variance_y, invert=True) last, so the file predicts on raw rows in the
target's units; it keeps the feature names (the training columns in order), the class names
(the labels as strings) and the target's name. The test metrics printed are the saved
network's, on the raw test rows.
"""
import math
import sys
import time

from fastnn import cli_csv, registry
from fastnn.cli import (
    UsageError,
    available_cpus,
    check_distinct,
    check_output,
    check_plot,
    same_file,
)

DATASETS = ("digits", "iris", "spiral", "vertical", "xor")
# The hidden layers' activations: the registry's, but for those that only make sense as outputs.
CLI_ACTIVATIONS = [entry.name for entry in registry.ACTIVATIONS
                   if entry.name not in ("identity", "softmax", "exponential")]
DEFAULT_EPOCHS = {"digits": 30, "iris": 100, "spiral": 1000, "vertical": 100, "xor": 2000}
MAX_SEED = 2**32 - 1  # scikit-learn's train_test_split (the bundled sets' splits) takes no more
DEFAULT_VALIDATION = 0.1  # of the training rows, held out by --early-stopping alone
TEST_FRACTION = 0.25
# The losses --loss takes for each kind of output (the registry's classes).
TASK_LOSSES = {"categorical": ("SoftmaxCrossEntropy", "CrossEntropy"),
               "binary": ("BinaryCrossEntropy",),
               "regression": ("MSE", "MAE", "Huber", "SumOfSquares")}
LOSS_NAMES = [name for entry in registry.LOSSES for name in entry.names + tuple(
    alias for alias, _ in entry.aliases) if any(entry.cls in c for c in TASK_LOSSES.values())]
DEFAULT_LOSS = {"categorical": "softmax_cross_entropy", "binary": "binary_cross_entropy",
                "regression": "mse"}


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
    if args.csv is None and args.task == "regression":
        raise UsageError("--task regression goes with --csv FILE; the bundled data sets are "
                         "classification")
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
    if args.dropout is not None and not 0 <= args.dropout < 1:
        raise UsageError(f"--dropout must be at least 0 and below 1, got {args.dropout}")
    if args.validation_split is not None and not 0 < args.validation_split < 1:
        raise UsageError(f"--validation-split must be between 0 and 1 (a fraction of the "
                         f"training rows), got {args.validation_split}")
    if args.early_stopping is not None and args.early_stopping < 0:
        raise UsageError(f"--early-stopping must be at least 0 (epochs without improvement), "
                         f"got {args.early_stopping}")
    if args.loss is not None and (args.csv is None or args.task is not None):
        # the kind of outputs is known before the CSV is read: check --loss now
        choose_loss(args.loss, "binary" if args.dataset == "xor" else output_kind(
            args.task or "classification", 0))


def check_outputs(args):
    outputs = {"--save": args.save, "--plot": args.plot, "--export-onnx": args.export_onnx}
    for option, path in outputs.items():
        if path is not None:
            check_output(option, path)
    check_distinct(outputs)
    for option, path in outputs.items():
        if path is not None and args.csv is not None and same_file(path, args.csv):
            raise UsageError(f"{option} {path} is the --csv input; give another file name")
    if args.plot is not None:
        check_plot(args.plot)
    if args.export_onnx is not None:
        check_onnx()


def batch_without_a_single_row(rows, split, batch_size):
    """The smallest batch size from batch_size up that leaves no last batch of 1 row of the
    rows fit trains on (validation_split holds out ceil(split * rows), as train_test_split),
    which BatchNorm refuses."""
    trained = rows - math.ceil((split or 0.0) * rows)
    while trained > 2 and trained % batch_size == 1:
        batch_size += 1
    return batch_size


def check_onnx():
    """--export-onnx needs the onnx package; find out before training."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise UsageError("--export-onnx needs the onnx package: pip install 'fastnn[onnx]'") \
            from None


class Table:
    """A CSV file's training data: raw train/test splits, feature names, the task, class names
    (classification) and what the guess of the task said."""

    def __init__(self, path, target, task):
        header, body = cli_csv.read_csv(path)
        col = cli_csv.column(path, header, target)
        features = [i for i in range(len(header)) if i != col]
        if not features:
            raise UsageError(f"{path} has no feature columns, only the target {target!r}")
        twice = next((header[i] for i in features if header.count(header[i]) > 1), None)
        if twice is not None:
            raise UsageError(f"{path} has {header.count(twice)} columns named {twice!r}; the "
                             f"model finds its columns by name: rename them")
        if len(body) < 2:
            raise UsageError(f"{path} has {len(body)} data row; it needs at least 2 (to train "
                             f"and to test on)")
        X = cli_csv.numbers(path, header, body, features)
        values = cli_csv.target_fields(path, body, col, target)
        guess, seen, close = cli_csv.guess_task(values)
        self.task = task or guess
        self.warning = None
        if task is None and close:
            other = "regression" if guess == "classification" else "classification"
            self.warning = (f"warning: guessed {guess} for column {target!r} ({seen}); give "
                            f"--task {other} to override (or --task {guess} to silence this)")
        if self.task == "classification":
            self.class_names, y = cli_csv.encode_labels(path, target, values)
        else:
            self.class_names, y = None, cli_csv.regression_target(path, target, body, values)
        self.path, self.target = path, target
        self.feature_names = [header[i] for i in features]
        from sklearn.model_selection import train_test_split
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            X, y, test_size=TEST_FRACTION, random_state=0)
        self.mean, self.variance = cli_csv.statistics(path, self.X_train, self.feature_names)
        if self.task == "regression":
            self.y_mean, self.y_variance = cli_csv.statistics(
                path, self.y_train[:, None], [target])


def output_kind(task, n_classes):
    if task == "regression":
        return "regression"
    return "binary" if n_classes == 1 else "categorical"


def choose_loss(name, kind):
    """The Loss of --loss (or the kind's default), which must fit the outputs."""
    from fastnn import losses
    loss = losses.get(name or DEFAULT_LOSS[kind])
    if type(loss).__name__ not in TASK_LOSSES[kind]:
        fitting = [n for n in LOSS_NAMES if type(losses.get(n)).__name__ in TASK_LOSSES[kind]]
        what = {"categorical": "a classifier", "binary": "a binary classifier",
                "regression": "a regressor"}[kind]
        raise UsageError(f"--loss {name} does not fit {what}; choose one of "
                         f"{', '.join(fitting)}")
    return loss


def hidden_layers(args, n_in):
    """Dense, [BatchNorm], activation, [Dropout] per hidden size."""
    import fastnn as fnn
    layers = []
    for n_out in args.hidden:
        layers.append(fnn.Dense(n_in, n_out))
        if args.batch_norm:
            layers.append(fnn.BatchNorm(n_out))
        layers.append(fnn.layers.activation_layer(args.activation))
        if args.dropout:
            layers.append(fnn.Dropout(args.dropout))
        n_in = n_out
    return layers


def output_layers(n_in, n_out, loss):
    """The last Dense, and the Softmax or Sigmoid a loss on probabilities needs after it."""
    import fastnn as fnn
    layers = [fnn.Dense(n_in, n_out)]
    if type(loss).__name__ == "CrossEntropy":
        layers.append(fnn.Softmax())
    elif type(loss).__name__ == "BinaryCrossEntropy" and not loss.from_logits:
        layers.append(fnn.Sigmoid())
    return layers


def saved_network(net, table, threads):
    """The network a CSV's training saves: net's trained layers between the Normalization
    layers of its preprocessing, with the table's names."""
    import fastnn as fnn
    layers = [fnn.Normalization(mean=table.mean, variance=table.variance), *net.layers]
    if table.task == "regression":
        layers.append(fnn.Normalization(mean=table.y_mean, variance=table.y_variance,
                                        invert=True))
    # net's generator and optimizer go on: the file continues training as net would
    final = fnn.Network(layers, loss=net.loss, optimizer=net.optimizer, random_state=net.rng,
                        threads=threads)
    final.feature_names = list(table.feature_names)
    final.class_names = None if table.class_names is None else list(table.class_names)
    final.target_name = table.target
    return final


def train(args):
    check_options(args)
    check_outputs(args)
    import fastnn as fnn

    table = None
    if args.csv is not None:
        table = Table(args.csv, args.target, args.task)
        X_train, X_test = (cli_csv.standardize(X, table.mean, table.variance)
                           for X in (table.X_train, table.X_test))
        y_train = table.y_train
        if table.task == "regression":
            y_train = cli_csv.standardize(y_train[:, None], table.y_mean, table.y_variance)
        n_out = 1 if table.task == "regression" else len(table.class_names)
        name = args.csv
    else:
        X_train, X_test, y_train, y_test = fnn.datasets.load(args.dataset, random_state=args.seed)
        n_out = 1 if args.dataset == "xor" else int(y_train.max()) + 1
        name = args.dataset
    kind = output_kind("regression" if table is not None and table.task == "regression"
                       else "classification", n_out)
    loss = choose_loss(args.loss, kind)
    layers = hidden_layers(args, X_train.shape[1])
    layers += output_layers(args.hidden[-1], n_out, loss)
    lr = args.lr if args.lr is not None else (0.1 if args.optimizer == "sgd" else 0.01)
    optimizer = fnn.optimizers.OPTIMIZERS[args.optimizer](lr=lr)
    net = fnn.Network(layers, loss=loss, optimizer=optimizer, random_state=args.seed,
                      threads=args.threads)
    epochs = args.epochs or DEFAULT_EPOCHS.get(args.dataset, 50)
    batch_size = min(args.batch_size, len(X_train))
    split = args.validation_split
    if split is None and args.early_stopping is not None:
        split = DEFAULT_VALIDATION
    callbacks = []
    if args.early_stopping is not None:
        callbacks.append(fnn.EarlyStopping(monitor="val_loss", patience=args.early_stopping,
                                           restore_best_weights=True))
    if table is not None and table.warning:
        print(table.warning, file=sys.stderr)
    asked = batch_size
    if args.batch_norm:
        batch_size = batch_without_a_single_row(len(X_train), split, batch_size)

    sizes = [X_train.shape[1], *args.hidden, n_out]
    extras = "".join([", batch norm" if args.batch_norm else "",
                      f", dropout {args.dropout}" if args.dropout else "",
                      f", validation split {split}" if split else "",
                      f", early stopping (patience {args.early_stopping})"
                      if args.early_stopping is not None else ""])
    task = "" if table is None else f" ({table.task} of {args.target!r})"
    print(f"fastnn {fnn.__version__} (kernels: {fnn.kernels.VARIANT}): {name}{task}, "
          f"{len(X_train)} training / {len(X_test)} test samples, network "
          f"{'-'.join(map(str, sizes))} ({args.activation}), {args.optimizer} lr={lr}, "
          f"{type(loss).__name__} loss, {epochs} epochs, batch {batch_size}"
          f"{'' if batch_size == asked else f' ({asked} would leave BatchNorm 1 row)'}"
          f"{extras}")
    start = time.perf_counter()
    history = net.fit(X_train, y_train, epochs=epochs, batch_size=batch_size, verbose=args.verbose,
                      validation_split=split or 0.0, callbacks=callbacks)
    seconds = time.perf_counter() - start
    if table is not None:
        net = saved_network(net, table, args.threads)
        X_test, y_test = table.X_test, table.y_test
    if kind == "regression":
        result = net.evaluate(X_test, y_test[:, None], metrics=["r2", "mae"])
        print(f"test R^2 {result['r2']:.4f}, MAE {result['mae']:.6g}, test loss "
              f"{result['loss']:.6g} (in the target's units), trained in {seconds:.2f} s")
    else:
        result = net.evaluate(X_test, y_test)
        print(f"test accuracy {result['accuracy']:.4f}, test loss {result['loss']:.4f}, "
              f"trained in {seconds:.2f} s")
    stopper = callbacks[0] if callbacks else None
    if stopper is not None and stopper.stopped_epoch is not None:
        print(f"early stopping after {stopper.stopped_epoch + 1} epochs; kept the weights of "
              f"epoch {stopper.best_epoch + 1}, the best val_loss {stopper.best:.6g}")
    write_outputs(args, net, history)
    return 0


def write_outputs(args, net, history):
    import fastnn as fnn
    if args.save is not None:
        try:
            net.save(args.save)
        except OSError as error:
            raise UsageError(f"cannot save the network to {args.save}: "
                             f"{error.strerror or error}") from None
        print(f"saved the network to {args.save}")
    if args.export_onnx is not None:
        try:
            fnn.export_onnx(net, args.export_onnx)
        except (OSError, ImportError, ValueError, TypeError) as error:
            raise UsageError(f"cannot export the network to {args.export_onnx}: "
                             f"{getattr(error, 'strerror', None) or error}") from None
        print(f"exported the network to {args.export_onnx} (ONNX)")
    if args.plot is not None:
        try:
            history.plot(args.plot)
        except OSError as error:
            raise UsageError(f"cannot save the training curves to {args.plot}: "
                             f"{error.strerror or error}") from None
        print(f"saved the training curves to {args.plot}")
