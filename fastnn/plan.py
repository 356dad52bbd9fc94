"""The engine's plan specification: what fastnn.engine.compile_plan reads off one snapshot of a
Network and fastnn/_kernels/engine.pyx compiles (`Plan(spec)`), field by field.

The compiled Plan checks every field (engine.pyx's _check_plan) before its kernels trust it, and
fastnn.network.Network._refresh is the one place that decides whether a plan still holds.
"""
from collections.abc import Sequence
from typing import NamedTuple, Optional

import numpy as np


class NormSpec(NamedTuple):
    """The BatchNorm or LayerNorm right after a Dense layer."""
    kind: int                       # engine.NORM_CODES[class name]
    gamma: np.ndarray
    beta: np.ndarray
    dgamma: np.ndarray
    dbeta: np.ndarray
    running_mean: Optional[np.ndarray]  # BatchNorm's running statistics, None for LayerNorm
    running_var: Optional[np.ndarray]
    momentum: float                 # BatchNorm's (torch's convention), 0 for LayerNorm
    eps: float


class LayerSpec(NamedTuple):
    """A Dense layer and what the engine fuses after it: a norm, an activation, a dropout."""
    W: np.ndarray
    b: np.ndarray
    dW: np.ndarray
    db: np.ndarray
    activation: int                 # the engine's code, engine.ACTIVATION_CODES[name]
    alpha: float                    # the activation's hyperparameter (0 for none)
    dropout_rate: float             # 0: no dropout after the activation
    dropout_state: Optional[np.ndarray]  # that dropout's uint64 [key, counter]
    norm: Optional[NormSpec] = None  # between the Dense and the activation


class ParamSpec(NamedTuple):
    """A parameter, its gradient and the optimizer's state arrays for it."""
    param: np.ndarray
    grad: np.ndarray
    state1: Optional[np.ndarray]
    state2: Optional[np.ndarray]
    l2: float                       # its L2 penalty strength (Dense's l2), 0 for none


class OptimizerSpec(NamedTuple):
    """The optimizer's kind and hyperparameters; a and b are its two slots
    (fastnn.registry.OPTIMIZERS[...].slots: momentum, beta1/beta2, rho). With a learning-rate
    schedule, lr is unused: the Plan's set_learning_rates table gives each step's rate."""
    kind: int                       # engine.OPTIMIZER_CODES[name]
    lr: float
    decay: float
    a: float
    b: float
    eps: float
    weight_decay: float
    nesterov: bool
    eps_hat: bool
    clipnorm: float = 0.0           # gradient clipping (fastnn.optimizers), 0 where off
    clipvalue: float = 0.0
    global_clipnorm: float = 0.0


class LossSpec(NamedTuple):
    kind: int                       # engine.LOSS_CODES[kernel]
    eps: float                      # the loss's eps (cross-entropy's clip, Huber's delta), else 0


class PlanSpec(NamedTuple):
    """A whole plan. max_rows: the most rows of a batch or predict chunk; labels: training
    targets are class labels; accuracy: engine.ACCURACY_CODES[mode]; owners: the Dense layers,
    whose W and b must stay these arrays for predict_fast; layer_list: the network's list of
    training layers, whose items must stay the same; training: False for an inference plan,
    which may point into read-only parameters (its params may be empty)."""
    dtype: np.dtype
    layers: Sequence[LayerSpec]
    params: Sequence[ParamSpec]
    optimizer: OptimizerSpec
    loss: LossSpec
    max_rows: int
    labels: bool
    accuracy: int
    owners: Sequence[object] = ()
    layer_list: Optional[list] = None
    training: bool = True
