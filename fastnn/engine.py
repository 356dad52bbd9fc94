"""Compile a Network into a plan for the fused engine (fastnn/_kernels/engine.pyx).

The engine runs networks made of Dense layers, each optionally followed by one activation layer
and then a Dropout, with any of fastnn's losses and optimizers. Anything else (a custom layer
class, a leading Dropout, an activation not after a Dense) returns None: the Network then trains
layer by layer in Python, with the same kernels.
"""
from fastnn import _kernels
from fastnn import layers as L
from fastnn import losses, optimizers

ACTIVATION_CODES = {L.Identity: 0, L.ReLU: 1, L.LeakyReLU: 2, L.Sigmoid: 3, L.Tanh: 4,
                    L.Softmax: 5}
LOSS_CODES = {"softmax_cross_entropy": 0, "categorical_cross_entropy": 1,
              "sigmoid_binary_cross_entropy": 2, "binary_cross_entropy": 3,
              "mean_squared_error": 4, "mean_absolute_error": 5, "sum_of_squares": 6}
OPTIMIZER_CODES = {optimizers.SGD: 0, optimizers.Adam: 1, optimizers.RMSprop: 2,
                   optimizers.Adagrad: 3}
ACCURACY_CODES = {None: 0, "argmax": 1, "logits": 2, "probabilities": 3}
ACTIVATION_OF_OUTPUT = {None: 0, "softmax": 5, "sigmoid": 3}


def _groups(layers):
    """[(dense, activation or None, dropout or None)], or None if the layers do not fit."""
    groups, i = [], 0
    while i < len(layers):
        dense = layers[i]
        if type(dense) is not L.Dense:
            return None
        i += 1
        activation = dropout = None
        if i < len(layers) and type(layers[i]) in ACTIVATION_CODES:
            activation, i = layers[i], i + 1
        if i < len(layers) and type(layers[i]) is L.Dropout:
            dropout, i = layers[i], i + 1
        if isinstance(activation, L.Softmax) and i < len(layers):
            return None  # softmax only as the output activation
        groups.append((dense, activation, dropout))
    return groups


def compile_plan(network, max_rows, labels=None):
    """An engine Plan for `network` with buffers for `max_rows` rows, or None if unsupported.
    labels: whether training targets are class labels (default: if the loss takes them)."""
    groups = _groups(network._train_layers)
    loss, optimizer = network._train_loss, network.optimizer
    if (groups is None or type(optimizer) not in OPTIMIZER_CODES
            or type(loss) not in losses.CLASSES.values()):
        return None
    plan_layers = []
    for dense, activation, dropout in groups:
        plan_layers.append((
            dense.W, dense.b, dense.dW, dense.db,
            ACTIVATION_CODES[type(activation)] if activation is not None else 0,
            getattr(activation, "alpha", 0.0),
            dropout.rate if dropout is not None else 0.0,
            dropout.state if dropout is not None else None))
    params = network.parameters()
    if len(optimizer.state) != len(params):
        optimizer.state = [[p * 0 for _ in range(optimizer.n_state)] for p in params]
    plan_params = [(p, g, *(state + [None, None])[:2])
                   for p, g, state in zip(params, network.gradients(), optimizer.state)]
    hyper = optimizer.config()
    a, b = {optimizers.SGD: ("momentum", None), optimizers.Adam: ("beta1", "beta2"),
            optimizers.RMSprop: ("rho", None), optimizers.Adagrad: (None, None)}[type(optimizer)]
    plan_optimizer = (OPTIMIZER_CODES[type(optimizer)], optimizer.lr, optimizer.decay,
                      hyper.get(a, 0.0), hyper.get(b, 0.0), hyper.get("eps", 0.0),
                      optimizer.weight_decay, hyper.get("nesterov", False))
    plan_loss = (LOSS_CODES[loss.kernel], getattr(loss, "eps", 0.0))
    mode = network._accuracy_mode() if network.loss.classification else None
    engine = _kernels.load("engine")
    return engine.Plan(network.dtype, plan_layers, plan_params, plan_optimizer, plan_loss,
                       max_rows, loss.takes_labels if labels is None else labels,
                       ACCURACY_CODES[mode], [dense for dense, _, _ in groups],
                       network._train_layers)
