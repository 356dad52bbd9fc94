"""fastnn: multi-layer perceptrons with compiled Cython kernels, exact against a NumPy reference.

    import fastnn as fnn
    X_train, X_test, y_train, y_test = fnn.datasets.digits()
    net = fnn.Network([fnn.Dense(64, 64), fnn.ReLU(), fnn.Dense(64, 10)],
                      loss="softmax_cross_entropy", optimizer=fnn.Adam(0.01), random_state=0)
    net.fit(X_train, y_train, epochs=20, batch_size=32)
    net.evaluate(X_test, y_test)   # {"loss": ..., "accuracy": ...}

fastnn.MLPClassifier and fastnn.MLPRegressor are drop-ins for scikit-learn's (fastnn.sklearn).
"""
__version__ = "0.1.0"

from fastnn import datasets, kernels, metrics, reference, schedules  # noqa: F401
from fastnn.callbacks import (CSVLogger, Callback, EarlyStopping, History,  # noqa: F401
                              LambdaCallback, LearningRateScheduler, ModelCheckpoint,
                              ReduceLROnPlateau, TerminateOnNaN)
from fastnn.gradcheck import gradcheck  # noqa: F401
from fastnn.layers import (BatchNorm, BatchNormalization, Dense, Dropout,  # noqa: F401
                           Identity, Layer, LayerNorm, LeakyReLU, Normalization, ReLU,
                           Sigmoid, Softmax, Tanh)
from fastnn.losses import (MAE, MSE, BinaryCrossEntropy, CrossEntropy,  # noqa: F401
                           HalfPoissonDeviance, Huber, Loss, Poisson, SoftmaxCrossEntropy,
                           SumOfSquares)
from fastnn.io import load  # noqa: F401
from fastnn.network import Network  # noqa: F401
from fastnn.optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop  # noqa: F401
from fastnn.schedules import (CosineDecay, ExponentialDecay,  # noqa: F401
                              PiecewiseConstantDecay, StepDecay)
from fastnn import layers as _layers
from fastnn import optimizers as _optimizers

# Every activation layer (fnn.ELU, fnn.GELU, ...) and optimizer (fnn.Adamax, ...) of the
# registry, made by fastnn.layers and fastnn.optimizers.
globals().update({cls.__name__: cls for cls in _layers.ACTIVATION_LAYERS})
globals().update(_optimizers.CLASSES)


def __getattr__(name):
    # The scikit-learn estimators load scikit-learn, so only when asked for.
    if name in ("MLPClassifier", "MLPRegressor"):
        from fastnn import sklearn
        return getattr(sklearn, name)
    raise AttributeError(f"module 'fastnn' has no attribute {name!r}")
