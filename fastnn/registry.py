"""One table per family of building blocks: what each entry is called, which class and kernels
implement it and how its settings reach them.

Plain data only (no imports of fastnn's compiled code): setup.py reads this file at build time to
generate the compiled activation dispatch (fastnn/_kernels/_act_dispatch.pxd and activations.pyx
from their .tp templates), and the Python side reads it for the layer classes, the engine's codes,
the reference, the CLI, the estimators and save/load.

A new elementwise activation is three things: its NumPy twins in fastnn/reference.py, its scalar
value and derivative in fastnn/_kernels/_act_scalar.pxd, and one entry in ACTIVATIONS below.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

INF = float("inf")


@dataclass(frozen=True)
class Hyper:
    """A float hyperparameter: its name, default and allowed interval [low, high) (finite)."""
    name: str
    default: float
    low: float = 0
    high: float = INF


@dataclass(frozen=True)
class Activation:
    """An activation: `name` gives the kernels `<name>_forward`/`<name>_backward` (compiled and
    in fastnn.reference), the engine's code `ACTIVATION_CODES[name]` and the C enum NAME.

    layer: the layer class name (several entries may share one, told apart by `option`);
    hyper: its one optional hyperparameter, passed to the kernels as `alpha`;
    from_input: the derivative needs the input x (else it is computed from the output y), so the
        backward kernel `<name>_backward` takes x;
    factor: a training forward also writes the derivative f'(x) (computed with the value, from
        the same exp or erf), so that the backward is dy * f'(x): the layer path keeps it
        (kernels forward_factor/backward_factor) and the engine a buffer beside the output;
    init: the default initializer of the Dense layer before it;
    sklearn: the name of the estimators' `activation` option, if any;
    option: (argument, value) of the layer's constructor that selects this entry's kernels;
    rowwise: softmax's row-wise kernels (hand-written); the others are elementwise;
    forward, backward: the kernels' docstrings (their formulas); note: the layer's Notes.
    """
    name: str
    layer: str
    hyper: Optional[Hyper] = None
    from_input: bool = False
    factor: bool = False
    init: str = "glorot"
    sklearn: Optional[str] = None
    option: Optional[Tuple[str, str]] = None
    rowwise: bool = False
    forward: str = ""
    backward: str = ""
    note: str = ""


# The order gives the engine's codes: the first six keep the numbers they had.
ACTIVATIONS = (
    Activation("identity", "Identity", sklearn="identity", forward="out = x.", backward="dx = dy."),
    Activation("relu", "ReLU", init="he", sklearn="relu", forward="out = max(x, 0).",
               backward="dx = dy where y > 0, else 0."),
    Activation("leaky_relu", "LeakyReLU", Hyper("alpha", 0.01), init="he", sklearn="leaky_relu",
               forward="out = x where x > 0, else alpha * x (alpha >= 0).",
               backward="dx = dy where y > 0, else alpha * dy."),
    Activation("sigmoid", "Sigmoid", sklearn="logistic",
               forward="out = 1 / (1 + exp(-x)), stable for large |x|.",
               backward="dx = dy * y * (1 - y)."),
    Activation("tanh", "Tanh", sklearn="tanh", forward="out = tanh(x).",
               backward="dx = dy * (1 - y**2)."),
    Activation("softmax", "Softmax", rowwise=True,
               forward="out[i] = exp(x[i] - max x[i]) / sum(exp(x[i] - max x[i])), row by row of "
                       "a 2-D x.",
               backward="dx[i] = y[i] * (dy[i] - <dy[i], y[i]>), row by row: the softmax JVP "
                        "without a Jacobian."),
    Activation("elu", "ELU", Hyper("alpha", 1.0), init="he",
               forward="out = x where x > 0, else alpha * expm1(x) (alpha >= 0).",
               backward="dx = dy where y > 0, else dy * (y + alpha)."),
    Activation("selu", "SELU", init="lecun_normal",
               forward="out = scale * (x where x > 0, else alpha * expm1(x)), torch's scale "
                       "1.0507009873554805 and alpha 1.6732632423543772.",
               backward="dx = dy * scale where y > 0, else dy * (y + scale * alpha)."),
    Activation("softplus", "Softplus", factor=True,
               forward="out = log(1 + exp(x)) as max(x, 0) + log1p(exp(-|x|)).",
               backward="dx = dy * sigmoid(x) = dy * -expm1(-y).",
               note="torch.nn.Softplus(beta=1, threshold=20) returns x itself above x = 20; this "
                    "one keeps log1p(exp(-x)) there too (at most 2.1e-9 more, which a float64 "
                    "x of at most ~2e7 still shows). No beta or threshold argument."),
    Activation("gelu", "GELU", from_input=True, factor=True, init="he",
               option=("approximate", "none"),
               forward="out = x * Phi(x) = x * 0.5 * (1 + erf(x / sqrt(2))).",
               backward="dx = dy * (Phi(x) + x * phi(x)), from the input x."),
    Activation("gelu_tanh", "GELU", from_input=True, factor=True, init="he",
               option=("approximate", "tanh"),
               forward="out = 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3))).",
               backward="dx = dy * d/dx of the above, from the input x."),
    Activation("silu", "SiLU", from_input=True, factor=True, init="he",
               forward="out = x * sigmoid(x).",
               backward="dx = dy * s * (1 + x * (1 - s)), s = sigmoid(x), from the input x."),
    Activation("exponential", "Exponential", forward="out = exp(x).", backward="dx = dy * y."),
)


@dataclass(frozen=True)
class Loss:
    """A loss: its class, the kernel it trains with and the names fastnn.losses.get accepts."""
    cls: str
    kernel: str
    names: Tuple[str, ...] = ()


LOSSES = (
    Loss("SoftmaxCrossEntropy", "softmax_cross_entropy", ("softmax_cross_entropy",)),
    Loss("CrossEntropy", "categorical_cross_entropy", ("cross_entropy", "categorical_cross_entropy")),
    Loss("BinaryCrossEntropy", "binary_cross_entropy", ("binary_cross_entropy",)),
    Loss("MSE", "mean_squared_error", ("mse", "mean_squared_error")),
    Loss("MAE", "mean_absolute_error", ("mae", "mean_absolute_error")),
    Loss("SumOfSquares", "sum_of_squares", ("sum_of_squares",)),
    Loss("Huber", "huber", ("huber",)),
    Loss("Poisson", "poisson", ("poisson",)),
)


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: its name, class, update kernel, state arrays per parameter and which
    hyperparameters fill the engine plan's two slots a and b."""
    name: str
    cls: str
    kernel: str
    state: Tuple[str, ...]
    slots: Tuple[Optional[str], Optional[str]]


OPTIMIZERS = (
    Optimizer("sgd", "SGD", "sgd_update", ("velocity",), ("momentum", None)),
    Optimizer("adam", "Adam", "adam_update", ("m", "v"), ("beta1", "beta2")),
    Optimizer("rmsprop", "RMSprop", "rmsprop_update", ("sq",), ("rho", None)),
    Optimizer("adagrad", "Adagrad", "adagrad_update", ("acc",), (None, None)),
    Optimizer("adamw", "AdamW", "adamw_update", ("m", "v"), ("beta1", "beta2")),
)


@dataclass(frozen=True)
class Layer:
    """A layer class fastnn.io can save and load; `activation` for the activation layers."""
    cls: str
    activation: bool = False


LAYERS = ((Layer("Dense"),)
          + tuple(Layer(name, True) for name in dict.fromkeys(a.layer for a in ACTIVATIONS))
          + (Layer("Dropout"),))


@dataclass(frozen=True)
class Initializer:
    name: str
    doc: str


INITIALIZERS = (
    Initializer("he", "normal with std sqrt(2 / n_in): the default before ReLU-like layers"),
    Initializer("glorot", "uniform in +-sqrt(6 / (n_in + n_out)): the default otherwise"),
    Initializer("lecun_normal", "normal with std sqrt(1 / n_in): the default before SELU"),
    Initializer("scratch", "0.01 * standard normal, as in the from-scratch material"),
    Initializer("uniform", "uniform in [-0.05, 0.05]"),
)


_ACTIVATIONS_BY_NAME = {entry.name: entry for entry in ACTIVATIONS}


def activation(name):
    """The ACTIVATIONS entry called `name`, or ValueError listing the names. A dictionary
    lookup: the layer path asks it on every forward and backward."""
    entry = _ACTIVATIONS_BY_NAME.get(name) if isinstance(name, str) else None
    if entry is None:
        raise ValueError(f"activation must be one of {list(_ACTIVATIONS_BY_NAME)}; got {name!r}")
    return entry
