"""Compile a Network into a plan for the fused engine (fastnn/_kernels/engine.pyx).

The engine runs networks made of Dense layers, each optionally followed by a BatchNorm or
LayerNorm, one activation layer and then a Dropout, with any of fastnn's losses and optimizers.
Anything else (a custom layer class, a leading Dropout, an activation not after a Dense, a norm
not right after a Dense) returns None: the Network then trains layer by layer in Python, with
the same kernels.
"""
from fastnn import _kernels, losses, optimizers, registry
from fastnn import layers as L
from fastnn.plan import LayerSpec, LossSpec, NormSpec, OptimizerSpec, ParamSpec, PlanSpec

_engine = _kernels.load("engine")
NonFiniteInput = _engine.NonFiniteInput  # a training call's check_x found NaN or infinity in X
ACTIVATION_LAYERS = L.ACTIVATION_LAYERS
OPTIMIZER_NAMES = {cls: name for name, cls in optimizers.OPTIMIZERS.items()}
# Which hyperparameters fill the plan's two optimizer slots a and b.
OPTIMIZER_SLOTS = {entry.name: entry.slots for entry in registry.OPTIMIZERS}


def output_code(activation):
    """The engine's code for the activation predict applies to the outputs (None: none)."""
    return _engine.ACTIVATION_CODES[activation or "identity"]


def _groups(layers):
    """[(dense, norm, activation, dropout)], each but the Dense possibly None, or None if the
    layers do not fit."""
    groups, i = [], 0
    while i < len(layers):
        dense = layers[i]
        if type(dense) is not L.Dense:
            return None
        i += 1
        norm = activation = dropout = None
        if i < len(layers) and type(layers[i]) in L.NORM_LAYERS:
            norm, i = layers[i], i + 1
        if i < len(layers) and type(layers[i]) in ACTIVATION_LAYERS:
            activation, i = layers[i], i + 1
        if i < len(layers) and type(layers[i]) is L.Dropout:
            dropout, i = layers[i], i + 1
        if isinstance(activation, L.Softmax) and i < len(layers):
            return None  # softmax only as the output activation
        groups.append((dense, norm, activation, dropout))
    return groups


def _norm_spec(norm):
    batch = isinstance(norm, L.BatchNorm)
    return NormSpec(_engine.NORM_CODES[type(norm).__name__], norm.gamma, norm.beta, norm.dgamma,
                    norm.dbeta, norm.running_mean if batch else None,
                    norm.running_var if batch else None, norm.momentum if batch else 0.0,
                    norm.eps)


def compile_plan(network, max_rows, labels=None, training=True):
    """An engine Plan for `network` with buffers for `max_rows` rows, or None if unsupported.
    labels: whether training targets are class labels (default: if the loss takes them);
    training: False for predict only (the parameters may then be read-only)."""
    groups = _groups(network.train_layers)
    loss, optimizer = network.train_loss, network.optimizer
    name = OPTIMIZER_NAMES.get(type(optimizer))
    if groups is None or name is None or type(loss) not in losses.CLASSES.values():
        return None
    layers = [LayerSpec(dense.W, dense.b, dense.dW, dense.db,
                        output_code(activation.kind if activation is not None else None),
                        activation.alpha_argument if activation is not None else 0.0,
                        dropout.rate if dropout is not None else 0.0,
                        dropout.state if dropout is not None else None,
                        _norm_spec(norm) if norm is not None else None)
              for dense, norm, activation, dropout in groups]
    params = []
    if training:
        parameters = network.parameters()
        optimizer.init_state(parameters)
        params = [ParamSpec(p, g, *(state + [None, None])[:2], l2)
                  for p, g, state, l2 in zip(parameters, network.gradients(), optimizer.state,
                                             network.penalties())]
    code = _engine.OPTIMIZER_CODES[name]
    if training:
        hyper = optimizer.config()
        a, b = OPTIMIZER_SLOTS[name]
        # a schedule's rates come per call (Plan.set_learning_rates), not in the plan
        lr = 0.0 if optimizer.schedule is not None else optimizer.lr
        optimizer_spec = OptimizerSpec(code, lr,
                                       optimizer.decay, hyper.get(a, 0.0),
                                       hyper.get(b, 0.0), hyper.get("eps", 0.0),
                                       optimizer.weight_decay, hyper.get("nesterov", False),
                                       hyper.get("eps_hat", False),
                                       *(getattr(optimizer, name) or 0.0
                                         for name in optimizers.CLIPPING))
    else:  # inference reads no hyperparameter, so none of them can keep predict from running
        optimizer_spec = OptimizerSpec(code, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False, False)
    mode = network.accuracy_mode() if network.loss.classification else None
    return _engine.Plan(PlanSpec(
        dtype=network.dtype, layers=layers, params=params, optimizer=optimizer_spec,
        loss=LossSpec(_engine.LOSS_CODES[loss.kernel],
                      getattr(loss, "eps", getattr(loss, "delta", 0.0))),
        max_rows=max_rows, labels=loss.takes_labels if labels is None else labels,
        accuracy=_engine.ACCURACY_CODES[mode], owners=[group[0] for group in groups],
        layer_list=network.train_layers, training=training))
