"""The command line's CSV tables: reading a file, its numeric feature columns, its target column
and the guess of the task it holds, and the standardization `train --csv` trains on.

Rows are numbered as the file's lines (the header is row 1); every problem is a UsageError
naming the file, the row and the column.

The task of a target column, when --task does not say (`guess_task`):
- a value that is not a finite number (a word, an empty field is refused) -> classification;
- numbers that are not all whole -> regression;
- whole numbers: at most MAX_CLASSES distinct values -> classification, more -> regression.
The guess is close, and a warning says so, for 10 to 50 distinct whole numbers, or for
non-whole numbers with at most 10 distinct values.
"""
import csv
import decimal
import io
import math
import os
import stat

import numpy as np

from fastnn.cli import UsageError

MAX_CSV_BYTES = 1 << 30  # the CSV is read whole into memory, and parsed as text
MAX_CLASSES = 20  # whole-number targets with more distinct values are taken as regression
CLOSE_WHOLE = (10, 50)  # distinct whole numbers for which the guess is close
CLOSE_REAL = 10  # at most this many distinct non-whole numbers: a close guess


def read_csv(path):
    """The header (names stripped) and the data rows as (row number, fields); blank rows are
    skipped. Every problem is a UsageError naming the file and the row."""
    try:
        # not blocking: a FIFO is refused below instead of waiting for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
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


def column(path, header, name, what="column"):
    """The index of the column `name`, which must be there once."""
    if name not in header:
        raise UsageError(f"{path} has no {what} {name!r}; its columns are {', '.join(header)}")
    if header.count(name) > 1:
        raise UsageError(f"{path} has {header.count(name)} columns named {name!r}")
    return header.index(name)


def numbers(path, header, body, columns):
    """The float64 matrix of `columns` (indices) of the rows `body`."""
    X = np.empty((len(body), len(columns)))
    for r, (row, fields) in enumerate(body):
        for j, i in enumerate(columns):
            try:
                value = float(fields[i])
            except ValueError:
                raise UsageError(f"{path} row {row} column {header[i]!r}: {fields[i]!r} is not a "
                                 f"number") from None
            if not math.isfinite(value):
                raise UsageError(f"{path} row {row} column {header[i]!r}: {fields[i]!r} is not a "
                                 f"finite number")
            X[r, j] = value
    return X


def target_fields(path, body, col, name):
    """The target column's fields, stripped; an empty one is refused."""
    values = []
    for row, fields in body:
        value = fields[col].strip()
        if not value:
            raise UsageError(f"{path} row {row} column {name!r} is empty (no target value)")
        values.append(value)
    return values


def as_number(text):
    """The finite float `text` holds, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def label_key(text):
    """A class label as the model file names it: a number in one spelling ("1.0" and "1" are
    the class "1"), anything else as written."""
    try:
        return str(int(text))  # exact, however many digits
    except ValueError:
        pass
    value = as_number(text)
    if value is None:
        return text
    # whole floats that float64 holds exactly; larger ones, and fractions, as written
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else text.strip()


def guess_task(values):
    """(task, what was seen, close) for a target column's fields (the rule: the module's
    docstring)."""
    parsed = [as_number(v) for v in values]
    if any(v is None for v in parsed):
        return "classification", "values that are not numbers", False
    distinct = len(set(parsed))
    if all(v.is_integer() for v in parsed):
        task = "classification" if distinct <= MAX_CLASSES else "regression"
        close = CLOSE_WHOLE[0] <= distinct <= CLOSE_WHOLE[1]
        return task, f"{distinct} distinct whole numbers", close
    return "regression", f"{distinct} distinct numbers, not all whole", distinct <= CLOSE_REAL


def encode_labels(path, name, values):
    """(class names, class index per row) of a classification target; numeric labels sort as
    numbers, others as text. Whole numbers are one class however written ("1", "1.0"), and
    exact however long."""
    keys = [label_key(v) for v in values]
    numeric = all(as_number(v) is not None for v in values)
    if numeric:
        classes = sorted(set(keys), key=decimal.Decimal)  # exact, unlike float
    else:
        keys = values
        classes = sorted(set(keys))
    if len(classes) < 2:
        raise UsageError(f"{path}: column {name!r} has a single class")
    index = {c: i for i, c in enumerate(classes)}
    return classes, np.array([index[k] for k in keys], dtype=np.int64)


def regression_target(path, name, body, values, varied=True):
    """The float64 target of a regression; every field must be a finite number (and, varied,
    not all the same)."""
    y = np.empty(len(values))
    for i, ((row, _), value) in enumerate(zip(body, values)):
        number = as_number(value)
        if number is None:
            raise UsageError(f"{path} row {row} column {name!r}: {value!r} is not a finite "
                             f"number (a regression target; --task classification takes labels)")
        y[i] = number
    if varied and np.ptp(y) == 0:
        raise UsageError(f"{path}: column {name!r} holds a single value, {y[0]:g}; there is "
                         f"nothing to learn")
    return y


def statistics(path, X, names, what="column"):
    """(mean, variance) of the columns of X (float64), which must be standardizable."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, variance = X.mean(axis=0), X.var(axis=0)
        scale = np.sqrt(variance)
        scale[scale == 0] = 1
        bad = ~np.isfinite((X - mean) / scale).all(axis=0) | ~np.isfinite(variance)
        # the saved model reads raw rows in float32
        bad |= np.abs(X).max(axis=0) > np.finfo(np.float32).max
    if bad.any():
        j = int(np.argmax(bad))
        raise UsageError(f"{path} {what} {names[j]!r}: values too large to standardize (largest "
                         f"magnitude {np.abs(X[:, j]).max():g})")
    return mean, variance


def standardize(X, mean, variance):
    scale = np.sqrt(variance)
    scale[scale == 0] = 1
    return (X - mean) / scale
