"""scikit-learn's 8x8 digits with a 64-64-10 ReLU network, mini-batches of 32, Adam."""
import fastnn as fnn


def main(epochs=30, seed=0):
    X_train, X_test, y_train, y_test = fnn.datasets.digits(random_state=seed)
    net = fnn.Network([fnn.Dense(64, 64), fnn.ReLU(), fnn.Dense(64, 10)],
                      loss="softmax_cross_entropy", optimizer=fnn.Adam(lr=0.001), random_state=seed)
    net.fit(X_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    accuracy = net.evaluate(X_test, y_test)["accuracy"]
    print(f"digits: test accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
