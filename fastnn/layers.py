"""Layers: Python objects that hold parameters and call the compiled kernels.

Each layer has forward(x, training=False) -> output and backward(grad) -> gradient w.r.t. its
input, computed from what forward kept. Output buffers are reused while the batch shape stays
the same, so a training loop allocates nothing per batch once it is running.
"""
import inspect

import numpy as np

from fastnn import _kernels, initializers, registry
from fastnn import kernels as K
from fastnn import validation as V
from fastnn.tracking import Tracked

_activations = _kernels.load("activations")  # its internal forward_factor and backward_factor


class Layer(Tracked):
    """Base class. `needs_input_grad` is set False on a network's first layer: nobody uses it.

    Changing a public attribute of a layer (its settings, its parameter arrays) makes the
    networks holding it recompile their plans before their next call (see fastnn.tracking)."""

    needs_input_grad = True

    def parameters(self):
        return []

    def gradients(self):
        return []

    @property
    def weights(self):
        """The layer's arrays, as Keras' layer.weights: its parameters, then its non-trainable
        arrays (the arrays themselves, not copies)."""
        return self.parameters() + self.non_trainable_weights

    @property
    def non_trainable_weights(self):
        """Arrays the layer keeps that training does not step (none here; running statistics)."""
        return []

    def penalties(self):
        """L2 strength per parameter (see Dense's l2)."""
        return [0.0] * len(self.parameters())

    def config(self):
        """The constructor arguments, JSON-serializable (used by Network.save)."""
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

    init: "he", "glorot", "scratch", "uniform" or a function (rng, n_in, n_out, dtype) -> W;
    None picks he when the next layer is ReLU-like, glorot otherwise (decided by the Network;
    standalone, glorot).
    l2: L2 penalty on W, scikit-learn's `alpha`: each training step adds 0.5 * l2 * ||W||^2 to
    the batch's summed loss, so the mean loss gains it divided by the batch's size (or sum of
    sample weights), and the optimizer decays W by l2 / that size. b is not penalized.
    """

    def __init__(self, n_in, n_out, init=None, random_state=None, dtype="float32", l2=0.0):
        self._configure(n_in, n_out, init, l2)
        self.initialize(np.random.default_rng(random_state), dtype)

    def _configure(self, n_in, n_out, init, l2):
        self.n_in, self.n_out = V.integer("n_in", n_in, 1), V.integer("n_out", n_out, 1)
        self.l2 = V.real("l2", l2, 0)
        if init is not None:
            initializers.get(init)  # fail early on an unknown name
        self.init = init

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
        dtype = np.dtype(dtype)
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

    def cast(self, dtype):
        self.W, self.b, self.dW, self.db = (a.astype(dtype) for a in (self.W, self.b, self.dW, self.db))

    def forward(self, x, training=False):
        self._x = x
        out = self._buffer("_out", (x.shape[0], self.n_out), self.W.dtype)
        return K.dense_forward(x, self.W, self.b, out)

    def backward(self, grad):
        dx = self._buffer("_dx", self._x.shape, self.W.dtype) if self.needs_input_grad else None
        return K.dense_backward(self._x, self.W, grad, self.dW, self.db, dx)

    def parameters(self):
        return [self.W, self.b]

    def gradients(self):
        return [self.dW, self.db]

    def penalties(self):
        return [self.l2, 0.0]

    def config(self):
        init = self.init if isinstance(self.init, str) or self.init is None else "custom"
        return {"n_in": self.n_in, "n_out": self.n_out, "init": init, "l2": self.l2}


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
                raise TypeError(f"{name}() got an unexpected keyword argument {next(iter(kwargs))!r}")
            setattr(self, hyper.name, V.real(hyper.name, value, hyper.low, hyper.high))

        def check(self, where="layer"):
            V.real(f"{where}.{hyper.name}", getattr(self, hyper.name), hyper.low, hyper.high)

        namespace.update(__init__=_positional(__init__, hyper.name, hyper.default), check=check,
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
                raise TypeError(f"{name}() got an unexpected keyword argument {next(iter(kwargs))!r}")
            setattr(self, arg, _choice(arg, value))

        namespace.update(
            __init__=_positional(__init__, arg, first.option[1]),
            check=lambda self, where="layer": _choice(f"{where}.{arg}", getattr(self, arg)),
            config=lambda self: {arg: getattr(self, arg)},
            kind=property(lambda self: choices[_choice(f"{name}.{arg}", getattr(self, arg))].name,
                          doc="the kernel pair"),
            _entries=choices)
    return type(name, (Activation,), namespace)


def _positional(init, arg, default):
    """init(self, **kwargs) taking `arg` positionally too, as a hand-written __init__ would."""
    def __init__(self, *args, **kwargs):
        if len(args) > 1:
            raise TypeError(f"{type(self).__name__}() takes at most 1 positional argument")
        if args:
            if arg in kwargs:
                raise TypeError(f"{type(self).__name__}() got multiple values for {arg!r}")
            kwargs[arg] = args[0]
        init(self, **kwargs)
    __init__.__doc__ = f"{arg}: default {default!r}."
    __init__.__signature__ = inspect.Signature([
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter(arg, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default)])
    return __init__


def _activation_doc(name, entries):
    first = entries[0]
    lines = [f"{name} activation layer: {first.forward}"]
    if first.hyper is not None:
        h = first.hyper
        lines += ["", "Parameters", "----------",
                  f"{h.name} : float, default {h.default}", f"    In [{h.low}, {h.high})."]
    if first.option is not None:
        lines += ["", "Parameters", "----------",
                  f"{first.option[0]} : str, default {first.option[1]!r}"]
        lines += [f"    {e.option[1]!r}: {e.forward}" for e in entries]
    if first.note:
        lines += ["", "Notes", "-----", first.note]
    return "\n".join(lines)


_BY_LAYER = {}
for _entry in registry.ACTIVATIONS:
    _BY_LAYER.setdefault(_entry.layer, []).append(_entry)
globals().update({_name: _activation_class(_name, _entries)
                  for _name, _entries in _BY_LAYER.items()})


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability `rate` and scale the rest
    by 1 / (1 - rate); at inference, the identity. The random numbers come from a counter-based
    stream (`state` = uint64 [key, counter]) that the compiled training engine shares."""

    def __init__(self, rate, random_state=None):
        self.rate = V.real("rate", rate, 0, 1)
        self.seed(np.random.default_rng(random_state))
        self._mask = None

    def check(self, where="layer"):
        V.real(f"{where}.rate", self.rate, 0, 1)

    def seed(self, rng):
        self.state = np.array([rng.integers(2**63), 0], dtype=np.uint64)

    def forward(self, x, training=False):
        if not training or self.rate == 0:
            self._mask = None
            return x
        out = self._buffer("_out", x.shape, x.dtype)
        mask = self._buffer("_mask", x.shape, x.dtype)
        return K.dropout_forward(x, out, mask, self.rate, self.state)

    def backward(self, grad):
        return grad if self._mask is None else grad * self._mask

    def config(self):
        return {"rate": self.rate}


LAYERS = {entry.cls: globals()[entry.cls] for entry in registry.LAYERS}
ACTIVATION_LAYERS = tuple(cls for cls in LAYERS.values() if issubclass(cls, Activation))
