"""Normal use of the public API, type-checked by CI with `mypy --strict` against the installed
package (its py.typed marker); misuse.py beside it must fail. Not collected by pytest."""
import os
import tempfile

import numpy as np

import fastnn as fnn


def train() -> fnn.Network:
    X_train, X_test, y_train, y_test = fnn.datasets.digits()
    net = fnn.Network([fnn.Dense(64, 32), fnn.BatchNorm(32), fnn.Dense(32, 10)],
                      loss="softmax_cross_entropy", optimizer="sgd",
                      random_state=0)
    schedule = fnn.CosineDecay(0.01, 100)
    history: fnn.History = net.fit(X_train, y_train, epochs=2, verbose=0,
                                   callbacks=[fnn.EarlyStopping("loss", patience=2)])
    scores: dict[str, float] = net.evaluate(X_test, y_test)
    proba: np.ndarray = net.predict(X_test)
    with tempfile.TemporaryDirectory() as folder:
        net.save(os.path.join(folder, "m.npz"))
        again: fnn.Network = fnn.load(os.path.join(folder, "m.npz"))
    clf = fnn.MLPClassifier(hidden_layer_sizes=(16,), max_iter=5).fit(X_train, y_train)
    print(history.history["loss"], scores, proba.shape, again.n_features, schedule(3),
          clf.score(X_test, y_test), fnn.gradcheck(net, X_train[:8], y_train[:8]))
    return net
