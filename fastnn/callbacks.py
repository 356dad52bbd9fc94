"""Training callbacks: hooks called by Network.fit between epochs, with Keras' semantics
(keras/src/callbacks/): EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler,
CSVLogger, TerminateOnNaN, LambdaCallback, and the History fit returns.

A callback sees the network as `self.network`; setting `network.stop_training = True` ends
training after the current epoch. on_train_end is called however training ends (normally, by a
callback, on a non-finite loss, or by an exception such as KeyboardInterrupt). Callbacks run in
the order given, the History last, so it keeps the keys they add to an epoch's logs. There are
no per-batch hooks: the engine runs whole epochs without returning to Python.
"""
import csv
import inspect
import os
import warnings

import numpy as np

from fastnn import validation as V


class Callback:
    network = None

    def check(self, metrics):
        """Called by fit before it changes anything, with the names of the metrics its logs will
        hold: raise ValueError if this callback cannot work with them."""

    def check_network(self, network):
        """Called by fit before it changes anything, after check: raise ValueError if this
        callback cannot work with `network` (its optimizer, say)."""

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class History(Callback):
    """Per-epoch metrics, as Keras' History: history.history["loss"], ["accuracy"],
    ["val_loss"], ["val_accuracy"], the metrics fit was given, the keys callbacks add
    ("learning_rate") and "seconds" (each epoch's time); history.epoch lists the epochs."""

    def __init__(self):
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

    def plot(self, path=None, ax=None):
        """Draw the curves of the loss and of every other metric (beside its val_ curve), one
        panel each, with matplotlib (the optional `plot` extra) and whole-number epoch ticks;
        saved to `path` if given. Returns the matplotlib figure.

        With a path and no ax the figure is a matplotlib.figure.Figure of its own, not one of
        pyplot's (none is left open, and the backend is not touched); without either it is a
        pyplot figure, for plt.show(); with ax it draws there."""
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

    Parameters
    ----------
    monitor : str
        A key of fit's logs ("val_loss", "loss", "val_accuracy", a metric's name, ...).
    patience : int
        Epochs without improvement after which training stops: the last improvement at epoch e
        stops training at the end of epoch e + patience (Keras' `wait >= patience`; patience=0
        stops at the first epoch that does not improve, but never after the first epoch).
    min_delta : float
        An improvement must beat the best value by more than this.
    mode : {"auto", "min", "max"}
        "auto" maximizes accuracy, precision, recall, F1, AUC and R^2 (their names), minimizes
        anything else.
    restore_best_weights : bool
        Put back the weights (Network.get_weights) of the best epoch when training ends, however
        it ends (fastnn's default True; Keras' is False).
    baseline : float or None
        A value the monitor must beat: until it does, the patience runs out from the first epoch.
    start_from_epoch : int
        Epochs to train before monitoring starts (a warm-up).
    verbose : {0, 1}
        1 prints a line when it stops training and when it restores the best weights.

    A non-finite value never counts as an improvement.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True, baseline=None, start_from_epoch=0, verbose=0):
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
    """Multiply the learning rate by `factor` when `monitor` has not improved for `patience`
    epochs (Keras' ReduceLROnPlateau).

    Parameters
    ----------
    monitor : str
        A key of fit's logs.
    factor : float
        In [0, 1): new lr = max(lr * factor, min_lr).
    patience : int
        Epochs without an improvement (by more than min_delta) before the lr is reduced.
    mode : {"auto", "min", "max"}
        As EarlyStopping's.
    min_delta : float
        An improvement must beat the best value by more than this.
    cooldown : int
        Epochs after a reduction during which epochs without improvement are not counted.
    min_lr : float
        The lr is never reduced below it (nor at all once it is at most min_lr).
    verbose : {0, 1}
        1 prints a line for each reduction.

    The logs of each epoch gain "learning_rate": the lr that epoch trained with (set on
    network.optimizer.lr, read by the next epoch).
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
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
    """Set the learning rate before each epoch to schedule(epoch, lr) (epoch counted from 0, lr
    the current network.optimizer.lr), as Keras' LearningRateScheduler; a schedule(epoch) of one
    argument is called so too. The logs of each epoch gain "learning_rate"."""

    def __init__(self, schedule):
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
    """Save the network (Network.save, a fastnn model file) at the end of every epoch, or of
    every epoch that improves `monitor` (save_best_only), as Keras' ModelCheckpoint.

    Parameters
    ----------
    filepath : str or os.PathLike
        Formatted with the epoch (counted from 1) and the epoch's logs, as Keras:
        "model-{epoch:02d}-{val_loss:.2f}.npz". Missing folders are made.
    monitor : str
        The key of the logs save_best_only compares.
    save_best_only : bool
        Save only when `monitor` beats the best value so far (or initial_value_threshold).
    mode : {"auto", "min", "max"}
        As EarlyStopping's.
    save_freq : "epoch"
        The only frequency: the engine runs whole epochs without returning to Python.
    initial_value_threshold : float or None
        The value the first saved epoch must beat (save_best_only).
    verbose : {0, 1}
        1 prints a line for each save.

    Keras' save_weights_only has no counterpart: a fastnn model file is small and whole.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, mode="auto",
                 save_freq="epoch", initial_value_threshold=None):
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
    """Write each epoch's logs as a row of a CSV file, as Keras' CSVLogger: an "epoch" column
    (from 0) and the keys of the first epoch's logs, sorted; a key missing later is "NA".

    Parameters
    ----------
    filename : str or os.PathLike
    separator : str
        The field separator (one character).
    append : bool
        Append to an existing file (its header is kept, not written again) instead of
        overwriting it.
    """

    def __init__(self, filename, separator=",", append=False):
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
    """Stop training after an epoch whose "loss" in the logs is NaN or infinite (Keras'
    TerminateOnNaN, checked per epoch). fit already stops on a non-finite training loss by
    itself, and puts back the weights of that epoch's start; this also stops on a value a
    callback before it wrote into the logs."""

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            self.network.stop_training = True


class LambdaCallback(Callback):
    """A callback of the functions given: on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs),
    on_train_begin(logs), on_train_end(logs) (Keras' LambdaCallback without the per-batch hooks:
    the engine runs whole epochs without Python)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None):
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
