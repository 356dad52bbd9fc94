"""The one training loop: Network.fit and the scikit-learn estimators' sgd and adam run it.

run_epochs is the epoch loop. Each epoch takes a Checkpoint, runs its mini-batch steps in the
compiled engine when the network has a plan (else layer by layer, with the same numbers), and
hands its logs to an `end(epoch, logs) -> stop?` hook. A non-finite loss, weights or optimizer
state put the checkpoint back and stop the loop with a RuntimeWarning; an interrupt puts it back
and propagates. There is one rollback, Checkpoint, whose per-epoch form is what the engine's
own snapshot does inside its compiled loop. fit adds callbacks, validation data and progress on
top; with none of them it runs several epochs per engine call (fit_in_engine). The estimators'
hook does scikit-learn's part (loss_curve_, tol / n_iter_no_change, early stopping, the
learning-rate schedules).

Every function here takes arrays already checked and converted by fastnn.validation.
"""
import time
import warnings
from itertools import chain

import numpy as np

from fastnn import kernels, sparse
from fastnn import layers as L
from fastnn.callbacks import Callback, History
from fastnn.engine import NonFiniteInput
from fastnn.metrics import accuracy
from fastnn.thresholds import CALL_SECONDS, PREDICT_BATCH

NON_FINITE_WARNING = ("the training loss or weights became NaN or infinite; training stopped "
                      "and the weights of the start of this epoch were put back (try a lower "
                      "learning rate)")


def fit(net, X, y, sample_weight, epochs, batch_size, shuffle, validation_data, callbacks,
        verbose, metrics=(), rows=None, check_x=False):
    """Network.fit's training on the arguments it checked (batch_size at most the rows trained);
    returns the History. rows: the indices of the rows to train on (a validation split's
    training part; None: all), shuffled as X[rows] would be, without copying them.
    check_x: check X's rows are finite as the first epoch gathers them (NonFiniteInput at the
    first batch that is not, after putting back that epoch's start; the caller puts back the
    rest). Callbacks see the network as cb.network; on_train_end runs however it ends.
    metrics (fastnn.metrics.get's) are computed after each epoch on (X, y) and the validation
    data. The History comes last (as in Keras), so it keeps what the callbacks add to the logs."""
    history = History()
    all_callbacks = [*callbacks, history]
    for cb in all_callbacks:
        cb.network = net
    net.stop_training = False
    plan = training_plan(net, X, batch_size, y.ndim == 1)
    limits = blas_threads(net.threads_for(batch_size))
    progress = Progress(epochs, verbose)
    try:
        for cb in all_callbacks:
            cb.on_train_begin()
        if (plan is not None and not callbacks and validation_data is None and not metrics
                and rows is None):
            fit_in_engine(net, X, y, sample_weight, epochs, batch_size, shuffle, plan, history,
                          progress, check_x)
            return history

        def begin(epoch):
            for cb in all_callbacks:
                cb.on_epoch_begin(epoch)

        def end(epoch, logs):
            for cb in all_callbacks:
                cb.on_epoch_end(epoch, logs)
            progress.update(epoch, logs)
            return net.stop_training

        if rows is None:
            n = len(X)
            order = (lambda: net.rng.permutation(n)) if shuffle else (lambda: np.arange(n))
        else:  # rows[permutation]: the order X[rows][permutation] had
            order = ((lambda: rows[net.rng.permutation(len(rows))]) if shuffle
                     else (lambda: rows))
        run_epochs(net, X, y, sample_weight, epochs, batch_size, order, end, begin,
                   validation_data, prepare=True, metrics=metrics, rows=rows, check_x=check_x)
    finally:
        limits.unregister()
        progress.close()
        for cb in all_callbacks:
            cb.on_train_end()
    return history


def run_epochs(net, X, y, sample_weight, epochs, batch_size, order, end, begin=None,
               validation_data=None, prepare=False, metrics=(), rows=None, check_x=False):
    """Up to `epochs` passes over (X, y); False if one diverged (its start was put back and the
    loop stopped), else True.

    order(): the row order of the next epoch (drawn after its checkpoint, so an interrupt puts
    the generator back too); end(epoch, logs) -> True stops after that epoch; begin(epoch) runs
    first in each epoch. validation_data: checked (X, y, weights), evaluated into the logs as
    val_*. prepare: check the network and take its plan again before each epoch (a callback
    may have changed it); without it the hooks may change only the learning rate. metrics:
    fastnn.metrics.get's, computed after the epoch on (X, y) (its rows `rows`, if given: the
    rows order() draws from) and into val_* on the validation data. check_x: the first epoch
    checks the rows it gathers are finite (see fit).
    """
    labels = y.ndim == 1
    plan = None if prepare else training_plan(net, X, batch_size, labels)
    for epoch in range(epochs):
        if begin is not None:
            begin(epoch)
        start = time.perf_counter()
        if prepare:
            net.prepare_training()
            plan = training_plan(net, X, batch_size, labels)
        checkpoint = Checkpoint(net)
        try:
            logs = run_epoch(net, X, y, sample_weight, batch_size, order(), plan, checkpoint,
                             check_x and epoch == 0)
        except BaseException:
            checkpoint.restore()
            raise
        if logs is None:
            return False
        if metrics:
            logs.update(net.metric_values(X, y, metrics, rows=rows))
        if validation_data is not None:
            logs.update({"val_" + k: v for k, v in
                         net.evaluate_arrays(*validation_data, None, metrics).items()})
        logs["seconds"] = time.perf_counter() - start
        if end(epoch, logs):
            break
    return True


def run_epoch(net, X, y, sample_weight, batch_size, order, plan=None, checkpoint=None,
              check_x=False):
    """One pass of mini-batch steps over the rows of X in `order` (all rows of X or some), in
    the engine when there is a plan; the epoch's logs, or None after a non-finite loss, weights
    or optimizer state (the
    engine's test, made here for the layer path), when the weights and optimizer state of the
    epoch's start (`checkpoint`, taken here if not given) are put back. An interrupt puts back
    the whole checkpoint and propagates, as does NonFiniteInput (check_x: a gathered batch of X
    was not finite)."""
    checkpoint = checkpoint or Checkpoint(net)
    optimizer = net.optimizer
    try:
        if plan is not None:
            set_rates(net, plan, batch_size, y.ndim == 1, -(-len(order) // batch_size))
            (finished, total_loss, total_penalty, total_correct,
             optimizer.iterations) = plan.train_epoch(X, y, sample_weight, order, batch_size,
                                                      optimizer.iterations, 1, check_x)
        else:
            finished, total_loss, total_penalty, total_correct = python_epoch(
                net, X, y, sample_weight, order, batch_size, check_x)
    except BaseException:
        checkpoint.restore()
        raise
    if check_x and not finished and not rows_finite(X, order, net.dtype):
        checkpoint.restore()  # the epoch stopped before it saw every row: see them now
        raise NonFiniteInput("X contains NaN or infinity")
    if not (finished and (plan is not None or all_finite(net))):
        checkpoint.restore(generator=False)
        warnings.warn(NON_FINITE_WARNING, RuntimeWarning, stacklevel=6)  # Network.fit's caller
        return None
    sums = np.array([[total_loss, total_penalty, total_correct]])
    columns = epoch_columns(net, sums, any(net.penalties()), len(order))
    return {key: values[0] for key, values in columns.items()}


def fit_in_engine(net, X, y, sample_weight, epochs, batch_size, shuffle, plan, history, progress,
                  check_x=False):
    """fit's epochs when nothing needs Python between them (no callbacks but the History, no
    validation): several epochs per engine call, which shuffles as net.rng.permutation would,
    so the numbers are those of the epoch-by-epoch loop. The first call runs one epoch, and each
    next call about CALL_SECONDS' worth at the last call's pace, so the progress bar still
    moves; "seconds" is the call's time per epoch. The engine puts back the start of an epoch
    that diverged; an interrupt puts back the start of the call, as does NonFiniteInput
    (check_x: the first epoch checks the batches it gathers)."""
    n, epoch, chunk = len(X), 0, 1
    penalized = any(net.penalties())
    optimizer = net.optimizer
    while epoch < epochs:
        start = time.perf_counter()
        set_rates(net, plan, batch_size, y.ndim == 1,
                  min(chunk, epochs - epoch) * -(-n // batch_size))
        checkpoint = Checkpoint(net)
        try:
            done, finished, sums, optimizer.iterations = plan.train_epochs(
                X, y, sample_weight, batch_size, optimizer.iterations,
                min(chunk, epochs - epoch), net.rng if shuffle else None, 1, check_x and epoch == 0)
        except BaseException:
            checkpoint.restore()
            raise
        if check_x and epoch == 0 and done == 0 and not finished and not rows_finite(
                X, None, net.dtype):
            checkpoint.restore()  # the first epoch stopped before it saw every row
            raise NonFiniteInput("X contains NaN or infinity")
        seconds = (time.perf_counter() - start) / max(done, 1)
        if done:
            columns = epoch_columns(net, sums, penalized, n)
            columns["seconds"] = [seconds] * done
            history.extend(epoch, columns)
            progress.update_many(epoch, columns)
            epoch += done
        if not finished:
            warnings.warn(NON_FINITE_WARNING, RuntimeWarning, stacklevel=5)  # Network.fit's caller
            return
        chunk = max(1, int(CALL_SECONDS / max(seconds, 1e-9)))


def training_plan(net, X, batch_size, labels):
    """The network's engine plan for training on X, or None for the layer path (which sparse X
    takes: the engine's plans take dense X)."""
    return None if sparse.is_sparse(X) else net.training_plan(batch_size, labels)


def set_rates(net, plan, batch_size, labels, steps):
    """Hand the plan the learning rate of the next engine call, which takes at most `steps`
    steps: the optimizer's lr (a callback may have set it), or its schedule's rates of those
    steps, tabulated here (ValueError naming a bad one, before any step; RuntimeError if the
    schedule changed the network, so that the plan no longer holds)."""
    optimizer = net.optimizer
    if optimizer.schedule is None:
        plan.set_learning_rates(None)
        plan.set_learning_rate(optimizer.lr)
        return
    rates = optimizer.learning_rates(steps)
    if net.optimizer is not optimizer or net.training_plan(batch_size, labels) is not plan:
        raise RuntimeError("the learning-rate schedule changed the network while fit asked it "
                           "for the rates of its steps: a schedule must only compute the rate")
    plan.set_learning_rates(rates, optimizer.iterations)


def all_finite(net):
    """Whether the parameters and the optimizer's state are all finite: what the engine checks
    at the end of an epoch (an overflow of Adam's moments alone ends it as a divergence)."""
    return all(map(kernels.all_finite, chain(net.parameters(),
                                             chain.from_iterable(net.optimizer.state))))


def epoch_columns(net, sums, penalized, n):
    """The logs of several epochs, metric by metric, from the engine's (loss, penalty, correct)
    sums over n samples per epoch."""
    columns = {"loss": (sums[:, 0] / n).tolist()}
    if penalized:
        columns["penalty"] = (sums[:, 1] / n).tolist()  # the L2 part of the loss
    if net.loss.classification:
        columns["accuracy"] = (sums[:, 2] / n).tolist()
    return columns


def python_epoch(net, X, y, sample_weight, order, batch_size, check_x=False):
    """The layer-by-layer epoch: (finished, loss and penalty summed over samples, correct
    predictions); check_x: NonFiniteInput at the first gathered batch of X that is not finite."""
    total_loss = total_penalty = total_correct = 0.0
    mode = net.accuracy_mode()
    classification = net.loss.classification
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = gather_rows(X, idx, net.dtype)
        if check_x and not finite(batch):
            raise NonFiniteInput("X contains NaN or infinity")
        w = None if sample_weight is None else sample_weight[idx]
        if w is not None and not w.sum() > 0:
            continue  # a batch whose weights are all zero teaches nothing
        loss, out, penalty = step(net, batch, y[idx], w)
        if not np.isfinite(loss):
            return False, total_loss, total_penalty, total_correct
        total_loss += loss * len(idx)
        total_penalty += penalty * len(idx)
        if classification:
            total_correct += accuracy(out, y[idx], mode) * len(idx)
    return True, total_loss, total_penalty, total_correct


def rows_finite(X, rows, dtype):
    """Whether X's rows `rows` (an index array; None: all) are finite in dtype: the check of
    a first epoch that stopped early (a non-finite loss) before it gathered them all."""
    n = len(X) if rows is None else len(rows)
    for start in range(0, n, PREDICT_BATCH):
        part = slice(start, start + PREDICT_BATCH)
        if not finite(gather_rows(X, part if rows is None else rows[part], dtype)):
            return False
    return True


def finite(batch):
    """Whether a gathered batch is finite (a sparse one is: its values were checked whole)."""
    return sparse.is_sparse(batch) or kernels.all_finite(batch)


def gather_rows(X, idx, dtype):
    """Rows idx of X (an index array or a slice) as a C-contiguous array of dtype: the layer
    path's batches and inference's chunks. X may be a float64 array (a memory map, say) for a
    float32 network: each batch is converted here, to the numbers converting all of X would
    give, and X is never copied whole. Values past float32's range become infinity (which the
    callers' finiteness checks refuse), without NumPy's overflow warning. A sparse X (a checked
    fastnn.sparse.CSR, already in dtype) gives its rows as a CSR, gathered in C."""
    if sparse.is_sparse(X):
        return X[idx]
    if X.dtype == dtype:
        return np.ascontiguousarray(X[idx])
    with np.errstate(over="ignore"):
        if isinstance(idx, slice) or len(idx) <= PREDICT_BATCH:
            return np.ascontiguousarray(X[idx], dtype=dtype)
        out = np.empty((len(idx), X.shape[1]), dtype)
        for start in range(0, len(idx), PREDICT_BATCH):  # no float64 copy of all those rows
            out[start:start + PREDICT_BATCH] = X[idx[start:start + PREDICT_BATCH]]
        return out


def step(net, X, y, sample_weight):
    """(loss with the L2 penalty, outputs, the penalty alone) of one optimizer step of the layer
    path; no step when the loss is not finite."""
    loss, out = net.loss_and_gradients(X, y, sample_weight, training=True)
    decay, penalty = None, 0.0
    # The batch's size, or its weights summed in order in double as the engine does.
    size = (len(X) if sample_weight is None
            else float(np.cumsum(sample_weight, dtype=np.float64)[-1]))
    strengths = net.penalties()
    if any(strengths) and size > 0:
        decay = [s / size for s in strengths]
        penalty = sum(0.5 * d * _sum_of_squares(p) for d, p in zip(decay, net.parameters()) if d)
        loss += penalty
    if np.isfinite(loss):
        net.optimizer.step(net.parameters(), net.gradients(), decay)
    return loss, out, penalty


def _sum_of_squares(p):
    """sum(p ** 2), accumulated in double by the compiled kernel the engine's penalty uses (no
    float64 copy of a float32 p)."""
    return kernels.grad_sum_squares(p)


class Checkpoint:
    """What training changes, copied to be put back: the one rollback of Network.fit (each
    epoch, after a divergence or an interrupt), Network.train_step and the estimators' fit.

    It copies the parameters, the layers' buffers (BatchNorm's running statistics), the
    optimizer's state arrays and step count, the dropout streams and the network's generator,
    and puts the copies back into the same arrays, so references to them (an estimator's
    coefs_[i]) stay valid. restore(generator=False) after a divergence
    keeps the generator and the dropout streams: that is what the compiled engine's per-epoch
    snapshot does (engine.pyx, train_epochs: parameters, optimizer state and step count back,
    the rows' order already drawn), so an epoch ends the same on either path.

    whole=True, for a fit that must leave everything as it found it when it raises: also which
    arrays the layers hold (W, b, state), which optimizer the network holds, that optimizer's
    attributes (learning rate, hyperparameters) and the contents of its state lists. Read-only
    arrays (unpickled from a memory map) are not copied: training replaces them rather than
    writing them, and putting the bindings back puts them back.
    """

    def __init__(self, net, whole=False):
        self.net = net
        optimizer = net.optimizer
        writeable = [a for a in chain(net.parameters(), chain.from_iterable(optimizer.state))
                     if a.flags.writeable]
        writeable += [b for layer in net.layers for b in layer.buffers() if b.flags.writeable]
        self.arrays = [(a, a.copy()) for a in writeable]
        self.streams = [(layer.state, layer.state.copy()) for layer in net.layers
                        if isinstance(layer, L.Dropout) and layer.state.flags.writeable]
        self.iterations = optimizer.iterations
        self.generator = net.rng.bit_generator.state
        self.whole = whole
        if whole:
            self.optimizer = optimizer
            self.optimizer_attributes = dict(vars(optimizer))
            self.optimizer_lists = [(s, list(s)) for s in [optimizer.state, *optimizer.state]
                                    if isinstance(s, list)]
            self.bindings = [(layer, name, getattr(layer, name)) for layer in net.layers
                             for name in ("W", "b", "state", "gamma", "beta", "running_mean",
                                          "running_var") if hasattr(layer, name)]

    def restore(self, generator=True):
        """Put the copies back (generator=False: the generator and dropout streams stay)."""
        net = self.net
        if self.whole:
            if net.optimizer is not self.optimizer:
                net.optimizer = self.optimizer
            # only what changed is set again: setting an attribute stamps it (a new plan)
            for name, value in self.optimizer_attributes.items():
                if name != "_version" and getattr(self.optimizer, name, None) is not value:
                    setattr(self.optimizer, name, value)
            for values, saved in self.optimizer_lists:
                values[:] = saved
            for layer, name, value in self.bindings:
                if getattr(layer, name) is not value:
                    setattr(layer, name, value)
        for array, saved in self.arrays:
            array[...] = saved
        net.optimizer.iterations = self.iterations
        if generator:
            for array, saved in self.streams:
                array[...] = saved
            net.rng.bit_generator.state = self.generator


def check_callbacks(callbacks):
    """callbacks (None, or a list or tuple of fastnn Callbacks) as a list; TypeError otherwise."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of fastnn Callbacks, got "
                        f"{type(callbacks).__name__}")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be fastnn Callbacks, got {type(cb).__name__}")
    return list(callbacks)


class NoLimits:
    """What blas_threads returns when BLAS has no more threads than asked: nothing to undo."""

    def unregister(self):
        pass


_controller = None


def blas_threads(threads):
    """Limit BLAS to `threads` threads until .unregister() (threadpoolctl), if it has more.
    The controller is made once: building one scans every loaded library (about 1 ms)."""
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController
        _controller = ThreadpoolController().select(user_api="blas")
    if all(lib.num_threads <= threads for lib in _controller.lib_controllers):
        return NoLimits()
    return _controller.limit(limits=threads)


class Progress:
    """verbose=1: a tqdm bar over epochs with the latest metrics; verbose=2: a line per epoch."""

    def __init__(self, epochs, verbose):
        self.verbose, self.epochs, self.bar = verbose, epochs, None
        if verbose == 1 and epochs:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=epochs, unit="epoch", dynamic_ncols=True)

    def update_many(self, first_epoch, columns):
        """update for epochs first_epoch, first_epoch + 1, ...: columns maps each metric to its
        values per epoch."""
        if not self.verbose:
            return
        keys = list(columns)
        for offset, values in enumerate(zip(*columns.values())):
            self.update(first_epoch + offset, dict(zip(keys, values)))

    def update(self, epoch, logs):
        if not self.verbose:
            return
        shown = {k: f"{v:.4f}" for k, v in logs.items() if k != "seconds"}
        if self.bar is not None:
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)
        elif self.verbose == 2:
            items = " - ".join(f"{k}: {v}" for k, v in shown.items())
            print(f"epoch {epoch + 1}/{self.epochs} - {logs['seconds']:.3f}s - {items}", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
