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
RANGES = {arg.name: (arg.low, arg.high, arg.low_open)
          for entry in registry.OPTIMIZERS for arg in entry.args if isinstance(arg, registry.Hyper)}


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


_BASE = ("lr", "decay", "weight_decay")  # Optimizer.__init__'s


def _function(qualname, source, scope):
    """The function `source` defines, run in `scope`, named `qualname` (as dataclasses makes its
    __init__: a real function with the real signature, and no per-call indirection)."""
    exec(source, scope)
    function = scope[qualname.rsplit(".", 1)[1]]
    function.__qualname__ = qualname
    if hasattr(function.__code__, "co_qualname"):  # Python 3.11+ names it in TypeErrors
        function.__code__ = function.__code__.replace(co_qualname=qualname)
    return function


def _optimizer_class(entry):
    """The Optimizer subclass of a registry.OPTIMIZERS entry: its constructor takes entry.args in
    order (checked as Optimizer.__init__ and _hyper check them), its step calls the entry's
    kernel with the arguments it takes."""
    names = [arg.name for arg in entry.args]
    extra = [arg for arg in entry.args if arg.name not in _BASE]
    init = _function(
        f"{entry.cls}.__init__",
        f"def __init__(self, {', '.join(f'{n}={n}_' for n in names)}):\n"
        f"    Optimizer.__init__(self, lr, decay, weight_decay)\n"
        + "".join(f"    self.{a.name} = _hyper({a.name!r}, {a.name})\n"
                  if isinstance(a, registry.Hyper) else f"    self.{a.name} = bool({a.name})\n"
                  for a in extra),
        {"Optimizer": Optimizer, "_hyper": _hyper,
         **{f"{arg.name}_": arg.default for arg in entry.args}})

    # The kernel's keywords: the hyperparameters as they are, the step's lr, the coupled decay.
    kw = {a.name: f"self.{a.name}" for a in entry.kernel_args}
    kw.update(lr="lr", weight_decay="self.weight_decay" if entry.decoupled else "wd")
    if entry.decoupled:
        kw["l2"] = "wd"
    if "eps_hat" in names:
        # m_hat / (sqrt(v_hat) + eps * sqrt(c2)) == c1 m / (sqrt(c2) (sqrt(v) + eps)): epsilon
        # hat is the kernel's eps scaled by sqrt(c2), computed as the engine computes it.
        kw["eps"] = "self.eps * math.sqrt(1.0 / (1.0 - self.beta2 ** t)) if self.eps_hat else self.eps"
    # positional: param, grad, the state arrays (SGD's velocity: None without momentum), t
    args = ["param", "grad"] + [f"state[{i}]" for i in range(len(entry.state))]
    if entry.state_if is not None:
        args[2:] = ["state[0] if state else None"]
    if entry.step_number:
        args.append("t")
    _update = _function(
        f"{entry.cls}._update",
        "def _update(self, param, grad, state, lr, wd):\n"
        + ("    t = self.iterations + 1\n" if entry.step_number else "")
        + f"    kernel({', '.join(args + [f'{k}={v}' for k, v in kw.items()])})\n",
        {"kernel": getattr(K, entry.kernel), "math": math})

    def config(self):
        return {**Optimizer.config(self), **{a.name: getattr(self, a.name) for a in extra}}

    namespace = {"__module__": __name__, "__qualname__": entry.cls, "__doc__": entry.doc,
                 "__init__": init, "_update": _update, "config": config, "entry": entry,
                 "decoupled": entry.decoupled}
    if entry.state_if is not None:
        namespace["n_state"] = property(
            lambda self: len(entry.state) if getattr(self, entry.state_if) > 0 else 0,
            doc=f"the state arrays, with {entry.state_if} > 0")
    else:
        namespace["n_state"] = len(entry.state)
    return type(entry.cls, (Optimizer,), namespace)


for _entry in registry.OPTIMIZERS:
    globals()[_entry.cls] = _optimizer_class(_entry)
del _entry

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
