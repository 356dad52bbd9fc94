"""Layers: Python objects that hold parameters and call the compiled kernels.

Each layer has forward(x, training=False) -> output and backward(grad) -> gradient w.r.t. its
input, computed from what forward kept. Output buffers are reused while the batch shape stays
the same, so a training loop allocates nothing per batch once it is running.
"""
import numpy as np

from fastnn import initializers
from fastnn import kernels as K
from fastnn import validation as V
from fastnn.tracking import Tracked


class Layer(Tracked):
    """Base class. `needs_input_grad` is set False on a network's first layer: nobody uses it.

    Changing a public attribute of a layer (its settings, its parameter arrays) makes the
    networks holding it recompile their plans before their next call (see fastnn.tracking)."""

    needs_input_grad = True

    def parameters(self):
        return []

    def gradients(self):
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
    """An element-wise (or, for softmax, row-wise) activation; `kind` names the kernel pair."""

    kind = None

    def _extra(self):
        return ()

    def forward(self, x, training=False):
        out = self._buffer("_out", x.shape, x.dtype)
        self._y = getattr(K, self.kind + "_forward")(x, out, *self._extra())
        return self._y

    def backward(self, grad):
        dx = self._buffer("_dx", grad.shape, grad.dtype)
        return getattr(K, self.kind + "_backward")(self._y, grad, dx, *self._extra())


class Identity(Activation):
    kind = "identity"


class ReLU(Activation):
    kind = "relu"


class LeakyReLU(Activation):
    kind = "leaky_relu"

    def __init__(self, alpha=0.01):
        self.alpha = V.real("alpha", alpha, 0)

    def check(self, where="layer"):
        V.real(f"{where}.alpha", self.alpha, 0)

    def _extra(self):
        return (self.alpha,)

    def config(self):
        return {"alpha": self.alpha}


class Sigmoid(Activation):
    kind = "sigmoid"


class Tanh(Activation):
    kind = "tanh"


class Softmax(Activation):
    kind = "softmax"


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


LAYERS = {cls.__name__: cls for cls in (Dense, Identity, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax,
                                        Dropout)}
