"""Misuse that the type hints catch: CI expects mypy to report each line marked "error"."""
import fastnn as fnn

X, _, y, _ = fnn.datasets.digits()
net = fnn.Network([fnn.Dense(64, 10)])
net.fit(X, y, epochs="two")  # error: epochs is an int
fnn.load(42)  # error: a path
fnn.Dense("64", 10)  # error: n_in is an int
