"""XOR with a 3-4-1 sigmoid network trained on the sum of squared errors, as in the classic
backpropagation articles: inputs (x1, x2, bias) -> 4 sigmoid units -> 1 sigmoid output."""
import numpy as np

import fastnn as fnn


def main(epochs=5000, seed=1):
    X, y = fnn.datasets.xor()
    X = np.c_[X, np.ones(4, np.float32)]  # the third input is the constant bias input
    net = fnn.Network([fnn.Dense(3, 4), fnn.Sigmoid(), fnn.Dense(4, 1), fnn.Sigmoid()],
                      loss="sum_of_squares", optimizer=fnn.SGD(lr=2.0, momentum=0.5),
                      random_state=seed)
    net.fit(X, y, epochs=epochs, batch_size=4, verbose=0)
    out = net.predict(X)
    for inputs, target, output in zip(X[:, :2], y[:, 0], out[:, 0]):
        print(f"{inputs.astype(int)} -> {output:.3f} (target {target:.0f})")
    return out, y


if __name__ == "__main__":
    main()
