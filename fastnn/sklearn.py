"""scikit-learn drop-ins: fastnn.MLPClassifier and fastnn.MLPRegressor.

    from fastnn import MLPClassifier    # was: from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(100,), random_state=0).fit(X_train, y_train)

The parameters, their defaults, the fitted attributes and the training procedure are those of
scikit-learn's MLPs (1.9): weights and biases drawn Glorot-uniform from `random_state` in
scikit-learn's order, the same shuffling and validation split, the L2 penalty `alpha` divided by
the batch's size (or sample-weight sum), Adam with scikit-learn's epsilon, the learning-rate
schedules, stopping after `n_iter_no_change` epochs without a `tol` improvement, early stopping
on a held-out score with the best weights put back, L-BFGS through SciPy. The arithmetic is
fastnn's: every epoch is one call of the compiled engine, in fastnn.training's loop (the one
Network.fit runs). So the same arguments give the same numbers as scikit-learn up to float
rounding.

Extras, off by default so the defaults match scikit-learn: `dropout` after each hidden layer
(stochastic solvers), activation="leaky_relu", `class_weight` (classifier), `threads` (BLAS
threads; None leaves BLAS as it is, as scikit-learn does). As in scikit-learn, float32 X trains
in float32 and anything else in float64.

Sparse X (scipy.sparse matrices and arrays, as scikit-learn's MLPs take them) trains and predicts
without densifying: the first layer multiplies the CSR rows directly (fastnn.sparse), on the
layer-by-layer path rather than in the engine.

Differences: MLPRegressor(loss="poisson") refuses negative targets (ValueError; scikit-learn 1.9
trains on them, to a NaN or meaningless loss); negative or all-zero sample weights, strings as
sample weights, and momentum=1 are refused (ValueError, naming them; fastnn's engine runs
momentum in [0, 1)), and with float32 X so are y and sample weights beyond float32's range
(scikit-learn keeps those in float64). Where scikit-learn raises ValueError("Solver produced
non-finite parameter weights...") at the end of fit, so do these, but they stop training at the
first epoch whose loss, weights or optimizer state turn NaN or infinite rather than train on (so
an overflow of Adam's state alone, after which scikit-learn's steps round to 0, raises here).
With early_stopping=True, where scikit-learn trains on through the NaN epochs and keeps the best
weights, these stop at that epoch with a RuntimeWarning and keep the best weights too (n_iter_
and loss_curve_ then end there).

A fit or partial_fit that raises leaves the estimator as it was before the call: every argument
and parameter is checked before any attribute is set, and a fit that fails later (a diverging
loss, a validation split too small) puts the earlier weights, optimizer state and fitted
attributes back. An unfitted estimator stays unfitted.
Unlike Network.save, these estimators pickle, as scikit-learn's do: unpickle only files you trust.
A pickle holds what predicting and training on need (weights, optimizer state, fitted
attributes), not the layers' last batch or gradients (see fastnn.layers.Layer.__getstate__).
"""
from __future__ import annotations

import functools
import numbers
import os
import re
import threading
import warnings
import weakref
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np
import scipy.optimize
import scipy.sparse
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from fastnn import kernels, losses, optimizers, registry, sklearn_params, training
from fastnn import layers as L
from fastnn import sklearn_inputs as inputs
from fastnn.network import Network
from fastnn.validation import check_xy

ACTIVATIONS = {entry.sklearn: L.LAYERS[entry.layer] for entry in registry.ACTIVATIONS
               if entry.sklearn is not None}
STOCHASTIC_SOLVERS = ("sgd", "adam")
# scikit-learn's MLPs' formats (any other scipy.sparse format is converted to CSR by
# validate_data); the network converts CSC to CSR once and never densifies
ACCEPT_SPARSE = ["csr", "csc"]
# scikit-learn's words (BaseMultilayerPerceptron._fit), raised where it raises them.
NON_FINITE_WEIGHTS = ("Solver produced non-finite parameter weights. The input data may contain "
                      "large values and need to be preprocessed.")
# The network warns when an epoch's loss turns non-finite; the estimators raise or warn instead.
_NETWORK_NON_FINITE = re.escape(training.NON_FINITE_WARNING)


# The estimators being fitted: a second fit of one at the same time is refused. Kept here, not
# on the estimator, so that estimators stay picklable and cloneable.
_FITTING = weakref.WeakSet()
_FITTING_LOCK = threading.Lock()


def _is_seed(random_state):
    return isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)


@functools.lru_cache(maxsize=16)
def _first_shuffle(seed, n):
    """The order of n rows that a first shuffle with RandomState(seed) gives (read-only)."""
    perm = np.arange(n, dtype=np.intp)
    np.random.RandomState(seed).shuffle(perm)
    perm.flags.writeable = False
    return perm


class _Reseeded:
    """check_random_state(seed) for a later partial_fit call, which scikit-learn seeds anew and
    shuffles with once: that first shuffle comes from _first_shuffle's cache, as seeding MT19937
    takes 0.1-0.3 ms, more than the rest of a small call. Anything else (a second shuffle, a
    draw) seeds the real RandomState, replaying the first shuffle."""

    def __init__(self, seed):
        self._seed, self._shuffled, self._real = seed, None, None

    def shuffle(self, x):
        if self._real is None and self._shuffled is None:
            self._shuffled = len(x)
            x[...] = x[_first_shuffle(self._seed, len(x))]
        else:
            self._random_state().shuffle(x)

    def _random_state(self):
        if self._real is None:
            self._real = np.random.RandomState(self._seed)
            if self._shuffled is not None:
                self._real.shuffle(np.arange(self._shuffled))
        return self._real

    def __getattr__(self, name):
        if name.startswith("_"):  # not set yet (unpickling), or private
            raise AttributeError(name)
        return getattr(self._random_state(), name)


class _Rollback:
    """What a fit may change, taken before it starts, to be put back if it raises: the
    estimator's attributes (and the contents of its lists) and, for a fit that trains on the
    existing network (warm_start, partial_fit), the network as training.Checkpoint(whole=True)
    keeps it (arrays put back in place, so references to coefs_[i] stay valid)."""

    def __init__(self, estimator, network):
        self.estimator = estimator
        self.attributes = dict(vars(estimator))
        self.lists = [(v, list(v)) for v in self.attributes.values() if isinstance(v, list)]
        net = self.attributes.get("_network") if network else None
        self.network = None if net is None else training.Checkpoint(net, whole=True)

    def restore(self):
        self.estimator.__dict__.clear()
        self.estimator.__dict__.update(self.attributes)
        for values, saved in self.lists:
            values[:] = saved
        if self.network is not None:
            self.network.restore()


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share; see the module docstring."""

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 dropout: float = 0.0, threads: int | None = None) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.threads = threads

    # ---------------------------------------------------------------- parameters

    def _check_params(self):
        """The hidden layer sizes as a list of ints, after checking every parameter against
        scikit-learn's constraints (InvalidParameterError, a ValueError, naming the parameter in
        scikit-learn's words; see fastnn.sklearn_params). Sets nothing."""
        self._check_each_param()
        return sklearn_params.hidden_layer_sizes(type(self).__name__, self.hidden_layer_sizes)

    def _check_each_param(self):
        sklearn_params.check_params(type(self).__name__, self, ACTIVATIONS)

    # ---------------------------------------------------------------- building the network

    def _initialize(self, n_features, n_outputs, hidden, dtype):
        """A new network with scikit-learn's initial weights, and the fitted attributes that
        start with it."""
        self.n_iter_, self.t_ = 0, 0
        self.n_outputs_ = n_outputs
        units = [n_features, *hidden, n_outputs]
        self.n_layers_ = len(units)
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(units, units[1:])):
            layers.append(L.Dense(fan_in, fan_out, l2=float(self.alpha)))
            if i < len(units) - 2:
                layers.append(ACTIVATIONS[self.activation]())
                if self.dropout:
                    layers.append(L.Dropout(float(self.dropout)))
        threads = (os.cpu_count() or 1) if self.threads is None else int(self.threads)
        net = Network(layers, loss=self._loss(), optimizer="sgd", dtype=dtype, random_state=0,
                      threads=threads)
        self._dense = [layer for layer in net.layers if isinstance(layer, L.Dense)]
        # scikit-learn's _init_coef, drawn in its order: each layer's weights, then its biases.
        factor = 2.0 if self.activation == "logistic" else 6.0
        for dense in self._dense:
            bound = np.sqrt(factor / (dense.n_in + dense.n_out))
            dense.W[...] = self._random_state.uniform(-bound, bound, dense.W.shape)
            dense.b[...] = self._random_state.uniform(-bound, bound, dense.b.shape)
        if self.dropout:
            net.rng = np.random.default_rng(self._random_state.randint(2**31))
            for layer in net.layers:
                if isinstance(layer, L.Dropout):
                    layer.seed(net.rng)
        self._network = net
        self.coefs_ = [dense.W for dense in self._dense]
        self.intercepts_ = [dense.b for dense in self._dense]
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        if self.solver in STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _new_optimizer(self):
        """fastnn's SGD or Adam with this estimator's hyperparameters as Python numbers.
        scikit-learn takes any epsilon > 0, where fastnn's Adam constructor stops at 1e-300: a
        smaller one is set after construction, and the compiled engine (which takes any
        epsilon > 0) computes with it like any other."""
        lr = float(self.learning_rate_init)
        if self.solver == "sgd":
            return optimizers.SGD(lr, momentum=float(self.momentum),
                                  nesterov=bool(self.nesterovs_momentum))
        epsilon = float(self.epsilon)
        optimizer = optimizers.Adam(lr, beta1=float(self.beta_1), beta2=float(self.beta_2),
                                    eps=max(epsilon, 1e-300), eps_hat=True)
        if optimizer.eps != epsilon:
            optimizer.eps = epsilon
        return optimizer

    def _sync_parameters(self):
        """Take up coefs_ / intercepts_ arrays the user replaced (as scikit-learn's L-BFGS
        unpacking does), so that they are what the network computes with, and the current alpha
        (scikit-learn reads it at every call)."""
        self._check_replaced_parameters()
        net = self._network
        for i, dense in enumerate(self._dense):
            if dense.l2 != float(self.alpha):  # set_params(alpha=...) between calls
                dense.l2 = float(self.alpha)
            for attr, given in (("W", self.coefs_), ("b", self.intercepts_)):
                if given[i] is not getattr(dense, attr):
                    setattr(dense, attr, np.array(given[i], dtype=net.dtype, order="C"))
                    given[i] = getattr(dense, attr)

    def fitted_network(self) -> Network:
        """The fastnn Network that predict runs.

        It holds coefs_ and intercepts_ (arrays you replaced taken up), as fastnn.export_onnx
        reads it. Train the estimator, not it.

        Returns
        -------
        fastnn.Network
            The estimator's network, not a copy.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before fit.
        """
        check_is_fitted(self)
        self._sync_parameters()
        return self._network

    def _check_replaced_parameters(self):
        """ValueError if coefs_ / intercepts_ were replaced by arrays the network cannot take."""
        for name, attr in (("coefs_", "W"), ("intercepts_", "b")):
            sklearn_params.check_replaced(name, getattr(self, name),
                                          [getattr(dense, attr) for dense in self._dense])

    # ---------------------------------------------------------------- fit

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        """fit and partial_fit, one at a time per estimator (another thread's raises
        RuntimeError). Every argument and parameter is checked first, setting nothing; then
        training, which puts the estimator back as it was if it raises."""
        added = False
        try:  # added inside the try: an interrupt cannot leave the estimator marked
            with _FITTING_LOCK:
                if self in _FITTING:
                    raise RuntimeError("this estimator is already being fitted (fit or "
                                       "partial_fit in another thread); fit it from one thread "
                                       "at a time")
                _FITTING.add(self)
                added = True
            return self._fit_alone(X, y, sample_weight, incremental, classes)
        finally:
            if added:
                with _FITTING_LOCK:
                    _FITTING.discard(self)

    def _fit_alone(self, X, y, sample_weight, incremental, classes):
        hidden = self._check_params()
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        data = self._validate_fit_data(X, y, sample_weight, incremental, first_pass, classes)
        rollback = _Rollback(self, network=not first_pass)
        try:
            self._train(data, hidden, first_pass, incremental)
        except BaseException:
            rollback.restore()
            raise
        return self

    def _validate_fit_data(self, X, y, sample_weight, incremental, first_pass, classes):
        """The checked and converted arguments of a fit, as a dict, with the fitted attributes
        they would set (feature names and counts, classes): nothing is set on self here."""
        if first_pass:
            # validate_data sets n_features_in_ / feature_names_in_ when reset: on a stand-in
            probe = object.__new__(type(self))
            probe.__dict__.update(vars(self))
        else:
            probe = self
        data = self._validate_input(probe, X, y, incremental, first_pass, classes)
        data["features"] = {name: getattr(probe, name, None)
                            for name in ("n_features_in_", "feature_names_in_")}
        X, Y = data["X"], data["Y"]
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if not first_pass:
            if Y.shape[1] != self.n_outputs_:
                raise ValueError(f"y has {Y.shape[1]} outputs, but this model was fitted with "
                                 f"{self.n_outputs_}; fit it afresh (warm_start=False)")
            self._check_replaced_parameters()
        dtype = X.dtype if first_pass else self._network.dtype
        sparse = scipy.sparse.issparse(X)
        sklearn_params.check_fits("X", X.data if sparse else X, dtype,
                                  "the dtype this model was fitted in")
        if Y.dtype.kind == "f":
            sklearn_params.check_fits("y", Y, dtype, "the dtype X trains in")
        weights = self._sample_weight(sklearn_params.sample_weight(sample_weight, X.shape[0]),
                                      data["labels"])
        if weights is not None:
            sklearn_params.check_weight_values(weights)  # again: class_weight may make 0 or inf
            sklearn_params.check_fits("sample_weight", weights, dtype, "the dtype X trains in")
            weights = weights.astype(dtype, copy=False)
        # sparse X: fastnn.validation converts it (to CSR, its values to dtype) in check_xy
        data.update(X=X if sparse else np.ascontiguousarray(X, dtype), Y=Y,
                    sample_weight=weights)
        return data

    def _train(self, data, hidden, first_pass, incremental):
        """Set the attributes that checked data brings, then train (see _fit)."""
        for name, value in data["features"].items():
            if value is not None:
                setattr(self, name, value)
            elif name in vars(self):
                delattr(self, name)
        self._take_classes(data)
        X, Y, sample_weight = data["X"], data["Y"], data["sample_weight"]
        if first_pass or not incremental or not _is_seed(self.random_state):
            self._random_state = check_random_state(self.random_state)
        else:  # a later partial_fit's: it shuffles once
            self._random_state = _Reseeded(int(self.random_state))
        if first_pass:
            self._initialize(X.shape[1], Y.shape[1], hidden, X.dtype)
        self._sync_parameters()
        net = self._network
        net.own_arrays()  # copies, if they were read-only (unpickled from a memory map)
        self.coefs_ = [dense.W for dense in self._dense]
        self.intercepts_ = [dense.b for dense in self._dense]
        X, T, sample_weight = check_xy(net, X, self._targets(Y), sample_weight)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, T, sample_weight)
        else:
            self._fit_stochastic(X, T, Y, sample_weight, incremental)
        # scikit-learn's last check of fit
        if not all(map(kernels.all_finite, chain(self.coefs_, self.intercepts_))):
            raise ValueError(NON_FINITE_WEIGHTS)

    def _take_classes(self, data):
        pass

    def _sample_weight(self, sample_weight, labels):
        return sample_weight

    def _fit_stochastic(self, X, T, Y, sample_weight, incremental):
        net = self._network
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = net.optimizer = self._new_optimizer()
        early_stopping = self.early_stopping
        X_val = y_val = w_val = rows = None
        if early_stopping:
            # don't stratify multi-label (or multi-class: Y is one-hot there), as scikit-learn
            stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
            train, val = train_test_split(np.arange(len(X)), random_state=self._random_state,
                                          test_size=self.validation_fraction, stratify=stratify)
            if len(val) < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            X_val, y_val = X[val], self._validation_targets(Y[val])
            w_val = None if sample_weight is None else sample_weight[val]
            rows = train  # trained on by index: no copy of the training part
        batch_size = sklearn_params.batch_size(self.batch_size,
                                               len(X) if rows is None else len(rows))
        limits = training.blas_threads(net.threads_for(batch_size))
        diverged = False
        try:
            with warnings.catch_warnings():
                # the network's warning of a non-finite loss: raised or warned about below
                warnings.filterwarnings("ignore", message=_NETWORK_NON_FINITE,
                                        category=RuntimeWarning)
                diverged = self._epochs(X, T, sample_weight, batch_size, early_stopping, X_val,
                                        y_val, w_val, incremental, rows)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=2)
        finally:
            limits.unregister()
        if diverged and not early_stopping:
            # scikit-learn trains on and ends with non-finite weights; fit puts back the old
            raise ValueError(NON_FINITE_WEIGHTS)
        if early_stopping:
            if diverged:
                warnings.warn(f"Training diverged in epoch {self.n_iter_ + 1} (its loss or "
                              "weights became NaN or infinite): it stopped there, and the "
                              "weights of the best validation score were put back (scikit-learn "
                              "trains on and keeps the same best weights).", RuntimeWarning,
                              stacklevel=2)
            for param, best in zip(self.coefs_ + self.intercepts_,
                                   self._best_coefs + self._best_intercepts):
                param[...] = best

    def _epochs(self, X, T, sample_weight, batch_size, early_stopping, X_val, y_val, w_val,
                incremental, rows=None):
        """scikit-learn's epochs, run by fastnn.training's loop with scikit-learn's shuffle and
        _end_epoch as its hooks, on the rows `rows` of (X, T) (None: all); True if an epoch's
        loss or weights turned non-finite (the loop then put back the weights of that epoch's
        start and stopped)."""
        n = len(X) if rows is None else len(rows)
        sample_idx = np.arange(n, dtype=np.intp)
        self.n_iter_ = 0

        def order():
            nonlocal sample_idx
            if self.shuffle:
                # sklearn.utils.shuffle's draw, without its ~0.3 ms of argument checks
                perm = np.arange(n, dtype=np.intp)
                self._random_state.shuffle(perm)
                sample_idx = sample_idx[perm]
            return sample_idx if rows is None else rows[sample_idx]

        def end(epoch, logs):
            return self._end_epoch(logs, n, early_stopping, X_val, y_val, w_val, incremental)

        return not training.run_epochs(self._network, X, T, sample_weight, self.max_iter,
                                       batch_size, order, end)

    def _end_epoch(self, logs, n, early_stopping, X_val, y_val, w_val, incremental):
        """scikit-learn's work after an epoch: n_iter_, loss_curve_, the no-improvement count
        (on the loss or the validation score), the invscaling learning rate, stopping and the
        ConvergenceWarning. True stops training."""
        self.n_iter_ += 1
        self.loss_ = self._reported_loss(logs)
        self.t_ += n
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
        self._update_no_improvement_count(early_stopping, X_val, y_val, w_val)
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            # scikit-learn's expression, in its types (a NumPy power_t rounds as there)
            self._network.optimizer.lr = float(
                float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t)
        if self._no_improvement_count > self.n_iter_no_change:
            what = "Validation score" if early_stopping else "Training loss"
            msg = (f"{what} did not improve more than tol={self.tol:f} for "
                   f"{self.n_iter_no_change} consecutive epochs.")
            if self._trigger_stopping(msg):
                return True
            self._no_improvement_count = 0
        if incremental:
            return True
        if self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=2)
        return False

    def _trigger_stopping(self, msg):
        """scikit-learn's: stop, except that sgd with learning_rate="adaptive" divides the
        learning rate by 5 instead while it is above 1e-6."""
        optimizer = self._network.optimizer
        if self.solver == "adam" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if optimizer.lr <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        optimizer.lr /= 5.0
        if self.verbose:
            print(msg + " Setting learning rate to %f" % optimizer.lr)
        return False

    def _update_no_improvement_count(self, early_stopping, X_val, y_val, w_val):
        if early_stopping:
            score = self._score_arrays(X_val, y_val, w_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [b.copy() for b in self.intercepts_]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _reported_loss(self, logs):
        return logs["loss"]

    def _fit_lbfgs(self, X, T, sample_weight):
        """Full-batch L-BFGS-B (SciPy) on the penalized loss, the parameters packed as
        scikit-learn packs them (all weights, then all biases). Dropout is off here."""
        net = self._network
        params = self.coefs_ + self.intercepts_
        grads = [d.dW for d in self._dense] + [d.db for d in self._dense]
        bounds = np.cumsum([0] + [p.size for p in params])
        size = len(X) if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))
        decay = self.alpha / size
        last = {}

        def loss_and_gradient(packed):
            for p, start, stop in zip(params, bounds[:-1], bounds[1:]):
                p[...] = packed[start:stop].reshape(p.shape)
            loss, _ = net.loss_and_gradients(X, T, sample_weight, training=False)
            penalty = 0.5 * decay * sum(float(np.dot(W.ravel(), W.ravel())) for W in self.coefs_)
            gradient = np.concatenate([g.ravel() for g in grads]).astype(np.float64)
            gradient[:bounds[len(self.coefs_)]] += decay * np.concatenate(
                [W.ravel() for W in self.coefs_])
            last.update(loss=loss + penalty, penalty=penalty)
            return loss + penalty, gradient

        limits = training.blas_threads(net.threads_for(len(X)))
        try:
            result = scipy.optimize.minimize(
                loss_and_gradient, np.concatenate([p.ravel() for p in params]).astype(np.float64),
                method="L-BFGS-B", jac=True,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        finally:
            limits.unregister()
        loss_and_gradient(result.x)
        if result.status != 0:
            warnings.warn(f"lbfgs failed to converge after {result.nit} iteration(s) "
                          f"(status={result.status}): {result.message}. Increase the number of "
                          "iterations (max_iter) or scale the data.", ConvergenceWarning,
                          stacklevel=2)
        self.n_iter_ = min(result.nit, self.max_iter)
        self.loss_ = float(self._reported_loss(last))

    # ---------------------------------------------------------------- predict

    def _outputs(self, X):
        """The network's outputs for X after the output activation (softmax, logistic or none),
        with scikit-learn's checks of X (features, names, dtype, NaN)."""
        check_is_fitted(self)
        inputs.check_sparse(X)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32),
                          accept_sparse=ACCEPT_SPARSE)
        self._sync_parameters()
        if not scipy.sparse.issparse(X):
            X = np.ascontiguousarray(X, dtype=self._network.dtype)
        return self._network.predict(X)

    def _score_arrays(self, X, y, sample_weight):
        """The early-stopping score (accuracy or R^2) on validated arrays; NaN when the
        predictions are not finite."""
        y_pred = self._predict_outputs(self._network.predict(X))
        if np.issubdtype(np.asarray(y_pred).dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return self._score_function(y, y_pred, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # as scikit-learn's MLPs
        return tags

    def _check_solver(self):
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's MLPClassifier on fastnn's engine.

    A drop-in for sklearn.neural_network.MLPClassifier: the same parameters and defaults, the
    same fitted attributes and results. It optimizes the log-loss (softmax cross-entropy for
    several classes, binary cross-entropy for two classes and each label of a multi-label
    problem) with L-BFGS or stochastic gradient descent.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
    activation : {"relu", "identity", "logistic", "tanh", "leaky_relu"}, default="relu"
        The hidden layers' activation: "identity" f(x) = x, "logistic" f(x) = 1 / (1 +
        exp(-x)), "tanh" f(x) = tanh(x), "relu" f(x) = max(0, x), and fastnn's extra
        "leaky_relu" (slope 0.01 below 0).
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        The solver for weight optimization: "adam" (Kingma and Ba's stochastic
        gradient-based optimizer), "sgd" (stochastic gradient descent) or "lbfgs" (a
        quasi-Newton method, through SciPy's L-BFGS-B). "adam" works well on relatively large
        data sets (thousands of samples or more); on small ones "lbfgs" can converge faster
        and perform better.
    alpha : float, default=0.0001
        Strength of the L2 regularization term, divided by the sample size (or the
        sample-weight sum) when added to the loss.
    batch_size : int or "auto", default="auto"
        Size of the minibatches of the stochastic solvers ("lbfgs" uses none); "auto" means
        ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        The learning-rate schedule, of solver="sgd" only: "constant" keeps
        learning_rate_init; "invscaling" decreases it at each time step t as
        ``learning_rate_init / pow(t, power_t)``; "adaptive" keeps it as long as the training
        loss keeps decreasing, and divides it by 5 each time two consecutive epochs fail to
        decrease the training loss by at least tol (or to increase the validation score by at
        least tol, with early_stopping).
    learning_rate_init : float, default=0.001
        The initial learning rate (the step size) of solver="sgd" or "adam".
    power_t : float, default=0.5
        The exponent of the "invscaling" learning rate (solver="sgd").
    max_iter : int, default=200
        The most iterations: the solver iterates until convergence (determined by tol) or
        this number of iterations. For the stochastic solvers it is the number of epochs
        (passes over the data), not of gradient steps.
    shuffle : bool, default=True
        Shuffle the samples in each iteration (solver="sgd" or "adam").
    random_state : int, numpy.random.RandomState or None, default=None
        Determines the initial weights and biases, the train-validation split of
        early_stopping, the batches of the stochastic solvers and the dropout masks. An int
        gives reproducible results across calls.
    tol : float, default=1e-4
        Tolerance for the optimization: when the loss or score does not improve by at least
        tol for n_iter_no_change consecutive iterations (unless learning_rate="adaptive"),
        convergence is considered reached and training stops.
    verbose : bool, default=False
        Print progress messages to stdout.
    warm_start : bool, default=False
        Reuse the solution of the previous call to fit as initialization, rather than erase
        it.
    momentum : float, default=0.9
        Momentum of the gradient descent update, in [0, 1) (scikit-learn takes 1 too), of
        solver="sgd".
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum (solver="sgd" and momentum > 0).
    early_stopping : bool, default=False
        Set aside validation_fraction of the training data and stop training when the
        validation score (accuracy) does not improve
        by at least tol for n_iter_no_change consecutive epochs; the best weights are put
        back. The split is stratified, except in a multi-label setting. Without it,
        training stops when the training loss does not improve by more than tol for
        n_iter_no_change consecutive epochs. Only with solver="sgd" or "adam".
    validation_fraction : float, default=0.1
        The proportion of the training data set aside for early stopping, in (0, 1).
    beta_1 : float, default=0.9
        Exponential decay rate of Adam's first moment estimates, in [0, 1).
    beta_2 : float, default=0.999
        Exponential decay rate of Adam's second moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Adam's value for numerical stability.
    n_iter_no_change : int, default=10
        The most epochs without a tol improvement (solver="sgd" or "adam").
    max_fun : int, default=15000
        The most loss function calls of solver="lbfgs": it iterates until convergence (tol),
        max_iter iterations or this many calls.
    dropout : float, default=0.0
        fastnn's extra: the dropout rate, in [0, 1), after each hidden layer's activation
        (solver="sgd" and "adam"; inverted dropout, the identity at prediction).
    class_weight : dict, "balanced" or None, default=None
        fastnn's extra: weights per class ({class label: weight}), multiplied into
        sample_weight; "balanced" weighs each class ``n_samples / (n_classes *
        count)``, as scikit-learn's compute_sample_weight.
    threads : int or None, default=None
        fastnn's extra: the BLAS threads of fit and predict; None leaves BLAS as it is (all
        cores), as scikit-learn does.

    Attributes
    ----------
    classes_ : numpy.ndarray or list of numpy.ndarray of shape (n_classes,)
        The class labels (for each output).
    loss_ : float
        The current loss computed with the loss function.
    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting; None with
        early_stopping=True (see best_validation_score_).
    loss_curve_ : list of float
        The loss at each iteration (n_iter_ of them), of the stochastic solvers.
    validation_scores_ : list of float or None
        The accuracy score on the held-out validation set at each iteration, with
        early_stopping=True, else None.
    best_validation_score_ : float or None
        The best validation score (accuracy), with early_stopping=True, else None.
    t_ : int
        The number of training samples seen by the solver during fitting.
    coefs_ : list of numpy.ndarray
        The ith element is the weight matrix of layer i (n_layers_ - 1 of them); they are the
        arrays the network computes with.
    intercepts_ : list of numpy.ndarray
        The ith element is the bias vector of layer i + 1.
    n_features_in_ : int
        The number of features seen during fit.
    feature_names_in_ : numpy.ndarray of shape (n_features_in_,)
        The names of the features seen during fit, when X has feature names that are all
        strings.
    n_iter_ : int
        The number of iterations the solver has run.
    n_layers_ : int
        The number of layers.
    n_outputs_ : int
        The number of outputs.
    out_activation_ : str
        The name of the output activation function ("softmax" or "logistic").

    See Also
    --------
    MLPRegressor : The regressor.
    Network : fastnn's own, Keras-like model, which this estimator trains.
    sklearn.neural_network.MLPClassifier : scikit-learn's original.

    Notes
    -----
    The parameters, their defaults, the fitted attributes and the training procedure are
    scikit-learn's (1.9): weights and biases drawn Glorot-uniform from random_state in
    scikit-learn's order, the same shuffling and validation split, the L2 penalty alpha
    divided by the batch's size (or sample-weight sum), Adam with scikit-learn's epsilon, the
    learning-rate schedules, the stopping rules, early stopping with the best weights put
    back, L-BFGS through SciPy. The arithmetic is fastnn's compiled engine's, so the same
    arguments give the same numbers as scikit-learn up to float rounding. As in scikit-learn,
    float32 X trains in float32 and anything else in float64; sparse X (scipy.sparse) trains
    and predicts without being densified.

    How it differs from scikit-learn: the extras above (dropout, class_weight, threads,
    activation="leaky_relu"), off by default; negative or all-zero sample weights,
    strings as sample weights and momentum=1 are refused (ValueError), and with float32 X so
    are y and sample weights beyond float32's range. Where scikit-learn raises
    ValueError("Solver produced non-finite parameter weights...") at the end of fit, so does
    this, but it stops at the first epoch whose loss, weights or optimizer state turn NaN or
    infinite; with early_stopping=True it stops there with a RuntimeWarning and keeps the
    best weights. A fit or partial_fit that raises leaves the estimator as it was before the
    call. Two fits of one estimator at once are refused (RuntimeError). It pickles, as
    scikit-learn's do: unpickle only files you trust.

    Examples
    --------
    >>> X_train, X_test, y_train, y_test = fnn.datasets.iris()
    >>> clf = fnn.MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0)
    >>> clf = clf.fit(X_train, y_train)
    >>> clf.predict(X_test[:5]).shape, clf.predict_proba(X_test[:5]).shape
    ((5,), (5, 3))
    >>> [c.shape for c in clf.coefs_], clf.out_activation_
    ([(4, 16), (16, 3)], 'softmax')
    >>> bool(clf.score(X_test, y_test) > 0.9)
    True
    """

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 dropout: float = 0.0, class_weight: dict[Any, float] | str | None = None,
                 threads: int | None = None) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, dropout=dropout, threads=threads)
        self.class_weight = class_weight

    def fit(self, X: ArrayLike | scipy.sparse.spmatrix, y: ArrayLike,
            sample_weight: ArrayLike | None = None) -> MLPClassifier:
        """Fit the model to data X and class labels y.

        Trains afresh, or from the current weights with warm_start=True.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            The class labels, or a label indicator matrix (multi-label).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights per sample (none negative, not all zero); None weighs every sample 1.

        Returns
        -------
        MLPClassifier
            The fitted estimator (self).

        Raises
        ------
        ValueError
            For a parameter out of its range (scikit-learn's InvalidParameterError, a
            ValueError, naming it), data that do not fit (shapes, NaN or infinity),
            a class not seen before with warm_start,
            or weights that turn non-finite ("Solver produced non-finite parameter
            weights").
        RuntimeError
            If the estimator is being fitted in another thread.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: ArrayLike | scipy.sparse.spmatrix, y: ArrayLike,
                    sample_weight: ArrayLike | None = None,
                    classes: ArrayLike | None = None) -> MLPClassifier:
        """Update the model with a single epoch over (X, y), as scikit-learn's partial_fit.

        The optimizer's state is kept from earlier calls. Only for solver="sgd" or "adam"
        (else the method is not there: AttributeError).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            The class labels, or a label indicator matrix (multi-label).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights per sample (none negative, not all zero); None weighs every sample 1.
        classes : array-like of shape (n_classes,) or None, default=None
            Every class of the whole data; required on the first call, and the same (or
            None) on later ones.

        Returns
        -------
        MLPClassifier
            The updated estimator (self).

        Raises
        ------
        ValueError
            For a parameter out of its range (scikit-learn's InvalidParameterError, a
            ValueError, naming it), data that do not fit (shapes, NaN or infinity),
            classes missing on the first call or changed, a class not in classes_,
            or weights that turn non-finite ("Solver produced non-finite parameter
            weights").
            With early_stopping=True too, which partial_fit does not support.
        RuntimeError
            If the estimator is being fitted in another thread.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, classes=classes)

    def _validate_input(self, probe, X, y, incremental, first_pass, classes):
        """scikit-learn's checks of X and y (validate_data on `probe`) and of the classes, for
        fit (first_pass: new classes_) and partial_fit (`classes` on the first call); nothing is
        set on self. A dict of X, the binarized Y, the labels y and the classes to take."""
        new_classes = None
        if incremental:
            # scikit-learn's _check_partial_fit_first_call, before the data's checks
            if not hasattr(self, "classes_"):
                if classes is None:
                    raise ValueError("classes must be passed on the first call to partial_fit.")
                new_classes = unique_labels(classes)
            elif classes is not None and not np.array_equal(self.classes_,
                                                             inputs.labels(classes)):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                 f"partial_fit, was: {self.classes_!r}")
        X, y = inputs.validate_data(probe, X, y, multi_output=True,
                                    dtype=(np.float64, np.float32), reset=first_pass,
                                    accept_sparse=ACCEPT_SPARSE)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if new_classes is not None:
            binarizer = LabelBinarizer()
            binarizer.fit(y if type_of_target(y).startswith("multilabel") else classes)
        elif not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            binarizer = LabelBinarizer()
            binarizer.fit(y)
            new_classes = binarizer.classes_
        else:
            binarizer = self._label_binarizer
        known = self.classes_ if new_classes is None else new_classes
        if new_classes is None or incremental:
            labels = inputs.labels(y)
            if self.warm_start:
                if set(labels) != set(known):
                    raise ValueError("warm_start can only be used where `y` has the same "
                                     "classes as in the previous call to fit. Previously got "
                                     f"{known}, `y` has {labels}")
            elif not inputs.all_known(labels, known):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{known}. 'y' has {labels}.")
        return {"X": X, "Y": self._binarize(y, binarizer), "labels": y,
                "classes": None if new_classes is None else (binarizer, new_classes)}

    def _take_classes(self, data):
        if data["classes"] is not None:
            self._label_binarizer, self.classes_ = data["classes"]

    @staticmethod
    def _binarize(y, binarizer):
        """binarizer.transform(y) as booleans. Class labels of a binary or multiclass model (y
        checked above to hold only its classes) go straight to their columns: transform's own
        checks took 0.8 ms, a thirtieth of a whole float32 fit on digits."""
        if binarizer.y_type_ == "binary" and y.ndim == 1 and len(binarizer.classes_) == 2:
            return (y == binarizer.classes_[1]).reshape(-1, 1)
        if binarizer.y_type_ != "multiclass" or y.ndim != 1:
            return binarizer.transform(y).astype(bool)
        Y = np.zeros((len(y), len(binarizer.classes_)), bool)
        Y[np.arange(len(y)), np.searchsorted(binarizer.classes_, y)] = True
        return Y

    def _sample_weight(self, sample_weight, labels):
        """sample_weight times the weights class_weight gives the labels."""
        if self.class_weight is not None:
            weights = compute_sample_weight(self.class_weight, labels)
            sample_weight = weights if sample_weight is None else sample_weight * weights
        return sample_weight

    def _loss(self):
        if self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
            return losses.SoftmaxCrossEntropy()
        self.out_activation_ = "logistic"  # binary and multi-label: one sigmoid per output
        return losses.BinaryCrossEntropy(sum_outputs=True)

    def _targets(self, Y):
        """Class indices for softmax (the fast path of the loss kernel), else 0/1 columns."""
        return Y.argmax(axis=1) if self.out_activation_ == "softmax" else Y.astype(np.float64)

    def _validation_targets(self, Y):
        return self._label_binarizer.inverse_transform(Y)

    def _predict_outputs(self, proba):
        if self.n_outputs_ == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    @staticmethod
    def _score_function(y, y_pred, sample_weight=None):
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    def predict(self, X: ArrayLike | scipy.sparse.spmatrix) -> np.ndarray:
        """Predict the classes of X with the fitted network.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        numpy.ndarray
            The predicted classes (n_samples,), or label indicators (n_samples, n_labels) of
            a multi-label model.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If X does not have the features it was fitted on, or holds NaN or infinity.
        """
        return self._predict_outputs(self._outputs(X))

    def predict_proba(self, X: ArrayLike | scipy.sparse.spmatrix) -> np.ndarray:
        """The probability of each class for each sample of X.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        numpy.ndarray
            (n_samples, n_classes), in the order of classes_ (each label's probability for
            a multi-label model).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If X does not have the features it was fitted on, or holds NaN or infinity.
        """
        proba = self._outputs(X)
        if self.n_outputs_ == 1:
            return np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X: ArrayLike | scipy.sparse.spmatrix) -> np.ndarray:
        """The logarithm of each class's probability: log(predict_proba(X)).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        numpy.ndarray
            (n_samples, n_classes), in the order of classes_.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If X does not have the features it was fitted on, or holds NaN or infinity.
        """
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's MLPRegressor on fastnn's engine.

    A drop-in for sklearn.neural_network.MLPRegressor: the same parameters and defaults, the
    same fitted attributes and results. It trains on the half squared error, or with
    loss="poisson" on the half Poisson deviance of exp(outputs), with L-BFGS or stochastic
    gradient descent.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default="squared_error"
        The loss: "squared_error" is the half squared error, "poisson" the half Poisson
        deviance with a log link (exp as the output activation, fastnn.HalfPoissonDeviance on
        the log means), which needs targets y >= 0.
    hidden_layer_sizes : int or sequence of int, default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
    activation : {"relu", "identity", "logistic", "tanh", "leaky_relu"}, default="relu"
        The hidden layers' activation: "identity" f(x) = x, "logistic" f(x) = 1 / (1 +
        exp(-x)), "tanh" f(x) = tanh(x), "relu" f(x) = max(0, x), and fastnn's extra
        "leaky_relu" (slope 0.01 below 0).
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        The solver for weight optimization: "adam" (Kingma and Ba's stochastic
        gradient-based optimizer), "sgd" (stochastic gradient descent) or "lbfgs" (a
        quasi-Newton method, through SciPy's L-BFGS-B). "adam" works well on relatively large
        data sets (thousands of samples or more); on small ones "lbfgs" can converge faster
        and perform better.
    alpha : float, default=0.0001
        Strength of the L2 regularization term, divided by the sample size (or the
        sample-weight sum) when added to the loss.
    batch_size : int or "auto", default="auto"
        Size of the minibatches of the stochastic solvers ("lbfgs" uses none); "auto" means
        ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        The learning-rate schedule, of solver="sgd" only: "constant" keeps
        learning_rate_init; "invscaling" decreases it at each time step t as
        ``learning_rate_init / pow(t, power_t)``; "adaptive" keeps it as long as the training
        loss keeps decreasing, and divides it by 5 each time two consecutive epochs fail to
        decrease the training loss by at least tol (or to increase the validation score by at
        least tol, with early_stopping).
    learning_rate_init : float, default=0.001
        The initial learning rate (the step size) of solver="sgd" or "adam".
    power_t : float, default=0.5
        The exponent of the "invscaling" learning rate (solver="sgd").
    max_iter : int, default=200
        The most iterations: the solver iterates until convergence (determined by tol) or
        this number of iterations. For the stochastic solvers it is the number of epochs
        (passes over the data), not of gradient steps.
    shuffle : bool, default=True
        Shuffle the samples in each iteration (solver="sgd" or "adam").
    random_state : int, numpy.random.RandomState or None, default=None
        Determines the initial weights and biases, the train-validation split of
        early_stopping, the batches of the stochastic solvers and the dropout masks. An int
        gives reproducible results across calls.
    tol : float, default=1e-4
        Tolerance for the optimization: when the loss or score does not improve by at least
        tol for n_iter_no_change consecutive iterations (unless learning_rate="adaptive"),
        convergence is considered reached and training stops.
    verbose : bool, default=False
        Print progress messages to stdout.
    warm_start : bool, default=False
        Reuse the solution of the previous call to fit as initialization, rather than erase
        it.
    momentum : float, default=0.9
        Momentum of the gradient descent update, in [0, 1) (scikit-learn takes 1 too), of
        solver="sgd".
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum (solver="sgd" and momentum > 0).
    early_stopping : bool, default=False
        Set aside validation_fraction of the training data and stop training when the
        validation score (R^2) does not improve
        by at least tol for n_iter_no_change consecutive epochs; the best weights are put
        back. Without it,
        training stops when the training loss does not improve by more than tol for
        n_iter_no_change consecutive epochs. Only with solver="sgd" or "adam".
    validation_fraction : float, default=0.1
        The proportion of the training data set aside for early stopping, in (0, 1).
    beta_1 : float, default=0.9
        Exponential decay rate of Adam's first moment estimates, in [0, 1).
    beta_2 : float, default=0.999
        Exponential decay rate of Adam's second moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Adam's value for numerical stability.
    n_iter_no_change : int, default=10
        The most epochs without a tol improvement (solver="sgd" or "adam").
    max_fun : int, default=15000
        The most loss function calls of solver="lbfgs": it iterates until convergence (tol),
        max_iter iterations or this many calls.
    dropout : float, default=0.0
        fastnn's extra: the dropout rate, in [0, 1), after each hidden layer's activation
        (solver="sgd" and "adam"; inverted dropout, the identity at prediction).
    threads : int or None, default=None
        fastnn's extra: the BLAS threads of fit and predict; None leaves BLAS as it is (all
        cores), as scikit-learn does.

    Attributes
    ----------
    loss_ : float
        The current loss computed with the loss function (see the notes).
    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting; None with
        early_stopping=True (see best_validation_score_).
    loss_curve_ : list of float
        The loss at each iteration (n_iter_ of them), of the stochastic solvers.
    validation_scores_ : list of float or None
        The R^2 score on the held-out validation set at each iteration, with
        early_stopping=True, else None.
    best_validation_score_ : float or None
        The best validation score (R^2), with early_stopping=True, else None.
    t_ : int
        The number of training samples seen by the solver during fitting.
    coefs_ : list of numpy.ndarray
        The ith element is the weight matrix of layer i (n_layers_ - 1 of them); they are the
        arrays the network computes with.
    intercepts_ : list of numpy.ndarray
        The ith element is the bias vector of layer i + 1.
    n_features_in_ : int
        The number of features seen during fit.
    feature_names_in_ : numpy.ndarray of shape (n_features_in_,)
        The names of the features seen during fit, when X has feature names that are all
        strings.
    n_iter_ : int
        The number of iterations the solver has run.
    n_layers_ : int
        The number of layers.
    n_outputs_ : int
        The number of outputs.
    out_activation_ : str
        The name of the output activation function ("identity", or "exp" for loss="poisson").

    See Also
    --------
    MLPClassifier : The classifier.
    Network : fastnn's own, Keras-like model, which this estimator trains.
    sklearn.neural_network.MLPRegressor : scikit-learn's original.

    Notes
    -----
    loss_ is scikit-learn's: the half squared error averaged over the outputs (the half
    Poisson deviance summed over them), plus the L2 penalty (the gradient, in scikit-learn as
    here, is that of the error summed over the outputs).

    The parameters, their defaults, the fitted attributes and the training procedure are
    scikit-learn's (1.9): weights and biases drawn Glorot-uniform from random_state in
    scikit-learn's order, the same shuffling and validation split, the L2 penalty alpha
    divided by the batch's size (or sample-weight sum), Adam with scikit-learn's epsilon, the
    learning-rate schedules, the stopping rules, early stopping with the best weights put
    back, L-BFGS through SciPy. The arithmetic is fastnn's compiled engine's, so the same
    arguments give the same numbers as scikit-learn up to float rounding. As in scikit-learn,
    float32 X trains in float32 and anything else in float64; sparse X (scipy.sparse) trains
    and predicts without being densified.

    How it differs from scikit-learn: the extras above (dropout, threads,
    activation="leaky_relu"), off by default; loss="poisson" refuses negative targets
    (ValueError; scikit-learn 1.9 trains on them, to a NaN or meaningless loss); negative or
    all-zero sample weights, strings as sample weights and momentum=1 are refused (ValueError),
    and with float32 X so are y and sample weights beyond float32's range. Where scikit-learn
    raises ValueError("Solver produced non-finite parameter weights...") at the end of fit, so
    does this, but it stops at the first epoch whose loss, weights or optimizer state turn NaN
    or infinite; with early_stopping=True it stops there with a RuntimeWarning and keeps the
    best weights. A fit or partial_fit that raises leaves the estimator as it was before the
    call. Two fits of one estimator at once are refused (RuntimeError). It pickles, as
    scikit-learn's do: unpickle only files you trust.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5]) + 0.1
    >>> reg = fnn.MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0)
    >>> reg = reg.fit(X, y)
    >>> reg.predict(X[:4]).shape, reg.out_activation_
    ((4,), 'identity')
    >>> bool(reg.score(X, y) > 0.99)
    True
    """

    def __init__(self, loss: str = "squared_error",
                 hidden_layer_sizes: int | Sequence[int] = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: int | str = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: int | np.random.RandomState | None = None, tol: float = 1e-4,
                 verbose: bool = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: int = 10, max_fun: int = 15000,
                 dropout: float = 0.0, threads: int | None = None) -> None:
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun, dropout=dropout, threads=threads)
        self.loss = loss

    def _check_each_param(self):
        super()._check_each_param()
        sklearn_params.check_regressor_loss(type(self).__name__, self.loss)

    def fit(self, X: ArrayLike | scipy.sparse.spmatrix, y: ArrayLike,
            sample_weight: ArrayLike | None = None) -> MLPRegressor:
        """Fit the model to data X and targets y.

        Trains afresh, or from the current weights with warm_start=True.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (>= 0 for loss="poisson").
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights per sample (none negative, not all zero); None weighs every sample 1.

        Returns
        -------
        MLPRegressor
            The fitted estimator (self).

        Raises
        ------
        ValueError
            For a parameter out of its range (scikit-learn's InvalidParameterError, a
            ValueError, naming it), data that do not fit (shapes, NaN or infinity),
            non-numeric or (loss="poisson") negative targets,
            or weights that turn non-finite ("Solver produced non-finite parameter
            weights").
        RuntimeError
            If the estimator is being fitted in another thread.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X: ArrayLike | scipy.sparse.spmatrix, y: ArrayLike,
                    sample_weight: ArrayLike | None = None) -> MLPRegressor:
        """Update the model with a single epoch over (X, y), as scikit-learn's partial_fit.

        The optimizer's state is kept from earlier calls. Only for solver="sgd" or "adam"
        (else the method is not there: AttributeError).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (>= 0 for loss="poisson").
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights per sample (none negative, not all zero); None weighs every sample 1.

        Returns
        -------
        MLPRegressor
            The updated estimator (self).

        Raises
        ------
        ValueError
            For a parameter out of its range (scikit-learn's InvalidParameterError, a
            ValueError, naming it), data that do not fit (shapes, NaN or infinity),
            non-numeric or (loss="poisson") negative targets,
            or weights that turn non-finite ("Solver produced non-finite parameter
            weights").
            With early_stopping=True too, which partial_fit does not support.
        RuntimeError
            If the estimator is being fitted in another thread.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _validate_input(self, probe, X, y, incremental, first_pass, classes=None):
        """scikit-learn's checks of X and y (validate_data on `probe`), and numeric y: strings
        are refused here (scikit-learn fails on them inside training)."""
        X, y = inputs.validate_data(probe, X, y, multi_output=True, y_numeric=True,
                                    dtype=(np.float64, np.float32), reset=first_pass,
                                    accept_sparse=ACCEPT_SPARSE)
        if y.dtype.kind not in "biuf":
            raise ValueError(f"{type(self).__name__} needs numeric targets y; got an array of "
                             f"dtype {y.dtype}")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and y.size and not y.min() >= 0:
            raise ValueError(f"MLPRegressor(loss='poisson') needs targets y >= 0; got a "
                             f"minimum of {y.min()}")
        return {"X": X, "Y": y, "labels": y}

    def _loss(self):
        if self.loss == "poisson":
            self.out_activation_ = "exp"  # scikit-learn's name; the network's "exponential"
            return losses.HalfPoissonDeviance()
        self.out_activation_ = "identity"
        return losses.SumOfSquares()

    def _targets(self, Y):
        return Y

    def _validation_targets(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _reported_loss(self, logs):
        if self.out_activation_ == "exp":
            return logs["loss"]  # summed over the outputs, in scikit-learn as here
        # The engine's loss is summed over the outputs; scikit-learn reports its mean.
        penalty = logs.get("penalty", 0.0)
        return (logs["loss"] - penalty) / self.n_outputs_ + penalty

    def _predict_outputs(self, values):
        return values.ravel() if values.shape[1] == 1 else values

    @staticmethod
    def _score_function(y, y_pred, sample_weight=None):
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def predict(self, X: ArrayLike | scipy.sparse.spmatrix) -> np.ndarray:
        """Predict the targets of X with the fitted network.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        numpy.ndarray
            The predicted values, (n_samples,) for one output, else (n_samples, n_outputs).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator is not fitted.
        ValueError
            If X does not have the features it was fitted on, or holds NaN or infinity.
        """
        return self._predict_outputs(self._outputs(X))
