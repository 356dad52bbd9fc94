"""Optimizers: step(params, grads) updates the parameters in place through the compiled kernels.

The state (velocities, moments) lives in the optimizer, one list of arrays per parameter, in
the order of the parameters. The learning rate decays as lr / (1 + decay * iterations), where
`iterations` counts the steps taken.
"""
import math

import numpy as np

from fastnn import kernels as K
from fastnn import registry
from fastnn.tracking import Tracked
from fastnn.validation import real as _check


# Each hyperparameter's range, as the constructors check it: (low, high, low end open).
RANGES = {"lr": (0, np.inf, False), "decay": (0, np.inf, False),
          "weight_decay": (0, np.inf, False), "momentum": (0, 1, False),
          "beta1": (0, 1, False), "beta2": (0, 1, False), "rho": (0, 1, False),
          "eps": (0, np.inf, True)}


def _hyper(name, value):
    """value as a float, checked against its hyperparameter's range."""
    low, high, low_open = RANGES[name]
    return _check(name, value, low, high, low_open=low_open)


class Optimizer(Tracked):
    n_state = 0  # arrays of state per parameter
    decoupled = False  # weight_decay applied apart from the gradient (AdamW), not as L2
    # Handed to the engine on every call, so changing them needs no new plan.
    _untracked = frozenset({"lr", "iterations"})

    def __init__(self, lr, decay=0.0, weight_decay=0.0):
        self.lr = _hyper("lr", lr)
        self.decay = _hyper("decay", decay)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.iterations = 0
        self.state = []

    def check(self):
        """Raise ValueError if a hyperparameter set since construction is not valid: the
        constructors' ranges, checked again on the current values."""
        for name, value in self.config().items():
            if name in RANGES:
                _hyper(name, value)

    @property
    def current_lr(self):
        return self.lr / (1.0 + self.decay * self.iterations)

    def init_state(self, params):
        """Zero state arrays for `params`, unless the optimizer already holds state for as many
        parameters, which must then be theirs: n_state arrays of each one's shape and dtype."""
        if len(self.state) != len(params):
            self.state = [[np.zeros_like(p) for _ in range(self.n_state)] for p in params]
            return
        if any(state == [] for state in self.state) and self.n_state:
            # state turned on after construction (SGD's momentum): it starts at zero, as new
            self.state = [state or [np.zeros_like(p) for _ in range(self.n_state)]
                          for p, state in zip(params, self.state)]
        elif not self.n_state and any(self.state):
            self.state = [[] for _ in params]  # and turned off: nothing to keep
        for i, (p, state) in enumerate(zip(params, self.state)):
            ok = type(state) is list and len(state) == self.n_state
            for s in state if ok else ():
                ok = (ok and type(s) is np.ndarray and s.shape == p.shape and s.dtype == p.dtype
                      and s.flags.c_contiguous)
            if not ok:
                raise ValueError(
                    f"optimizer.state[{i}] does not match parameter {i} ({p.dtype}, shape "
                    f"{p.shape}): {type(self).__name__} keeps {self.n_state} C-contiguous such arrays per "
                    f"parameter; set optimizer.state = [] to start the optimizer afresh")

    def step(self, params, grads, extra_decay=None):
        """One update of every parameter. extra_decay: per parameter, weight decay added to
        self.weight_decay for this step (a network's L2 penalties, see Dense's l2); a decoupled
        optimizer (AdamW) adds it to the gradient alone and decays by weight_decay apart."""
        self.init_state(params)
        lr = self.current_lr
        extra_decay = extra_decay or [0.0] * len(params)
        coupled = 0.0 if self.decoupled else self.weight_decay
        for param, grad, state, extra in zip(params, grads, self.state, extra_decay):
            self._update(param, grad, state, lr, coupled + extra)
        self.iterations += 1

    def config(self):
        return {"lr": self.lr, "decay": self.decay, "weight_decay": self.weight_decay}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.config().items())})"


class SGD(Optimizer):
    """param += v, v = momentum * v - lr * grad (Nesterov: param += momentum * v - lr * grad)."""

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, decay=0.0):
        super().__init__(lr, decay, weight_decay)
        self.momentum = _hyper("momentum", momentum)
        self.nesterov = bool(nesterov)

    @property
    def n_state(self):
        return 1 if self.momentum > 0 else 0  # the velocity, with momentum

    def _update(self, param, grad, state, lr, wd):
        K.sgd_update(param, grad, state[0] if state else None, lr=lr, momentum=self.momentum,
                     nesterov=self.nesterov, weight_decay=wd)

    def config(self):
        return {**super().config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """param -= lr * m_hat / (sqrt(v_hat) + eps), m_hat and v_hat the bias-corrected moments
    (the Adam paper's Algorithm 1, as PyTorch). eps_hat=True adds eps to sqrt(v) before the bias
    correction instead, the paper's "epsilon hat", as scikit-learn and Keras do."""
    n_state = 2

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decay=0.0,
                 eps_hat=False):
        super().__init__(lr, decay, weight_decay)
        self.beta1, self.beta2 = _hyper("beta1", beta1), _hyper("beta2", beta2)
        self.eps = _hyper("eps", eps)
        self.eps_hat = bool(eps_hat)

    def _update(self, param, grad, state, lr, wd):
        t = self.iterations + 1
        # m_hat / (sqrt(v_hat) + eps * sqrt(c2)) == c1 m / (sqrt(c2) (sqrt(v) + eps)): epsilon
        # hat is the kernel's eps scaled by sqrt(c2), computed as the engine computes it.
        eps = self.eps * math.sqrt(1.0 / (1.0 - self.beta2 ** t)) if self.eps_hat else self.eps
        K.adam_update(param, grad, state[0], state[1], t, lr=lr, beta1=self.beta1,
                      beta2=self.beta2, eps=eps, weight_decay=wd)

    def config(self):
        return {**super().config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps,
                "eps_hat": self.eps_hat}


class AdamW(Optimizer):
    """Adam with decoupled weight decay, as torch.optim.AdamW: param *= 1 - lr * weight_decay,
    then Adam's bias-corrected step on the gradient (a layer's l2 penalty stays in the gradient).

    Parameters
    ----------
    lr, beta1, beta2, eps : float
        As Adam's (PyTorch's defaults).
    weight_decay : float
        Decoupled decay per step, scaled by the learning rate (PyTorch's default 0.01).
    decay : float
        Learning-rate decay, lr / (1 + decay * iterations).
    """
    n_state = 2
    decoupled = True

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, decay=0.0):
        super().__init__(lr, decay, weight_decay)
        self.beta1, self.beta2 = _hyper("beta1", beta1), _hyper("beta2", beta2)
        self.eps = _hyper("eps", eps)

    def _update(self, param, grad, state, lr, l2):
        K.adamw_update(param, grad, state[0], state[1], self.iterations + 1, lr=lr,
                       beta1=self.beta1, beta2=self.beta2, eps=self.eps,
                       weight_decay=self.weight_decay, l2=l2)

    def config(self):
        return {**super().config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class RMSprop(Optimizer):
    n_state = 1

    def __init__(self, lr=0.001, rho=0.9, eps=1e-7, weight_decay=0.0, decay=0.0):
        super().__init__(lr, decay, weight_decay)
        self.rho, self.eps = _hyper("rho", rho), _hyper("eps", eps)

    def _update(self, param, grad, state, lr, wd):
        K.rmsprop_update(param, grad, state[0], lr=lr, rho=self.rho, eps=self.eps,
                         weight_decay=wd)

    def config(self):
        return {**super().config(), "rho": self.rho, "eps": self.eps}


class Adagrad(Optimizer):
    n_state = 1

    def __init__(self, lr=0.01, eps=1e-7, weight_decay=0.0, decay=0.0):
        super().__init__(lr, decay, weight_decay)
        self.eps = _hyper("eps", eps)

    def _update(self, param, grad, state, lr, wd):
        K.adagrad_update(param, grad, state[0], lr=lr, eps=self.eps, weight_decay=wd)

    def config(self):
        return {**super().config(), "eps": self.eps}


# The names and classes of fastnn.registry.OPTIMIZERS.
OPTIMIZERS = {entry.name: globals()[entry.cls] for entry in registry.OPTIMIZERS}
CLASSES = {cls.__name__: cls for cls in OPTIMIZERS.values()}


def get(optimizer):
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(f"optimizer must be a fastnn Optimizer or one of {sorted(OPTIMIZERS)}, "
                     f"got {optimizer!r}")
