"""Training callbacks: hooks called by Network.fit between epochs, with Keras' semantics
(keras/src/callbacks/): EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler,
CSVLogger, TerminateOnNaN, LambdaCallback, and the History fit returns.

A callback sees the network as `self.network`; setting `network.stop_training = True` ends
training after the current epoch. on_train_end is called however training ends (normally, by a
callback, on a non-finite loss, or by an exception such as KeyboardInterrupt). Callbacks run in
the order given, the History last, so it keeps the keys they add to an epoch's logs. There are
no per-batch hooks: the engine runs whole epochs without returning to Python.

The examples of the classes' docstrings train a small regression, `net` on (X, y).
"""
from __future__ import annotations

import csv
import inspect
import os
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from fastnn import validation as V

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The logs of an epoch: metric name -> value ("loss", "val_loss", "seconds", ...).
Logs = dict[str, float]


class Callback:
    """Base class of the callbacks: hooks Network.fit calls between epochs, as Keras'.

    Override the hooks you need; each gets the epoch's `logs` (a dict of metric names to
    values, which a hook may add keys to). The network being trained is `self.network`
    (set by fit); setting `self.network.stop_training = True` ends training after the
    current epoch.

    Attributes
    ----------
    network : Network or None
        The network fit is training, None before.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(64, 2))
    >>> y = X @ np.array([[1.0], [-2.0]])
    >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse", optimizer=fnn.SGD(lr=0.1),
    ...                   random_state=0)
    >>> class Report(fnn.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, sorted(logs))
    >>> history = net.fit(X, y, epochs=2, verbose=0, callbacks=[Report()])
    0 ['loss', 'seconds']
    1 ['loss', 'seconds']
    """
    network = None

    def check(self, metrics):
        """Called by fit before it changes anything, with the names of the metrics its logs will
        hold: raise ValueError if this callback cannot work with them."""

    def check_network(self, network):
        """Called by fit before it changes anything, after check: raise ValueError if this
        callback cannot work with `network` (its optimizer, say)."""

    def on_train_begin(self, logs: Logs | None = None) -> None:
        """Called once when fit starts training, before the first epoch.

        Parameters
        ----------
        logs : dict or None, default None
            None from fit: nothing has been measured yet.
        """

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Called before each epoch.

        Parameters
        ----------
        epoch : int
            The epoch's number, from 0 in each fit.
        logs : dict or None, default None
            None from fit.
        """

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """Called after each epoch, with its metrics.

        Parameters
        ----------
        epoch : int
            The epoch's number, from 0.
        logs : dict or None, default None
            The epoch's metrics: "loss", "seconds", the metrics fit was given, their val_
            twins with validation data, and the keys earlier callbacks added; a hook may add
            keys (History, last, records them).
        """

    def on_train_end(self, logs: Logs | None = None) -> None:
        """Called once when training ends, however it ends.

        Normally, by a callback, on a non-finite loss or by an exception.

        Parameters
        ----------
        logs : dict or None, default None
            None from fit.
        """


class History(Callback):
    """Per-epoch metrics, as Keras' History: what Network.fit returns.

    history.history["loss"], ["accuracy"], ["val_loss"], ["val_accuracy"], the metrics fit
    was given, the keys callbacks add ("learning_rate") and "seconds" (each epoch's time);
    history.epoch lists the epochs.

    Attributes
    ----------
    history : dict of str to list of float
        Per metric, its value at each epoch.
    epoch : list of int
        The epochs recorded, from 0.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(64, 2))
    >>> y = X @ np.array([[1.0], [-2.0]])
    >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse", optimizer=fnn.SGD(lr=0.1),
    ...                   random_state=0)
    >>> history = net.fit(X, y, epochs=3, validation_split=0.25, verbose=0)
    >>> history.epoch, sorted(history.history)
    ([0, 1, 2], ['loss', 'seconds', 'val_loss'])
    >>> history.history["loss"][-1] < history.history["loss"][0]
    True
    """

    def __init__(self) -> None:
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def extend(self, first_epoch, columns):
        """Record epochs first_epoch, first_epoch + 1, ... at once, as on_epoch_end would one by
        one: columns maps each metric to its values per epoch (fit's engine runs several epochs
        a call)."""
        count = len(next(iter(columns.values())))
        self.epoch.extend(range(first_epoch, first_epoch + count))
        for key, values in columns.items():
            self.history.setdefault(key, []).extend(values)

    def plot(self, path: str | os.PathLike | None = None,
             ax: Axes | None = None) -> Figure:
        """Draw the curves of the loss and of every other metric, one panel each.

        Each panel shows a metric beside its val_ curve, with whole-number epoch ticks, drawn
        with matplotlib (the optional `plot` extra: pip install 'fastnn[plot]').

        Parameters
        ----------
        path : str or os.PathLike or None, default None
            Save the figure there (a format matplotlib's savefig knows by the suffix). With a
            path and no ax the figure is a matplotlib.figure.Figure of its own, not one of
            pyplot's (none is left open, and the backend is not touched); without either it
            is a pyplot figure, for plt.show().
        ax : matplotlib.axes.Axes or None, default None
            Draw every curve there instead, in that axes' figure.

        Returns
        -------
        matplotlib.figure.Figure
            The figure drawn on.

        Raises
        ------
        ImportError
            If matplotlib is not installed.
        """
        try:
            from matplotlib.ticker import MaxNLocator
        except ImportError as error:
            raise ImportError(
                "History.plot needs matplotlib: pip install 'fastnn[plot]'") from error
        metrics = [m for m in self.history if not m.startswith("val_") and m != "seconds"]
        size = (5 * max(len(metrics), 1), 3.5)
        if ax is not None:
            fig, axes = ax.figure, [ax] * len(metrics)
        else:
            if path is not None:
                from matplotlib.figure import Figure
                fig = Figure(figsize=size)
            else:
                import matplotlib.pyplot as plt
                fig = plt.figure(figsize=size)
            axes = fig.subplots(1, max(len(metrics), 1), squeeze=False)[0]
        for axis, metric in zip(axes, metrics):
            for key in (metric, "val_" + metric):
                if key in self.history:
                    values = self.history[key]
                    axis.plot(np.arange(1, len(values) + 1), values, label=key)
            axis.set_xlabel("epoch")
            axis.set_ylabel(metric)
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
            axis.legend()
        fig.tight_layout()
        if path is not None:
            fig.savefig(path)
        return fig


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved for `patience` epochs, counted as Keras counts them.

    A non-finite value never counts as an improvement.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of fit's logs ("val_loss", "loss", "val_accuracy", a metric's name, ...).
    patience : int, default 5
        Epochs without improvement after which training stops: the last improvement at epoch e
        stops training at the end of epoch e + patience (Keras' `wait >= patience`; patience=0
        stops at the first epoch that does not improve, but never after the first epoch).
    min_delta : float, default 0.0
        An improvement must beat the best value by more than this.
    mode : {"auto", "min", "max"}, default "auto"
        "auto" maximizes accuracy, precision, recall, F1, AUC and R^2 (their names), minimizes
        anything else.
    restore_best_weights : bool, default True
        Put back the weights (Network.get_weights) of the best epoch when training ends, however
        it ends (fastnn's default True; Keras' is False).
    baseline : float or None, default None
        A value the monitor must beat: until it does, the patience runs out from the first epoch.
    start_from_epoch : int, default 0
        Epochs to train before monitoring starts (a warm-up).
    verbose : {0, 1}, default 0
        1 prints a line when it stops training and when it restores the best weights.

    Attributes
    ----------
    best : float or None
        The best value of monitor so far.
    best_epoch : int or None
        Its epoch.
    stopped_epoch : int or None
        The epoch it stopped training at, None if it did not.

    Raises
    ------
    ValueError
        If an argument is out of its range, or (from fit) fit does not report `monitor`.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(64, 2))
    >>> y = X @ np.array([[1.0], [-2.0]])
    >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse", optimizer=fnn.SGD(lr=0.1),
    ...                   random_state=0)
    >>> stop = fnn.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
    >>> history = net.fit(X, y, epochs=50, verbose=0, callbacks=[stop])
    >>> stop.stopped_epoch, len(history.epoch)
    (1, 2)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = True,
                 baseline: float | None = None, start_from_epoch: int = 0,
                 verbose: int = 0) -> None:
        self.monitor, self.mode = _monitor(monitor), _mode(mode, monitor)
        self.verbose = _verbose(verbose)
        self.patience = V.integer("patience", patience, 0)
        self.min_delta = abs(V.real("min_delta", min_delta))
        self.baseline = None if baseline is None else V.real("baseline", baseline)
        self.start_from_epoch = V.integer("start_from_epoch", start_from_epoch, 0)
        self.restore_best_weights = bool(restore_best_weights)
        self.on_train_begin()

    def check(self, metrics):
        _check_monitor(self, metrics)

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.best_weights, self.wait = None, None, None, 0
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored(self, logs)
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.network.get_weights(), epoch
        self.wait += 1
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.network.get_weights()
            if self.baseline is None or _improved(value, self.baseline, self.mode, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.network.stop_training = True

    def on_train_end(self, logs=None):
        if self.verbose and self.stopped_epoch is not None:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.network.set_weights(self.best_weights)  # all of get_weights', as Keras


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` when `monitor` stops improving, as Keras' callback.

    The rate is reduced after `patience` epochs without an improvement (Keras'
    ReduceLROnPlateau). The logs of each epoch gain "learning_rate": the lr that epoch trained
    with (set on network.optimizer.lr, read by the next epoch).

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of fit's logs.
    factor : float, default 0.1
        In [0, 1): new lr = max(lr * factor, min_lr).
    patience : int, default 10
        Epochs without an improvement (by more than min_delta) before the lr is reduced.
    verbose : {0, 1}, default 0
        1 prints a line for each reduction.
    mode : {"auto", "min", "max"}, default "auto"
        As EarlyStopping's.
    min_delta : float, default 1e-4
        An improvement must beat the best value by more than this.
    cooldown : int, default 0
        Epochs after a reduction during which epochs without improvement are not counted.
    min_lr : float, default 0.0
        The lr is never reduced below it (nor at all once it is at most min_lr).

    Raises
    ------
    ValueError
        If an argument is out of its range, or (from fit) fit does not report `monitor` or
        the optimizer's learning rate is a schedule.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(64, 2))
    >>> y = X @ np.array([[1.0], [-2.0]])
    >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse", optimizer=fnn.SGD(lr=0.1),
    ...                   random_state=0)
    >>> reduce = fnn.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    >>> history = net.fit(X, y, epochs=3, verbose=0, callbacks=[reduce])
    >>> history.history["learning_rate"], net.optimizer.lr
    ([0.1, 0.1, 0.05], 0.025)
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0) -> None:
        self.monitor, self.mode = _monitor(monitor), _mode(mode, monitor)
        self.factor = V.real("factor", factor, 0, 1)
        self.patience = V.integer("patience", patience, 0)
        self.min_delta = V.real("min_delta", min_delta, 0)
        self.cooldown = V.integer("cooldown", cooldown, 0)
        self.min_lr = V.real("min_lr", min_lr, 0)
        self.verbose = _verbose(verbose)
        self.on_train_begin()

    def check(self, metrics):
        _check_monitor(self, metrics)

    def check_network(self, network):
        _plain_learning_rate(self, network.optimizer)

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        optimizer = _plain_learning_rate(self, self.network.optimizer)
        logs = {} if logs is None else logs
        logs["learning_rate"] = float(optimizer.lr)
        value = _monitored(self, logs)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if _improved(value, self.best, self.mode, self.min_delta, shift_best=True):
            self.best, self.wait = value, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and optimizer.lr > self.min_lr:
                optimizer.lr = max(optimizer.lr * self.factor, self.min_lr)
                self.cooldown_counter, self.wait = self.cooldown, 0
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{optimizer.lr}.")


def _plain_learning_rate(callback, optimizer):
    """The optimizer, whose lr the callback sets: ValueError if it is a schedule (as Keras
    refuses), which the callback would silently replace."""
    if getattr(optimizer, "schedule", None) is not None:
        raise ValueError(f"{type(callback).__name__} sets optimizer.lr between epochs, but the "
                         f"optimizer's learning rate is the schedule {optimizer.schedule!r}: "
                         f"give the optimizer a number as its learning rate, or drop the "
                         f"callback")
    return optimizer


class LearningRateScheduler(Callback):
    """Set the learning rate before each epoch, as Keras' LearningRateScheduler.

    The logs of each epoch gain "learning_rate". For a rate per optimizer step instead, give
    the optimizer a schedule of fastnn.schedules as its learning rate.

    Parameters
    ----------
    schedule : callable
        Called as schedule(epoch, lr) -> the epoch's learning rate (a finite number >= 0),
        epoch counted from 0 and lr the current network.optimizer.lr; a schedule(epoch) of one
        argument is called so.

    Raises
    ------
    TypeError
        If schedule is not callable.
    ValueError
        From fit, if the optimizer's learning rate is a schedule, or schedule gives anything
        but a finite number >= 0.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(64, 2))
    >>> y = X @ np.array([[1.0], [-2.0]])
    >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse", optimizer=fnn.SGD(lr=0.1),
    ...                   random_state=0)
    >>> scheduler = fnn.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    >>> history = net.fit(X, y, epochs=3, verbose=0, callbacks=[scheduler])
    >>> [round(lr, 4) for lr in history.history["learning_rate"]]
    [0.1, 0.05, 0.0333]
    """

    def __init__(self, schedule: Callable[[int, float], float] | Callable[[int], float]) -> None:
        if not callable(schedule):
            raise TypeError(f"schedule must be callable as schedule(epoch, lr), got "
                            f"{type(schedule).__name__}")
        self.schedule = schedule
        self._arguments = 1 if _positional(schedule) == 1 else 2

    def check_network(self, network):
        _plain_learning_rate(self, network.optimizer)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = _plain_learning_rate(self, self.network.optimizer)
        args = (epoch, float(optimizer.lr))[:self._arguments]
        lr = self.schedule(*args)
        optimizer.lr = V.real(f"schedule({', '.join(map(repr, args))}) (the learning rate)",
                              lr, 0, np.inf)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.network.optimizer.lr)


class ModelCheckpoint(Callback):
    """Save the network at the end of every epoch, or of every epoch that improves `monitor`.

    As Keras' ModelCheckpoint; the file is Network.save's, a fastnn model file. Keras'
    save_weights_only has no counterpart: a fastnn model file is small and whole.

    Parameters
    ----------
    filepath : str or os.PathLike
        Formatted with the epoch (counted from 1) and the epoch's logs, as Keras:
        "model-{epoch:02d}-{val_loss:.2f}.npz". Missing folders are made.
    monitor : str, default "val_loss"
        The key of the logs save_best_only compares.
    verbose : {0, 1}, default 0
        1 prints a line for each save.
    save_best_only : bool, default False
        Save only when `monitor` beats the best value so far (or initial_value_threshold).
    mode : {"auto", "min", "max"}, default "auto"
        As EarlyStopping's.
    save_freq : {"epoch"}, default "epoch"
        The only frequency: the engine runs whole epochs without returning to Python.
    initial_value_threshold : float or None, default None
        The value the first saved epoch must beat (save_best_only).

    Raises
    ------
    TypeError
        If filepath is not a str or os.PathLike.
    ValueError
        If save_freq is not "epoch" or another argument is out of its range; from fit, if
        filepath cannot be formatted with the logs, names a folder, or the network cannot be
        saved.
    PermissionError
        From fit, if the folder to save in is not writable.

    Examples
    --------
    >>> import os, tempfile
    >>> X = np.random.default_rng(0).normal(size=(64, 2))
    >>> y = X @ np.array([[1.0], [-2.0]])
    >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse", optimizer=fnn.SGD(lr=0.1),
    ...                   random_state=0)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> folder = tmp.name
    >>> checkpoint = fnn.ModelCheckpoint(os.path.join(folder, "net-{epoch:02d}.npz"),
    ...                                  monitor="loss", save_best_only=True)
    >>> history = net.fit(X, y, epochs=2, verbose=0, callbacks=[checkpoint])
    >>> sorted(os.listdir(folder))
    ['net-01.npz', 'net-02.npz']
    >>> fnn.load(os.path.join(folder, "net-02.npz")).predict(X).shape
    (64, 1)
    >>> tmp.cleanup()
    """

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss",
                 verbose: int = 0, save_best_only: bool = False, mode: str = "auto",
                 save_freq: str = "epoch", initial_value_threshold: float | None = None) -> None:
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(f"filepath must be a str or os.PathLike, got {type(filepath).__name__}")
        if save_freq != "epoch":
            raise ValueError(f"save_freq must be 'epoch' (fastnn saves between epochs: the engine "
                             f"runs whole epochs without Python), got {save_freq!r}")
        self.filepath, self.save_freq = os.fspath(filepath), save_freq
        self.monitor, self.mode = _monitor(monitor), _mode(mode, monitor)
        self.save_best_only = bool(save_best_only)
        self.initial_value_threshold = (None if initial_value_threshold is None else
                                        V.real("initial_value_threshold", initial_value_threshold))
        self.best = self.initial_value_threshold
        self.verbose = _verbose(verbose)

    def check(self, metrics):
        if self.save_best_only:
            _check_monitor(self, metrics)
        # the keys fit's logs will hold, and those fit and fastnn's callbacks add
        keys = dict.fromkeys([*metrics, "seconds", "penalty", "learning_rate"], 0.0)
        try:
            self._first_path = self.filepath.format(epoch=1, **keys)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"ModelCheckpoint's filepath {self.filepath!r} cannot be formatted "
                             f"with epoch and the logs fit will hold, {sorted(keys)}: "
                             f"{error!r}") from None

    def check_network(self, network):
        with warnings.catch_warnings():  # save warns, if it must, when it saves
            warnings.simplefilter("ignore")
            try:
                network.check_save()
            except ValueError as error:
                raise ValueError(f"ModelCheckpoint could not save this network: {error}") from None
        path = getattr(self, "_first_path", self.filepath)
        if path.endswith(("/", os.sep)) or os.path.basename(path) in ("", ".", ".."):
            raise ValueError(f"ModelCheckpoint's filepath {path!r} names no file")
        if os.path.isdir(path):
            raise ValueError(f"ModelCheckpoint's filepath {path!r} is a folder, not a file")
        existing = os.path.dirname(os.path.abspath(path))
        while not os.path.lexists(existing):  # the folders it will make start from there
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise ValueError(f"ModelCheckpoint cannot save to {path!r}: {existing} is not a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(f"ModelCheckpoint cannot save to {path!r}: the folder "
                                  f"{existing} is not writable")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"ModelCheckpoint could not format filepath {self.filepath!r} with "
                             f"epoch and the logs {sorted(logs)}: {error!r}") from None
        if self.save_best_only:
            value = _monitored(self, logs)
            if not _improved(value, self.best, self.mode, 0.0):
                return
            self.best = value
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.network.save(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file, as Keras' CSVLogger.

    An "epoch" column (from 0) and the keys of the first epoch's logs, sorted; a key missing
    later is "NA".

    Parameters
    ----------
    filename : str or os.PathLike
        The CSV file, opened when training begins.
    separator : str, default ","
        The field separator (one character).
    append : bool, default False
        Append to an existing file (its header is kept, not written again) instead of
        overwriting it.

    Raises
    ------
    TypeError
        If filename is not a str or os.PathLike.
    ValueError
        If separator is not one character.

    Examples
    --------
    >>> import os, tempfile
    >>> X = np.random.default_rng(0).normal(size=(64, 2))
    >>> y = X @ np.array([[1.0], [-2.0]])
    >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse", optimizer=fnn.SGD(lr=0.1),
    ...                   random_state=0)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "log.csv")
    >>> history = net.fit(X, y, epochs=2, verbose=0, callbacks=[fnn.CSVLogger(path)])
    >>> with open(path) as f:
    ...     print([line.split(",")[:2] for line in f.read().splitlines()])
    [['epoch', 'loss'], ['0', ...], ['1', ...]]
    >>> tmp.cleanup()
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",",
                 append: bool = False) -> None:
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"filename must be a str or os.PathLike, got {type(filename).__name__}")
        if not (isinstance(separator, str) and len(separator) == 1):
            raise ValueError(f"separator must be one character, got {separator!r}")
        self.filename, self.separator, self.append = os.fspath(filename), separator, bool(append)
        self.keys, self.writer, self.file = None, None, None

    def on_train_begin(self, logs=None):
        header = not (self.append and os.path.exists(self.filename)
                      and os.path.getsize(self.filename) > 0)
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys, self.writer, self._header = None, None, header

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.writer is None:
            self.keys = sorted(logs)
            self.writer = csv.DictWriter(self.file, fieldnames=["epoch", *self.keys],
                                         delimiter=self.separator)
            if self._header:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
        self.file, self.writer = None, None


class TerminateOnNaN(Callback):
    """Stop training after an epoch whose "loss" in the logs is NaN or infinite.

    Keras' TerminateOnNaN, checked per epoch. fit already stops on a non-finite training loss
    by itself, and puts back the weights of that epoch's start; this also stops on a value a
    callback before it wrote into the logs.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(64, 2))
    >>> y = X @ np.array([[1.0], [-2.0]])
    >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse", optimizer=fnn.SGD(lr=0.1),
    ...                   random_state=0)
    >>> spoil = fnn.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(loss=np.nan))
    >>> history = net.fit(X, y, epochs=5, verbose=0, callbacks=[spoil, fnn.TerminateOnNaN()])
    >>> history.epoch
    [0]
    """

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            self.network.stop_training = True


class LambdaCallback(Callback):
    """A callback of the functions given, as Keras' LambdaCallback.

    Without Keras' per-batch hooks: the engine runs whole epochs without Python. Each function
    is called with logs as a dict ({} when fit gives none).

    Parameters
    ----------
    on_epoch_begin, on_epoch_end : callable or None, default None
        Called as f(epoch, logs), before or after each epoch.
    on_train_begin, on_train_end : callable or None, default None
        Called as f(logs), when training begins or ends.

    Raises
    ------
    TypeError
        If a function given is not callable.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(64, 2))
    >>> y = X @ np.array([[1.0], [-2.0]])
    >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse", optimizer=fnn.SGD(lr=0.1),
    ...                   random_state=0)
    >>> losses = []
    >>> record = fnn.LambdaCallback(on_epoch_end=lambda epoch, logs: losses.append(logs["loss"]))
    >>> history = net.fit(X, y, epochs=3, verbose=0, callbacks=[record])
    >>> len(losses), losses == history.history["loss"]
    (3, True)
    """

    def __init__(self, on_epoch_begin: Callable[[int, Logs], object] | None = None,
                 on_epoch_end: Callable[[int, Logs], object] | None = None,
                 on_train_begin: Callable[[Logs], object] | None = None,
                 on_train_end: Callable[[Logs], object] | None = None) -> None:
        for name, function in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                               ("on_train_begin", on_train_begin), ("on_train_end", on_train_end)):
            if function is not None:
                if not callable(function):
                    raise TypeError(f"{name} must be callable, got {type(function).__name__}")
                setattr(self, name, _hook(function, name.endswith("epoch_begin")
                                          or name.endswith("epoch_end")))


def _hook(function, takes_epoch):
    """function as a callback method: called with logs (a dict, {} when fit gives none), after
    the epoch for the epoch hooks."""
    if takes_epoch:
        return lambda epoch, logs=None: function(epoch, {} if logs is None else logs)
    return lambda logs=None: function({} if logs is None else logs)


_MAXIMIZED = ("acc", "precision", "recall", "f1", "auc", "r2")


def _verbose(verbose):
    if verbose not in (0, 1) or isinstance(verbose, float):
        raise ValueError(f"verbose must be 0 or 1, got {verbose!r}")
    return int(verbose)


def _positional(function):
    """How many positional arguments `function` takes (2 for *args or no signature)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return 2
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


def _monitor(monitor):
    if not isinstance(monitor, str):
        raise ValueError(f"monitor must be a metric's name, got {monitor!r}")
    return monitor


def _mode(mode, monitor):
    """"min" or "max" for `mode` ("auto": max for the metrics that grow as they improve)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if any(word in name for word in _MAXIMIZED) else "min"


def _check_monitor(cb, metrics):
    if cb.monitor not in metrics:
        raise ValueError(f"{type(cb).__name__} monitors {cb.monitor!r}, which fit does not "
                         f"report; it reports {metrics} (val_* needs validation data)")


def _monitored(cb, logs):
    logs = logs or {}
    if cb.monitor not in logs:
        raise ValueError(f"{type(cb).__name__} monitors {cb.monitor!r}, which fit does not "
                         f"report; it reports {sorted(logs)} (val_* needs validation data)")
    return logs[cb.monitor]


def _improved(value, best, mode, min_delta, shift_best=False):
    """Whether `value` beats `best` (None: nothing yet) by more than min_delta; a non-finite
    value never does. As Keras rounds: value -/+ min_delta against best, or with shift_best
    (ReduceLROnPlateau's form) value against best -/+ min_delta."""
    if not np.isfinite(value):
        return False
    if best is None:
        return True
    if shift_best:
        return value < best - min_delta if mode == "min" else value > best + min_delta
    return value + min_delta < best if mode == "min" else value - min_delta > best
