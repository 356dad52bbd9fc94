"""ONNX export: a Network, or a fitted fastnn.MLPClassifier / MLPRegressor, as an onnx.ModelProto.

    import fastnn as fnn
    fnn.export_onnx(net, "model.onnx")          # input "X" (rows, n_features), output "output"
    fnn.export_onnx(clf, "clf.onnx")            # outputs "label" and "probabilities"
    fastnn.onnx.register_skl2onnx()             # then skl2onnx.to_onnx(Pipeline([..., clf]), X)

What is exported is what predict computes: the layers at inference (Dropout the identity,
BatchNorm with its running statistics), then the activation predict applies (the loss's, or the
final Softmax/Sigmoid training fused into it). Every layer becomes a few standard ONNX operators
chosen so that onnxruntime runs float32 and float64 alike: where it has no double kernel (Elu,
Selu, LeakyRelu, Softplus, Erf), the activation is written out in operators that have one.

One graph-building path serves both front ends: each layer's rule writes into a `Graph`, which
export_onnx backs with onnx.helper and the skl2onnx converter with skl2onnx's scope and
container. A layer class of your own exports once you give it a rule (register_layer).

The onnx package is an optional extra (pip install "fastnn[onnx]"); importing this module does
not import it.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from fastnn import layers as L
from fastnn import registry

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    import onnx
    from numpy.typing import DTypeLike

    from fastnn.network import Network
    from fastnn.sklearn import MLPClassifier, MLPRegressor

DEFAULT_OPSET = 17  # has every operator used here; older runtimes than the newest opset load it
MIN_OPSET = 13  # Softmax over the last axis alone, Where and the double kernels used here
EXTRA = 'pip install "fastnn[onnx]"'


def _onnx():
    """The onnx package, or ImportError naming the extra."""
    try:
        import onnx
        import onnx.numpy_helper  # noqa: F401
    except ImportError as error:
        raise ImportError(f"ONNX export needs the onnx package: {EXTRA}") from error
    return onnx


# ---------------------------------------------------------------- the graph rules write into

class Graph:
    """What a layer's rule builds with: constants and nodes, in the graph's dtype.

    dtype: numpy float32 or float64, of every tensor the network computes; opset: the default
    domain's version. A rule calls `const` and `op` and returns the name of its output.
    """

    def __init__(self, dtype, opset):
        self.dtype, self.opset = np.dtype(dtype), opset

    def const(self, value, dtype=None):
        """An initializer holding `value` (converted to `dtype`, default the graph's)."""
        with np.errstate(over="ignore"):
            array = np.asarray(value, self.dtype if dtype is None else dtype)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"cannot export: the model holds a value that is not a finite "
                             f"{array.dtype} (a weight or statistic past its range, or NaN)")
        return self._initializer(self._name("c"), array)

    def op(self, op_type, *inputs, output=None, domain="", **attributes):
        """A node of `op_type` on the named inputs; returns its (one) output's name."""
        output = output or self._name(op_type.lower())
        self._node(op_type, list(inputs), output, domain, attributes)
        return output

    def mean_last_axis(self, x):
        """ReduceMean over the last axis, keeping it (its axes became an input in opset 18)."""
        if self.opset >= 18:
            return self.op("ReduceMean", x, self.const([-1], np.int64), keepdims=1)
        return self.op("ReduceMean", x, axes=[-1], keepdims=1)

    def _name(self, hint):
        raise NotImplementedError

    def _initializer(self, name, array):
        raise NotImplementedError

    def _node(self, op_type, inputs, output, domain, attributes):
        raise NotImplementedError


class _HelperGraph(Graph):
    """The Graph export_onnx builds with onnx.helper."""

    def __init__(self, dtype, opset):
        super().__init__(dtype, opset)
        self.onnx = _onnx()
        self.nodes, self.initializers, self._count = [], [], 0

    def _name(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def _initializer(self, name, array):
        if array.dtype.kind == "U":  # class names: numpy_helper takes them as objects
            array = array.astype(object)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def _node(self, op_type, inputs, output, domain, attributes):
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], domain=domain,
                                                     name=output, **attributes))

    def model(self, inputs, outputs, metadata=None):
        """The ModelProto of the nodes so far; inputs and outputs: (name, dtype, shape);
        metadata: {key: text} for its metadata_props."""
        helper = self.onnx.helper
        def info(group):
            return [helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)
                for name, dtype, shape in group]
        graph = helper.make_graph(self.nodes, "fastnn", info(inputs), info(outputs),
                                  self.initializers)
        from fastnn import __version__
        model = helper.make_model(graph, producer_name="fastnn", producer_version=__version__,
                                  opset_imports=[helper.make_opsetid("", self.opset)])
        helper.set_model_props(model, metadata or {})
        # the oldest IR version the opset allows, so that older runtimes load it too
        model.ir_version = helper.find_min_ir_version_for(list(model.opset_import))
        self.onnx.checker.check_model(model)
        return model


class _Skl2onnxGraph(Graph):
    """The Graph skl2onnx's converter builds with its scope and container."""

    def __init__(self, dtype, scope, container):
        super().__init__(dtype, container.target_opset or DEFAULT_OPSET)
        self.scope, self.container = scope, container

    def _name(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def _initializer(self, name, array):
        onnx = _onnx()
        if array.dtype.kind == "U":
            self.container.add_initializer(name, onnx.TensorProto.STRING, list(array.shape),
                                           [s.encode("utf-8") for s in array.ravel()])
        else:
            self.container.add_initializer(name, None, None,
                                           onnx.numpy_helper.from_array(array, name))
        return name

    def _node(self, op_type, inputs, output, domain, attributes):
        self.container.add_node(op_type, inputs, [output], op_domain=domain,
                                name=self.scope.get_unique_operator_name(op_type), **attributes)


# ---------------------------------------------------------------- the rules

def _where_positive(g, x, negative):
    """x where x > 0, else `negative` (the name of a tensor of x's shape)."""
    return g.op("Where", g.op("Greater", x, g.const(0)), x, negative)


def _elu(g, x, alpha):
    return _where_positive(g, x, g.op("Mul", g.const(alpha), g.op("Sub", g.op("Exp", x),
                                                                  g.const(1))))


def _selu(g, x, alpha):
    scale, selu_alpha = 1.0507009873554805, 1.6732632423543772  # torch's, as fastnn's kernels
    return g.op("Mul", g.const(scale), _elu(g, x, selu_alpha))


def _softplus(g, x, alpha):
    # max(x, 0) + log1p(exp(-|x|)), as the kernel (log(1 + e) is within an ulp of 1 there)
    tail = g.op("Log", g.op("Add", g.const(1), g.op("Exp", g.op("Neg", g.op("Abs", x)))))
    return g.op("Add", g.op("Relu", x), tail)


def _gelu(g, x, alpha):
    phi = g.op("Add", g.const(1), erf(g, g.op("Mul", x, g.const(1 / math.sqrt(2)))))
    return g.op("Mul", g.op("Mul", x, g.const(0.5)), phi)


def _gelu_tanh(g, x, alpha):
    cube = g.op("Mul", g.op("Mul", x, x), x)
    inner = g.op("Mul", g.const(math.sqrt(2 / math.pi)),
                 g.op("Add", x, g.op("Mul", g.const(0.044715), cube)))
    return g.op("Mul", g.op("Mul", x, g.const(0.5)), g.op("Add", g.const(1), g.op("Tanh", inner)))


# registry.ACTIVATIONS name -> rule(graph, x, alpha) -> output
ACTIVATION_RULES = {
    "identity": lambda g, x, alpha: x,
    "relu": lambda g, x, alpha: g.op("Relu", x),
    "leaky_relu": lambda g, x, alpha: _where_positive(g, x, g.op("Mul", g.const(alpha), x)),
    "sigmoid": lambda g, x, alpha: g.op("Sigmoid", x),
    "tanh": lambda g, x, alpha: g.op("Tanh", x),
    "softmax": lambda g, x, alpha: g.op("Softmax", x, axis=-1),
    "elu": _elu,
    "selu": _selu,
    "softplus": _softplus,
    "gelu": _gelu,
    "gelu_tanh": _gelu_tanh,
    "silu": lambda g, x, alpha: g.op("Mul", x, g.op("Sigmoid", x)),
    "exponential": lambda g, x, alpha: g.op("Exp", x),
}
assert set(ACTIVATION_RULES) == {entry.name for entry in registry.ACTIVATIONS}


# fdlibm's erf (s_erf.c), polynomial coefficients from the constant term up: onnxruntime has no
# double Erf, so float64 graphs compute it from these (within a few ulps of the C library).
_ERX = 8.45062911510467529297e-01
_ERF_SMALL = ((1.28379167095512558561e-01, -3.25042107247001499370e-01,
               -2.84817495755985104766e-02, -5.77027029648944159157e-03,
               -2.37630166566501626084e-05),
              (1.0, 3.97917223959155352819e-01, 6.50222499887672944485e-02,
               5.08130628187576562776e-03, 1.32494738004321644526e-04,
               -3.96022827877536812320e-06))
_ERF_MIDDLE = ((-2.36211856075265944077e-03, 4.14856118683748331666e-01,
                -3.72207876035701323847e-01, 3.18346619901161753674e-01,
                -1.10894694282396677476e-01, 3.54783043256182359371e-02,
                -2.16637559486879084300e-03),
               (1.0, 1.06420880400844228286e-01, 5.40397917702171048937e-01,
                7.18286544141962662868e-02, 1.26171219808761642112e-01,
                1.36370839120290507362e-02, 1.19844998467991074170e-02))
_ERFC_NEAR = ((-9.86494403484714822705e-03, -6.93858572707181764372e-01,
               -1.05586262253232909814e+01, -6.23753324503260060396e+01,
               -1.62396669462573470355e+02, -1.84605092906711035994e+02,
               -8.12874355063065934246e+01, -9.81432934416914548592e+00),
              (1.0, 1.96512716674392571292e+01, 1.37657754143519042600e+02,
               4.34565877475229228821e+02, 6.45387271733267880336e+02,
               4.29008140027567833386e+02, 1.08635005541779435134e+02,
               6.57024977031928170135e+00, -6.04244152148580987438e-02))
_ERFC_FAR = ((-9.86494292470009928597e-03, -7.99283237680523006574e-01,
              -1.77579549177547519889e+01, -1.60636384855821916062e+02,
              -6.37566443368389627722e+02, -1.02509513161107724954e+03,
              -4.83519191608651397019e+02),
             (1.0, 3.03380607434824582924e+01, 3.25792512996573918826e+02,
              1.53672958608443695994e+03, 3.19985821950859553908e+03,
              2.55305040643316442583e+03, 4.74528541206955367215e+02,
              -2.24409524465858183362e+01))


def _ratio(g, s, coefficients):
    """P(s) / Q(s) by Horner's rule, coefficients = (P's, Q's)."""
    def horner(c):
        out = g.const(c[-1])
        for value in reversed(c[:-1]):
            out = g.op("Add", g.op("Mul", out, s), g.const(value))
        return out
    return g.op("Div", *map(horner, coefficients))


def erf(g, x):
    """erf(x): the Erf operator in float32; in float64, fdlibm's algorithm written out (every
    range computed, the right one chosen by Where)."""
    if g.dtype == np.float32:
        return g.op("Erf", x)
    a = g.op("Abs", x)
    small = g.op("Add", a, g.op("Mul", a, _ratio(g, g.op("Mul", a, a), _ERF_SMALL)))
    middle = g.op("Add", g.const(_ERX), _ratio(g, g.op("Sub", a, g.const(1)), _ERF_MIDDLE))
    s = g.op("Reciprocal", g.op("Mul", a, a))
    tails = []
    for coefficients in (_ERFC_NEAR, _ERFC_FAR):  # 1 - erfc(a), erfc = exp(-a^2 - 0.5625 + R/S) / a
        exponent = g.op("Sub", _ratio(g, s, coefficients),
                        g.op("Add", g.op("Mul", a, a), g.const(0.5625)))
        tails.append(g.op("Sub", g.const(1), g.op("Div", g.op("Exp", exponent), a)))
    out = g.const(1)
    for bound, value in ((6.0, tails[1]), (1 / 0.35, tails[0]), (1.25, middle), (0.84375, small)):
        out = g.op("Where", g.op("Less", a, g.const(bound)), value, out)
    return g.op("Where", g.op("Less", x, g.const(0)), g.op("Neg", out), out)


def _dense(g, layer, x):
    return g.op("Add", g.op("MatMul", x, g.const(layer.W)), g.const(layer.b))


def _activation(g, layer, x):
    return ACTIVATION_RULES[layer.kind](g, x, layer.alpha_argument)


def _batch_norm(g, layer, x):
    # gamma * (x - running_mean) / sqrt(running_var + eps) + beta, the factor taken in double
    scale = layer.gamma / np.sqrt(layer.running_var.astype(np.float64) + layer.eps)
    centred = g.op("Sub", x, g.const(layer.running_mean))
    return g.op("Add", g.op("Mul", centred, g.const(scale)), g.const(layer.beta))


def _layer_norm(g, layer, x):
    # each row's statistics in double, as the kernel takes them (float32 loses a large mean's
    # small spread, and overflows squaring |x| > 1.8e19)
    tensor = _onnx().TensorProto
    wide = x if g.dtype == np.float64 else g.op("Cast", x, to=tensor.DOUBLE)
    centred = g.op("Sub", wide, g.mean_last_axis(wide))
    variance = g.mean_last_axis(g.op("Mul", centred, centred))
    xhat = g.op("Div", centred, g.op("Sqrt", g.op("Add", variance,
                                                  g.const(layer.eps, np.float64))))
    if g.dtype != np.float64:
        xhat = g.op("Cast", xhat, to=tensor.FLOAT)
    return g.op("Add", g.op("Mul", xhat, g.const(layer.gamma)), g.const(layer.beta))


def _normalization(g, layer, x):
    scale = g.const(layer.scale)
    if layer.invert:
        return g.op("Add", g.op("Mul", x, scale), g.const(layer.mean))
    return g.op("Div", g.op("Sub", x, g.const(layer.mean)), scale)


# exact layer class -> rule(graph, layer, x) -> output
LAYER_RULES = {L.Dense: _dense, L.Dropout: lambda g, layer, x: x, L.BatchNorm: _batch_norm,
               L.LayerNorm: _layer_norm, L.Normalization: _normalization,
               **{cls: _activation for cls in L.ACTIVATION_LAYERS}}


def register_layer(cls: type[L.Layer], rule: Callable[[Graph, L.Layer, str], str]) -> None:
    """Export layers of class `cls` (exactly that class, not its subclasses) with `rule`.

    ``rule(graph, layer, x)`` writes what the layer computes at inference into the graph and
    returns the name of its output. graph is a fastnn.onnx.Graph: ``graph.const(array)`` adds
    a constant in the graph's dtype, ``graph.op("MatMul", x, w)`` a node and returns its
    output's name; x is the name of the layer's input (rows, features). For example, a layer
    computing x * 2::

        fastnn.onnx.register_layer(Double, lambda g, layer, x: g.op("Mul", x, g.const(2)))

    The same rule serves export_onnx and the skl2onnx converter. Registering a class again
    replaces its rule.

    Parameters
    ----------
    cls : type
        A fastnn.Layer subclass (one of your own, typically).
    rule : callable
        ``rule(graph, layer, x) -> str``, as above.

    Raises
    ------
    TypeError
        If cls is not a fastnn Layer subclass, or rule is not callable.

    Examples
    --------
    >>> import fastnn.onnx
    >>> class MyReLU(fnn.ReLU):
    ...     pass
    >>> fnn.onnx.register_layer(MyReLU, lambda g, layer, x: g.op("Relu", x))
    >>> net = fnn.Network([fnn.Dense(4, 8), MyReLU(), fnn.Dense(8, 1)], loss="mse",
    ...                   random_state=0)
    >>> [node.op_type for node in fnn.export_onnx(net).graph.node]
    ['MatMul', 'Add', 'Relu', 'MatMul', 'Add', 'Identity']
    """
    if not (isinstance(cls, type) and issubclass(cls, L.Layer)):
        raise TypeError(f"cls must be a fastnn Layer subclass, got {cls!r}")
    if not callable(rule):
        raise TypeError(f"rule must be callable as rule(graph, layer, x), got {rule!r}")
    LAYER_RULES[cls] = rule


def network_graph(g, net, x):
    """Write what net.predict computes on the rows `x` into g; returns the output's name."""
    with net._lock:  # the layers as one predict call would see them
        net._refresh()
        return _layers_graph(g, net, x)


def _layers_graph(g, net, x):
    for i, layer in enumerate(net.train_layers):
        rule = LAYER_RULES.get(type(layer))
        if rule is None:
            raise ValueError(
                f"cannot export layers[{i}], a {type(layer).__module__}.{type(layer).__qualname__}"
                f": fastnn has no ONNX rule for that class; give it one with "
                f"fastnn.onnx.register_layer({type(layer).__name__}, rule)")
        x = rule(g, layer, x)
    final = net.prediction_activation
    return x if final is None else ACTIVATION_RULES[final](g, x, 0.0)


def _class_labels(classes):
    """classes_ as the labels' initializer: int64 for numbers and booleans (as scikit-learn's
    converters emit them), else strings."""
    if classes.dtype.kind in "biuf":
        labels = classes.astype(np.int64)
        if not np.array_equal(labels, classes):
            raise ValueError(f"cannot export class labels {classes!r}: ONNX classifiers' labels "
                             f"are integers or strings (as scikit-learn's converters emit them)")
        return labels
    return np.array([str(c) for c in classes])


def _multilabel(clf):
    """Whether a fitted MLPClassifier is multi-label: a sigmoid per label, not one for two
    classes."""
    return clf.out_activation_ == "logistic" and clf.n_outputs_ > 1


def _check_classifier(clf, net):
    """ValueError unless classes_, n_outputs_ and out_activation_ (which a user may replace)
    agree with the network the classifier predicts with."""
    n_classes = len(clf.classes_)
    kind = getattr(getattr(clf, "_label_binarizer", None), "y_type_", None)
    outputs, activation = {"multiclass": (n_classes, "softmax"), "binary": (1, "logistic"),
                           "multilabel-indicator": (n_classes, "logistic")}.get(kind, (0, None))
    if (clf.out_activation_ != activation or clf.n_outputs_ != net.n_outputs
            or outputs != net.n_outputs):
        raise ValueError(f"cannot export: classes_ ({n_classes}), n_outputs_ "
                         f"({clf.n_outputs_}) and out_activation_ ({clf.out_activation_!r}) do "
                         f"not match the fitted network's {net.n_outputs} outputs")


def classifier_graph(g, clf, x, label, probabilities, nocl=False):
    """Write a fitted MLPClassifier into g, its outputs named `label` and `probabilities`:
    classes_[argmax] (nocl: the index itself) and predict_proba; multi-label, an int64 0/1
    column per label (probability > 0.5), as scikit-learn's converter."""
    net = clf.fitted_network()
    _check_classifier(clf, net)
    p = network_graph(g, net, x)
    if _multilabel(clf):
        g.op("Cast", g.op("Greater", p, g.const(0.5)), output=label, to=_onnx().TensorProto.INT64)
        g.op("Identity", p, output=probabilities)
        return
    if clf.n_outputs_ == 1:  # binary: one sigmoid output, the positive class's probability
        p = g.op("Concat", g.op("Sub", g.const(1), p), p, axis=1)
    g.op("Identity", p, output=probabilities)
    index = g.op("ArgMax", p, axis=1, keepdims=0)
    if nocl:
        g.op("Identity", index, output=label)
    else:
        labels = _class_labels(clf.classes_)
        g.op("Gather", g.const(labels, labels.dtype), index, axis=0, output=label)


# ---------------------------------------------------------------- export_onnx

def export_onnx(model: Network | MLPClassifier | MLPRegressor,
                path: str | os.PathLike[str] | None = None, *, dtype: DTypeLike | None = None,
                opset: int | None = None) -> onnx.ModelProto:
    """The ONNX model of a Network or of a fitted fastnn.MLPClassifier / MLPRegressor.

    What is exported is what predict computes: the layers at inference (Dropout the
    identity, BatchNorm with its running statistics), then the activation predict applies.
    Every layer becomes a few standard ONNX operators that onnxruntime runs in float32 and
    float64 alike. Needs the onnx package (``pip install "fastnn[onnx]"``).

    Parameters
    ----------
    model : Network, MLPClassifier or MLPRegressor
        A classifier or regressor must be fitted (else sklearn's NotFittedError).
    path : str, os.PathLike or None, default=None
        Where to write the model as well (replaced atomically, as Network.save does).
    dtype : str, numpy.dtype or None, default=None
        "float32" or "float64", of the input, weights and outputs; None means the model's own.
    opset : int or None, default=None
        The ONNX default domain's version, from 13 up to the onnx package's newest; None
        means 17.

    Returns
    -------
    onnx.ModelProto
        Input "X" of shape (rows, n_features), any number of rows. Outputs: a Network's
        "output", what predict returns (rows, n_outputs); a classifier's "label" (int64, or
        strings for string classes; multi-label: int64 0/1 of shape (rows, n_labels)) and
        "probabilities" (rows, n_classes), as predict and predict_proba; a regressor's
        "variable" (rows, n_outputs).

    Raises
    ------
    TypeError
        If model is not a Network, MLPClassifier or MLPRegressor, or path not a str or
        os.PathLike.
    ValueError
        For a dtype other than float32 and float64, an opset out of range, a layer
        without an ONNX rule (see register_layer), weights that do not fit the dtype, or a
        path that cannot be written (a directory, a FIFO, a hard-linked file: as
        Network.save).
    OSError
        If the path's folder does not exist or cannot be written (FileNotFoundError,
        PermissionError).
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ImportError
        If the onnx package is not installed.

    Examples
    --------
    >>> net = fnn.Network([fnn.Dense(4, 8), fnn.ReLU(), fnn.Dense(8, 3), fnn.Softmax()],
    ...                   loss="cross_entropy", random_state=0)
    >>> model = fnn.export_onnx(net, dtype="float64")
    >>> [i.name for i in model.graph.input], [o.name for o in model.graph.output]
    (['X'], ['output'])
    >>> model.opset_import[0].version
    17
    """
    from fastnn.network import Network, _float_dtype
    onnx = _onnx()
    if isinstance(model, Network):
        net, kind = model, "network"
    else:
        from fastnn.sklearn import MLPClassifier, MLPRegressor
        if not isinstance(model, (MLPClassifier, MLPRegressor)):
            raise TypeError(f"model must be a fastnn Network, MLPClassifier or MLPRegressor, "
                            f"got {type(model).__name__}")
        net, kind = model.fitted_network(), type(model).__name__
    with net._lock:
        net._refresh()  # n_features and n_outputs as the layers now have them
        return _export(model, net, kind, path,
                       _float_dtype(net.dtype if dtype is None else dtype),
                       _opset(onnx, opset))


def _export(model, net, kind, path, dtype, opset):
    g = _HelperGraph(dtype, opset)
    rows = None  # any number of rows
    inputs = [("X", dtype, [rows, net.n_features])]
    if kind == "MLPClassifier":
        classifier_graph(g, model, "X", "label", "probabilities")
        multilabel = _multilabel(model)
        labels = np.dtype(np.int64) if multilabel else _class_labels(model.classes_).dtype
        outputs = [("label", object if labels.kind == "U" else labels,
                    [rows, len(model.classes_)] if multilabel else [rows]),
                   ("probabilities", dtype, [rows, len(model.classes_)])]
    else:
        name = "output" if kind == "network" else "variable"
        g.op("Identity", network_graph(g, net, "X"), output=name)
        outputs = [(name, dtype, [rows, net.n_outputs])]
    proto = g.model(inputs, outputs, _columns(net) if kind == "network" else None)
    if path is not None:
        from fastnn import io
        io.write_file(path, lambda f: f.write(proto.SerializeToString()))
    return proto


def _columns(net):
    """A Network's feature_names, class_names and target_name (the command line's CSV columns)
    as the model's metadata_props, JSON text under those keys, for whoever serves it."""
    import json
    return {name: json.dumps(getattr(net, name)) for name in ("feature_names", "class_names",
                                                                "target_name")
            if getattr(net, name) is not None}


def _opset(onnx, opset):
    if opset is None:
        return DEFAULT_OPSET
    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not (
            MIN_OPSET <= opset <= newest):
        raise ValueError(f"opset must be an integer from {MIN_OPSET} to {newest} (this onnx "
                         f"package's newest), got {opset!r}")
    return int(opset)


# ---------------------------------------------------------------- skl2onnx

def register_skl2onnx() -> None:
    """Register fastnn.MLPClassifier and MLPRegressor with skl2onnx.

    After it, skl2onnx.to_onnx converts them, in a Pipeline too, as it converts
    scikit-learn's MLPs (skl2onnx's update_registered_converter, with the options of its own
    MLPClassifier converter: zipmap, nocl, output_class_labels). Calling it again changes
    nothing.

    Raises
    ------
    ImportError
        If the skl2onnx package is not installed.

    Examples
    --------
    >>> import fastnn.onnx, skl2onnx
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> fnn.onnx.register_skl2onnx()
    >>> X, y = fnn.datasets.spiral(samples=10, classes=3, random_state=0)
    >>> clf = fnn.MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
    >>> model = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    >>> [o.name for o in model.graph.output]
    ['label', 'probabilities']
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as error:
        raise ImportError("register_skl2onnx needs the skl2onnx package: pip install "
                          "skl2onnx") from error
    from fastnn.sklearn import MLPClassifier, MLPRegressor
    update_registered_converter(
        MLPClassifier, "FastnnMLPClassifier", _classifier_shapes, _convert_classifier,
        options={"zipmap": [True, False, "columns"], "output_class_labels": [False, True],
                 "nocl": [True, False]})
    update_registered_converter(MLPRegressor, "FastnnMLPRegressor", _regressor_shapes,
                                _convert_regressor)


def _classifier_shapes(operator):
    from skl2onnx.common.data_types import Int64TensorType
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    calculate_linear_classifier_output_shapes(operator)
    clf = operator.raw_operator
    if _multilabel(clf):  # a 0/1 column per label
        rows = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type = Int64TensorType([rows, len(clf.classes_)])


def _regressor_shapes(operator):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from skl2onnx.common.shape_calculator import calculate_linear_regressor_output_shapes
    calculate_linear_regressor_output_shapes(operator)
    kind = DoubleTensorType if isinstance(operator.inputs[0].type, DoubleTensorType) \
        else FloatTensorType
    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = kind([rows, operator.raw_operator.n_outputs_])


def _converter_input(scope, operator, container):
    """(the Graph, the input's name in its dtype): float64 for a double input, else float32 (the
    input cast to it), as skl2onnx's MLP converters."""
    onnx = _onnx()
    from skl2onnx.common.data_types import guess_proto_type
    double = guess_proto_type(operator.inputs[0].type) == onnx.TensorProto.DOUBLE
    g = _Skl2onnxGraph(np.float64 if double else np.float32, scope, container)
    x = operator.inputs[0].full_name
    if guess_proto_type(operator.inputs[0].type) not in (onnx.TensorProto.DOUBLE,
                                                         onnx.TensorProto.FLOAT):
        x = g.op("Cast", x, to=onnx.helper.np_dtype_to_tensor_dtype(g.dtype))
    return g, x


def _convert_classifier(scope, operator, container):
    g, x = _converter_input(scope, operator, container)
    nocl = scope.get_options(operator.raw_operator, dict(nocl=False))["nocl"]
    classifier_graph(g, operator.raw_operator, x, operator.outputs[0].full_name,
                     operator.outputs[1].full_name, nocl=nocl)


def _convert_regressor(scope, operator, container):
    g, x = _converter_input(scope, operator, container)
    g.op("Identity", network_graph(g, operator.raw_operator.fitted_network(), x),
         output=operator.outputs[0].full_name)
