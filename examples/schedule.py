"""Digits with a 64-64-10 ReLU network trained by SGD on a cosine schedule with a linear warmup
(Keras' CosineDecay), the gradients clipped to a global norm of 1 (torch's clip_grad_norm_).
The schedule runs inside the engine: each call tabulates the rate of every step it takes."""
import fastnn as fnn


def main(epochs=30, seed=0):
    X_train, X_test, y_train, y_test = fnn.datasets.digits(random_state=seed)
    steps = epochs * -(-len(X_train) // 32)  # mini-batches of 32
    schedule = fnn.CosineDecay(0.0, decay_steps=steps - 100, alpha=0.01, warmup_target=0.1,
                               warmup_steps=100)
    net = fnn.Network([fnn.Dense(64, 64), fnn.ReLU(), fnn.Dense(64, 10)],
                      optimizer=fnn.SGD(learning_rate=schedule, momentum=0.9,
                                        global_clipnorm=1.0),
                      random_state=seed)
    net.fit(X_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    accuracy = net.evaluate(X_test, y_test)["accuracy"]
    print(f"digits, cosine schedule with warmup: test accuracy {accuracy:.3f} "
          f"(final learning rate {net.optimizer.current_lr:.5f})")
    return accuracy


if __name__ == "__main__":
    main()
