"""scikit-learn's 8x8 digits with batch normalization: Dense -> BatchNorm -> ReLU (the Keras
pattern), mini-batches of 32, SGD with momentum. Training normalizes each batch by its own
statistics; prediction by the running statistics, which are saved with the weights."""
import os
import tempfile

import fastnn as fnn


def main(epochs=10, seed=0):
    X_train, X_test, y_train, y_test = fnn.datasets.digits(random_state=seed)
    net = fnn.Network([fnn.Dense(64, 128), fnn.BatchNorm(128), fnn.ReLU(),
                       fnn.Dense(128, 64), fnn.BatchNorm(64), fnn.ReLU(), fnn.Dense(64, 10)],
                      optimizer=fnn.SGD(0.1, momentum=0.9), random_state=seed)
    net.fit(X_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    accuracy = net.evaluate(X_test, y_test)["accuracy"]
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "digits.npz")
        net.save(path)
        same = fnn.load(path).evaluate(X_test, y_test)["accuracy"] == accuracy
    print(f"digits with BatchNorm: test accuracy {accuracy:.3f} after {epochs} epochs "
          f"(the loaded copy {'agrees' if same else 'DIFFERS'})")
    return accuracy


if __name__ == "__main__":
    main()
