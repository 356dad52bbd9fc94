"""scikit-learn drop-ins: fastnn.MLPClassifier and fastnn.MLPRegressor.

    from fastnn import MLPClassifier    # was: from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(100,), random_state=0).fit(X_train, y_train)

The parameters, their defaults, the fitted attributes and the training procedure are those of
scikit-learn's MLPs (1.9): weights and biases drawn Glorot-uniform from `random_state` in
scikit-learn's order, the same shuffling and validation split, the L2 penalty `alpha` divided by
the batch's size (or sample-weight sum), Adam with scikit-learn's epsilon, the learning-rate
schedules, stopping after `n_iter_no_change` epochs without a `tol` improvement, early stopping
on a held-out score with the best weights put back, L-BFGS through SciPy. The arithmetic is
fastnn's: every epoch is one call of the compiled engine. So the same arguments give the same
numbers as scikit-learn up to float rounding.

Extras, off by default so the defaults match scikit-learn: `dropout` after each hidden layer
(stochastic solvers), activation="leaky_relu", `class_weight` (classifier), `threads` (BLAS
threads; None leaves BLAS as it is, as scikit-learn does). As in scikit-learn, float32 X trains
in float32 and anything else in float64.

Differences: sparse X is not accepted (TypeError); MLPRegressor(loss="poisson") raises
NotImplementedError; a loss that turns NaN or infinite stops training with a RuntimeWarning and
the weights of the start of that epoch (scikit-learn trains on and then raises ValueError).
Unlike Network.save, these estimators pickle, as scikit-learn's do: unpickle only files you trust.
"""
import numbers
import os
import warnings

import numpy as np
import scipy.optimize
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

from fastnn import layers as L
from fastnn import losses, optimizers
from fastnn.network import Network, _blas_threads

ACTIVATIONS = {"identity": L.Identity, "logistic": L.Sigmoid, "tanh": L.Tanh, "relu": L.ReLU,
               "leaky_relu": L.LeakyReLU}
STOCHASTIC_SOLVERS = ("sgd", "adam")


def _fail(estimator, name, value, what):
    raise ValueError(f"The '{name}' parameter of {type(estimator).__name__} must be {what}. "
                     f"Got {value!r} instead.")


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share; see the module docstring."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, threads=None):
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
        """The hidden layer sizes as a list, after checking every parameter (ValueError naming
        the parameter, in scikit-learn's words)."""
        self._check_each_param()
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if not all(_is_int(s) and s > 0 for s in sizes):
            _fail(self, "hidden_layer_sizes", self.hidden_layer_sizes,
                  "an int or an array-like of ints >= 1")
        return [int(s) for s in sizes]

    def _check_each_param(self):
        def options(name, allowed):
            if getattr(self, name) not in allowed:
                _fail(self, name, getattr(self, name), f"a str among {sorted(allowed)}")

        def number(name, low, high=np.inf, low_open=False, high_open=False, integer=False):
            value = getattr(self, name)
            ok = (_is_int(value) if integer else _is_real(value)) and (
                (low < value if low_open else low <= value)
                and (value < high if high_open else value <= high))
            if not ok:
                kind = "an int" if integer else "a float"
                _fail(self, name, value, f"{kind} in the range {'(' if low_open else '['}{low}, "
                                   f"{high}{')' if high_open or high == np.inf else ']'}")

        def flag(name):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                _fail(self, name, getattr(self, name), "an instance of 'bool'")

        options("activation", set(ACTIVATIONS))
        options("solver", {"lbfgs", "sgd", "adam"})
        options("learning_rate", {"constant", "invscaling", "adaptive"})
        number("alpha", 0)
        if self.batch_size != "auto":
            number("batch_size", 1, integer=True)
        number("learning_rate_init", 0, low_open=True)
        number("power_t", 0)
        number("max_iter", 1, integer=True)
        number("tol", 0)
        number("momentum", 0, 1, high_open=True)
        number("validation_fraction", 0, 1, high_open=True)
        number("beta_1", 0, 1, high_open=True)
        number("beta_2", 0, 1, high_open=True)
        number("epsilon", 0, low_open=True)
        if self.n_iter_no_change != np.inf:
            number("n_iter_no_change", 1, integer=True)
        number("max_fun", 1, integer=True)
        number("dropout", 0, 1, high_open=True)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            flag(name)
        if not (_is_int(self.verbose) or isinstance(self.verbose, (bool, np.bool_))):
            _fail(self, "verbose", self.verbose, "a bool or an int")
        if self.threads is not None:
            number("threads", 1, integer=True)

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
        if self.solver == "sgd":
            return optimizers.SGD(self.learning_rate_init, momentum=self.momentum,
                                  nesterov=self.nesterovs_momentum)
        return optimizers.Adam(self.learning_rate_init, beta1=self.beta_1, beta2=self.beta_2,
                               eps=self.epsilon, eps_hat=True)

    def _sync_parameters(self):
        """Take up coefs_ / intercepts_ arrays the user replaced (as scikit-learn's L-BFGS
        unpacking does), so that they are what the network computes with."""
        net = self._network
        for i, dense in enumerate(self._dense):
            for attr, given in (("W", self.coefs_), ("b", self.intercepts_)):
                if given[i] is not getattr(dense, attr):
                    value = np.asarray(given[i])
                    if value.shape != getattr(dense, attr).shape:
                        raise ValueError(f"{'coefs_' if attr == 'W' else 'intercepts_'}[{i}] "
                                         f"has shape {value.shape}; the network needs "
                                         f"{getattr(dense, attr).shape}")
                    setattr(dense, attr, np.array(value, dtype=net.dtype, order="C"))
                    given[i] = getattr(dense, attr)

    # ---------------------------------------------------------------- fit

    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden = self._check_params()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(X.shape[1], Y.shape[1], hidden, X.dtype)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but this model was fitted with "
                             f"{self.n_outputs_}; fit it afresh (warm_start=False)")
        self._sync_parameters()
        net = self._network
        net._own_arrays()  # copies, if they were read-only (unpickled from a memory map)
        self.coefs_ = [dense.W for dense in self._dense]
        self.intercepts_ = [dense.b for dense in self._dense]
        X = np.ascontiguousarray(X, dtype=net.dtype)
        sample_weight = self._sample_weight(sample_weight, len(X))
        X, T, sample_weight = net._check_xy(X, self._targets(Y), sample_weight)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, T, sample_weight)
        else:
            self._fit_stochastic(X, T, Y, sample_weight, incremental)
        return self

    def _sample_weight(self, sample_weight, n):
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.ndim == 0:
                sample_weight = np.full(n, float(sample_weight))
        return sample_weight

    def _fit_stochastic(self, X, T, Y, sample_weight, incremental):
        net = self._network
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = net.optimizer = self._new_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        X_val = y_val = w_val = None
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
            X, T = X[train], T[train]
            sample_weight = None if sample_weight is None else sample_weight[train]
        n = len(X)
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n))
        plan = net._plan(batch_size, training=True, labels=T.ndim == 1)
        sample_idx = np.arange(n, dtype=np.intp)
        limits = _blas_threads(net._threads_for(batch_size))
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    # sklearn.utils.shuffle's draw, without its ~0.3 ms of argument checks
                    perm = np.arange(n, dtype=np.intp)
                    self._random_state.shuffle(perm)
                    sample_idx = sample_idx[perm]
                logs = net._epoch(X, T, sample_weight, batch_size, sample_idx, plan)
                if logs is None:  # the loss went non-finite: warned, weights put back
                    break
                self.n_iter_ += 1
                self.loss_ = self._reported_loss(logs)
                self.t_ += n
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                self._update_no_improvement_count(early_stopping, X_val, y_val, w_val)
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    net.optimizer.lr = self.learning_rate_init / (self.t_ + 1) ** self.power_t
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if early_stopping else "Training loss"
                    msg = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                    if self._trigger_stopping(msg):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                                  "reached and the optimization hasn't converged yet.",
                                  ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        finally:
            limits.unregister()
        if early_stopping:
            for param, best in zip(self.coefs_ + self.intercepts_,
                                   self._best_coefs + self._best_intercepts):
                param[...] = best

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
            loss, _ = net._loss_and_gradients(X, T, sample_weight, training=False)
            penalty = 0.5 * decay * sum(float(np.dot(W.ravel(), W.ravel())) for W in self.coefs_)
            gradient = np.concatenate([g.ravel() for g in grads]).astype(np.float64)
            gradient[:bounds[len(self.coefs_)]] += decay * np.concatenate(
                [W.ravel() for W in self.coefs_])
            last.update(loss=loss + penalty, penalty=penalty)
            return loss + penalty, gradient

        limits = _blas_threads(net._threads_for(len(X)))
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
                          "iterations (max_iter) or scale the data.", ConvergenceWarning)
        self.n_iter_ = min(result.nit, self.max_iter)
        self.loss_ = float(self._reported_loss(last))

    # ---------------------------------------------------------------- predict

    def _outputs(self, X):
        """The network's outputs for X after the output activation (softmax, logistic or none),
        with scikit-learn's checks of X (features, names, dtype, NaN)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        self._sync_parameters()
        return self._network.predict(np.ascontiguousarray(X, dtype=self._network.dtype))

    def _score_arrays(self, X, y, sample_weight):
        """The early-stopping score (accuracy or R^2) on validated arrays; NaN when the
        predictions are not finite."""
        y_pred = self._predict_outputs(self._network.predict(X))
        if np.issubdtype(np.asarray(y_pred).dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return self._score_function(y, y_pred, sample_weight=sample_weight)

    def _check_solver(self):
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's MLPClassifier on fastnn's engine.

    Same parameters and defaults as sklearn.neural_network.MLPClassifier (see its docs and this
    module's), and these extras, off by default:

    dropout : float in [0, 1), default=0.0
        Dropout rate after each hidden layer's activation (sgd and adam).
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into sample_weight ("balanced": n / (k * count)).
    threads : int or None, default=None
        BLAS threads for fit and predict; None leaves BLAS as it is (all cores).
    activation="leaky_relu" : leaky ReLU with slope 0.01, beside scikit-learn's four.

    Fitted attributes: classes_, coefs_, intercepts_, loss_, best_loss_, loss_curve_,
    validation_scores_, best_validation_score_, t_, n_iter_, n_layers_, n_outputs_,
    out_activation_, n_features_in_, feature_names_in_ (with named columns).
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, class_weight=None, threads=None):
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

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X (n_samples, n_features) and class labels y (n_samples,) or a
        label indicator matrix (n_samples, n_labels). Returns self."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), keeping the optimizer's state from earlier calls. `classes`
        (every class of the whole data) is required on the first call."""
        first = not hasattr(self, "classes_")
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the first call to "
                             f"partial_fit, which was {self.classes_!r}")
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, multi_output=True, dtype=(np.float64, np.float32),
                             reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same "
                                     "classes as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        self._y = y  # the validated labels, for class_weight
        return X, self._binarize(y)

    def _binarize(self, y):
        """LabelBinarizer.transform(y) as booleans. Class labels of a multiclass model (y checked
        above to hold only classes_) go straight to their columns: transform's own checks took
        0.8 ms, a thirtieth of a whole float32 fit on digits."""
        binarizer = self._label_binarizer
        if binarizer.y_type_ != "multiclass" or y.ndim != 1:
            return binarizer.transform(y).astype(bool)
        Y = np.zeros((len(y), len(binarizer.classes_)), bool)
        Y[np.arange(len(y)), np.searchsorted(binarizer.classes_, y)] = True
        return Y

    def _sample_weight(self, sample_weight, n):
        sample_weight = super()._sample_weight(sample_weight, n)
        if self.class_weight is not None:
            weights = compute_sample_weight(self.class_weight, self._y)
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

    def predict(self, X):
        """The predicted classes (n_samples,), or label indicators for multi-label models."""
        return self._predict_outputs(self._outputs(X))

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), in the order of classes_."""
        proba = self._outputs(X)
        if self.n_outputs_ == 1:
            return np.hstack([1 - proba, proba])
        return proba

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's MLPRegressor on fastnn's engine.

    Same parameters and defaults as sklearn.neural_network.MLPRegressor, trained on the half
    squared error; loss="poisson" is not implemented yet (NotImplementedError). Extras, off by
    default: dropout, threads, activation="leaky_relu" (see MLPClassifier).

    loss_ is scikit-learn's: the half squared error averaged over the outputs, plus the L2
    penalty (the gradient, in scikit-learn as here, is that of the error summed over outputs).
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, threads=None):
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
        if self.loss == "poisson":
            raise NotImplementedError("MLPRegressor(loss='poisson') is not implemented in fastnn "
                                      "yet; use loss='squared_error'")
        if self.loss != "squared_error":
            _fail(self, "loss", self.loss, "a str among ['poisson', 'squared_error']")

    def fit(self, X, y, sample_weight=None):
        """Fit the model to X (n_samples, n_features) and targets y (n_samples,) or
        (n_samples, n_outputs). Returns self."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), keeping the optimizer's state from earlier calls."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _loss(self):
        self.out_activation_ = "identity"
        return losses.SumOfSquares()

    def _targets(self, Y):
        return Y

    def _validation_targets(self, Y):
        return Y.ravel() if Y.shape[1] == 1 else Y

    def _reported_loss(self, logs):
        # The engine's loss is summed over the outputs; scikit-learn reports its mean.
        penalty = logs.get("penalty", 0.0)
        return (logs["loss"] - penalty) / self.n_outputs_ + penalty

    def _predict_outputs(self, values):
        return values.ravel() if values.shape[1] == 1 else values

    @staticmethod
    def _score_function(y, y_pred, sample_weight=None):
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def predict(self, X):
        """Predicted values, (n_samples,) for one output, else (n_samples, n_outputs)."""
        return self._predict_outputs(self._outputs(X))
