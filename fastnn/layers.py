"""Layers: Python objects that hold parameters and call the compiled kernels.

Each layer has forward(x, training=False) -> output and backward(grad) -> gradient w.r.t. its
input, computed from what forward kept. Output buffers are reused while the batch shape stays
the same, so a training loop allocates nothing per batch once it is running.
"""
from __future__ import annotations

import inspect
import textwrap
import zlib
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from fastnn import _kernels, initializers, registry
from fastnn import kernels as K
from fastnn import reference as R
from fastnn import sparse as S
from fastnn import validation as V
from fastnn.tracking import Tracked

_activations = _kernels.load("activations")  # its internal forward_factor and backward_factor


class Layer(Tracked):
    """Base class of the layers: forward(x, training) and backward(grad), and the arrays it holds.

    A layer's forward keeps what its backward needs; its parameters() and gradients() are
    what an optimizer steps, in the same order. `needs_input_grad` is set False on a network's
    first layer: nobody uses that gradient, so backward skips it.

    Changing a public attribute of a layer (its settings, its parameter arrays) makes the
    networks holding it recompile their plans before their next call (see fastnn.tracking).

    A layer of your own subclasses Layer and defines ``forward(x, training=False)`` (the
    output, keeping what backward needs), ``backward(grad)`` (the gradient of its input,
    filling its own gradients) and, if it has parameters, ``parameters()`` and
    ``gradients()`` in the same order. A network with one runs layer by layer; it cannot be
    saved (fastnn.load would have to run its code) or exported without
    fastnn.onnx.register_layer.

    Examples
    --------
    >>> layer = fnn.Dense(3, 2, random_state=0)
    >>> isinstance(layer, fnn.Layer)
    True
    >>> [p.shape for p in layer.parameters()], len(layer.weights)
    ([(3, 2), (2,)], 2)
    >>> layer.config()
    {'n_in': 3, 'n_out': 2, 'init': None, 'l2': 0.0}
    """

    needs_input_grad = True
    # What forward keeps for backward, and the output buffers reused while the batch's shape
    # stays: a pickled or copied layer leaves them out (None, as before a first forward).
    _SCRATCH = ("_x", "_y", "_factor", "_xhat", "_mask", "_out", "_dx", "_factor_buffer",
                "_inv_std", "_xhat_buffer", "_scale")
    # gradient -> its parameter: pickled as nothing, unpickled as zeros (as a new layer's)
    _GRADIENTS = {}

    def __getstate__(self):
        return {name: None if name in self._SCRATCH else value
                for name, value in self.__dict__.items() if name not in self._GRADIENTS}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for grad, param in self._GRADIENTS.items():
            self.__dict__[grad] = np.zeros_like(state[param])

    takes_sparse = False  # whether forward takes a fastnn.sparse.CSR (a network's first layer)

    def parameters(self) -> list[np.ndarray]:
        """The arrays an optimizer steps (Dense's W and b), the arrays themselves.

        Returns
        -------
        list of ndarray
            In the order of gradients(); [] for a layer without parameters.
        """
        return []

    def gradients(self) -> list[np.ndarray]:
        """The gradients of parameters(), which backward writes in place.

        Returns
        -------
        list of ndarray
            One per parameter, of its shape and dtype.
        """
        return []

    def buffers(self) -> list[np.ndarray]:
        """Arrays training changes that are not parameters (BatchNorm's running statistics).

        They are saved, and put back with the parameters by a rollback.

        Returns
        -------
        list of ndarray
            The arrays themselves; [] for most layers.
        """
        return []

    @classmethod
    def buffer_shapes(cls, config):
        """The shapes of buffers() for a layer built from `config` (from_arrays takes them
        after the parameters)."""
        return []

    @property
    def weights(self) -> list[np.ndarray]:
        """The layer's arrays, as Keras' layer.weights.

        Its parameters, then its non-trainable arrays (the arrays themselves, not copies).
        """
        return self.parameters() + self.non_trainable_weights

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """Arrays the layer keeps that training does not step: its buffers()."""
        return self.buffers()

    def penalties(self):
        """L2 strength per parameter (see Dense's l2)."""
        return [0.0] * len(self.parameters())

    def config(self) -> dict[str, object]:
        """The constructor's arguments, JSON-serializable (used by Network.save).

        Returns
        -------
        dict
            Argument name to value; the layer's class and config rebuild it (but its dtype,
            which the network sets).
        """
        return {}

    @classmethod
    def parameter_shapes(cls, config):
        """The shapes of the parameters a layer built from `config` has (load compares them with
        a file's arrays before allocating any)."""
        return []

    @classmethod
    def from_arrays(cls, config, arrays, dtype):
        """A layer built from `config` holding `arrays` (of parameter_shapes) as its parameters."""
        return cls(**config)

    def check(self, where="layer"):
        """Raise ValueError if a setting changed since construction is no longer valid (a
        network checks its layers again before the next call)."""

    def cast(self, dtype):
        """Convert the parameters (and their gradients) to `dtype` in place of the old arrays."""

    def _buffer(self, name, shape, dtype):
        buf = self.__dict__.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = np.empty(shape, dtype)
            setattr(self, name, buf)
        return buf

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer: y = x @ W + b, W of shape (n_in, n_out).

    As keras.layers.Dense and torch.nn.Linear (whose weight is W transposed). forward takes
    dense rows or a fastnn.sparse.CSR (a network's sparse input, for which backward computes
    dW and db and no input gradient).

    Parameters
    ----------
    n_in, n_out : int
        Input and output features, >= 1.
    init : str or callable or None, default None
        An initializer's name (fastnn.initializers: "he", "glorot", "lecun", Keras'
        "he_uniform", "glorot_normal", "zeros", ...) or a function (rng, n_in, n_out, dtype)
        -> W. None picks he when the next layer is ReLU-like, glorot otherwise (decided by the
        Network; standalone, glorot).
    random_state : int or numpy.random.Generator or None, default None
        Seeds W. Without one, a Network that takes this layer draws W anew from its own
        generator (so Network(random_state=...) decides every weight); a layer given a
        random_state, initialized by you, whose W or b you set, or that a network already
        holds keeps its weights.
    dtype : str or numpy.dtype, default "float32"
        Of W and b; a Network converts them to its own.
    l2 : float, default 0.0
        L2 penalty on W (>= 0), scikit-learn's `alpha`: each training step adds 0.5 * l2 *
        ||W||^2 to the batch's summed loss, so the mean loss gains it divided by the batch's
        size (or sum of sample weights), and the optimizer decays W by l2 / that size. b is
        not penalized.
    activation : str or None, default None
        Keras' shorthand, an activation's name ("relu", "softmax", "gelu", ...; see
        fastnn.layers.ACTIVATION_NAMES): a Network puts that activation layer right after
        this one in its list of layers (so network.layers shows it, and it trains fused in
        the engine); used alone, forward and backward apply it.

    Attributes
    ----------
    W : ndarray of shape (n_in, n_out)
    b : ndarray of shape (n_out,)
        0 at first.
    dW, db : ndarray
        Their gradients, written by backward.

    Raises
    ------
    ValueError
        If n_in or n_out is not an integer >= 1, l2 not a finite number >= 0, init or
        activation an unknown name, or the initializer returns a W of another shape or with
        NaN or infinity.

    Examples
    --------
    >>> layer = fnn.Dense(3, 2, random_state=0)
    >>> y = layer.forward(np.ones((4, 3), dtype=np.float32))
    >>> y.shape, layer.W.shape
    ((4, 2), (3, 2))
    >>> net = fnn.Network([fnn.Dense(3, 8, activation="relu"), fnn.Dense(8, 1)])
    >>> [type(layer).__name__ for layer in net.layers]
    ['Dense', 'ReLU', 'Dense']
    """

    _GRADIENTS = {"dW": "W", "db": "b"}
    takes_sparse = True

    def __init__(self, n_in: int, n_out: int,
                 init: str | Callable[..., np.ndarray] | None = None,
                 random_state: int | np.random.Generator | None = None,
                 dtype: DTypeLike = "float32", l2: float = 0.0,
                 activation: str | None = None) -> None:
        self._configure(n_in, n_out, init, l2, activation)
        self.initialize(np.random.default_rng(random_state), dtype)
        # nobody chose these weights: a network draws them from its generator instead
        self._unchosen = None if random_state is not None else self._fingerprint()

    def _configure(self, n_in, n_out, init, l2, activation=None):
        self.n_in, self.n_out = V.integer("n_in", n_in, 1), V.integer("n_out", n_out, 1)
        self.l2 = V.real("l2", l2, 0)
        if init is not None:
            initializers.get(init)  # fail early on an unknown name
        self.init = init
        if activation is not None:
            activation_layer(activation)  # likewise
        self.activation = activation

    def _fingerprint(self):
        """Which arrays W and b are and what they hold."""
        return id(self.W), id(self.b), zlib.crc32(self.W), zlib.crc32(self.b)

    def weights_unchosen(self):
        """Whether W and b are still the ones the constructor drew without a random_state."""
        return getattr(self, "_unchosen", None) is not None and (
            isinstance(self.W, np.ndarray) and isinstance(self.b, np.ndarray)
            and self.W.flags.c_contiguous and self.b.flags.c_contiguous
            and self._fingerprint() == self._unchosen)

    def check(self, where="layer"):
        V.integer(f"{where}.n_in", self.n_in, 1), V.integer(f"{where}.n_out", self.n_out, 1)
        V.real(f"{where}.l2", self.l2, 0)

    @classmethod
    def parameter_shapes(cls, config):
        n_in, n_out = V.integer("n_in", config["n_in"], 1), V.integer("n_out", config["n_out"], 1)
        return [(n_in, n_out), (n_out,)]

    @classmethod
    def from_arrays(cls, config, arrays, dtype):
        layer = cls.__new__(cls)
        layer._configure(**config)
        layer.W, layer.b = arrays
        layer.dW, layer.db = np.zeros_like(layer.W), np.zeros_like(layer.b)
        return layer

    def initialize(self, rng, dtype, init=None):
        """(Re)draw W with `init` (default: this layer's own, else glorot), b = 0, in `dtype`."""
        dtype = V.float_dtype(dtype)
        make = initializers.get(init or self.init or "glorot")
        W = V.real_array("the initializer's W", make(rng, self.n_in, self.n_out, dtype))
        if W.shape != (self.n_in, self.n_out):
            raise ValueError(f"the initializer returned W of shape {W.shape}, but a Dense("
                             f"{self.n_in}, {self.n_out}) needs ({self.n_in}, {self.n_out})")
        self.W = np.ascontiguousarray(W, dtype=dtype)
        if not K.all_finite(self.W):
            raise ValueError("the initializer returned W with NaN or infinity")
        self.b = np.zeros(self.n_out, dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self._unchosen = None

    def cast(self, dtype):
        self.W, self.b, self.dW, self.db = (a.astype(dtype)
                                            for a in (self.W, self.b, self.dW, self.db))

    def forward(self, x: np.ndarray | S.CSR, training: bool = False) -> np.ndarray:
        """The layer's output, x @ W + b (then the activation, if given, used alone).

        Parameters
        ----------
        x : ndarray of shape (n, n_in) or fastnn.sparse.CSR
            C-contiguous rows of W's dtype (the compiled kernel checks them), or sparse rows.
        training : bool, default False
            Passed to the activation, if any.

        Returns
        -------
        ndarray of shape (n, n_out)
            A buffer of the layer's, reused by the next forward of the same shape.

        Raises
        ------
        TypeError, ValueError
            If x's dtype, shape or layout does not fit W (from the kernel).
        """
        self._x = x
        out = self._buffer("_out", (x.shape[0], self.n_out), self.W.dtype)
        if isinstance(x, S.CSR):  # sparse rows: a network's input (fastnn.sparse)
            out = S.sparse_dense_forward(x.indptr, x.indices, x.data, self.W, self.b, out)
        else:
            out = K.dense_forward(x, self.W, self.b, out)
        if self.activation is not None:  # alone; a network has put it in a layer of its own
            if getattr(self, "_activation_of", None) != self.activation:  # made once
                self._activation_layer = activation_layer(self.activation)
                self._activation_of = self.activation
            out = self._activation_layer.forward(out, training)
        return out

    def backward(self, grad: np.ndarray) -> np.ndarray | None:
        """Gradients from the last forward's input: dW and db in place, and the input's.

        Parameters
        ----------
        grad : ndarray of shape (n, n_out)
            The loss's gradient w.r.t. this layer's output.

        Returns
        -------
        ndarray of shape (n, n_in) or None
            The gradient w.r.t. the input; None when needs_input_grad is False or the input
            was sparse.

        Raises
        ------
        ValueError
            If the input was sparse but the layer is not a network's first.
        """
        if self.activation is not None:
            grad = self._activation_layer.backward(grad)
        x = self._x
        if isinstance(x, S.CSR):  # the network's input: no gradient w.r.t. it
            if self.needs_input_grad:
                raise ValueError("sparse input is a network's input: the Dense taking it must "
                                 "be the first layer (no gradient w.r.t. sparse rows)")
            S.sparse_weight_gradient(x.indptr, x.indices, x.data, grad, self.dW, self.db)
            return None
        dx = self._buffer("_dx", x.shape, self.W.dtype) if self.needs_input_grad else None
        return K.dense_backward(x, self.W, grad, self.dW, self.db, dx)

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.dW, self.db]

    def penalties(self):
        return [self.l2, 0.0]

    def config(self) -> dict[str, object]:
        init = self.init if isinstance(self.init, str) or self.init is None else "custom"
        config = {"n_in": self.n_in, "n_out": self.n_out, "init": init, "l2": self.l2}
        if self.activation is not None:
            config["activation"] = self.activation
        return config


class Activation(Layer):
    """An element-wise (or, for softmax, row-wise) activation; `kind` names the kernel pair and
    its fastnn.registry.ACTIVATIONS entry. The classes below are made from that table: an
    entry's hyperparameter is a constructor argument (passed to the kernels as alpha), and
    one whose derivative needs the input keeps the input from forward."""

    kind = None
    _entries = {}  # option value -> registry entry, for the classes with an option

    @property
    def entry(self):
        return registry.activation(self.kind)

    @property
    def alpha_argument(self):
        """What the kernels take as alpha: the value of the entry's hyperparameter, else 0."""
        hyper = self.entry.hyper
        return 0.0 if hyper is None else getattr(self, hyper.name)

    def _extra(self):
        return () if self.entry.hyper is None else (self.alpha_argument,)

    def forward(self, x, training=False):
        out = self._buffer("_out", x.shape, x.dtype)
        entry = self.entry
        self._factor = None
        if training and entry.factor:  # f'(x) with the value, as the engine: backward is dy * f'
            self._factor = self._buffer("_factor_buffer", x.shape, x.dtype)
            self._y = _activations.forward_factor(self.kind, x, out, self._factor,
                                                  self.alpha_argument)
        else:
            self._y = getattr(K, self.kind + "_forward")(x, out, *self._extra())
            if entry.from_input:
                self._x = x
        return self._y

    def backward(self, grad):
        dx = self._buffer("_dx", grad.shape, grad.dtype)
        if getattr(self, "_factor", None) is not None:
            return _activations.backward_factor(self._factor, grad, dx)
        saved = self._x if self.entry.from_input else self._y
        return getattr(K, self.kind + "_backward")(saved, grad, dx, *self._extra())


def _activation_class(name, entries):
    """The Activation subclass `name` for its registry entries (several: told apart by the
    constructor argument of their `option`, the first one being the default)."""
    first = entries[0]
    hyper, option = first.hyper, first.option
    namespace = {"__module__": __name__, "__qualname__": name, "kind": first.name,
                 "__doc__": _activation_doc(name, entries)}
    if hyper is not None:
        def __init__(self, **kwargs):
            value = kwargs.pop(hyper.name, hyper.default)
            if kwargs:
                raise TypeError(f"{name}() got an unexpected keyword argument "
                                f"{next(iter(kwargs))!r}")
            setattr(self, hyper.name, V.real(hyper.name, value, hyper.low, hyper.high))

        def check(self, where="layer"):
            V.real(f"{where}.{hyper.name}", getattr(self, hyper.name), hyper.low, hyper.high)

        namespace.update(__init__=_positional(__init__, hyper.name, hyper.default, "float"),
                         check=check,
                         config=lambda self: {hyper.name: getattr(self, hyper.name)})
    elif option is not None:
        arg = option[0]
        choices = {entry.option[1]: entry for entry in entries}

        def _choice(where, value):
            if not isinstance(value, str) or value not in choices:
                raise ValueError(f"{where} must be one of {sorted(choices)}, got {value!r}")
            return value

        def __init__(self, **kwargs):
            value = kwargs.pop(arg, first.option[1])
            if kwargs:
                raise TypeError(f"{name}() got an unexpected keyword argument "
                                f"{next(iter(kwargs))!r}")
            setattr(self, arg, _choice(arg, value))

        namespace.update(
            __init__=_positional(__init__, arg, first.option[1], "str"),
            check=lambda self, where="layer": _choice(f"{where}.{arg}", getattr(self, arg)),
            config=lambda self: {arg: getattr(self, arg)},
            kind=property(lambda self: choices[_choice(f"{name}.{arg}", getattr(self, arg))].name,
                          doc="the kernel pair"),
            _entries=choices)
    return type(name, (Activation,), namespace)


def _positional(init, arg, default, annotation):
    """init(self, **kwargs) taking `arg` positionally too, as a hand-written __init__ would, with
    the signature (and type hint) of one: (self, arg: annotation = default) -> None."""
    def __init__(self, *args, **kwargs):
        if len(args) > 1:
            raise TypeError(f"{type(self).__name__}() takes at most 1 positional argument")
        if args:
            if arg in kwargs:
                raise TypeError(f"{type(self).__name__}() got multiple values for {arg!r}")
            kwargs[arg] = args[0]
        init(self, **kwargs)
    __init__.__doc__ = f"{arg}: default {default!r} (see the class's docstring)."
    __init__.__annotations__ = {arg: annotation, "return": "None"}
    __init__.__signature__ = inspect.Signature([
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter(arg, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                          annotation=annotation)], return_annotation="None")
    return __init__


_EXAMPLE_INPUT = [[-2.0, -0.5, 0.5, 2.0]]


def _example_output(entry):
    """The Examples' output: forward of _EXAMPLE_INPUT with the default hyperparameter, by the
    kernel's NumPy twin in fastnn.reference, rounded to 4 digits."""
    x = np.array(_EXAMPLE_INPUT)
    alpha = () if entry.hyper is None else (entry.hyper.default,)
    out = getattr(R, entry.name + "_forward")(x, np.empty_like(x), *alpha)
    return [round(float(v), 4) + 0.0 for v in out[0]]  # + 0.0: no -0.0


def _wrap(text, indent=4):
    return textwrap.fill(text, 96, initial_indent=" " * indent, subsequent_indent=" " * indent)


def _activation_doc(name, entries):
    """The numpydoc docstring of the activation layer `name` made from its registry entries:
    the formula (the kernels' docstrings), Parameters (the hyperparameter's doc, type, default
    and interval, or the option's values), Raises, Notes and an Example computed by the
    reference."""
    first = entries[0]
    how = "row by row of a 2-D input" if first.rowwise else "elementwise"
    lines = [f"The {name} activation, {how}: {first.forward}", ""]
    text = (f"Backward: {first.backward} An activation is a layer of its own in a Network's "
            f"list (as Keras' and torch's), or Dense(..., activation={first.name!r})'s shorthand"
            + (f"; the estimators' activation={first.sklearn!r}" if first.sklearn else "")
            + f". The Dense before it defaults to the {first.init!r} initializer.")
    lines += [_wrap(text, 0), ""]
    if first.hyper is not None:
        h = first.hyper
        lines += ["Parameters", "----------", f"{h.name} : float, default {h.default!r}",
                  _wrap(f"{h.doc} A finite number {h.interval}.".strip()),
                  "", "Raises", "------", "ValueError",
                  f"    If {h.name} is not a finite number {h.interval}.", "TypeError",
                  "    If given another argument.", ""]
    if first.option is not None:
        arg = first.option[0]
        values = ", ".join(repr(e.option[1]) for e in entries)
        lines += ["Parameters", "----------",
                  f"{arg} : {{{values}}}, default {first.option[1]!r}",
                  "    Which formula:", ""]
        lines += [textwrap.fill(f"{e.option[1]!r}: {e.forward}", 96, initial_indent="    - ",
                                subsequent_indent=" " * 6) for e in entries]
        lines += ["", "Raises", "------", "ValueError", f"    If {arg} is not one of {values}.",
                  "TypeError", "    If given another argument.", ""]
    if first.note:
        lines += ["Notes", "-----", _wrap(first.note, 0), ""]
    lines += ["Examples", "--------", f">>> layer = fnn.{name}()",
              f">>> y = layer.forward(np.array({_EXAMPLE_INPUT}))",
              ">>> print([round(float(v), 4) + 0.0 for v in y[0]])", str(_example_output(first)),
              f">>> net = fnn.Network([fnn.Dense(4, 8), fnn.{name}(), fnn.Dense(8, 1)])",
              ">>> net.predict(np.ones((5, 4))).shape", "(5, 1)", ""]
    return "\n".join(lines)


_BY_LAYER = {}
for _entry in registry.ACTIVATIONS:
    _BY_LAYER.setdefault(_entry.layer, []).append(_entry)
globals().update({_name: _activation_class(_name, _entries)
                  for _name, _entries in _BY_LAYER.items()})


class Dropout(Layer):
    """Inverted dropout, as keras.layers.Dropout and torch.nn.Dropout.

    In training, zero each input with probability `rate` and scale the rest by 1 / (1 -
    rate); at inference, the identity. The random numbers come from a counter-based stream
    (`state` = uint64 [key, counter]) that the compiled training engine shares.

    Parameters
    ----------
    rate : float
        The probability of zeroing an input, in [0, 1).
    random_state : int or numpy.random.Generator or None, default None
        Seeds the stream. Without one, a Network that takes the layer seeds it from its own
        generator.

    Attributes
    ----------
    state : ndarray of 2 uint64
        The stream's key and counter.

    Raises
    ------
    ValueError
        If rate is not a number in [0, 1).

    Examples
    --------
    >>> layer = fnn.Dropout(0.5, random_state=0)
    >>> x = np.ones((1000, 4))
    >>> y = layer.forward(x, training=True)
    >>> sorted(set(y.ravel().tolist()))
    [0.0, 2.0]
    >>> layer.forward(x) is x
    True
    """

    def __init__(self, rate: float,
                 random_state: int | np.random.Generator | None = None) -> None:
        self.rate = V.real("rate", rate, 0, 1)
        self.seed(np.random.default_rng(random_state))
        self._unchosen = None if random_state is not None else (self.state, self.state.copy())
        self._mask = None

    def seed_unchosen(self):
        """Whether the stream is still the one the constructor seeded without a random_state."""
        unchosen = getattr(self, "_unchosen", None)
        return (unchosen is not None and self.state is unchosen[0]
                and np.array_equal(self.state, unchosen[1]))

    def check(self, where="layer"):
        V.real(f"{where}.rate", self.rate, 0, 1)

    def seed(self, rng):
        self.state = np.array([rng.integers(2**63), 0], dtype=np.uint64)
        self._unchosen = None

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self._mask = None
            return x
        out = self._buffer("_out", x.shape, x.dtype)
        mask = self._buffer("_mask", x.shape, x.dtype)
        return K.dropout_forward(x, out, mask, self.rate, self.state)

    def backward(self, grad):
        return grad if self._mask is None else grad * self._mask

    def config(self) -> dict[str, object]:
        return {"rate": self.rate}


BATCH_OF_ONE = ("BatchNorm in training needs batches of at least 2 rows (a batch's variance), "
                "got a batch of 1: train on 2 or more rows at a time")


class _Normalization(Layer):
    """What BatchNorm and LayerNorm share: `n` features, `eps`, the learnable scale gamma (1 at
    first) and shift beta (0), which the optimizer updates and L2 leaves alone, and their
    gradients. Forward keeps xhat and inv_std for the closed-form backward."""

    buffer_names = ()  # the attributes buffers() returns
    _GRADIENTS = {"dgamma": "gamma", "dbeta": "beta"}

    def __init__(self, n, eps=1e-5, dtype="float32"):
        self._configure(n, eps)
        self.initialize(dtype)

    def _configure(self, n, eps):
        self.n = V.integer("n", n, 1)
        self.eps = V.real("eps", eps, 0, low_open=True)

    def check(self, where="layer"):
        V.integer(f"{where}.n", self.n, 1)
        V.real(f"{where}.eps", self.eps, 0, low_open=True)

    def initialize(self, dtype):
        """gamma = 1, beta = 0 (and the running statistics at their start) in `dtype`."""
        dtype = V.float_dtype(dtype)
        self.gamma, self.beta = np.ones(self.n, dtype), np.zeros(self.n, dtype)
        self.dgamma, self.dbeta = np.zeros(self.n, dtype), np.zeros(self.n, dtype)

    @classmethod
    def parameter_shapes(cls, config):
        n = V.integer("n", config["n"], 1)
        return [(n,), (n,)]

    @classmethod
    def from_arrays(cls, config, arrays, dtype):
        layer = cls.__new__(cls)
        layer._configure(**config)
        layer.gamma, layer.beta = arrays[:2]
        layer.dgamma, layer.dbeta = np.zeros_like(layer.gamma), np.zeros_like(layer.beta)
        return layer

    def cast(self, dtype):
        for name in ("gamma", "beta", "dgamma", "dbeta") + tuple(self.buffer_names):
            setattr(self, name, getattr(self, name).astype(dtype))

    def parameters(self):
        return [self.gamma, self.beta]

    def gradients(self):
        return [self.dgamma, self.dbeta]

    def _input_grad(self, grad):
        return self._buffer("_dx", grad.shape, grad.dtype) if self.needs_input_grad else None


class BatchNorm(_Normalization):
    """Batch normalization of dense features, as torch.nn.BatchNorm1d.

    In training, each feature is normalized by the batch's mean and biased variance, then
    scaled by gamma and shifted by beta (learnable); running_mean and running_var follow the
    batches as torch's do, running = (1 - momentum) * running + momentum * batch statistic, the
    variance's being the unbiased one. At inference the running statistics normalize. Batch
    statistics ignore sample weights (as torch and Keras). A training batch needs at least 2
    rows: fit refuses a batch_size that leaves a last batch of 1 row.

    Parameters
    ----------
    n : int
        Features (the n_out of the Dense before it), >= 1.
    momentum : float, default 0.1
        In [0, 1]: how far each batch moves the running statistics (torch's convention).
    eps : float, default 1e-5
        Added to the variance, > 0.
    dtype : str or numpy.dtype, default "float32"
        Of the arrays; a Network sets its own.

    Attributes
    ----------
    gamma, beta : ndarray of shape (n,)
        The learnable scale (1 at first) and shift (0).
    running_mean, running_var : ndarray of shape (n,)
        0 and 1 at first.

    Raises
    ------
    ValueError
        If n is not an integer >= 1, momentum not in [0, 1] or eps not > 0; from forward in
        training, if the batch has fewer than 2 rows.

    See Also
    --------
    BatchNormalization : The same layer with Keras' names and defaults.

    Examples
    --------
    >>> layer = fnn.BatchNorm(2, dtype="float64")
    >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
    >>> y = layer.forward(x, training=True)
    >>> print(y.round(4).tolist())
    [[-1.0, -1.0], [1.0, 1.0]]
    >>> print([round(float(v), 4) for v in layer.running_mean])
    [0.2, 2.0]
    """

    buffer_names = ("running_mean", "running_var")

    def __init__(self, n: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: DTypeLike = "float32") -> None:
        self._configure(n, momentum, eps)
        self.initialize(dtype)

    def _configure(self, n, momentum=0.1, eps=1e-5):
        super()._configure(n, eps)
        self.momentum = V.real("momentum", momentum, 0, 1, high_open=False)

    def check(self, where="layer"):
        super().check(where)
        V.real(f"{where}.momentum", self.momentum, 0, 1, high_open=False)

    def initialize(self, dtype):
        super().initialize(dtype)
        self.running_mean, self.running_var = np.zeros(self.n, dtype), np.ones(self.n, dtype)

    @classmethod
    def buffer_shapes(cls, config):
        n = V.integer("n", config["n"], 1)
        return [(n,), (n,)]

    @classmethod
    def from_arrays(cls, config, arrays, dtype):
        layer = super().from_arrays(config, arrays, dtype)
        layer.running_mean, layer.running_var = arrays[2:]
        layer.check_statistics("a BatchNorm's")
        return layer

    def check_statistics(self, where):
        """ValueError unless the running statistics are finite and running_var >= 0 (what
        save, load and training each require); `where` names the layer."""
        if not (K.all_finite(self.running_mean) and K.all_finite(self.running_var)):
            raise ValueError(f"{where} running statistics hold NaN or infinity")
        if np.any(self.running_var < 0):
            raise ValueError(f"{where} running_var must be >= 0 (a variance)")

    def buffers(self):
        return [self.running_mean, self.running_var]

    def forward(self, x, training=False):
        out = self._buffer("_out", x.shape, x.dtype)
        if not training:
            self._x = x
            self._xhat = None
            return K.batch_norm_inference(x, self.gamma, self.beta, self.running_mean,
                                          self.running_var, out, self.eps)
        if len(x) < 2:
            raise ValueError(BATCH_OF_ONE)
        self._xhat = self._buffer("_xhat_buffer", x.shape, x.dtype)
        self._inv_std = self._buffer("_inv_std", (self.n,), x.dtype)
        return K.batch_norm_forward(x, self.gamma, self.beta, out, self._xhat, self._inv_std,
                                    self.running_mean, self.running_var, self.momentum, self.eps)

    def backward(self, grad):
        dx = self._input_grad(grad)
        if self._xhat is not None:
            return K.batch_norm_backward(self._xhat, self._inv_std, self.gamma, grad,
                                         self.dgamma, self.dbeta, dx)
        # after an inference forward, an affine map of x (gradcheck runs it)
        inv = 1.0 / np.sqrt(self.running_var.astype(np.float64) + self.eps)
        xhat = (self._x - self.running_mean) * inv
        self.dgamma[...], self.dbeta[...] = (grad * xhat).sum(axis=0), grad.sum(axis=0)
        if dx is not None:
            dx[...] = grad * (self.gamma * inv)
        return dx

    def config(self) -> dict[str, object]:
        return {"n": self.n, "momentum": self.momentum, "eps": self.eps}


def BatchNormalization(n: int, momentum: float = 0.99, epsilon: float = 1e-3,
                       dtype: DTypeLike = "float32") -> BatchNorm:
    """BatchNorm with Keras' names and defaults (keras.layers.BatchNormalization).

    Keras' `momentum` is the share of the running statistics kept, so momentum=0.99 is
    BatchNorm's (torch's) momentum 0.01. Unlike Keras, the running variance follows torch's:
    from the unbiased batch variance.

    Parameters
    ----------
    n : int
        Features (the n_out of the Dense before it), >= 1.
    momentum : float, default 0.99
        In [0, 1]: the share of the running statistics each batch keeps.
    epsilon : float, default 1e-3
        Added to the variance, > 0.
    dtype : str or numpy.dtype, default "float32"
        Of the arrays; a Network sets its own.

    Returns
    -------
    BatchNorm
        With momentum 1 - `momentum` (saved and shown as a BatchNorm).

    Raises
    ------
    ValueError
        If momentum is not in [0, 1], or as BatchNorm.

    Examples
    --------
    >>> layer = fnn.BatchNormalization(4)
    >>> layer
    BatchNorm(n=4, momentum=0.01, eps=0.001)
    """
    keep = V.real("momentum", momentum, 0, 1, high_open=False)
    # the shortest decimal of 1 - keep: Keras' 0.99 is torch's 0.01, not 0.010000000000000009
    return BatchNorm(n, momentum=float(f"{1.0 - keep:.15g}"), eps=epsilon, dtype=dtype)


class LayerNorm(_Normalization):
    """Layer normalization over the features of each row, as torch.nn.LayerNorm(n).

    Each row is normalized by its own mean and biased variance, scaled by gamma and shifted
    by beta (learnable, elementwise affine); the same in training and at inference.

    Parameters
    ----------
    n : int
        Features (the n_out of the Dense before it), >= 1.
    eps : float, default 1e-5
        Added to the variance, > 0.
    dtype : str or numpy.dtype, default "float32"
        Of the arrays; a Network sets its own.

    Attributes
    ----------
    gamma, beta : ndarray of shape (n,)
        The learnable scale (1 at first) and shift (0).

    Raises
    ------
    ValueError
        If n is not an integer >= 1 or eps not > 0.

    Examples
    --------
    >>> layer = fnn.LayerNorm(3, dtype="float64")
    >>> y = layer.forward(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]]))
    >>> print(y.round(4).tolist())
    [[-1.2247, 0.0, 1.2247], [-0.7071, -0.7071, 1.4142]]
    """

    def __init__(self, n: int, eps: float = 1e-5, dtype: DTypeLike = "float32") -> None:
        super().__init__(n, eps, dtype)

    def forward(self, x, training=False):
        out = self._buffer("_out", x.shape, x.dtype)
        self._xhat = self._buffer("_xhat_buffer", x.shape, x.dtype)
        self._inv_std = self._buffer("_inv_std", (len(x),), x.dtype)
        return K.layer_norm_forward(x, self.gamma, self.beta, out, self._xhat, self._inv_std,
                                    self.eps)

    def backward(self, grad):
        return K.layer_norm_backward(self._xhat, self._inv_std, self.gamma, grad, self.dgamma,
                                     self.dbeta, self._input_grad(grad))

    def config(self) -> dict[str, object]:
        return {"n": self.n, "eps": self.eps}


class Normalization(Layer):
    """Standardize features with fixed statistics, as keras.layers.Normalization (axis=-1).

    out = (x - mean) / scale, or x * scale + mean with invert=True (back to the original units:
    a regressor's last layer). scale = sqrt(variance), and 1 where the variance is 0 (a constant
    feature, as scikit-learn's StandardScaler; Keras divides by epsilon there). Training does
    not change the statistics; `adapt(X)` sets them from data. A network with one trains and
    predicts layer by layer (not in the fused engine).

    Parameters
    ----------
    n : int or None, default None
        Features; taken from `mean` when not given (or from the data, by adapt).
    mean, variance : array-like of shape (n,) or None, default None
        Finite; variance >= 0. Without them, 0 and 1 (the identity) until adapt; with
        neither nor n, the layer has no statistics until adapt.
    invert : bool, default False
        Map standardized values back: x * scale + mean.
    dtype : str or numpy.dtype or None, default None
        Of the statistics (float32 or float64): float64 unless given, until a Network
        converts them to its own.

    Attributes
    ----------
    mean, variance : ndarray of shape (n,) or None
        None until adapt, when given neither.
    scale : ndarray of shape (n,)
        sqrt(variance), 1 where the variance is 0.

    Raises
    ------
    ValueError
        If dtype is not float32 or float64, n not an integer >= 1, or the statistics not
        finite arrays of shape (n,) (variance >= 0).
    TypeError
        If invert is not a bool.

    Examples
    --------
    >>> layer = fnn.Normalization().adapt(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> print(layer.forward(np.array([[2.0, 7.0]])).tolist())
    [[0.0, 2.0]]
    >>> back = fnn.Normalization(mean=layer.mean, variance=layer.variance, invert=True)
    >>> print(back.forward(np.array([[0.0, 2.0]])).tolist())
    [[2.0, 7.0]]
    """

    buffer_names = ("mean", "variance")

    def __init__(self, n: int | None = None, mean: ArrayLike | None = None,
                 variance: ArrayLike | None = None, invert: bool = False,
                 dtype: DTypeLike | None = None) -> None:
        dtype = np.float64 if dtype is None else dtype
        if n is None and mean is None and variance is None:
            self.n, self.mean, self.variance = None, None, None  # until adapt
            self._dtype = np.dtype(dtype)
            if self._dtype not in (np.float32, np.float64):
                raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        else:
            if np.dtype(dtype) not in (np.float32, np.float64):
                raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
            stats = [None if a is None else V.real_array(name, a, ndim=1)
                     for name, a in (("mean", mean), ("variance", variance))]
            if n is None:
                n = len(next(a for a in stats if a is not None))
            self.n = V.integer("n", n, 1)
            defaults = (np.zeros(self.n), np.ones(self.n))
            self.mean, self.variance = (np.asarray(a if a is not None else d, dtype)
                                        for a, d in zip(stats, defaults))
            self.check("Normalization")
        if not isinstance(invert, (bool, np.bool_)):
            raise TypeError(f"invert must be True or False, got {invert!r}")
        self.invert = bool(invert)

    def adapt(self, X: ArrayLike) -> Normalization:
        """Set mean and variance from the rows of X, as Keras' adapt.

        The variance is the biased one (as Keras and StandardScaler), computed in float64
        and kept in the layer's dtype.

        Parameters
        ----------
        X : array-like of shape (n_samples, n)
            Finite real numbers, at least one row; n the layer's, if it has one.

        Returns
        -------
        Normalization
            The layer itself.

        Raises
        ------
        ValueError
            If X is not 2-D with at least one row, has another number of features, or holds
            NaN or infinity.
        """
        X = V.real_array("X", X)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"adapt takes a 2-D array with at least one row, got shape {X.shape}")
        if self.n is not None and X.shape[1] != self.n:
            raise ValueError(f"X has {X.shape[1]} features, this Normalization {self.n}")
        if not K.all_finite(np.ascontiguousarray(X, np.float64)):
            raise ValueError("X contains NaN or infinity")
        dtype = self._dtype if self.mean is None else self.mean.dtype
        self.n = X.shape[1]
        self.mean = X.mean(axis=0, dtype=np.float64).astype(dtype)
        self.variance = X.var(axis=0, dtype=np.float64).astype(dtype)
        return self

    def check(self, where="layer"):
        if self.n is None:
            raise ValueError(f"{where} is a Normalization without statistics: call its "
                             f"adapt(X) or give mean and variance")
        for name in self.buffer_names:
            array = getattr(self, name)
            if not (isinstance(array, np.ndarray) and array.shape == (self.n,)
                    and array.dtype.kind == "f"):
                raise ValueError(f"{where}.{name} must be a float array of shape ({self.n},)")
            if not K.all_finite(np.ascontiguousarray(array)):
                raise ValueError(f"{where}.{name} holds NaN or infinity")
        if np.any(self.variance < 0):
            raise ValueError(f"{where}.variance must be >= 0 (a variance)")
        if not isinstance(getattr(self, "invert", False), (bool, np.bool_)):
            raise TypeError(f"{where}.invert must be True or False, got {self.invert!r}")

    @property
    def scale(self):
        """sqrt(variance), 1 where the variance is 0, in the statistics' dtype."""
        scale = np.sqrt(self.variance)
        scale[scale == 0] = 1
        return scale

    @classmethod
    def buffer_shapes(cls, config):
        n = V.integer("n", config["n"], 1)
        return [(n,), (n,)]

    @classmethod
    def from_arrays(cls, config, arrays, dtype):
        return cls(config["n"], arrays[0], arrays[1], config["invert"], dtype)

    def buffers(self):
        return [] if self.n is None else [self.mean, self.variance]

    def cast(self, dtype):
        if self.n is not None:
            self.mean, self.variance = self.mean.astype(dtype), self.variance.astype(dtype)

    def forward(self, x, training=False):
        out = self._buffer("_out", x.shape, x.dtype)
        self._scale = self.scale.astype(x.dtype, copy=False)
        if self.invert:
            np.multiply(x, self._scale, out=out)
            return np.add(out, self.mean, out=out)
        np.subtract(x, self.mean, out=out)
        return np.divide(out, self._scale, out=out)

    def backward(self, grad):
        if not self.needs_input_grad:
            return None
        dx = self._buffer("_dx", grad.shape, grad.dtype)
        op = np.multiply if self.invert else np.divide
        return op(grad, self._scale, out=dx)

    def config(self) -> dict[str, object]:
        return {"n": self.n, "invert": self.invert}


NORM_LAYERS = (BatchNorm, LayerNorm)


LAYERS = {entry.cls: globals()[entry.cls] for entry in registry.LAYERS}
ACTIVATION_LAYERS = tuple(cls for cls in LAYERS.values() if issubclass(cls, Activation))
# Dense(activation=...)'s names: the registry's kernel names, and Keras' "linear".
ACTIVATION_NAMES = ("linear", *(entry.name for entry in registry.ACTIVATIONS))


def activation_layer(name):
    """A new activation layer for a name of ACTIVATION_NAMES (with its default hyperparameter),
    as Dense(activation=name) adds it."""
    entry = registry.activation("identity" if name == "linear" else name) \
        if name in ACTIVATION_NAMES else None
    if entry is None:
        raise ValueError(f"activation must be one of {list(ACTIVATION_NAMES)}, got {name!r}")
    cls = globals()[entry.layer]
    return cls(**({entry.option[0]: entry.option[1]} if entry.option else {}))
