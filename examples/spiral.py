"""The nnfs spiral exercise: 2-64-3 (ReLU, softmax), plain SGD with lr=1.0 on the full batch."""
import fastnn as fnn


def main(epochs=3000, seed=0):
    X, y = fnn.datasets.spiral(samples=100, classes=3, random_state=seed)
    net = fnn.Network([fnn.Dense(2, 64), fnn.ReLU(), fnn.Dense(64, 3), fnn.Softmax()],
                      loss="cross_entropy", optimizer=fnn.SGD(lr=1.0), random_state=seed)
    history = net.fit(X, y, epochs=epochs, batch_size=len(X), verbose=0)
    print(f"spiral: training loss {history.history['loss'][-1]:.3f}, "
          f"accuracy {history.history['accuracy'][-1]:.3f}")
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    main()
