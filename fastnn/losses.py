"""Losses as objects: compute(pred, target, sample_weight) -> (mean loss, gradient w.r.t. pred).

Each wraps one compiled kernel. `output_activation` is what predict applies to the network's raw
outputs (softmax for SoftmaxCrossEntropy, sigmoid for BinaryCrossEntropy from logits), and
`classification` says whether accuracy is a meaningful metric.
"""
import numpy as np

from fastnn import kernels as K
from fastnn import registry
from fastnn import validation as V
from fastnn.tracking import Tracked


class Loss(Tracked):
    kernel = None
    output_activation = None
    classification = False
    takes_labels = False  # integer class labels as targets (else arrays shaped like pred)

    def config(self):
        return {}

    def check_target(self, y, name):
        """Raise ValueError if the (finite, real) target array y cannot be this loss's target."""

    def check(self, dtype):
        """Raise ValueError if a setting changed since construction, or one the network's dtype
        cannot represent, is not valid: the probability clip 1 - eps must stay below 1."""
        eps = getattr(self, "eps", None)
        if eps is not None:
            V.real("loss.eps", eps, 0, 0.5, low_open=True)
            if self.kernel in ("categorical_cross_entropy", "binary_cross_entropy") and \
                    dtype.type(1) - dtype.type(eps) >= 1:
                raise ValueError(f"loss.eps={eps} is lost in {dtype}: 1 - eps rounds to 1 "
                                 f"(use at least {np.finfo(dtype).epsneg})")

    def prepare_target(self, y, dtype):
        """The target as the kernel wants it: class labels as intp (n,), else (n, k) of dtype."""
        y = np.asarray(y)
        if self.takes_labels and y.ndim == 1:
            return np.ascontiguousarray(y, dtype=np.intp)
        y = np.ascontiguousarray(y, dtype=dtype)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def compute(self, pred, target, sample_weight=None, grad=None, n_threads=1):
        if grad is None:
            grad = np.empty_like(pred)
        loss = getattr(K, self.kernel)(pred, target, grad, sample_weight, *self._extra(),
                                       n_threads=n_threads)
        return loss, grad

    def _extra(self):
        return ()

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def _check_probabilities(y, name):
    if y.size and not (y.min() >= 0 and y.max() <= 1):
        raise ValueError(f"{name} holds target probabilities, which must be in [0, 1]; got "
                         f"{y.min()}..{y.max()}")


class SoftmaxCrossEntropy(Loss):
    """Cross-entropy of softmax(logits): targets are class labels or one-hot/probability rows."""
    kernel = "softmax_cross_entropy"
    output_activation = "softmax"
    classification = True
    takes_labels = True

    def check_target(self, y, name):
        _check_probabilities(y, name)


class CrossEntropy(Loss):
    """Cross-entropy of probabilities (after a Softmax layer), log of p clipped to [eps, 1-eps].
    A Network ending in Softmax() with this loss trains through the fused, stable
    SoftmaxCrossEntropy instead."""
    kernel = "categorical_cross_entropy"
    classification = True
    takes_labels = True

    def __init__(self, eps=1e-7):
        self.eps = V.real("eps", eps, 0, 0.5, low_open=True)

    def _extra(self):
        return (self.eps,)

    def check_target(self, y, name):
        _check_probabilities(y, name)

    def config(self):
        return {"eps": self.eps}


class BinaryCrossEntropy(Loss):
    """Binary (or multi-label) cross-entropy; targets in [0, 1] with the outputs' shape.

    Per sample it averages over the outputs (Keras); sum_outputs=True sums them instead, as
    scikit-learn's MLPClassifier does for multi-label targets (from logits only)."""
    classification = True

    def __init__(self, from_logits=True, eps=1e-7, sum_outputs=False):
        self.from_logits, self.eps = bool(from_logits), V.real("eps", eps, 0, 0.5, low_open=True)
        self.sum_outputs = bool(sum_outputs)
        if self.sum_outputs and not self.from_logits:
            raise ValueError("sum_outputs=True needs from_logits=True")
        self.kernel = ("binary_cross_entropy" if not self.from_logits else
                       "sigmoid_binary_cross_entropy" + ("_sum" if self.sum_outputs else ""))
        self.output_activation = "sigmoid" if self.from_logits else None

    def _extra(self):
        return () if self.from_logits else (self.eps,)

    def check_target(self, y, name):
        if y.size and not (y.min() >= 0 and y.max() <= 1):
            raise ValueError(f"{name} holds binary cross-entropy targets, which must be in [0, 1]; "
                             f"got {y.min()}..{y.max()}")

    def config(self):
        return {"from_logits": self.from_logits, "eps": self.eps, "sum_outputs": self.sum_outputs}


class MSE(Loss):
    kernel = "mean_squared_error"


class MAE(Loss):
    kernel = "mean_absolute_error"


class SumOfSquares(Loss):
    """0.5 * sum of squared errors per sample, averaged over samples (the classic backprop
    articles' error)."""
    kernel = "sum_of_squares"


class Huber(Loss):
    """Huber loss, as torch.nn.HuberLoss: 0.5 r^2 where |r| <= delta, else
    delta (|r| - 0.5 delta), r = pred - target, averaged over the outputs.

    Parameters
    ----------
    delta : float
        Where the loss turns from quadratic to linear (> 0).
    """
    kernel = "huber"

    def __init__(self, delta=1.0):
        self.delta = V.real("delta", delta, 0, np.inf, low_open=True)

    def check(self, dtype):
        delta = V.real("loss.delta", self.delta, 0, np.inf, low_open=True)
        if not 0 < dtype.type(delta) < np.inf:
            raise ValueError(f"loss.delta={delta} is not a positive finite {dtype}")

    def _extra(self):
        return (self.delta,)

    def config(self):
        return {"delta": self.delta}


class Poisson(Loss):
    """Poisson negative log-likelihood from log rates, as torch.nn.PoissonNLLLoss(
    log_input=True): exp(z) - y z averaged over the outputs; predict gives the rates exp(z).
    Targets are counts or rates >= 0. At float32 exp(z) overflows to inf from z > 88.38 (the
    exact overflow is at 88.72), and the loss with it."""
    kernel = "poisson"
    output_activation = "exponential"

    def check_target(self, y, name):
        if y.size and not (np.all(np.isfinite(y)) and y.min() >= 0):
            raise ValueError(f"{name} holds Poisson targets, which must be finite and >= 0; "
                             f"got {y.min()}..{y.max()}")


class HalfPoissonDeviance(Poisson):
    """Half the Poisson deviance from log means, summed over the outputs: scikit-learn's
    MLPRegressor(loss="poisson") (its "exp" output activation and half Poisson deviance), per
    sample sum_j exp(z_j) - y_j z_j + y_j log y_j - y_j (0 log 0 = 0), with the gradient
    exp(z) - y. It is Poisson's loss plus a term of the targets alone, summed instead of averaged
    over the outputs: 0 where the predicted means equal the targets. Targets >= 0."""
    kernel = "half_poisson_deviance"


# The names and classes of fastnn.registry.LOSSES, and the arguments of its aliases.
CLASSES = {entry.cls: globals()[entry.cls] for entry in registry.LOSSES}
LOSSES = {name: CLASSES[entry.cls] for entry in registry.LOSSES for name in entry.names}
ALIASES = {name: (CLASSES[entry.cls], dict(arguments)) for entry in registry.LOSSES
           for name, arguments in entry.aliases}


def get(loss):
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]()
    if isinstance(loss, str) and loss in ALIASES:
        cls, arguments = ALIASES[loss]
        return cls(**arguments)
    raise ValueError(f"loss must be a fastnn Loss or one of {sorted([*LOSSES, *ALIASES])}, "
                     f"got {loss!r}")
