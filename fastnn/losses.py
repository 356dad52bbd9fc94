"""Losses as objects: compute(pred, target, sample_weight) -> (mean loss, gradient w.r.t. pred).

Each wraps one compiled kernel. `output_activation` is what predict applies to the network's raw
outputs (softmax for SoftmaxCrossEntropy, sigmoid for BinaryCrossEntropy from logits), and
`classification` says whether accuracy is a meaningful metric.

Every loss is a weighted mean over the samples (weights `sample_weight`, else 1 each), and its
gradient is that of the mean.
"""
from __future__ import annotations

import numpy as np

from fastnn import kernels as K
from fastnn import registry
from fastnn import validation as V
from fastnn.tracking import Tracked


class Loss(Tracked):
    """Base class of the losses: compute(pred, target, sample_weight) -> (loss, gradient).

    A loss wraps one compiled kernel (fastnn.kernels, its name `kernel`), which computes the
    weighted mean over the samples of the per-sample loss and its gradient w.r.t. pred in one
    pass. Network(loss=...) takes a Loss or a name (fastnn.losses.LOSSES, and Keras' names
    such as "binary_crossentropy").

    Attributes
    ----------
    kernel : str
        The fastnn.kernels function it calls.
    output_activation : str or None
        What predict applies to the network's raw outputs ("softmax", "sigmoid",
        "exponential"), if anything.
    classification : bool
        Whether accuracy is a meaningful metric.
    takes_labels : bool
        Whether integer class labels are valid targets (else arrays shaped like pred).

    Examples
    --------
    >>> loss = fnn.MSE()
    >>> isinstance(loss, fnn.Loss), loss.kernel
    (True, 'mean_squared_error')
    >>> value, grad = loss.compute(np.array([[1.0], [2.0]]), np.array([[0.0], [2.0]]))
    >>> round(value, 4), grad.ravel().tolist()
    (0.5, [1.0, 0.0])
    """
    kernel = None
    output_activation = None
    classification = False
    takes_labels = False  # integer class labels as targets (else arrays shaped like pred)

    def config(self) -> dict[str, object]:
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

    def compute(self, pred: np.ndarray, target: np.ndarray,
                sample_weight: np.ndarray | None = None, grad: np.ndarray | None = None,
                n_threads: int = 1) -> tuple[float, np.ndarray]:
        """The mean loss over the samples and its gradient w.r.t. pred.

        Parameters
        ----------
        pred : ndarray of shape (n, k)
            The network's raw outputs, C-contiguous float32 or float64.
        target : ndarray
            As prepare_target gives it: (n, k) of pred's dtype, or class labels (n,) of intp
            for the losses that take labels.
        sample_weight : ndarray of shape (n,) or None, default None
            Per-sample weights of pred's dtype (None: 1 each); the mean is weighted.
        grad : ndarray of shape (n, k) or None, default None
            Where to write the gradient (a new array if None).
        n_threads : int, default 1
            Threads of the kernel, >= 1.

        Returns
        -------
        loss : float
            The weighted mean loss.
        grad : ndarray of shape (n, k)
            Its gradient w.r.t. pred.

        Raises
        ------
        TypeError, ValueError
            If an array's dtype, shape or layout does not fit (from the kernel).
        """
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
    """Cross-entropy of softmax(logits), fused and stable, as torch.nn.CrossEntropyLoss.

    Per sample -sum_j y_j log softmax(z)_j, computed from the logits z with the log-sum-exp
    shift; targets are class labels or one-hot/probability rows. predict applies the softmax.
    Keras' equivalent: CategoricalCrossentropy(from_logits=True).

    Examples
    --------
    >>> loss = fnn.SoftmaxCrossEntropy()
    >>> logits = np.array([[2.0, 0.0], [0.0, 0.0]])
    >>> value, grad = loss.compute(logits, np.array([0, 1]))
    >>> round(value, 4), loss.output_activation
    (0.41, 'softmax')
    """
    kernel = "softmax_cross_entropy"
    output_activation = "softmax"
    classification = True
    takes_labels = True

    def check_target(self, y, name):
        _check_probabilities(y, name)


class CrossEntropy(Loss):
    """Cross-entropy of probabilities (after a Softmax layer), as Keras' CategoricalCrossentropy.

    Per sample -sum_j y_j log p_j, with p clipped to [eps, 1 - eps]; targets are class labels
    or one-hot/probability rows. A Network ending in Softmax() with this loss trains through
    the fused, stable SoftmaxCrossEntropy instead.

    Parameters
    ----------
    eps : float, default 1e-7
        The clip of the probabilities, in (0, 0.5); 1 - eps must stay below 1 in the
        network's dtype.

    Raises
    ------
    ValueError
        If eps is not a number in (0, 0.5).

    Examples
    --------
    >>> loss = fnn.CrossEntropy()
    >>> value, grad = loss.compute(np.array([[0.5, 0.5], [0.9, 0.1]]), np.array([0, 0]))
    >>> round(value, 4)
    0.3993
    """
    kernel = "categorical_cross_entropy"
    classification = True
    takes_labels = True

    def __init__(self, eps: float = 1e-7) -> None:
        self.eps = V.real("eps", eps, 0, 0.5, low_open=True)

    def _extra(self):
        return (self.eps,)

    def check_target(self, y, name):
        _check_probabilities(y, name)

    def config(self) -> dict[str, object]:
        return {"eps": self.eps}


class BinaryCrossEntropy(Loss):
    """Binary (or multi-label) cross-entropy; targets in [0, 1] with the outputs' shape.

    Per element -(y log p + (1 - y) log(1 - p)), p = sigmoid(z) from logits (stable, as
    torch.nn.BCEWithLogitsLoss) or the outputs themselves clipped to [eps, 1 - eps]. Per sample
    it averages over the outputs (Keras); sum_outputs=True sums them instead, as scikit-learn's
    MLPClassifier does for multi-label targets.

    Parameters
    ----------
    from_logits : bool, default True
        The outputs are logits (predict applies the sigmoid), else probabilities.
    eps : float, default 1e-7
        The clip of probabilities (from_logits=False), in (0, 0.5).
    sum_outputs : bool, default False
        Sum over the outputs instead of averaging (from logits only).

    Raises
    ------
    ValueError
        If eps is not in (0, 0.5), or sum_outputs=True without from_logits.

    Examples
    --------
    >>> loss = fnn.BinaryCrossEntropy()
    >>> value, grad = loss.compute(np.array([[0.0], [2.0]]), np.array([[1.0], [1.0]]))
    >>> round(value, 4), loss.output_activation
    (0.41, 'sigmoid')
    """
    classification = True

    def __init__(self, from_logits: bool = True, eps: float = 1e-7,
                 sum_outputs: bool = False) -> None:
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

    def config(self) -> dict[str, object]:
        return {"from_logits": self.from_logits, "eps": self.eps, "sum_outputs": self.sum_outputs}


class MSE(Loss):
    """Mean squared error, as torch.nn.MSELoss and Keras' MeanSquaredError.

    Per sample the mean over the outputs of (pred - target)^2.

    Examples
    --------
    >>> value, grad = fnn.MSE().compute(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    >>> round(value, 4), grad.tolist()
    (2.5, [[1.0, 2.0]])
    """
    kernel = "mean_squared_error"


class MAE(Loss):
    """Mean absolute error, as torch.nn.L1Loss and Keras' MeanAbsoluteError.

    Per sample the mean over the outputs of |pred - target| (gradient sign(pred - target),
    0 where they are equal).

    Examples
    --------
    >>> value, grad = fnn.MAE().compute(np.array([[1.0, -3.0]]), np.array([[0.0, 0.0]]))
    >>> round(value, 4), grad.tolist()
    (2.0, [[0.5, -0.5]])
    """
    kernel = "mean_absolute_error"


class SumOfSquares(Loss):
    """0.5 * sum of squared errors per sample, averaged over samples.

    The classic backpropagation articles' error; its gradient is pred - target (over the
    number of samples).

    Examples
    --------
    >>> value, grad = fnn.SumOfSquares().compute(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    >>> round(value, 4), grad.tolist()
    (2.5, [[1.0, 2.0]])
    """
    kernel = "sum_of_squares"


class Huber(Loss):
    """Huber loss, as torch.nn.HuberLoss.

    Per element 0.5 r^2 where |r| <= delta, else delta (|r| - 0.5 delta), r = pred - target,
    averaged over the outputs.

    Parameters
    ----------
    delta : float, default 1.0
        Where the loss turns from quadratic to linear, > 0.

    Raises
    ------
    ValueError
        If delta is not a finite number > 0.

    Examples
    --------
    >>> value, grad = fnn.Huber().compute(np.array([[0.5, 3.0]]), np.array([[0.0, 0.0]]))
    >>> round(value, 4), grad.tolist()
    (1.3125, [[0.25, 0.5]])
    """
    kernel = "huber"

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = V.real("delta", delta, 0, np.inf, low_open=True)

    def check(self, dtype):
        delta = V.real("loss.delta", self.delta, 0, np.inf, low_open=True)
        if not 0 < dtype.type(delta) < np.inf:
            raise ValueError(f"loss.delta={delta} is not a positive finite {dtype}")

    def _extra(self):
        return (self.delta,)

    def config(self) -> dict[str, object]:
        return {"delta": self.delta}


class Poisson(Loss):
    """Poisson negative log-likelihood from log rates, as torch.nn.PoissonNLLLoss.

    torch's log_input=True: exp(z) - y z averaged over the outputs; predict gives the rates
    exp(z). Targets are counts or rates >= 0. At float32 exp(z) overflows to inf from z > 88.38
    (the exact overflow is at 88.72), and the loss with it.

    Examples
    --------
    >>> loss = fnn.Poisson()
    >>> value, grad = loss.compute(np.array([[0.0], [np.log(2.0)]]), np.array([[1.0], [2.0]]))
    >>> round(value, 4), loss.output_activation
    (0.8069, 'exponential')
    """
    kernel = "poisson"
    output_activation = "exponential"

    def check_target(self, y, name):
        if y.size and not (np.all(np.isfinite(y)) and y.min() >= 0):
            raise ValueError(f"{name} holds Poisson targets, which must be finite and >= 0; "
                             f"got {y.min()}..{y.max()}")


class HalfPoissonDeviance(Poisson):
    """Half the Poisson deviance from log means, as scikit-learn's MLPRegressor(loss="poisson").

    Its "exp" output activation and half Poisson deviance, summed over the outputs: per sample
    sum_j exp(z_j) - y_j z_j + y_j log y_j - y_j (0 log 0 = 0), with the gradient exp(z) - y.
    It is Poisson's loss plus a term of the targets alone, summed instead of averaged over the
    outputs: 0 where the predicted means equal the targets. Targets >= 0.

    Examples
    --------
    >>> loss = fnn.HalfPoissonDeviance()
    >>> value, grad = loss.compute(np.array([[0.0], [np.log(2.0)]]), np.array([[1.0], [2.0]]))
    >>> round(value, 4), grad.ravel().tolist()
    (0.0, [0.0, 0.0])
    """
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
