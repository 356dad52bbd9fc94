"""Learning-rate schedules: callables of the step number, given as an optimizer's learning rate.

`Adam(learning_rate=CosineDecay(0.01, 1000))`, or any callable `step -> rate`: step counts the
optimizer steps taken before (optimizer.iterations, from 0), so the first step runs at
schedule(0), as Keras' schedules and torch.optim.lr_scheduler stepped once per batch. The
optimizer's `decay`, if any, divides the schedule's value as it divides a constant rate.

The engine runs whole epochs without Python, so before each engine call the optimizer
tabulates the rate of every step the call can take (Optimizer.learning_rates) and the engine
reads the table; the layer-by-layer path calls the same function step by step, so the two
agree bit for bit. A value that is not a finite number >= 0 is a ValueError before any step
that would use it. The classes here save and load with a network (config()); a custom callable
trains but cannot be saved.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from fastnn.validation import integer, real


def _steps(name, value):
    """A number of steps: a real number > 0 (Keras' decay_steps may be a float)."""
    return real(name, value, 0, math.inf, low_open=True)


def _rate(name, value):
    return real(name, value, 0, math.inf)


class Schedule:
    """Base class of the schedules: schedule(step) is the learning rate of that step (0-based).

    A subclass defines __call__(step) and config(), the constructor's arguments, as a model
    file keeps them; two schedules are equal when their classes and configs are.

    Examples
    --------
    >>> schedule = fnn.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> isinstance(schedule, fnn.schedules.Schedule)
    True
    >>> schedule == fnn.ExponentialDecay(0.1, 10, 0.5)
    True
    >>> schedule.config()["decay_rate"]
    0.5
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def config(self) -> dict[str, object]:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.config().items())})"

    def __eq__(self, other):
        return type(other) is type(self) and other.config() == self.config()

    __hash__ = None


class ExponentialDecay(Schedule):
    """Exponential decay, as Keras' ExponentialDecay.

    initial_learning_rate * decay_rate ** (step / decay_steps); staircase=True uses
    floor(step / decay_steps). With decay_steps=1 it is
    torch.optim.lr_scheduler.ExponentialLR(gamma=decay_rate) stepped per batch.

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0, >= 0.
    decay_steps : float
        Steps per factor of decay_rate, > 0.
    decay_rate : float
        The factor, > 0.
    staircase : bool, default False
        Decay in whole steps of decay_steps.

    Raises
    ------
    ValueError
        If a number is not finite or outside its range.

    Examples
    --------
    >>> schedule = fnn.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> [round(schedule(step), 4) for step in (0, 5, 10, 20)]
    [0.1, 0.0707, 0.05, 0.025]
    >>> opt = fnn.Adam(learning_rate=schedule)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False) -> None:
        self.initial_learning_rate = _rate("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.decay_rate = real("decay_rate", decay_rate, 0, math.inf, low_open=True)
        self.staircase = bool(staircase)

    def __call__(self, step: int) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def config(self) -> dict[str, object]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}


class StepDecay(Schedule):
    """Decay by a factor every step_size steps, as torch.optim.lr_scheduler.StepLR.

    initial_learning_rate * gamma ** (step // step_size): StepLR stepped per batch (its names;
    Keras has no such class, ExponentialDecay(staircase=True) is the same schedule).

    Parameters
    ----------
    initial_learning_rate : float
        The rate of the first step_size steps, >= 0.
    step_size : int
        Steps between decays, >= 1.
    gamma : float, default 0.1
        The factor of each decay, > 0.

    Raises
    ------
    ValueError
        If a number is not finite or outside its range, or step_size is not an integer.

    Examples
    --------
    >>> schedule = fnn.StepDecay(0.1, step_size=100)
    >>> [round(schedule(step), 4) for step in (0, 99, 100, 250)]
    [0.1, 0.1, 0.01, 0.001]
    """

    def __init__(self, initial_learning_rate: float, step_size: int, gamma: float = 0.1) -> None:
        self.initial_learning_rate = _rate("initial_learning_rate", initial_learning_rate)
        self.step_size = integer("step_size", step_size, 1)
        self.gamma = real("gamma", gamma, 0, math.inf, low_open=True)

    def __call__(self, step: int) -> float:
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)

    def config(self) -> dict[str, object]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "step_size": self.step_size, "gamma": self.gamma}


class PiecewiseConstantDecay(Schedule):
    """Constant rates between step boundaries, as Keras' PiecewiseConstantDecay.

    values[0] up to step boundaries[0], values[1] up to boundaries[1], ..., values[-1] after
    the last boundary (step <= boundary takes the boundary's value).

    Parameters
    ----------
    boundaries : list of int
        Increasing step numbers.
    values : list of float
        One more than boundaries, each >= 0.

    Raises
    ------
    TypeError
        If boundaries or values is not a list (or tuple).
    ValueError
        If a boundary is not an integer >= 0, a value not a finite number >= 0, the lengths
        do not fit or the boundaries do not increase.

    Examples
    --------
    >>> schedule = fnn.PiecewiseConstantDecay([100, 200], [0.1, 0.01, 0.001])
    >>> [schedule(step) for step in (0, 100, 101, 500)]
    [0.1, 0.1, 0.01, 0.001]
    """

    def __init__(self, boundaries: Sequence[int], values: Sequence[float]) -> None:
        if not isinstance(boundaries, (list, tuple)) or not isinstance(values, (list, tuple)):
            raise TypeError("boundaries and values must be lists")
        self.boundaries = [integer(f"boundaries[{i}]", b, 0) for i, b in enumerate(boundaries)]
        self.values = [_rate(f"values[{i}]", v) for i, v in enumerate(values)]
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(f"values must hold one more entry than boundaries ("
                             f"{len(self.boundaries) + 1}), got {len(self.values)}")
        if any(b >= c for b, c in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"boundaries must increase, got {self.boundaries}")

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def config(self) -> dict[str, object]:
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


class CosineDecay(Schedule):
    """Cosine decay with an optional linear warmup, as Keras' CosineDecay.

    Without warmup_target: initial_learning_rate * ((1 - alpha) * c + alpha), c = 0.5 * (1 +
    cos(pi * min(step, decay_steps) / decay_steps)), which is
    torch.optim.lr_scheduler.CosineAnnealingLR(T_max=decay_steps, eta_min=alpha *
    initial_learning_rate) over its first decay_steps steps (after them this one stays at the
    floor). With warmup_target: the rate goes linearly from initial_learning_rate to
    warmup_target over warmup_steps steps, then decays from warmup_target as above.

    Parameters
    ----------
    initial_learning_rate : float
        The rate at step 0, >= 0.
    decay_steps : float
        Length of the decay, > 0.
    alpha : float, default 0.0
        The floor, as a fraction of the rate decayed from, in [0, 1].
    warmup_target : float or None, default None
        The rate the warmup reaches, >= 0; None: no warmup.
    warmup_steps : int, default 0
        Length of the warmup, >= 0.

    Raises
    ------
    ValueError
        If a number is not finite or outside its range, or warmup_steps is not an integer.

    Examples
    --------
    >>> schedule = fnn.CosineDecay(0.1, decay_steps=100)
    >>> [round(schedule(step), 4) for step in (0, 50, 100, 200)]
    [0.1, 0.05, 0.0, 0.0]
    >>> warm = fnn.CosineDecay(0.0, 100, warmup_target=0.1, warmup_steps=10)
    >>> [round(warm(step), 4) for step in (0, 5, 10, 60)]
    [0.0, 0.05, 0.1, 0.05]
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 warmup_target: float | None = None, warmup_steps: int = 0) -> None:
        self.initial_learning_rate = _rate("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps("decay_steps", decay_steps)
        self.alpha = real("alpha", alpha, 0, 1, high_open=False)
        self.warmup_target = (None if warmup_target is None
                              else _rate("warmup_target", warmup_target))
        self.warmup_steps = integer("warmup_steps", warmup_steps, 0)

    def _decay(self, step, start):
        cosine = 0.5 * (1.0 + math.cos(math.pi * (step / self.decay_steps)))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (step / self.warmup_steps) + self.initial_learning_rate
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def config(self) -> dict[str, object]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


# The schedules a model file can hold, by class name.
CLASSES = {cls.__name__: cls for cls in (ExponentialDecay, StepDecay, PiecewiseConstantDecay,
                                         CosineDecay)}


def is_schedule(value):
    """Whether an optimizer's learning rate `value` is a schedule (a callable, not a number)."""
    return callable(value) and not isinstance(value, numbers.Number)
