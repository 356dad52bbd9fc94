"""Iris with a 4-32-32-3 ReLU network, mini-batches of 8, Adam."""
import fastnn as fnn


def main(epochs=150, seed=0):
    X_train, X_test, y_train, y_test = fnn.datasets.iris(random_state=seed)
    net = fnn.Network([fnn.Dense(4, 32), fnn.ReLU(), fnn.Dense(32, 32), fnn.ReLU(),
                       fnn.Dense(32, 3)],
                      loss="softmax_cross_entropy", optimizer=fnn.Adam(lr=0.005), random_state=seed)
    net.fit(X_train, y_train, epochs=epochs, batch_size=8, verbose=0)
    accuracy = net.evaluate(X_test, y_test)["accuracy"]
    print(f"iris: test accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
