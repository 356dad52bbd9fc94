"""Optimizers: step(params, grads) updates the parameters in place through the compiled kernels.

The state (velocities, moments) lives in the optimizer, one list of arrays per parameter, in
the order of the parameters. The learning rate decays as lr / (1 + decay * iterations), where
`iterations` counts the steps taken; lr may also be a schedule (fastnn.schedules, or any
callable of the step number), whose value decay then divides.

Every optimizer takes Keras' names as aliases (learning_rate= for lr, beta_1=, beta_2= and
epsilon= for beta1, beta2 and eps; both spellings at once is a TypeError; epsilon keeps fastnn's,
torch's, place in Adam's update: Adam(eps_hat=True) adds it where Keras does) and Keras' gradient
clipping, applied to the loss gradients in place before the update (and so before weight_decay
and the layers' L2, which torch too adds inside its step):

- clipnorm: each parameter's gradient g scaled by coef = clipnorm / (||g|| + 1e-6) when coef
  < 1: torch.nn.utils.clip_grad_norm_ on that parameter alone (Keras scales by clipnorm /
  max(||g||, clipnorm), which differs by that 1e-6);
- global_clipnorm: all gradients scaled by one such coef of their joint norm, as
  torch.nn.utils.clip_grad_norm_ on all parameters; at most one of the two;
- clipvalue: each element clamped to [-clipvalue, clipvalue], after a norm's rescale (as
  clip_grad_norm_ then clip_grad_value_).

The norms are summed in double (kernels.grad_sum_squares, parameter by parameter in order for
the global one), the kernels the engine calls too.

The classes SGD, Adam, AdamW, Adamax, RMSprop and Adagrad are made from the entries of
fastnn.registry.OPTIMIZERS, their docstrings and signatures too (see `_optimizer_doc`).
"""
from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence

import numpy as np

from fastnn import kernels as K
from fastnn import reference as R
from fastnn import registry
from fastnn.schedules import is_schedule
from fastnn.tracking import Tracked
from fastnn.validation import is_real
from fastnn.validation import real as _check

# Each hyperparameter's range, as the constructors check it: (low, high, low end open).
RANGES = {arg.name: (arg.low, arg.high, arg.low_open)
          for entry in registry.OPTIMIZERS for arg in entry.args if isinstance(arg, registry.Hyper)}


def _hyper(name, value):
    """value as a float, checked against its hyperparameter's range."""
    low, high, low_open = RANGES[name]
    return _check(name, value, low, high, low_open=low_open)


CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


def _lr(value):
    """A learning rate: a schedule as it is, else a number checked as the hyperparameter lr."""
    return value if is_schedule(value) else _hyper("lr", value)


def _clip(name, value):
    return None if value is None else _check(name, value, 0, math.inf, low_open=True)


def _check_clipping(clipnorm, clipvalue, global_clipnorm):
    """The three clipping arguments checked: None (off) or a finite number > 0 each, and not
    both norms (as Keras refuses them)."""
    values = [_clip(name, value) for name, value in
              zip(CLIPPING, (clipnorm, clipvalue, global_clipnorm))]
    if values[0] is not None and values[2] is not None:
        raise ValueError("at most one of clipnorm (per parameter) and global_clipnorm (all "
                         "parameters together) may be set")
    return values


class Optimizer(Tracked):
    """Base class of the optimizers: step(params, grads) updates the parameters in place.

    Parameters
    ----------
    lr : float or callable
        The learning rate, a finite number >= 0, or a schedule: fastnn.schedules' classes or
        any callable of the step number (0, 1, ...) returning one. The subclasses also take
        Keras' name, learning_rate.
    decay : float, default 0.0
        The rate is lr / (1 + decay * iterations) (a schedule's value divided the same way).
    weight_decay : float, default 0.0
        L2 decay added to the gradient (AdamW: decoupled), after the clipping.
    clipnorm : float or None, default None
        Rescale each parameter's gradient to a norm of at most this (> 0), as
        torch.nn.utils.clip_grad_norm_ on that parameter alone (see the module's docstring).
    clipvalue : float or None, default None
        Clamp each gradient element to [-clipvalue, clipvalue] (> 0), after a norm's rescale.
    global_clipnorm : float or None, default None
        Rescale all gradients together to a joint norm of at most this (> 0), as
        torch.nn.utils.clip_grad_norm_ on all parameters; not with clipnorm.

    Attributes
    ----------
    iterations : int
        Steps taken; numbers the next step (its schedule's argument).
    state : list of list of ndarray
        Per parameter, the optimizer's state arrays (velocities, moments).

    Raises
    ------
    ValueError
        If a hyperparameter is not a finite number in its interval, or both clipnorm and
        global_clipnorm are set.

    See Also
    --------
    fastnn.schedules : Learning-rate schedules.

    Examples
    --------
    Every optimizer is one, and a schedule may be its learning rate:

    >>> opt = fnn.SGD(lr=fnn.StepDecay(0.1, step_size=2))
    >>> isinstance(opt, fnn.Optimizer)
    True
    >>> w, g = np.array([1.0, -1.0]), np.array([1.0, 1.0])
    >>> for _ in range(3):
    ...     opt.step([w], [g])
    >>> print([round(float(v), 4) for v in w], round(opt.current_lr, 4))
    [0.79, -1.21] 0.01
    """
    n_state = 0  # arrays of state per parameter
    decoupled = False  # weight_decay applied apart from the gradient (AdamW), not as L2
    # Handed to the engine on every call, so changing them needs no new plan.
    _untracked = frozenset({"lr", "iterations"})

    def __init__(self, lr: float | Callable[[int], float], decay: float = 0.0,
                 weight_decay: float = 0.0, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None) -> None:
        self.lr = _lr(lr)
        self.decay = _hyper("decay", decay)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        self.clipnorm, self.clipvalue, self.global_clipnorm = _check_clipping(
            clipnorm, clipvalue, global_clipnorm)
        self.iterations = 0
        self.state = []

    def check(self):
        """Raise ValueError if a hyperparameter set since construction is not valid: the
        constructors' ranges, checked again on the current values."""
        for name, value in self.config().items():
            if name in RANGES and not (name == "lr" and is_schedule(value)):
                _hyper(name, value)
        _check_clipping(self.clipnorm, self.clipvalue, self.global_clipnorm)

    @property
    def schedule(self):
        """The learning-rate schedule (lr, when it is a callable), or None."""
        return self.lr if is_schedule(self.lr) else None

    def lr_at(self, t):
        """The learning rate of step t (0-based): the schedule's value or lr, divided by
        1 + decay * t. ValueError if a schedule gives anything but a finite number >= 0."""
        if not is_schedule(self.lr):
            return self.lr / (1.0 + self.decay * t)
        try:
            value = self.lr(t)
            ok = is_real(value) and math.isfinite(value) and value >= 0
        except OverflowError:  # a built-in schedule's power, or an int too large for a float
            value, ok = "a value beyond a float's range", False
        if not ok:
            raise ValueError(f"the learning-rate schedule {self.lr!r} gave {value!r} for step "
                             f"{t}: a learning rate must be a finite number >= 0")
        return float(value) / (1.0 + self.decay * t)

    @property
    def current_lr(self):
        """The learning rate of the next step."""
        return self.lr_at(self.iterations)

    def learning_rates(self, steps):
        """The learning rates of the next `steps` steps, as a float64 array (what the engine
        reads when there is a schedule)."""
        return np.array([self.lr_at(t) for t in range(self.iterations, self.iterations + steps)],
                        dtype=np.float64)

    @property
    def clips(self):
        """Whether any gradient clipping is on."""
        return (self.clipnorm is not None or self.clipvalue is not None
                or self.global_clipnorm is not None)

    def clip_gradients(self, grads):
        """Clip `grads` in place as the constructor's clipnorm, global_clipnorm and clipvalue
        say (see the module's docstring), with the kernels the engine uses."""
        scale = 1.0
        if self.global_clipnorm is not None:
            total = 0.0
            for g in grads:
                total += K.grad_sum_squares(g)
            coef = self.global_clipnorm / (math.sqrt(total) + 1e-6)
            scale = coef if coef < 1 else 1.0
        clipvalue = self.clipvalue or 0.0
        for g in grads:
            if self.clipnorm is not None:
                coef = self.clipnorm / (math.sqrt(K.grad_sum_squares(g)) + 1e-6)
                scale = coef if coef < 1 else 1.0
            if scale != 1 or clipvalue > 0:
                K.clip_gradient(g, scale, clipvalue)

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
                    f"{p.shape}): {type(self).__name__} keeps {self.n_state} C-contiguous such "
                    f"arrays per parameter; set optimizer.state = [] to start the optimizer afresh")

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray],
             extra_decay: Sequence[float] | None = None) -> None:
        """One update of every parameter, in place, then ``iterations += 1``.

        The gradients are clipped first (in place) if the optimizer clips; the state arrays
        are made (zero) on the first step.

        Parameters
        ----------
        params : sequence of ndarray
            The parameters, C-contiguous float arrays, updated in place.
        grads : sequence of ndarray
            Their gradients, one of each parameter's shape and dtype.
        extra_decay : sequence of float or None, default None
            Per parameter, weight decay added to weight_decay for this step (a network's L2
            penalties, see Dense's l2); a decoupled optimizer (AdamW) adds it to the gradient
            alone and decays by weight_decay apart. None: 0 for each.

        Raises
        ------
        ValueError
            If grads or extra_decay do not hold one entry per parameter, the optimizer's
            state does not match the parameters (another network's), or a learning-rate
            schedule gives anything but a finite number >= 0.
        """
        for name, values in (("grads", grads), ("extra_decay", extra_decay)):
            if values is not None and len(values) != len(params):
                raise ValueError(f"{name} must hold one entry per parameter ({len(params)}), "
                                 f"got {len(values)}")
        self.init_state(params)
        lr = self.current_lr
        if self.clips:
            self.clip_gradients(grads)
        extra_decay = extra_decay or [0.0] * len(params)
        coupled = 0.0 if self.decoupled else self.weight_decay
        for param, grad, state, extra in zip(params, grads, self.state, extra_decay):
            self._update(param, grad, state, lr, coupled + extra)
        self.iterations += 1

    def config(self):
        """The constructor's arguments (lr a schedule object if it is one; the clipping ones
        only where set)."""
        return {"lr": self.lr, "decay": self.decay, "weight_decay": self.weight_decay,
                **{name: getattr(self, name) for name in CLIPPING
                   if getattr(self, name) is not None}}

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.config().items())})"


_BASE = ("lr", "decay", "weight_decay")  # Optimizer.__init__'s
# Keras' names of fastnn's arguments, understood by every optimizer that has the argument.
KERAS_NAMES = {"learning_rate": "lr", "beta_1": "beta1", "beta_2": "beta2", "epsilon": "eps"}


class _Default(float):
    """A constructor's default number, told apart by identity from the same number passed (so
    that giving both lr and learning_rate is a TypeError even when lr equals its default)."""
    __slots__ = ()

    def __repr__(self):
        return float.__repr__(self)


def _alias(cls, name, value, alias, alias_value):
    """The value of argument `name` when Keras' `alias` may have been given instead."""
    if alias_value is None:
        return value
    if type(value) is not _Default:
        raise TypeError(f"{cls}() got both {name}= and its Keras name {alias}=; give one")
    return alias_value


def _function(qualname, source, scope):
    """The function `source` defines, run in `scope`, named `qualname` (as dataclasses makes its
    __init__: a real function with the real signature, and no per-call indirection)."""
    exec(source, scope)
    function = scope[qualname.rsplit(".", 1)[1]]
    function.__qualname__ = qualname
    if hasattr(function.__code__, "co_qualname"):  # Python 3.11+ names it in TypeErrors
        function.__code__ = function.__code__.replace(co_qualname=qualname)
    return function


# The learning rate's type: a number or a schedule (a callable of the step number).
_LR_TYPE = "float | Callable[[int], float]"
_CLIPPING_DOC = """    clipnorm : float or None, default None
        Rescale each parameter's gradient to a norm of at most this (> 0), as
        torch.nn.utils.clip_grad_norm_ on that parameter alone (see fastnn.optimizers).
    clipvalue : float or None, default None
        Clamp each gradient element to [-clipvalue, clipvalue] (> 0), after a norm's rescale.
    global_clipnorm : float or None, default None
        Rescale all gradients together to a joint norm of at most this (> 0), as
        torch.nn.utils.clip_grad_norm_ on all parameters; not with clipnorm."""


def _annotations(entry, aliases):
    """The generated constructor's type hints (strings, as `from __future__ import annotations`
    leaves them): a Hyper a float (lr a number or a schedule), a Flag a bool, a Keras alias or a
    clipping argument the same or None."""
    def kind(arg):
        if arg.name == "lr":
            return _LR_TYPE
        return "float" if isinstance(arg, registry.Hyper) else "bool"
    by_name = {arg.name: arg for arg in entry.args}
    return {**{arg.name: kind(arg) for arg in entry.args},
            **{alias: f"{kind(by_name[name])} | None" for alias, name in aliases.items()},
            **dict.fromkeys(CLIPPING, "float | None"), "return": "None"}


def _example_step(entry):
    """w after one step from w = [1, -2] with gradient [0.5, 0.25] and the default
    hyperparameters, by the kernel's NumPy twin in fastnn.reference: the Examples' output."""
    w, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    state = [np.zeros(2) for _ in entry.state]
    kw = {a.name: a.default for a in entry.kernel_args}
    if entry.decoupled:
        kw["l2"] = 0.0
    w = getattr(R, entry.kernel)(w, g, *state, *([1] if entry.step_number else []), **kw)
    return [round(float(v), 4) for v in w]


def _optimizer_doc(entry, aliases):
    """The numpydoc docstring of the class of a registry.OPTIMIZERS entry: entry.doc (summary
    and description), the update (entry.formula), then Parameters from entry.args (each one's
    doc, type, default and interval; then the Keras names and the clipping, keyword-only),
    Attributes, Raises and Examples."""
    lines = [(entry.doc or f"The {entry.cls} optimizer.").rstrip(), "",
             f"    Each step updates every element of a parameter as fastnn.kernels.{entry.kernel}"
             " does, with"]
    if entry.decoupled:
        lines.append("    g = grad + l2 * param (l2: a layer's penalty, see Dense's l2):")
    else:
        lines.append("    g = grad + (weight_decay + a layer's l2) * param:")
    lines += ["", *("        " + line for line in entry.formula.split("\n")), "",
              "    Parameters", "    ----------"]
    for arg in entry.args:
        if isinstance(arg, registry.Hyper):
            kind = "float or callable" if arg.name == "lr" else "float"
            rule = f"A finite number {arg.interval}" + (
                " or a schedule" if arg.name == "lr" else "") + "."
        else:
            kind, rule = "bool", ""
        lines += [f"    {arg.name} : {kind}, default {arg.default!r}",
                  textwrap.fill(f"{arg.doc} {rule}".strip(), 96, initial_indent=" " * 8,
                                subsequent_indent=" " * 8)]
    for alias, name in aliases.items():
        kind = "float or callable or None" if name == "lr" else "float or None"
        lines += [f"    {alias} : {kind}, default None",
                  f"        Keras' name of {name}: give one of the two."]
    lines += [_CLIPPING_DOC, "",
              "    Attributes", "    ----------",
              "    iterations : int",
              "        Steps taken; numbers the next step (its schedule's argument).",
              "    state : list of list of ndarray",
              f"        Per parameter, its state arrays ({', '.join(entry.state)})"
              + (f", while {entry.state_if} > 0." if entry.state_if else "."), "",
              "    Raises", "    ------",
              "    ValueError",
              "        If a hyperparameter is not a finite number in its interval, or both",
              "        clipnorm and global_clipnorm are set.",
              "    TypeError",
              "        If an argument and its Keras name are both given.", "",
              "    Examples", "    --------",
              f"    >>> opt = fnn.{entry.cls}()",
              "    >>> w, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])",
              "    >>> opt.step([w], [g])",
              "    >>> print([round(float(v), 4) for v in w], opt.iterations)",
              f"    {_example_step(entry)} 1",
              f"    >>> net = fnn.Network([fnn.Dense(3, 1)], loss=\"mse\", "
              f"optimizer=fnn.{entry.cls}(lr=0.01))",
              "    >>> type(net.optimizer).__name__",
              f"    '{entry.cls}'", ""]
    return "\n".join(lines)


def _optimizer_class(entry):
    """The Optimizer subclass of a registry.OPTIMIZERS entry: its constructor takes entry.args in
    order (checked as Optimizer.__init__ and _hyper check them), its step calls the entry's
    kernel with the arguments it takes."""
    names = [arg.name for arg in entry.args]
    extra = [arg for arg in entry.args if arg.name not in _BASE]
    aliases = {alias: name for alias, name in KERAS_NAMES.items() if name in names}
    init = _function(
        f"{entry.cls}.__init__",
        f"def __init__(self, {', '.join(f'{n}={n}_' for n in names)}, *, "
        + "".join(f"{alias}=None, " for alias in aliases)
        + "clipnorm=None, clipvalue=None, global_clipnorm=None):\n"
        + "".join(f"    {name} = _alias({entry.cls!r}, {name!r}, {name}, {alias!r}, {alias})\n"
                  for alias, name in aliases.items())
        + "    Optimizer.__init__(self, lr, decay, weight_decay, clipnorm, clipvalue, "
          "global_clipnorm)\n"
        + "".join(f"    self.{a.name} = _hyper({a.name!r}, {a.name})\n"
                  if isinstance(a, registry.Hyper) else f"    self.{a.name} = bool({a.name})\n"
                  for a in extra),
        {"Optimizer": Optimizer, "_hyper": _hyper, "_alias": _alias,
         **{f"{arg.name}_": _Default(arg.default) if isinstance(arg, registry.Hyper)
            else arg.default for arg in entry.args}})

    # The kernel's keywords: the hyperparameters as they are, the step's lr, the coupled decay.
    kw = {a.name: f"self.{a.name}" for a in entry.kernel_args}
    kw.update(lr="lr", weight_decay="self.weight_decay" if entry.decoupled else "wd")
    if entry.decoupled:
        kw["l2"] = "wd"
    if "eps_hat" in names:
        # m_hat / (sqrt(v_hat) + eps * sqrt(c2)) == c1 m / (sqrt(c2) (sqrt(v) + eps)): epsilon
        # hat is the kernel's eps scaled by sqrt(c2), computed as the engine computes it.
        kw["eps"] = ("self.eps * math.sqrt(1.0 / (1.0 - self.beta2 ** t)) if self.eps_hat "
                     "else self.eps")
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
        base = Optimizer.config(self)
        clipping = {name: base.pop(name) for name in CLIPPING if name in base}
        return {**base, **{a.name: getattr(self, a.name) for a in extra}, **clipping}

    init.__annotations__ = _annotations(entry, aliases)
    namespace = {"__module__": __name__, "__qualname__": entry.cls,
                 "__doc__": _optimizer_doc(entry, aliases),
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
