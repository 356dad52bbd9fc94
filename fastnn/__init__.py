"""fastnn: multi-layer perceptrons with compiled Cython kernels, exact against a NumPy reference.

    import fastnn as fnn
    X_train, X_test, y_train, y_test = fnn.datasets.digits()
    net = fnn.Network([fnn.Dense(64, 64), fnn.ReLU(), fnn.Dense(64, 10)],
                      loss="softmax_cross_entropy", optimizer=fnn.Adam(0.01), random_state=0)
    net.fit(X_train, y_train, epochs=20, batch_size=32)
    net.evaluate(X_test, y_test)   # {"loss": ..., "accuracy": ...}

fastnn.MLPClassifier and fastnn.MLPRegressor are drop-ins for scikit-learn's (fastnn.sklearn).
"""
__version__ = "0.2.0.dev0"

from typing import TYPE_CHECKING

from fastnn import datasets, kernels, metrics, reference, schedules  # noqa: F401
from fastnn import layers as _layers
from fastnn import optimizers as _optimizers
from fastnn.callbacks import (  # noqa: F401
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)
from fastnn.gradcheck import gradcheck  # noqa: F401
from fastnn.io import load  # noqa: F401
from fastnn.layers import (  # noqa: F401
    BatchNorm,
    BatchNormalization,
    Dense,
    Dropout,
    Identity,
    Layer,
    LayerNorm,
    LeakyReLU,
    Normalization,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from fastnn.losses import (  # noqa: F401
    MAE,
    MSE,
    BinaryCrossEntropy,
    CrossEntropy,
    HalfPoissonDeviance,
    Huber,
    Loss,
    Poisson,
    SoftmaxCrossEntropy,
    SumOfSquares,
)
from fastnn.network import Network  # noqa: F401
from fastnn.optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop  # noqa: F401
from fastnn.schedules import CosineDecay, ExponentialDecay, PiecewiseConstantDecay, StepDecay  # noqa: F401

# Every activation layer (fnn.ELU, fnn.GELU, ...) and optimizer (fnn.Adamax, ...) of the
# registry, made by fastnn.layers and fastnn.optimizers.
globals().update({cls.__name__: cls for cls in _layers.ACTIVATION_LAYERS})
globals().update(_optimizers.CLASSES)


# The public API, written out so that type checkers read it: every name here has a numpydoc
# docstring and type hints (tests/test_docstrings.py) and a page in the API reference
# (docs/api/); tests/test_imports.py checks that it names every registry activation and optimizer.
__all__ = [
    "Adagrad", "Adam", "AdamW", "Adamax", "BatchNorm", "BatchNormalization",
    "BinaryCrossEntropy", "CSVLogger", "Callback", "CosineDecay", "CrossEntropy", "Dense",
    "Dropout", "ELU", "EarlyStopping", "Exponential", "ExponentialDecay", "GELU",
    "HalfPoissonDeviance", "History", "Huber", "Identity", "LambdaCallback", "Layer",
    "LayerNorm", "LeakyReLU", "LearningRateScheduler", "Loss", "MAE", "MLPClassifier",
    "MLPRegressor", "MSE", "ModelCheckpoint", "Network", "Normalization", "Optimizer",
    "PiecewiseConstantDecay", "Poisson", "RMSprop", "ReLU", "ReduceLROnPlateau", "SELU", "SGD",
    "SiLU", "Sigmoid", "Softmax", "SoftmaxCrossEntropy", "Softplus", "StepDecay",
    "SumOfSquares", "Tanh", "TerminateOnNaN", "datasets", "export_onnx", "gradcheck",
    "kernels", "load", "metrics", "reference", "schedules",
]

if TYPE_CHECKING:  # imported on first use at run time (__getattr__), for type checkers now
    from fastnn.onnx import export_onnx
    from fastnn.sklearn import MLPClassifier, MLPRegressor


def __dir__():
    return sorted(set(globals()) | {"MLPClassifier", "MLPRegressor", "export_onnx"})


def __getattr__(name):
    # The scikit-learn estimators load scikit-learn, so only when asked for.
    if name in ("MLPClassifier", "MLPRegressor"):
        from fastnn import sklearn
        return getattr(sklearn, name)
    if name == "export_onnx":  # fastnn.onnx imports onnx only when it exports
        from fastnn.onnx import export_onnx
        return export_onnx
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")
