"""Network: a stack of layers with a loss and an optimizer; fit / predict / evaluate / save / load.

A final Softmax() layer with CrossEntropy() or SoftmaxCrossEntropy() trains through the fused,
stable SoftmaxCrossEntropy on the logits, and a final Sigmoid() with BinaryCrossEntropy() as
binary cross-entropy from the logits (the layer still runs at prediction, once). Inputs are
validated and converted once at the boundary (dtype, contiguity, shapes, labels, finiteness),
by fastnn.validation. fit and train_step run fastnn.training's loop; save and load are fastnn.io.
"""
from __future__ import annotations

import contextlib
import copy
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from fastnn import inspection, kernels, losses, optimizers, sparse, tracking, training
from fastnn import layers as L
from fastnn import metrics as M
from fastnn import validation as V
from fastnn.callbacks import Callback, History
from fastnn.engine import NonFiniteInput
from fastnn.metrics import accuracy
from fastnn.thresholds import (
    EVALUATE_ROWS,
    INFERENCE_VALUES,
    PREDICT_BATCH,
    THREAD_LIMIT_VALUES,
    small_work,
)
from fastnn.tracking import Tracked, stamp

MAX_ITERATIONS = 2**62  # optimizer steps stay below it, as the engine and model files require

NON_FINITE_STEP_WARNING = ("the loss or the weights became NaN or infinite; the step was undone "
                           "(try a lower learning rate)")
NON_FINITE_WARNING = training.NON_FINITE_WARNING
# What the data's columns were called (the command line's CSV): saved in model files, unused
# by the computation.
COLUMN_NAMES = ("feature_names", "class_names", "target_name")


class Network(Tracked):
    """A multi-layer perceptron: a list of layers, a loss and an optimizer, as in Keras.

    `fit` trains it in mini-batches, `predict` and `evaluate` run it, `save` writes it to a
    file that `fastnn.load` reads. The layers, their settings and arrays, the loss and the
    optimizer may be changed or replaced between calls: each call first checks the network
    again if anything changed. One fit or train_step runs at a time (another thread's is
    refused); predict and evaluate wait for it.

    Parameters
    ----------
    layers : Sequence[Layer]
        The fastnn layers, e.g. ``[Dense(64, 32), ReLU(), Dense(32, 10)]``; each layer object
        may appear once. A ``Dense(..., activation=name)`` is followed by that activation's
        layer.
    loss : Loss or str, default="softmax_cross_entropy"
        A Loss or its name ("softmax_cross_entropy", "cross_entropy", "binary_cross_entropy",
        "mse", "mae", "sum_of_squares", "huber", "poisson"), or Keras' names of them:
        "categorical_crossentropy" and "sparse_categorical_crossentropy" (CrossEntropy, on
        probabilities), "binary_crossentropy" (BinaryCrossEntropy(from_logits=False)),
        "mean_squared_error", "mean_absolute_error".
    optimizer : Optimizer or str, default="adam"
        An Optimizer or its name ("sgd", "adam", "adamw", "rmsprop", "adagrad").
    dtype : str or numpy.dtype, default="float32"
        "float32" or "float64", of the parameters and the computation.
    random_state : int, numpy.random.Generator or None, default=None
        Seeds the initial weights, shuffling, dropout and validation splits
        (``numpy.random.default_rng(random_state)``).
    threads : int, default=1
        BLAS threads (threadpoolctl) for fit, predict and evaluate, used where a batch's
        largest matrix product has at least 2^22 multiply-adds (smaller work runs faster on
        one thread). The engine's own loops stay on one thread: OpenMP workers spinning beside
        OpenBLAS's threads on the same cores made a wide network's epoch 2.5x slower
        (measured on 2 cores).
    engine : bool, default=True
        Run fit, predict and evaluate through the fused compiled engine where the layers allow
        (Dense, each followed by an optional BatchNorm or LayerNorm, activation and Dropout);
        False forces the layer-by-layer Python path. Both give the same numbers.

    Attributes
    ----------
    layers : list of Layer
        The layers, a Dense's activation expanded into its own layer.
    loss : Loss
        The loss (a name given is turned into its Loss, here as on assignment).
    optimizer : Optimizer
        The optimizer (likewise).
    dtype : numpy.dtype
        float32 or float64.
    n_features : int
        The inputs of the first Dense layer.
    n_outputs : int
        The outputs of the last Dense layer.
    rng : numpy.random.Generator
        The generator of weights, shuffling, dropout and validation splits.
    train_layers : list of Layer
        The layers training runs (see the notes).
    train_loss : Loss
        The loss training computes.
    prediction_activation : str or None
        What predict applies to the outputs of train_layers.
    stop_training : bool
        Set by a callback to end fit after the current epoch, as in Keras.
    feature_names, class_names, target_name : list of str, list of str, str, or None
        What the data's columns are called (a list of n_features strings, a string per output
        (2 for one sigmoid output), a string), as ``python -m fastnn train --csv`` sets them;
        saved in model files, unused by the computation.

    Raises
    ------
    TypeError
        If layers is not a list of fastnn layers.
    ValueError
        If the layers do not make a network (no Dense layer, sizes that do not chain, a layer
        given twice, a loss on probabilities after a layer that does not make them), if loss
        or optimizer is neither a Loss or Optimizer nor one's name, a dtype other than
        float32 and float64, or threads < 1.

    See Also
    --------
    fastnn.load : Read a network that `save` wrote.
    fastnn.MLPClassifier, fastnn.MLPRegressor : scikit-learn's estimators on the same engine.

    Notes
    -----
    A final Softmax layer with CrossEntropy or SoftmaxCrossEntropy trains through the fused,
    stable SoftmaxCrossEntropy on the logits, and a final Sigmoid with BinaryCrossEntropy as
    binary cross-entropy from the logits; the layer still runs at prediction, once. Inputs are
    validated and converted once at the boundary (dtype, contiguity, shapes, labels,
    finiteness).

    Examples
    --------
    >>> X, y = fnn.datasets.spiral(samples=20, classes=3, random_state=0)
    >>> net = fnn.Network([fnn.Dense(2, 8), fnn.ReLU(), fnn.Dense(8, 3)], random_state=0)
    >>> history = net.fit(X, y, epochs=5, batch_size=16, verbose=0)
    >>> net.predict(X).shape
    (60, 3)
    >>> sorted(net.evaluate(X, y))
    ['accuracy', 'loss']
    """

    # Derived by the network itself, or set by callbacks: no change to what a plan covers.
    _untracked = frozenset({"stop_training", "n_features", "n_outputs", "split_seed",
                            *COLUMN_NAMES})

    def __setattr__(self, name, value):
        # As in the constructor, a loss or optimizer may be given by name.
        if name == "loss" and isinstance(value, str):
            value = losses.get(value)
        elif name == "optimizer" and isinstance(value, str):
            value = optimizers.get(value)
        elif name == "dtype":
            value = _float_dtype(value)
        super().__setattr__(name, value)

    def __init__(self, layers: Sequence[L.Layer],
                 loss: losses.Loss | str = "softmax_cross_entropy",
                 optimizer: optimizers.Optimizer | str = "adam", dtype: DTypeLike = "float32",
                 random_state: int | np.random.Generator | None = None, threads: int = 1,
                 engine: bool = True) -> None:
        try:
            self._setup(layers, loss, optimizer, dtype, random_state, threads, engine)
            for i, layer in enumerate(self.layers):  # before any layer's weights are drawn
                if not isinstance(layer, L.Layer):
                    raise TypeError(f"layers[{i}] must be a fastnn layer, got "
                                    f"{type(layer).__name__}")
            self._initialize()
            self._refresh()
        except BaseException:
            for dense, activation in getattr(self, "_taken", ()):  # the user's layers as given
                dense.activation = activation
            raise
        del self._taken

    def _setup(self, layers, loss, optimizer, dtype, random_state, threads, engine):
        """Check and set the constructor's arguments, without drawing any weights."""
        if isinstance(layers, L.Layer) or not hasattr(layers, "__iter__"):
            raise TypeError(f"layers must be a list of fastnn layers, got {type(layers).__name__}")
        self.layers, self._taken = _expand(layers)
        self.loss = losses.get(loss)
        self.optimizer = optimizers.get(optimizer)
        self.dtype = _float_dtype(dtype)
        self.threads, self.engine = V.integer("threads", threads, 1), bool(engine)
        self.random_state = random_state
        self.rng = np.random.default_rng(random_state)
        self.split_seed = None  # validation_split's seed, drawn from rng by the first split
        self.stop_training = False
        self.feature_names = self.class_names = self.target_name = None
        self._plans, self._fast_plan = {}, None
        self._key, self._seen, self._keyed = None, (-1, None), None
        self._lock = threading.RLock()  # inference reuses buffers: one call at a time
        self._training = threading.Lock()  # held by a running fit or train_step

    def _initialize(self, every=False):
        """Draw the weights of every Dense layer whose weights nobody chose (Dense's
        random_state), or of all with every=True, and seed such Dropout layers, from the
        network's generator, in the order of the layers; the init is the layer's own, else the
        registry's default of the activation after it (he before ReLU-like layers, lecun before
        SELU, else glorot). BatchNorm and LayerNorm keep what they hold (every=True: gamma 1,
        beta 0, running mean 0 and variance 1). Kept arrays in another dtype are converted to
        the network's."""
        for i, layer in enumerate(self.layers):
            if isinstance(layer, L.Dense):
                if every or layer.weights_unchosen():
                    following = next((x for x in self.layers[i + 1:]  # the activation decides
                                      if not isinstance(x, (L.Dropout, *L.NORM_LAYERS))), None)
                    default = (following.entry.init if isinstance(following, L.Activation)
                               else "glorot")
                    layer.initialize(self.rng, self.dtype, layer.init or default)
                    continue
            elif isinstance(layer, L.Dropout) and (every or layer.seed_unchosen()):
                layer.seed(self.rng)
            elif isinstance(layer, L.NORM_LAYERS) and every:
                layer.initialize(self.dtype)
                continue
            if any(isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.dtype != self.dtype
                   for a in layer.parameters() + layer.buffers()):
                layer.cast(self.dtype)

    def initialize(self) -> None:
        """Draw every layer's weights anew and start the optimizer afresh.

        Every Dense layer's weights are drawn and every Dropout layer seeded from the network's
        generator (the constructor does that only for layers whose weights nobody chose);
        every BatchNorm and LayerNorm starts afresh; the optimizer's state is emptied.

        Raises
        ------
        RuntimeError
            While another thread trains the network.

        Examples
        --------
        >>> net = fnn.Network([fnn.Dense(2, 3)], loss="mse", random_state=0)
        >>> W = net.layers[0].W.copy()
        >>> net.initialize()
        >>> bool((net.layers[0].W != W).any())
        True
        """
        with self._exclusive("initialize"):
            self._initialize(every=True)
            self.optimizer.state, self.optimizer.iterations = [], 0
            self._refresh()

    # ---------------------------------------------------------------- what the plans cover

    def _refresh(self):
        """Check the network again when anything a compiled plan covers changed since the last
        call: the list of layers, a layer's settings or parameter arrays, the loss, the optimizer
        or the network's own settings. This is the one place that decides whether the plans
        still hold: on a change they are dropped, and rebuilt when next needed."""
        layers = self.layers
        if not isinstance(layers, (list, tuple)):
            raise TypeError(f"network.layers must be a list of fastnn layers, got "
                            f"{type(layers).__name__}")
        seen = (tracking.generation, list(map(id, layers)))
        if seen == self._seen:
            return
        if self._config_key() != self._key:
            self._key = None
            self._check_architecture()
            self._plans, self._fast_plan = {}, None
            self._key = self._config_key()
            self._keyed = [*layers, self.loss, self.optimizer]  # alive, so their ids stay theirs
        self._seen = (tracking.generation, seen[1])

    def _config_key(self):
        return (tuple(stamp(layer) for layer in self.layers), stamp(self.loss),
                stamp(self.optimizer), stamp(self))

    def _check_architecture(self):
        """Raise TypeError or ValueError unless the layers make a network this loss and dtype
        can run; derive n_features, n_outputs and the training layers."""
        layers = self.layers
        if not layers:
            raise ValueError("layers must hold at least one layer")
        if not isinstance(self.loss, losses.Loss):
            raise TypeError(f"network.loss must be a fastnn Loss, got {type(self.loss).__name__}")
        if not isinstance(self.optimizer, optimizers.Optimizer):
            raise TypeError(f"network.optimizer must be a fastnn Optimizer, got "
                            f"{type(self.optimizer).__name__}")
        _float_dtype(self.dtype)
        self.loss.check(self.dtype)
        first = {}
        for i, layer in enumerate(layers):
            if not isinstance(layer, L.Layer):
                raise TypeError(f"layers[{i}] must be a fastnn layer, got {type(layer).__name__}")
            if id(layer) in first:
                raise ValueError(f"layers[{i}] is the same object as layers[{first[id(layer)]}]: "
                                 f"each layer may appear once (create another)")
            first[id(layer)] = i
        dense = [(i, layer) for i, layer in enumerate(layers) if isinstance(layer, L.Dense)]
        if not dense:
            raise ValueError("layers must include at least one Dense layer")
        for (_, a), (i, b) in zip(dense, dense[1:]):
            if a.n_out != b.n_in:
                raise ValueError(f"layer sizes do not chain: a Dense with n_out={a.n_out} is "
                                 f"followed by layers[{i}], a Dense with n_in={b.n_in}")
        for i, layer in enumerate(layers):
            layer.check(f"layers[{i}]")
            if isinstance(layer, L.Dense) and layer.activation is not None:
                raise ValueError(f"layers[{i}].activation={layer.activation!r}: a network takes a "
                                 f"Dense's activation when it is built; set network.layers to a "
                                 f"list with the activation layer after it instead")
            hyper = layer.entry.hyper if isinstance(layer, L.Activation) else None
            largest = float(np.finfo(self.dtype).max)
            if hyper is not None and not abs(layer.alpha_argument) <= largest:
                raise ValueError(f"layers[{i}].{hyper.name}={layer.alpha_argument} is not a finite "
                                 f"{self.dtype} (the network's dtype)")
        for i, layer in dense:
            for name in ("W", "b", "dW", "db"):
                want = (layer.n_in, layer.n_out) if name in ("W", "dW") else (layer.n_out,)
                array = getattr(layer, name, None)
                if not (isinstance(array, np.ndarray) and array.shape == want
                        and array.dtype == self.dtype and array.flags.c_contiguous):
                    got = (f"{array.dtype} array of shape {array.shape}"
                           f"{'' if array.flags.c_contiguous else ' (not C-contiguous)'}"
                           if isinstance(array, np.ndarray) else type(array).__name__)
                    raise ValueError(f"layers[{i}].{name} must be a C-contiguous {self.dtype} "
                                     f"array of shape {want} for Dense({layer.n_in}, "
                                     f"{layer.n_out}), got {got} (np.ascontiguousarray makes one)")
        self._check_norm_layers()
        for i, layer in enumerate(layers):
            if isinstance(layer, L.Dropout):
                state = getattr(layer, "state", None)
                if not (isinstance(state, np.ndarray) and state.dtype == np.uint64
                        and state.shape == (2,)):
                    raise ValueError(f"layers[{i}].state must be a uint64 array [key, counter]")
            if layer.needs_input_grad != (i > 0):
                layer.needs_input_grad = i > 0
        self.n_features, self.n_outputs = dense[0][1].n_in, dense[-1][1].n_out
        self._train_loss = _fused_loss(layers[-1], self.loss)
        self._fused = self._train_loss is not None
        if not self._fused:
            _check_probabilities_in(layers[-1], self.loss)
            _check_no_second_activation(layers, self.loss)
        self._train_layers = list(layers[:-1] if self._fused else layers)
        self._train_loss = self._train_loss or self.loss

    def _check_norm_layers(self):
        """Each BatchNorm, LayerNorm or Normalization as wide as what it normalizes, with
        arrays the network can run."""
        width = next(layer.n_in for layer in self.layers if isinstance(layer, L.Dense))
        for i, layer in enumerate(self.layers):
            if isinstance(layer, L.Dense):
                width = layer.n_out
            elif isinstance(layer, L.Normalization):
                if layer.n != width:
                    raise ValueError(f"layers[{i}] is a Normalization of {layer.n} features on "
                                     f"{width}: give it statistics of {width} features")
                for name in layer.buffer_names:
                    if getattr(layer, name).dtype != self.dtype:
                        raise ValueError(f"layers[{i}].{name} must be a {self.dtype} array")
            elif isinstance(layer, L.NORM_LAYERS):
                if layer.n != width:
                    raise ValueError(f"layers[{i}] is a {type(layer).__name__}({layer.n}) on "
                                     f"{width} features: make it {type(layer).__name__}({width})")
                for name in ("gamma", "beta", "dgamma", "dbeta") + layer.buffer_names:
                    array = getattr(layer, name, None)
                    if not (isinstance(array, np.ndarray) and array.shape == (layer.n,)
                            and array.dtype == self.dtype and array.flags.c_contiguous):
                        raise ValueError(f"layers[{i}].{name} must be a C-contiguous "
                                         f"{self.dtype} array of shape ({layer.n},)")

    def _check_batches(self, n, batch_size):
        """ValueError if training on n rows in batches of batch_size would give a BatchNorm a
        batch of 1 row (torch refuses it: no variance)."""
        if n and (n - 1) % batch_size == 0 and any(
                isinstance(layer, L.BatchNorm) for layer in self._train_layers):
            other = next(b for b in range(batch_size + 1, n + 1) if (n - 1) % b) if n > 2 else n
            fix = ("train on 2 or more rows" if n == 1 else
                   f"choose a batch_size that does not leave 1 row over (n % batch_size == 1; "
                   f"e.g. {other}), or drop a row")
            raise ValueError(f"BatchNorm in training needs batches of at least 2 rows, but "
                             f"{n} rows in batches of {batch_size} leave a last batch of 1 row: "
                             f"{fix}")

    def __getstate__(self):
        # Compiled plans point into this network's arrays: a copy or unpickled network builds
        # its own (and its own locks).
        state = dict(self.__dict__)
        state.update(_plans={}, _fast_plan=None, _key=None, _seen=(-1, None), _keyed=None)
        del state["_lock"], state["_training"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock, self._training = threading.RLock(), threading.Lock()

    def astype(self, dtype: DTypeLike) -> Network:
        """A deep copy of this network with its parameters and optimizer state in `dtype`.

        Parameters
        ----------
        dtype : str or numpy.dtype
            "float32" or "float64".

        Returns
        -------
        Network
            The copy; this network is left as it is.

        Raises
        ------
        ValueError
            If dtype is not float32 or float64.

        Examples
        --------
        >>> net = fnn.Network([fnn.Dense(2, 3)], loss="mse", random_state=0)
        >>> print(net.astype("float64").parameters()[0].dtype)
        float64
        """
        dtype = _float_dtype(dtype)
        net = copy.deepcopy(self)
        net.dtype = dtype
        for layer in net.layers:
            layer.cast(net.dtype)
        net.optimizer.state = [[s.astype(net.dtype) for s in state]
                               for state in net.optimizer.state]
        net._refresh()
        return net

    # ---------------------------------------------------------------- the layer-by-layer API

    def parameters(self) -> list[np.ndarray]:
        """The trainable arrays of every layer, layer by layer (a Dense's W then b).

        These are the arrays the network computes with, not copies (see get_weights for
        copies of every array, the non-trainable ones included).

        Returns
        -------
        list of numpy.ndarray
            The parameter arrays, in the order of gradients().
        """
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self) -> list[np.ndarray]:
        """The gradient arrays of every layer, in the order of parameters().

        backward and loss_and_gradients fill them; they are the layers' own arrays.

        Returns
        -------
        list of numpy.ndarray
            One gradient per parameter, of its shape.
        """
        return [g for layer in self.layers for g in layer.gradients()]

    def forward(self, X: np.ndarray | Any, training: bool = False) -> np.ndarray:
        """Run every layer on X: the outputs of the last layer, as a PyTorch module's forward.

        The layer-by-layer API: no checks or conversion of a dense X, and no output activation
        beyond the layers' own.

        Parameters
        ----------
        X : numpy.ndarray or scipy.sparse matrix
            A validated C-contiguous array of the network's dtype, (n_samples, n_features); a
            scipy.sparse X is checked and converted to the CSR the first Dense layer takes.
        training : bool, default=False
            Training mode: Dropout drops, BatchNorm uses the batch's statistics, and the
            layers keep what backward needs.

        Returns
        -------
        numpy.ndarray
            The last layer's outputs, (n_samples, n_units).
        """
        if sparse.is_sparse(X):
            X = V.check_sparse_x(self, X)
        for layer in self.layers:
            X = layer.forward(X, training)
        return X

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Back-propagate `grad` through every layer, filling every layer's gradients.

        Call it after a forward with ``training=True``.

        Parameters
        ----------
        grad : numpy.ndarray
            The gradient of the loss w.r.t. the last layer's outputs, of their shape.

        Returns
        -------
        numpy.ndarray or None
            The gradient w.r.t. the first layer's input, or None where the first layer is a
            Dense (it skips that product, which no one needs).
        """
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    @property
    def train_layers(self):
        """The layers training runs: all but a final Softmax that trains fused with
        CrossEntropy (as SoftmaxCrossEntropy on the logits)."""
        return self._train_layers

    @property
    def train_loss(self):
        """The loss training computes (SoftmaxCrossEntropy for Softmax + CrossEntropy)."""
        return self._train_loss

    def loss_and_gradients(self, X: np.ndarray, y: np.ndarray,
                           sample_weight: np.ndarray | None = None,
                           training: bool = False) -> tuple[float, np.ndarray]:
        """The training loss and outputs on a batch, every layer's gradients filled; no step.

        Runs train_layers forward and train_loss with its gradient back, as fastnn.gradcheck
        does.

        Parameters
        ----------
        X : numpy.ndarray
            Inputs checked and converted by fastnn.validation.check_xy.
        y : numpy.ndarray
            Targets, checked likewise.
        sample_weight : numpy.ndarray or None, default=None
            Weights per sample, checked likewise; None weighs every sample 1.
        training : bool, default=False
            Training mode of the layers (dropout on, BatchNorm on the batch's statistics).

        Returns
        -------
        loss : float
            The training loss without the L2 penalty.
        outputs : numpy.ndarray
            The outputs of the training layers (before a fused final activation).
        """
        out = X
        for layer in self._train_layers:
            out = layer.forward(out, training)
        loss, grad = self._train_loss.compute(out, y, sample_weight)
        for layer in reversed(self._train_layers):
            grad = layer.backward(grad)
        return loss, out

    def train_step(self, X: ArrayLike, y: ArrayLike,
                   sample_weight: ArrayLike | None = None) -> float:
        """One optimizer step on this batch, as Keras' train_on_batch.

        A step whose loss or resulting weights are not finite is undone, with a RuntimeWarning
        (as in fit); an interrupt (Ctrl-C) during the step puts back the network as it was
        before it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The batch's inputs.
        y : array-like
            Its targets: class labels (n_samples,) or rows (n_samples, n_outputs).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights per sample; None weighs every sample 1.

        Returns
        -------
        float
            The batch's loss, before the step.

        Raises
        ------
        ValueError
            For inputs or targets that do not fit the network, or a BatchNorm network given
            one row.
        RuntimeError
            If another thread is training this network.

        Examples
        --------
        >>> X, y = fnn.datasets.xor()
        >>> net = fnn.Network([fnn.Dense(2, 4), fnn.Tanh(), fnn.Dense(4, 1)], loss="mse",
        ...                   random_state=0)
        >>> first = net.train_step(X, y)
        >>> second = net.train_step(X, y)
        >>> bool(second < first)
        True
        """
        with self._exclusive("train_step"):
            self._refresh()
            X, y, sample_weight = V.check_xy(self, X, y, sample_weight)
            self._check_batches(len(X), len(X))
            self.prepare_training()
            checkpoint = training.Checkpoint(self)
            try:
                loss = training.step(self, X, y, sample_weight)[0]
            except BaseException:
                checkpoint.restore()
                raise
            if not (np.isfinite(loss) and all(map(kernels.all_finite, self.parameters()))):
                checkpoint.restore(generator=False)
                warnings.warn(NON_FINITE_STEP_WARNING, RuntimeWarning, stacklevel=2)
            return loss

    @contextlib.contextmanager
    def _exclusive(self, what):
        """Run a training call alone: refused while another thread trains this network, and
        holding the inference lock, so predict and evaluate wait for it."""
        acquired = False
        try:  # acquired inside the try: an interrupt cannot leave the lock held
            acquired = self._training.acquire(blocking=False)
            if not acquired:
                raise RuntimeError(f"{what}: this network is already being trained (by fit or "
                                   f"train_step, in another thread or a callback of this one); "
                                   f"train it from one call at a time")
            with self._lock:
                yield
        finally:
            if acquired:
                self._training.release()

    def prepare_training(self):
        """Before training writes them: own writeable arrays, finite parameters and optimizer
        state that matches them (made if there is none yet)."""
        if not isinstance(self.rng, np.random.Generator):
            raise TypeError(f"network.rng must be a numpy.random.Generator, got "
                            f"{type(self.rng).__name__}")
        if not isinstance(self.optimizer.state, list):
            raise TypeError(f"optimizer.state must be a list (one list of arrays per parameter), "
                            f"got {type(self.optimizer.state).__name__}")
        self.own_arrays()
        self._refresh()  # own_arrays may have replaced read-only arrays with copies
        for i, layer in enumerate(self.layers):
            if isinstance(layer, L.BatchNorm):
                try:
                    layer.check_statistics(f"layers[{i}]'s")
                except ValueError as error:
                    raise ValueError(f"{error}: set running_mean to 0 and running_var to 1 to "
                                     f"start them again") from None
        if not all(map(kernels.all_finite, self.parameters())):
            for i, layer in enumerate(self.layers):
                names = ("gamma", "beta") if isinstance(layer, L.NORM_LAYERS) else ("W", "b")
                for name, p in zip(names, layer.parameters()):
                    if not kernels.all_finite(p):
                        raise ValueError(f"layers[{i}].{name} holds NaN or infinity: the network "
                                         f"cannot train from non-finite parameters")
        self.optimizer.iterations = V.integer("optimizer.iterations", self.optimizer.iterations, 0,
                                              MAX_ITERATIONS - 1)
        try:
            self.optimizer.check()
        except (TypeError, ValueError) as error:
            raise ValueError(f"optimizer: {error}") from None
        self.optimizer.init_state(self.parameters())

    def own_arrays(self):
        """Before training writes them: writeable copies of parameters, gradients, optimizer
        state and dropout states that are read-only (as after unpickling from a memory map)."""
        arrays = [a for layer in self.layers for a in layer.parameters() + layer.gradients()]
        arrays += [s for state in self.optimizer.state for s in state]
        arrays += [layer.state for layer in self.layers if isinstance(layer, L.Dropout)]
        arrays += [b for layer in self.layers for b in layer.buffers()]
        # anything else than an array is for the checks after this one to name
        if all(a.flags.writeable for a in arrays if isinstance(a, np.ndarray)):
            return
        for layer in self.layers:
            layer.cast(self.dtype)  # a copy even in the same dtype
            if isinstance(layer, L.Dropout):
                layer.state = layer.state.copy()
        self.optimizer.state = [[s.copy() if isinstance(s, np.ndarray) else s for s in state]
                                for state in self.optimizer.state]

    def penalties(self):
        """L2 strength per parameter, in the order of parameters() (see Dense's l2)."""
        return [s for layer in self.layers for s in layer.penalties()]

    # ---------------------------------------------------------------- fit / predict / evaluate

    def fit(self, X: ArrayLike | Any, y: ArrayLike, epochs: int = 1, batch_size: int = 32,
            shuffle: bool = True, validation_data: tuple[Any, ...] | None = None,
            validation_split: float = 0.0, sample_weight: ArrayLike | None = None,
            callbacks: Sequence[Callback] = (), verbose: int = 1,
            class_weight: dict[Any, float] | None = None,
            metrics: Sequence[str | Callable[[np.ndarray, np.ndarray], float]] | None = None,
            ) -> History:
        """Train for `epochs` passes over (X, y) in mini-batches, as Keras' Model.fit.

        A non-finite loss or non-finite weights stop training with a RuntimeWarning and put
        back the (finite) weights of the start of that epoch; an interrupt (Ctrl-C) puts back
        the start of the epoch it interrupted, generator and step count included. Every
        argument is checked before anything changes.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The inputs. A scipy.sparse matrix or array (any format) is not densified: it trains
            on the layer-by-layer path, whose first Dense layer multiplies the CSR rows.
        y : array-like
            The targets: class labels (n_samples,) or one-hot rows for the categorical
            losses, rows (n_samples, n_outputs) (or (n_samples,) for one output) otherwise.
        epochs : int, default=1
            Passes over the training data (0 trains nothing).
        batch_size : int, default=32
            Rows per step; larger than the training set means the whole set (as Keras).
        shuffle : bool, default=True
            Shuffle the training rows before each epoch.
        validation_data : tuple or None, default=None
            ``(X_val, y_val)`` or ``(X_val, y_val, val_sample_weight)``, evaluated after each
            epoch (logged as val_loss, val_accuracy, ...).
        validation_split : float, default=0.0
            A fraction in [0, 1) of the data held out for validation: shuffled (stratified for
            class labels), the same rows in every fit of this network on the same data (so
            continuing does not validate on rows it trained on; Keras holds out the last rows).
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights per sample of the training loss; None weighs every sample 1.
        callbacks : sequence of Callback, default=()
            Called at the start and end of training, epochs and batches (fastnn.callbacks).
        verbose : int, default=1
            0 silent, 1 a progress bar, 2 one line per epoch.
        class_weight : dict or None, default=None
            class -> weight, multiplying the training samples' weights as in Keras (for class
            labels, one-hot rows or one binary output; a class left out weighs 1; the
            validation data are not weighted by it).
        metrics : sequence of str or callable, or None, default=None
            Names or callables ``metric(y_true, y_pred)`` (see fastnn.metrics) reported in the
            logs and the History each epoch, on the training data as key and on the
            validation data as val_key. The training values are computed after each epoch with
            that epoch's final weights (an evaluation pass, without dropout), unlike Keras'
            running average over the epoch's batches; "loss" and "accuracy" are the running
            averages. Without metrics nothing is added to the epoch.

        Returns
        -------
        History
            The logs of every epoch: ``history.history["loss"]`` and the others by name.

        Raises
        ------
        ValueError
            For data that do not fit the network (shapes, labels, NaN or infinity), an
            argument out of its range, both validation_data and validation_split, or a split
            leaving no rows.
        TypeError
            For metrics or callbacks of the wrong type.
        RuntimeError
            If another thread (or a callback of this fit) is training this network.

        Examples
        --------
        >>> X, y = fnn.datasets.spiral(samples=30, classes=3, random_state=0)
        >>> net = fnn.Network([fnn.Dense(2, 16), fnn.ReLU(), fnn.Dense(16, 3)], random_state=0)
        >>> history = net.fit(X, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0,
        ...                   metrics=["f1"])
        >>> sorted(history.history)
        ['accuracy', 'f1', 'loss', 'seconds', 'val_accuracy', 'val_f1', 'val_loss']
        >>> len(history.history["loss"])
        3
        """
        with self._exclusive("fit"):
            return self._fit(X, y, epochs, batch_size, shuffle, validation_data,
                             validation_split, sample_weight, callbacks, verbose, class_weight,
                             metrics)

    def _fit(self, X, y, epochs, batch_size, shuffle, validation_data, validation_split,
             sample_weight, callbacks, verbose, class_weight=None, metrics=None):
        """fit's checks of every argument, then fastnn.training.fit."""
        self._refresh()
        epochs = V.integer("epochs", epochs, 0)
        batch_size = V.integer("batch_size", batch_size, 1)
        if verbose not in (0, 1, 2) or isinstance(verbose, float):
            raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
        validation_split = V.real("validation_split", validation_split, 0, 1)
        callbacks = training.check_callbacks(callbacks)
        metrics = M.get(metrics, self.metric_kind())
        if class_weight is not None:
            class_weight = V.class_weight(self, class_weight)
        # X's values are checked as the first epoch gathers them: no pass of its own over X
        # (with callbacks, which would see the epoch begin, they are checked here)
        check_x = epochs > 0 and not callbacks
        X, y, sample_weight = V.check_xy(self, X, y, sample_weight, stream=True,
                                         finite=not check_x)
        if validation_data is not None and validation_split:
            raise ValueError("give validation_data or validation_split, not both")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError(
                    "validation_data must be (X_val, y_val) or (X_val, y_val, weights)")
            validation_data = V.check_xy(self, *validation_data, x_name="X_val", y_name="y_val",
                                         stream=True)
        validated = validation_data is not None or validation_split > 0
        names = ["loss"] + (["accuracy"] if self.loss.classification else [])
        names += [name for name, _ in metrics]
        names += ["val_" + m for m in names] if validated else []
        for cb in callbacks:
            cb.check(names)
            cb.check_network(self)
        if class_weight is not None:
            V.class_sample_weights(self, class_weight, y, sample_weight)  # refused before a split
        rows = None  # the training rows of a validation split, trained on without a copy
        if validation_split:
            generator, split_seed = self.rng.bit_generator.state, self.split_seed
        try:
            if validation_split:
                rows, validation_data = self._split(X, y, sample_weight, validation_split)
            if class_weight is not None:
                sample_weight = V.class_sample_weights(self, class_weight, y, sample_weight,
                                                       rows)
            n = len(X) if rows is None else len(rows)
            self._check_batches(n, min(batch_size, n))
        except ValueError:
            if validation_split:  # as if no split had been drawn
                self.rng.bit_generator.state, self.split_seed = generator, split_seed
            raise
        state = self.optimizer.state  # prepare_training makes it anew if there is none
        self.prepare_training()
        if check_x:  # a NaN found in training must leave everything as it was
            checkpoint = training.Checkpoint(self, whole=True)
        try:
            return training.fit(self, X, y, sample_weight, epochs, min(batch_size, n),
                                shuffle, validation_data, callbacks, verbose, metrics, rows,
                                check_x)
        except NonFiniteInput as error:
            checkpoint.restore()
            if self.optimizer.state is not state:
                self.optimizer.state = state
            if validation_split:  # as if no split had been drawn
                self.rng.bit_generator.state, self.split_seed = generator, split_seed
            raise ValueError(str(error)) from None

    def _plan(self, rows, training, labels=False):
        """The engine plan for batches of up to `rows` rows (targets: class labels or rows), or
        None (engine off or unsupported). Cached until _refresh sees a change, and while the
        optimizer holds the same state arrays."""
        self._refresh()  # a plan is current only for what the network holds now
        if not self.engine:
            return None
        from fastnn.engine import compile_plan
        if training and len(self.optimizer.state) != len(self.parameters()):
            self.optimizer.init_state(self.parameters())  # the plan points into the state arrays
        key = (rows, training, labels,
               tuple(id(s) for state in self.optimizer.state for s in state) if training else ())
        if key not in self._plans:
            self._plans = {k: v for k, v in self._plans.items() if k[1] != training}
            self._plans[key] = compile_plan(self, rows, labels, training)
        return self._plans[key]

    def training_plan(self, batch_size, labels):
        """The engine plan that trains on batches of up to batch_size rows (labels: the targets
        are class labels), or None for the layer-by-layer path."""
        return self._plan(batch_size, True, labels)

    def metric_kind(self):
        """What the predictions are, for fastnn.metrics: "categorical" (class probabilities of
        the categorical losses), "binary" (binary cross-entropy) or None (regression)."""
        if not self.loss.classification:
            return None
        return "categorical" if self._train_loss.takes_labels else "binary"

    def accuracy_mode(self):
        """How raw training outputs become predictions: argmax over classes for the categorical
        losses, a threshold (0 on logits, 0.5 on probabilities) for binary cross-entropy."""
        if self._train_loss.takes_labels:
            return "argmax"
        return "logits" if self._train_loss.output_activation == "sigmoid" else "probabilities"

    def _split(self, X, y, sample_weight, fraction):
        """(the training rows' indices, the validation data (X, y, weights), gathered) of
        validation_split's split of checked (X, y, sample_weight)."""
        from sklearn.model_selection import train_test_split
        labels = y if y.ndim == 1 and self._train_loss.takes_labels else None
        if labels is not None and np.min(np.bincount(labels)[np.unique(labels)]) < 2:
            labels = None  # a class with one sample cannot be stratified
        if self.split_seed is None:  # drawn once: each fit holds out the same rows, as Keras'
            self.split_seed = int(self.rng.integers(2**31))
        parts = train_test_split(np.arange(len(X)), test_size=fraction,
                                 random_state=self.split_seed,
                                 stratify=labels)
        train, val = parts
        if len(train) == 0 or len(val) == 0:
            raise ValueError(
                f"validation_split={fraction} leaves no training or validation samples")
        w = None if sample_weight is None else sample_weight[val]
        X_val = training.gather_rows(X, val, self.dtype)
        if not training.finite(X_val):
            raise ValueError("X contains NaN or infinity")
        return train, (X_val, y[val], w)

    def _inference_rows(self):
        """Rows per chunk of the engine's predict and evaluate."""
        widest = max(layer.n_out for layer in self.layers if isinstance(layer, L.Dense))
        return max(1, min(PREDICT_BATCH, INFERENCE_VALUES // max(widest, self.n_features)))

    def threads_for(self, rows):
        """The BLAS threads for batches of `rows` rows: self.threads, or 1 for small work."""
        dense = [layer for layer in self.layers if isinstance(layer, L.Dense)]
        sizes = [self.n_features] + [layer.n_out for layer in dense]
        return 1 if small_work(rows, sizes) else self.threads

    def _inference_plan(self):
        """The engine plan for predict and evaluate, or None; its buffers hold at most
        INFERENCE_VALUES per layer (PREDICT_BATCH rows at the most), so memory stays bounded
        however large X is."""
        return self._plan(self._inference_rows(), training=False)

    def _outputs(self, X, batch_size, final_activation=None, rows=None, check_x=False):
        """Outputs of the training layers (inference) for all of X (or its rows `rows`), then
        `final_activation` ("softmax", "sigmoid" or None): one engine call, or layer by layer in
        chunks of batch_size rows (default 8192). A float64 X of a float32 network
        (validation.streams), or rows, are gathered and converted chunk by chunk. check_x: check
        each chunk is finite as it is read (ValueError "X contains NaN or infinity")."""
        from fastnn.engine import output_code
        n = len(X) if rows is None else len(rows)
        out = np.empty((n, self.n_outputs), self.dtype)
        plan = None if sparse.is_sparse(X) else self._inference_plan()  # the engine's: dense
        if plan is not None:
            limits = (training.blas_threads(self.threads_for(min(n, self._inference_rows())))
                      if n * self.n_features > THREAD_LIMIT_VALUES else training.NoLimits())
            try:
                if rows is None and X.dtype == self.dtype and not check_x:
                    return plan.predict(X, out, output_code(final_activation), 1)
                step = self._inference_rows()  # the engine's own chunks: the same numbers
                for start in range(0, n, step):
                    chunk = _chunk(X, rows, start, step, self.dtype, check_x)
                    plan.predict(chunk, out[start:start + step], output_code(final_activation), 1)
                return out
            finally:
                limits.unregister()
        step = min(batch_size or PREDICT_BATCH, n)
        for start in range(0, n, step):
            chunk = _chunk(X, rows, start, step, self.dtype, check_x)
            for layer in self._train_layers:
                chunk = layer.forward(chunk, training=False)
            out[start:start + len(chunk)] = chunk
        if final_activation is not None:
            from fastnn import kernels as K
            getattr(K, final_activation + "_forward")(out, out)
        return out

    def _prediction_activation(self):
        if self._fused:  # the final Softmax or Sigmoid, which training fuses into the loss
            return self.layers[-1].kind
        return self.loss.output_activation

    @property
    def prediction_activation(self) -> str | None:
        """What predict applies to the outputs of train_layers.

        "softmax", "sigmoid", "exponential" or None: the loss's output activation, or the
        final Softmax or Sigmoid that trains fused with the loss.
        """
        return self._prediction_activation()

    def predict(self, X: ArrayLike | Any, batch_size: int | None = None) -> np.ndarray:
        """The model's outputs for X, as Keras' Model.predict.

        Class probabilities for the classification losses (softmax or sigmoid applied), values
        for regression. Works through X in bounded chunks (of batch_size rows, if given), so
        memory stays bounded however large X is.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The inputs.
        batch_size : int or None, default=None
            Rows per chunk; None lets the network choose.

        Returns
        -------
        numpy.ndarray
            (n_samples, n_outputs), in the network's dtype.

        Raises
        ------
        ValueError
            If X does not have n_features columns or holds NaN or infinity, or batch_size < 1.

        Examples
        --------
        >>> net = fnn.Network([fnn.Dense(4, 3), fnn.Softmax()], loss="cross_entropy",
        ...                   random_state=0)
        >>> proba = net.predict(np.ones((5, 4)))
        >>> proba.shape
        (5, 3)
        >>> round(float(proba.sum(axis=1).max()), 4)
        1.0
        """
        with self._lock:
            self._refresh()
            plan = self._fast_plan
            if plan is not None and batch_size is None:
                out = plan.predict_fast(X, self._fast_activation)
                if out is not None:
                    return out
            if batch_size is not None:
                batch_size = V.integer("batch_size", batch_size, 1)
            X = V.check_x(self, X, stream=True, finite=False)
            out = self._outputs(X, batch_size, self._prediction_activation(), check_x=True)
            if len(X) <= PREDICT_BATCH:
                from fastnn.engine import output_code
                self._fast_plan = self._inference_plan()  # for the next call's fast path
                self._fast_activation = output_code(self._prediction_activation())
            return out

    def evaluate(self, X: ArrayLike | Any, y: ArrayLike, sample_weight: ArrayLike | None = None,
                 batch_size: int | None = None,
                 metrics: Sequence[str | Callable[[np.ndarray, np.ndarray], float]] | None = None,
                 ) -> dict[str, float]:
        """The loss and metrics on (X, y), as Keras' Model.evaluate (with return_dict=True).

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
            The inputs.
        y : array-like
            The targets, as fit takes them.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Weights per sample of the loss (not of the metrics); None weighs every sample 1.
        batch_size : int or None, default=None
            Rows per chunk; None lets the network choose.
        metrics : sequence of str or callable, or None, default=None
            Names or callables ``metric(y_true, y_pred)`` (see fastnn.metrics), not weighted by
            sample_weight.

        Returns
        -------
        dict
            ``{"loss": the mean loss, "accuracy": ...}``: accuracy for the classification
            losses, and each metric under its name.

        Raises
        ------
        ValueError
            For data that do not fit the network, or an unknown metric.
        TypeError
            For metrics of the wrong type.

        Examples
        --------
        >>> X, y = fnn.datasets.xor()
        >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse", random_state=0)
        >>> scores = net.evaluate(X, y, metrics=["mae"])
        >>> sorted(scores)
        ['loss', 'mae']
        """
        with self._lock:
            self._refresh()
            if batch_size is not None:
                batch_size = V.integer("batch_size", batch_size, 1)
            metrics = M.get(metrics, self.metric_kind())
            data = V.check_xy(self, X, y, sample_weight, stream=True, finite=False)
            return self.evaluate_arrays(*data, batch_size, metrics, check_x=True)

    def evaluate_arrays(self, X, y, sample_weight=None, batch_size=None, metrics=(),
                        check_x=False):
        """evaluate on arrays already checked and converted by fastnn.validation.check_xy (as
        fit's validation data; check_x: X's values not yet, see _outputs); metrics as
        fastnn.metrics.get gives them."""
        with self._lock:
            out = self._outputs(X, batch_size, check_x=check_x)
        result = {"loss": self._mean_loss(out, y, sample_weight)}
        if self.loss.classification:
            result["accuracy"] = accuracy(out, y, self.accuracy_mode())
        if metrics:
            result.update(M.compute(metrics, y, self._predictions(out)))
        return result

    def _mean_loss(self, out, y, sample_weight):
        """The training loss of outputs `out` for targets y: its weighted mean, computed in
        chunks of EVALUATE_ROWS rows (so the loss's gradient is never as long as out), the chunks'
        sums added in double."""
        n = len(out)
        if n <= EVALUATE_ROWS:
            return self._train_loss.compute(out, y, sample_weight)[0]
        grad = np.empty((EVALUATE_ROWS, out.shape[1]), out.dtype)
        total = weights = 0.0
        for start in range(0, n, EVALUATE_ROWS):
            part = slice(start, start + EVALUATE_ROWS)
            rows = min(EVALUATE_ROWS, n - start)
            w = None if sample_weight is None else sample_weight[part]
            size = rows if w is None else float(np.sum(w, dtype=np.float64))
            if size > 0:
                loss, _ = self._train_loss.compute(out[part], y[part], w, grad[:rows])
                total += loss * size
                weights += size
        return total / weights

    def metric_values(self, X, y, metrics, batch_size=None, rows=None):
        """{name: value} of `metrics` (from fastnn.metrics.get) on checked arrays (X, y), or on
        their rows `rows`."""
        with self._lock:
            out = self._outputs(X, batch_size, rows=rows)
        return M.compute(metrics, y if rows is None else y[rows], self._predictions(out))

    def _predictions(self, out):
        """predict's outputs from the training layers' raw outputs `out` (a new array)."""
        activation = self._prediction_activation()
        if activation is None:
            return out.copy()
        return getattr(kernels, activation + "_forward")(out, np.empty_like(out))

    # ---------------------------------------------------------------- inspection

    def __repr__(self):
        layers = ", ".join(map(repr, self.layers))
        return (f"Network([{layers}], loss={self.loss!r}, optimizer={self.optimizer!r}, "
                f"dtype={np.dtype(self.dtype).name!r})")

    def count_params(self) -> int:
        """The number of parameters, trainable and not, of all layers, as Keras' count_params.

        Returns
        -------
        int
            The total number of values in every layer's weights.

        Examples
        --------
        >>> fnn.Network([fnn.Dense(2, 8), fnn.ReLU(), fnn.Dense(8, 3)]).count_params()
        51
        """
        return sum(int(w.size) for layer in self.layers for w in layer.weights)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every layer's arrays, trainable and not, as Keras' get_weights.

        Returns
        -------
        list of numpy.ndarray
            layer.weights of each layer, layer by layer in order: Keras' order (a Dense's W
            then b; a BatchNorm's gamma, beta, running mean and variance).

        Examples
        --------
        >>> net = fnn.Network([fnn.Dense(2, 3), fnn.ReLU(), fnn.Dense(3, 1)], loss="mse")
        >>> [w.shape for w in net.get_weights()]
        [(2, 3), (3,), (3, 1), (1,)]
        """
        with self._lock:
            return [w.copy() for layer in self.layers for w in layer.weights]

    def set_weights(self, weights: Sequence[ArrayLike]) -> None:
        """Write `weights` into the layers' existing arrays, as Keras' set_weights.

        Every one is checked before any is written.

        Parameters
        ----------
        weights : sequence of array-like
            A list (or tuple) in get_weights' order, each of its array's shape, of real
            numbers castable to the network's dtype, only finite values (a running variance
            >= 0).

        Raises
        ------
        TypeError
            If weights is not a list of arrays, or an array's dtype does not cast to the
            network's (naming weights[i]).
        ValueError
            For the wrong number of arrays, a wrong shape, NaN or infinity, or a negative
            variance (naming weights[i]).

        Examples
        --------
        >>> net = fnn.Network([fnn.Dense(2, 1)], loss="mse")
        >>> net.set_weights([np.ones((2, 1)), np.zeros(1)])
        >>> print(net.predict(np.array([[1.0, 2.0]])))
        [[3.]]
        """
        with self._lock:
            self._refresh()
            self.own_arrays()  # read-only arrays (a memory map) become copies first
            inspection.set_weights(self, weights)

    def summary(self, print_fn: Callable[[str], Any] | None = None,
                line_length: int | None = None) -> None:
        """Print a table of the layers, as Keras' Model.summary.

        The table shows each layer, its output shape and parameter count, then the total,
        trainable and non-trainable counts.

        Parameters
        ----------
        print_fn : callable or None, default=None
            Called with each line; None means print.
        line_length : int or None, default=None
            The table's width, at least 40; None means 65.

        Raises
        ------
        TypeError
            If print_fn is not callable.
        ValueError
            If line_length is below 40.

        Examples
        --------
        >>> net = fnn.Network([fnn.Dense(2, 8), fnn.ReLU(), fnn.Dense(8, 3)])
        >>> net.summary()
        Network: loss=SoftmaxCrossEntropy(), optimizer=Adam(...)
        _________________________________________________________________
        Layer (type)                 Output Shape           Param #
        =================================================================
        layers[0] (Dense)            (None, 8)              24
        layers[1] (ReLU)             (None, 8)              0
        layers[2] (Dense)            (None, 3)              27
        =================================================================
        Total params: 51
        Trainable params: 51
        Non-trainable params: 0
        _________________________________________________________________
        """
        self._refresh()
        inspection.summary(self, print_fn, line_length)

    # ---------------------------------------------------------------- files

    def check_save(self):
        """Raise ValueError if save could not write this network, whatever the path (a custom
        layer class or schedule, non-finite values): what save checks before it writes."""
        from fastnn import io
        with self._lock:
            io.checked(self)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network to a .npz file that fastnn.load reads.

        The file holds the layers, their arrays, the loss, the optimizer and its state, and
        the generator's state, so training continues where it stopped. No pickle (loading
        runs no code), and the file appears whole or not at all (written beside it, then
        renamed).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced if it exists).

        Raises
        ------
        ValueError
            If the network cannot be saved (a layer, loss or optimizer that is not one of
            fastnn's own classes, a custom schedule, non-finite values), or path is a
            directory or another non-regular file, or a file with other hard links.
        RuntimeError
            If another save to the same path is under way.
        OSError
            If the file cannot be written.

        Examples
        --------
        >>> import os, tempfile
        >>> net = fnn.Network([fnn.Dense(2, 3), fnn.ReLU(), fnn.Dense(3, 1)], loss="mse",
        ...                   random_state=0)
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "model.npz")
        >>> net.save(path)
        >>> again = fnn.load(path)
        >>> X = np.ones((2, 2))
        >>> bool(np.array_equal(again.predict(X), net.predict(X)))
        True
        >>> tmp.cleanup()
        """
        from fastnn import io
        with self._lock:  # not while a fit in another thread is changing the weights
            io.save(self, path)


def _chunk(X, rows, start, step, dtype, check_x):
    """Up to `step` rows of X from `start` (of its rows `rows`, if given) in dtype, checked to be
    finite if check_x."""
    part = slice(start, start + step)
    chunk = training.gather_rows(X, part if rows is None else rows[part], dtype)
    if check_x and not training.finite(chunk):
        raise ValueError("X contains NaN or infinity")
    return chunk


def load(path: str | os.PathLike[str]) -> Network:
    """Load a Network written by Network.save (see fastnn.io.load).

    Parameters
    ----------
    path : str or os.PathLike
        The model file.

    Returns
    -------
    Network
        The network as it was saved.
    """
    from fastnn import io
    return io.load(path)


def _expand(layers):
    """(the list of layers, each Dense(activation=name) followed by that activation's layer,
    [(dense, name)] of those Dense layers, which then hold none)."""
    expanded, taken = [], []
    for layer in layers:
        expanded.append(layer)
        if isinstance(layer, L.Dense) and getattr(layer, "activation", None) is not None:
            expanded.append(L.activation_layer(layer.activation))
            taken.append((layer, layer.activation))
    for layer, _ in taken:
        layer.activation = None
    return expanded, taken


def _fused_loss(last, loss):
    """The loss training computes on the outputs before a final Softmax or Sigmoid layer when
    `loss` would otherwise apply that activation again or clip its probabilities: Softmax with
    CrossEntropy or SoftmaxCrossEntropy train as SoftmaxCrossEntropy on the logits, Sigmoid
    with BinaryCrossEntropy as binary cross-entropy from the logits. None for other pairs."""
    if isinstance(last, L.Softmax) and isinstance(loss, (losses.CrossEntropy,
                                                         losses.SoftmaxCrossEntropy)):
        return losses.SoftmaxCrossEntropy()
    if (isinstance(last, L.Activation) and last.kind == "sigmoid"
            and isinstance(loss, losses.BinaryCrossEntropy)):
        return losses.BinaryCrossEntropy(from_logits=True, sum_outputs=loss.sum_outputs)
    return None


def _check_no_second_activation(layers, loss):
    """ValueError for a Softmax or Sigmoid whose loss applies it again, followed by layers
    that fuse would have to look past (Identity, Dropout): end the layers with it instead."""
    i = len(layers) - 1
    while i > 0 and (isinstance(layers[i], L.Dropout) or
                     isinstance(layers[i], L.Activation) and layers[i].kind == "identity"):
        i -= 1
    if i < len(layers) - 1 and _fused_loss(layers[i], loss) is not None:
        raise ValueError(f"layers[{i}] is a {type(layers[i]).__name__}, which trains fused "
                         f"with the loss {loss!r} only as the last layer (else the loss applies "
                         f"it again, or clips its probabilities), and only "
                         f"{type(layers[-1]).__name__} layers follow it: make it the last "
                         f"layer (applied once, at prediction)")


def _check_probabilities_in(last, loss):
    """ValueError for a loss on probabilities after a fastnn layer whose outputs are not (a
    Dense, say): it would train on them without a word, to garbage."""
    binary = isinstance(loss, losses.BinaryCrossEntropy) and not loss.from_logits
    if not (binary or isinstance(loss, losses.CrossEntropy)):
        return
    if type(last) not in L.LAYERS.values() or (
            isinstance(last, L.Activation) and last.kind in ("softmax", "sigmoid")):
        return
    end, logits = (("Sigmoid() (or activation=\"sigmoid\" on the last Dense)",
                    "BinaryCrossEntropy(from_logits=True) (\"binary_cross_entropy\")") if binary
                   else ("Softmax() (or activation=\"softmax\" on the last Dense)",
                         "\"softmax_cross_entropy\""))
    raise ValueError(f"the loss {loss!r} takes probabilities, but the last layer, "
                     f"{type(last).__name__}, does not make them: end the layers with {end}, or "
                     f"use the loss {logits}, which takes the raw outputs (logits)")


_float_dtype = V.float_dtype
