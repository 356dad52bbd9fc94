"""One table per family of building blocks: what each entry is called, which class and kernels
implement it and how its settings reach them.

Plain data only (no imports of fastnn's compiled code): setup.py reads this file at build time to
generate the compiled activation and optimizer dispatch (fastnn/_kernels/_act_dispatch.pxd,
activations.pyx, _optim_core.pxd and optim.pyx from their .tp templates), and the Python side
reads it for the layer and optimizer classes, the engine's codes, the reference, the CLI, the
estimators and save/load.

A new elementwise activation is three things: its NumPy twins in fastnn/reference.py, its scalar
value and derivative in fastnn/_kernels/_act_scalar.pxd, and one entry in ACTIVATIONS below (and,
to export it, its ONNX rule in fastnn.onnx.ACTIVATION_RULES, which refuses to import without). A new
optimizer likewise: its NumPy twin, its per-element step in fastnn/_kernels/_optim_scalar.pxd and
one entry in OPTIMIZERS.
"""
from dataclasses import dataclass
from typing import Optional

INF = float("inf")


@dataclass(frozen=True)
class Hyper:
    """A float hyperparameter: its name, default and allowed interval [low, high) (finite).
    doc: its description in the generated docstring of its class (the interval and the default
    are added there)."""
    name: str
    default: float
    low: float = 0
    high: float = INF
    low_open: bool = False  # (low, high) instead
    doc: str = ""

    @property
    def interval(self):
        """The allowed values in words, for the docstrings: ">= 0", "in [0, 1)", "> 0"."""
        if self.high == INF:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g})"


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
    forward, backward: the kernels' docstrings (their formulas), in the layer's docstring too;
    note: the layer's Notes. fastnn.layers generates each layer's numpydoc docstring (its
    Parameters from hyper's doc, default and interval, or from option) and signature.
    """
    name: str
    layer: str
    hyper: Optional[Hyper] = None
    from_input: bool = False
    factor: bool = False
    init: str = "glorot"
    sklearn: Optional[str] = None
    option: Optional[tuple[str, str]] = None
    rowwise: bool = False
    forward: str = ""
    backward: str = ""
    note: str = ""


# The order gives the engine's codes: the first six keep the numbers they had.
ACTIVATIONS = (
    Activation("identity", "Identity", sklearn="identity", forward="out = x.", backward="dx = dy."),
    Activation("relu", "ReLU", init="he", sklearn="relu", forward="out = max(x, 0).",
               backward="dx = dy where y > 0, else 0."),
    Activation("leaky_relu", "LeakyReLU",
               Hyper("alpha", 0.01, doc="The slope for x <= 0 (torch's and Keras 3's "
                                        "negative_slope)."), init="he", sklearn="leaky_relu",
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
    Activation("elu", "ELU", Hyper("alpha", 1.0, doc="The scale of the negative branch, "
                                                       "alpha * expm1(x)."), init="he",
               forward="out = x where x > 0, else alpha * expm1(x) (alpha >= 0).",
               backward="dx = dy where y > 0, else dy * (y + alpha)."),
    Activation("selu", "SELU", init="lecun",
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
    """A loss: its class, the kernel it trains with and the names fastnn.losses.get accepts.
    aliases: further names, each with the constructor arguments it means (Keras' names)."""
    cls: str
    kernel: str
    names: tuple[str, ...] = ()
    aliases: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()


LOSSES = (
    Loss("SoftmaxCrossEntropy", "softmax_cross_entropy", ("softmax_cross_entropy",)),
    # Keras' (sparse_)categorical_crossentropy take probabilities (from_logits=False)
    Loss("CrossEntropy", "categorical_cross_entropy",
         ("cross_entropy", "categorical_cross_entropy", "categorical_crossentropy",
          "sparse_categorical_crossentropy")),
    Loss("BinaryCrossEntropy", "binary_cross_entropy", ("binary_cross_entropy",),
         aliases=(("binary_crossentropy", (("from_logits", False),)),)),
    Loss("MSE", "mean_squared_error", ("mse", "mean_squared_error")),
    Loss("MAE", "mean_absolute_error", ("mae", "mean_absolute_error")),
    Loss("SumOfSquares", "sum_of_squares", ("sum_of_squares",)),
    Loss("Huber", "huber", ("huber",)),
    Loss("Poisson", "poisson", ("poisson",)),
    Loss("HalfPoissonDeviance", "half_poisson_deviance", ("half_poisson_deviance",)),
)


@dataclass(frozen=True)
class Flag:
    """A boolean argument of an optimizer's constructor. kernel: its update kernel takes it too
    (else the class alone reads it, as Adam's eps_hat)."""
    name: str
    default: bool = False
    kernel: bool = True
    doc: str = ""


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: `name` gives its update kernel `<name>_update` (compiled, generated from this
    entry by fastnn/_kernels/optim.pyx.tp, and in fastnn.reference), the engine's code
    `OPTIMIZER_CODES[name]` and the C enum NAME; the class `cls` is made from it in
    fastnn/optimizers.py.

    state: its state arrays per parameter (the kernel's arguments after grad);
    slots: which hyperparameters fill the engine plan's two slots a and b (eps and a flag have
        their own), as the scalar step functions read them;
    args: the constructor's arguments in order (a Hyper: a float in its interval, a Flag); the
        kernel takes them all as keywords but "decay" and the flags with kernel=False;
    step_number: the kernel takes the 1-based step number t after the state arrays;
    state_if: the state exists only while this hyperparameter is > 0 (SGD's momentum);
    decoupled: weight_decay scales the parameters by keep = 1 - lr * weight_decay before the
        step instead of entering the gradient; the kernel takes the coupled L2 as `l2`;
    scalars: per-step scalars (c1, c2, eps) as Cython expressions of lr, a, b, eps, wd, t (the
        step number) and eps_hat, evaluated in double once per step by the engine and the kernel;
    cases: (C condition on s1, nesterov; step function of _optim_scalar.pxd), the first whose
        condition holds updating each element; default one case, `<name>_step`;
    doc: the class's summary and description (fastnn.optimizers generates the rest of its
        numpydoc docstring from args: each Hyper's and Flag's doc, default and interval);
        kernel_doc: the kernel's docstring; formula: its update in the docstring of the
        kernels' module (g = grad + weight_decay * param), and in the class's.

    A new optimizer is three things: its NumPy twin `<name>_update` in fastnn/reference.py, its
    per-element step in fastnn/_kernels/_optim_scalar.pxd and one entry in OPTIMIZERS below.
    """
    name: str
    cls: str
    state: tuple[str, ...]
    slots: tuple[Optional[str], Optional[str]]
    args: tuple[object, ...]
    step_number: bool = False
    state_if: Optional[str] = None
    decoupled: bool = False
    scalars: tuple[tuple[str, str], ...] = ()
    cases: tuple[tuple[str, str], ...] = ()
    doc: Optional[str] = None
    kernel_doc: str = ""
    formula: str = ""

    @property
    def kernel(self):
        return self.name + "_update"

    @property
    def steps(self):
        return self.cases or (("", self.name + "_step"),)

    @property
    def kernel_args(self):
        return tuple(a for a in self.args if a.name != "decay" and getattr(a, "kernel", True))


_LR = ("The learning rate; a schedule is one of fastnn.schedules' classes or any callable of "
       "the step number (0, 1, ...).")
_LR_DECAY = Hyper("decay", 0.0, doc="Learning-rate decay: the rate is lr / (1 + decay * "
                                    "iterations).")
_L2 = Hyper("weight_decay", 0.0, doc="L2 penalty added to the gradient (after the clipping).")
_BETAS = (Hyper("beta1", 0.9, 0, 1, doc="Decay rate of the first moment m."),
          Hyper("beta2", 0.999, 0, 1, doc="Decay rate of the second moment v."))
_BIAS = (("c1", "1 / (1 - pow(a, t))"), ("c2", "1 / (1 - pow(b, t))"))


def _eps(default, doc="Added to the denominator, for numerical stability."):
    return Hyper("eps", default, low_open=True, doc=doc)


# The classes' summaries and descriptions (indented as in a class body); fastnn.optimizers adds
# the update formula, Parameters (from the args' docs), Raises, Attributes and Examples.
_ADAM_DOC = """Adam, as torch.optim.Adam.

    param -= lr * m_hat / (sqrt(v_hat) + eps), m_hat and v_hat the bias-corrected moments
    (the Adam paper's Algorithm 1, as PyTorch). eps_hat=True adds eps to sqrt(v) before the bias
    correction instead, the paper's "epsilon hat", as scikit-learn and Keras do."""
_ADAMW_DOC = """Adam with decoupled weight decay, as torch.optim.AdamW.

    param *= 1 - lr * weight_decay, then Adam's bias-corrected step on the gradient
    (a layer's l2 penalty stays in the gradient)."""
_ADAMAX_DOC = """Adamax, Adam with the infinity norm, as torch.optim.Adamax.

    m = beta1 * m + (1 - beta1) * grad, u = max(beta2 * u, |grad| + eps),
    param -= lr / (1 - beta1**t) * m / u."""

OPTIMIZERS = (
    Optimizer("sgd", "SGD", ("velocity",), ("momentum", None),
              (Hyper("lr", 0.01, doc=_LR),
               Hyper("momentum", 0.0, 0, 1, doc="Momentum factor; 0 keeps no velocity."),
               Flag("nesterov", doc="Nesterov's momentum: param += momentum * v - lr * grad."),
               _L2, _LR_DECAY),
              state_if="momentum",
              cases=(("s1 == NULL", "sgd_plain_step"), ("nesterov", "sgd_nesterov_step"),
                     ("", "sgd_step")),
              doc="""Stochastic gradient descent with optional (Nesterov) momentum.

    The velocity form of scikit-learn's and Keras' SGD (torch's differs by where lr enters).""",
              kernel_doc="SGD step in place: param (and velocity, needed when momentum > 0). "
                         "Returns param.",
              formula="v = momentum * v - lr * g;  param += v,  or momentum * v - lr * g with "
                      "nesterov\n(the form of scikit-learn and Keras; momentum = 0 is param -= "
                      "lr * g, no velocity)"),
    Optimizer("adam", "Adam", ("m", "v"), ("beta1", "beta2"),
              (Hyper("lr", 0.001, doc=_LR), *_BETAS, _eps(1e-8), _L2, _LR_DECAY,
               Flag("eps_hat", kernel=False,
                    doc="Add eps to sqrt(v) before the bias correction (the paper's epsilon "
                        "hat, as scikit-learn and Keras) instead of after it (PyTorch).")),
              step_number=True, scalars=_BIAS + (("eps", "eps * sqrt(c2) if eps_hat else eps"),),
              doc=_ADAM_DOC,
              kernel_doc="Adam step number t (1, 2, ...) in place on param, m and v, "
                         "bias-corrected. Returns param.",
              formula="m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;\nparam -= lr * m_hat / "
                      "(sqrt(v_hat) + eps), m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)"),
    Optimizer("rmsprop", "RMSprop", ("sq",), ("rho", None),
              (Hyper("lr", 0.001, doc=_LR),
               Hyper("rho", 0.9, 0, 1, doc="Decay rate of the running mean of squared "
                                           "gradients."),
               _eps(1e-7), _L2, _LR_DECAY),
              doc="""RMSprop: torch.optim.RMSprop's update (its alpha is rho), Keras' defaults.

    A running mean of the squared gradients scales each element's step (no momentum, not
    centered).""",
              kernel_doc="RMSprop step in place on param and sq (running mean of squared "
                         "gradients). Returns param.",
              formula="s = rho s + (1 - rho) g^2;  param -= lr * g / (sqrt(s) + eps)"),
    Optimizer("adagrad", "Adagrad", ("acc",), (None, None),
              (Hyper("lr", 0.01, doc=_LR), _eps(1e-7), _L2, _LR_DECAY),
              doc="""Adagrad, as torch.optim.Adagrad (the accumulator starts at 0).

    The sum of all squared gradients so far scales each element's step.""",
              kernel_doc="Adagrad step in place on param and acc (sum of squared gradients). "
                         "Returns param.",
              formula="s += g^2;  param -= lr * g / (sqrt(s) + eps)"),
    Optimizer("adamw", "AdamW", ("m", "v"), ("beta1", "beta2"),
              (Hyper("lr", 0.001, doc=_LR), *_BETAS, _eps(1e-8),
               Hyper("weight_decay", 0.01, doc="Decoupled decay per step, scaled by the "
                                               "learning rate (PyTorch's default 0.01)."),
               _LR_DECAY),
              step_number=True, decoupled=True, scalars=_BIAS,
              doc=_ADAMW_DOC,
              kernel_doc="AdamW step number t (1, 2, ...) in place on param, m and v: param *= "
                         "1 - lr *\n    weight_decay, then Adam's bias-corrected step on grad + "
                         "l2 * param. Returns param.",
              formula="param *= 1 - lr * weight_decay (decoupled, as torch.optim.AdamW), then "
                      "adam's step\nwith g = grad + l2 * param (l2: a coupled penalty such as "
                      "Dense's l2, else 0)"),
    Optimizer("adamax", "Adamax", ("m", "u"), ("beta1", "beta2"),
              (Hyper("lr", 0.002, doc=_LR), _BETAS[0],
               Hyper("beta2", 0.999, 0, 1, doc="Decay rate of the infinity norm u."),
               _eps(1e-8, doc="Added to |grad| before the maximum."), _L2, _LR_DECAY),
              step_number=True, scalars=_BIAS[:1],
              doc=_ADAMAX_DOC,
              kernel_doc="Adamax step number t (1, 2, ...) in place on param, m and u (the "
                         "decayed infinity norm). Returns param.",
              formula="m = b1 m + (1 - b1) g;  u = max(b2 u, |g| + eps);  param -= lr * m / "
                      "(1 - b1^t) / u"),
)


@dataclass(frozen=True)
class Layer:
    """A layer class fastnn.io can save and load; `activation` for the activation layers."""
    cls: str
    activation: bool = False


LAYERS = ((Layer("Dense"),)
          + tuple(Layer(name, True) for name in dict.fromkeys(a.layer for a in ACTIVATIONS))
          + (Layer("Dropout"), Layer("BatchNorm"), Layer("LayerNorm"), Layer("Normalization")))


@dataclass(frozen=True)
class Initializer:
    name: str
    doc: str


INITIALIZERS = (
    Initializer("he", "normal with std sqrt(2 / n_in): the default before ReLU-like layers"),
    Initializer("glorot", "uniform in +-sqrt(6 / (n_in + n_out)): the default otherwise"),
    Initializer("lecun", "normal with std sqrt(1 / n_in): the default before SELU"),
    Initializer("scratch", "0.01 * standard normal, as in the from-scratch material"),
    Initializer("uniform", "uniform in [-0.05, 0.05]"),
    # Keras' names and distributions (fastnn.initializers)
    Initializer("he_normal", "truncated normal with std sqrt(2 / n_in) (Keras)"),
    Initializer("he_uniform", "uniform in +-sqrt(6 / n_in) (Keras)"),
    Initializer("glorot_normal", "truncated normal with std sqrt(2 / (n_in + n_out)) (Keras)"),
    Initializer("glorot_uniform", "glorot (Keras' name)"),
    Initializer("lecun_normal", "truncated normal with std sqrt(1 / n_in) (Keras)"),
    Initializer("lecun_uniform", "uniform in +-sqrt(3 / n_in) (Keras)"),
    Initializer("random_normal", "normal with std 0.05 (Keras)"),
    Initializer("random_uniform", "uniform in [-0.05, 0.05] (Keras)"),
    Initializer("truncated_normal", "normal with std 0.05 truncated at +-0.1 (Keras)"),
    Initializer("zeros", "all zero (Keras)"),
    Initializer("ones", "all one (Keras)"),
)


_ACTIVATIONS_BY_NAME = {entry.name: entry for entry in ACTIVATIONS}


def activation(name):
    """The ACTIVATIONS entry called `name`, or ValueError listing the names. A dictionary
    lookup: the layer path asks it on every forward and backward."""
    entry = _ACTIVATIONS_BY_NAME.get(name) if isinstance(name, str) else None
    if entry is None:
        raise ValueError(f"activation must be one of {list(_ACTIVATIONS_BY_NAME)}; got {name!r}")
    return entry
