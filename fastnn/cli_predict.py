"""python -m fastnn predict and evaluate: a saved network on the raw rows of a CSV file.

The feature columns: a model with feature names (trained by `train --csv`) reads those columns
by name, in its order, wherever they are in the file; other columns are ignored and a missing one
is an error naming it. A model without feature names (trained on a bundled data set, or saved
from Python without them) reads the columns by position: every column of the file (but the
target, for evaluate), which must be as many as the network's inputs, in the training order.

Class labels: a model's class names, or the class indices 0, 1, ... when it has none.
"""
import csv
import sys

import numpy as np

from fastnn import cli_csv
from fastnn.cli import UsageError, check_output, one_line, same_file


def load_model(path):
    import fastnn as fnn
    try:
        return fnn.load(path)
    except OSError as error:
        raise UsageError(f"cannot read the model {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise UsageError(one_line(error)) from None


def names(net):
    """(feature names, class names, target name) of a model, each None when not saved."""
    return (getattr(net, "feature_names", None), getattr(net, "class_names", None),
            getattr(net, "target_name", None))


def features(net, path, header, body, skip=None):
    """The float64 rows of the network's feature columns in `body`; `skip`: the target's index."""
    feature_names = names(net)[0]
    if feature_names is not None:
        missing = [name for name in feature_names if name not in header]
        if missing:
            raise UsageError(f"{path} lacks the model's column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(map(repr, missing))} (the model reads "
                             f"{', '.join(feature_names)})")
        columns = [cli_csv.column(path, header, name) for name in feature_names]
    else:
        columns = [i for i in range(len(header)) if i != skip]
        n = net.n_features
        if len(columns) != n:
            held = "columns" if skip is None else "columns besides the target"
            raise UsageError(f"{path} has {len(columns)} {held}; the model has no feature names, "
                             f"so it reads every column by position and needs exactly {n}")
    X = cli_csv.numbers(path, header, body, columns)
    too_large = np.abs(X) > np.finfo(net.dtype).max
    if too_large.any():
        r, j = np.argwhere(too_large)[0]
        raise UsageError(f"{path} row {body[r][0]} column {header[columns[j]]!r}: "
                         f"{body[r][1][columns[j]]!r} is too large for the model's "
                         f"{net.dtype} (at most {np.finfo(net.dtype).max:.4g})")
    return X


def probabilities(net, X):
    """(class probabilities per row, class names); a one-output binary classifier's p becomes
    the two columns 1 - p and p."""
    p = net.predict(X)
    if p.shape[1] == 1:
        p = np.hstack([1 - p, p])
    return p, classes_of(net, p.shape[1])


def classes_of(net, n):
    class_names = names(net)[1]
    if class_names is None:
        return [str(i) for i in range(n)]
    if len(class_names) != n:
        raise UsageError(f"the model names {len(class_names)} classes but has {n} outputs")
    return list(class_names)


def write_rows(output, header, rows):
    """A CSV with a header to the file `output`, or to standard output."""
    if output is None:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return
    try:
        with open(output, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None


def predict(args):
    if args.output is not None:
        check_output("--output", args.output)
        for name, path in (("the input", args.input), ("the model", args.model)):
            if same_file(args.output, path):
                raise UsageError(f"--output {args.output} is {name}; give another file name")
    net = load_model(args.model)
    if args.proba and not net.loss.classification:
        raise UsageError(f"--proba needs a classifier; {args.model} is a regression model "
                         f"({type(net.loss).__name__} loss), it predicts values")
    header, body = cli_csv.read_csv(args.input)
    X = features(net, args.input, header, body)
    target_name = names(net)[2]
    if net.loss.classification:
        p, labels = probabilities(net, X)
        if args.proba:
            write_rows(args.output, labels, ([str(v) for v in row] for row in p))
        else:
            write_rows(args.output, [target_name or "label"],
                       ([labels[i]] for i in np.argmax(p, axis=1)))
        return 0
    values = net.predict(X)
    base = target_name or "prediction"
    columns = [base] if values.shape[1] == 1 else [f"{base}_{j}" for j in range(values.shape[1])]
    write_rows(args.output, columns, ([str(v) for v in row] for row in values))
    return 0


def targets(net, path, body, col, name):
    """evaluate's targets: class indices (by the model's class names) or float values."""
    values = cli_csv.target_fields(path, body, col, name)
    if not net.loss.classification:
        return cli_csv.regression_target(path, name, body, values, varied=False)[:, None]
    width = net.n_outputs
    known = classes_of(net, max(width, 2))
    index = {cli_csv.label_key(c): i for i, c in enumerate(known)}
    index.update({c: i for i, c in enumerate(known)})
    y = np.empty(len(values), dtype=np.int64)
    for i, ((row, _), value) in enumerate(zip(body, values)):
        k = index.get(value, index.get(cli_csv.label_key(value)))
        if k is None:
            raise UsageError(f"{path} row {row} column {name!r}: {value!r} is not one of the "
                             f"model's classes ({', '.join(known)})")
        y[i] = k
    return y[:, None].astype(np.float64) if width == 1 else y


def evaluate(args):
    net = load_model(args.model)
    target = args.target or names(net)[2]
    if target is None:
        raise UsageError(f"{args.model} does not name its target column; give --target COLUMN")
    header, body = cli_csv.read_csv(args.data)
    col = cli_csv.column(args.data, header, target, what="target column")
    if names(net)[2] is not None and target != names(net)[2]:
        print(f"warning: {args.model} was trained to predict {names(net)[2]!r}, not "
              f"{target!r}", file=sys.stderr)
    X = features(net, args.data, header, body, skip=col)
    y = targets(net, args.data, body, col, target)
    metrics = None if net.loss.classification else ["r2", "mae", "mse"]
    result = net.evaluate(X, y, metrics=metrics)
    labels = {"r2": "R^2", "mae": "MAE", "mse": "MSE"}
    shown = ", ".join(f"{labels.get(key, key)} {value:.6g}" for key, value in result.items())
    print(f"{args.data}: {len(X)} rows, {shown} ({type(net.loss).__name__} loss)")
    return 0
