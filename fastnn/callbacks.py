"""Training callbacks: hooks called by Network.fit between epochs.

A callback sees the network as `self.network`; setting `network.stop_training = True` ends
training after the current epoch. on_train_end is called however training ends (normally, by a
callback, on a non-finite loss, or by an exception such as KeyboardInterrupt).
"""
import numpy as np

from fastnn import validation as V


class Callback:
    network = None

    def check(self, metrics):
        """Called by fit before it changes anything, with the names of the metrics its logs will
        hold: raise ValueError if this callback cannot work with them."""

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass


class History(Callback):
    """Per-epoch metrics: history["loss"], ["accuracy"], ["val_loss"], ["val_accuracy"], ..."""

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
        """Draw the loss and accuracy curves with matplotlib (the optional `plot` extra);
        saved to `path` if given. Returns the matplotlib figure."""
        try:
            import matplotlib
            if path is not None and ax is None:
                matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError("History.plot needs matplotlib: pip install 'fastnn[plot]'") from error
        metrics = [m for m in ("loss", "accuracy") if m in self.history]
        if ax is None:
            fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
            axes = axes[0]
        else:
            fig, axes = ax.figure, [ax] * len(metrics)
        for axis, metric in zip(axes, metrics):
            for key in (metric, "val_" + metric):
                if key in self.history:
                    axis.plot(np.arange(1, len(self.history[key]) + 1), self.history[key], label=key)
            axis.set_xlabel("epoch")
            axis.set_ylabel(metric)
            axis.legend()
        fig.tight_layout()
        if path is not None:
            fig.savefig(path)
        return fig


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    With restore_best_weights (the default) the parameters of the best epoch are put back when
    training ends, however it ends.
    """

    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0, mode="auto",
                 restore_best_weights=True):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if not isinstance(monitor, str):
            raise ValueError(f"monitor must be a metric's name, got {monitor!r}")
        patience = V.integer("patience", patience, 0)
        min_delta = abs(V.real("min_delta", min_delta, -np.inf))
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.restore_best_weights = restore_best_weights
        self.best, self.best_epoch, self.best_weights, self.wait = None, None, None, 0
        self.stopped_epoch = None
        self.mode = mode if mode != "auto" else ("max" if "acc" in monitor else "min")

    def check(self, metrics):
        if self.monitor not in metrics:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which fit does not report; "
                             f"it reports {metrics} (val_* needs validation data)")

    def on_train_begin(self, logs=None):
        self.best, self.best_epoch, self.best_weights, self.wait = None, None, None, 0
        self.stopped_epoch = None

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which fit does not report; "
                             f"it reports {sorted(logs)} (val_* needs validation data)")
        value = logs[self.monitor]
        if np.isfinite(value) and self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = [p.copy() for p in self.network.parameters()]
        else:
            self.wait += 1
            if self.wait > self.patience:
                self.stopped_epoch = epoch
                self.network.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            for param, best in zip(self.network.parameters(), self.best_weights):
                param[...] = best
