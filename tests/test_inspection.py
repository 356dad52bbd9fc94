"""Network.summary, count_params, get_weights / set_weights, layer.weights, repr and
History.plot."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fastnn as fnn


def network(seed=0, **kwargs):
    return fnn.Network([fnn.Dense(64, 32), fnn.ReLU(), fnn.Dropout(0.1), fnn.Dense(32, 10),
                        fnn.Softmax()], loss="cross_entropy", random_state=seed, **kwargs)


def test_summary_counts_the_parameters():
    net = network()
    lines = []
    assert net.summary(print_fn=lines.append) is None
    rows = [line.split() for line in lines if line.startswith("layers[")]
    assert [r[1] for r in rows] == ["(Dense)", "(ReLU)", "(Dropout)", "(Dense)", "(Softmax)"]
    assert [" ".join(r[2:4]) for r in rows] == ["(None, 32)"] * 3 + ["(None, 10)"] * 2
    counts = [int(r[-1].replace(",", "")) for r in rows]
    assert counts == [sum(p.size for p in layer.parameters()) for layer in net.layers]
    assert counts == [64 * 32 + 32, 0, 0, 32 * 10 + 10, 0]
    total = sum(p.size for p in net.parameters())
    assert net.count_params() == total == 2410
    assert "Total params: 2,410" in lines and "Trainable params: 2,410" in lines
    assert "Non-trainable params: 0" in lines
    assert lines[0] == f"Network: loss={net.loss!r}, optimizer={net.optimizer!r}"
    assert max(map(len, lines[1:])) <= 65


def test_summary_prints_to_stdout_and_checks_its_arguments(capsys):
    network().summary(line_length=80)
    out = capsys.readouterr().out
    assert "Output Shape" in out and "=" * 80 in out
    with pytest.raises(TypeError, match="print_fn must be callable"):
        network().summary(print_fn="stdout")
    with pytest.raises(ValueError, match="line_length must be an integer >= 40"):
        network().summary(line_length=10)


def test_layer_weights_are_the_parameter_arrays():
    net = network()
    dense = net.layers[0]
    assert dense.weights[0] is dense.W and dense.weights[1] is dense.b and len(dense.weights) == 2
    assert net.layers[1].weights == [] and dense.non_trainable_weights == []


@pytest.mark.parametrize("engine", [True, False])
def test_get_and_set_weights_round_trip(engine):
    X = fnn.datasets.digits()[0][:20]
    a, b = network(engine=engine), network(seed=1, engine=engine)
    assert not np.array_equal(a.predict(X), b.predict(X))
    weights = a.get_weights()
    assert [w.shape for w in weights] == [(64, 32), (32,), (32, 10), (10,)]
    weights[0][0, 0] += 1.0  # copies: a is not changed
    assert a.layers[0].W[0, 0] != weights[0][0, 0]
    arrays = b.parameters()
    b.predict(X)  # a compiled plan that points into b's arrays
    b.set_weights(a.get_weights())
    assert all(p is q for p, q in zip(arrays, b.parameters()))  # written into the same arrays
    np.testing.assert_array_equal(b.predict(X), a.predict(X))
    b.set_weights([w.astype(np.float64).tolist() for w in a.get_weights()])  # lists cast
    np.testing.assert_array_equal(b.predict(X), a.predict(X))


def test_set_weights_checks_everything_before_writing():
    net = network()
    good = net.get_weights()
    nan = [w.copy() for w in good]
    nan[2][0, 0] = np.nan
    big = np.full((32, 10), 1e300)
    cases = [
        (good[:3], ValueError, "weights must hold 4 arrays"),
        ([good[0], good[1], good[2].T, good[3]], ValueError,
         r"weights\[2\] must have shape \(32, 10\)"),
        ([good[0], good[1], good[2].astype(complex), good[3]], TypeError,
         r"weights\[2\] must hold real"),
        ([good[0], good[1], good[2].astype(str), good[3]], TypeError,
         r"weights\[2\] must hold real"),
        (nan, ValueError, r"weights\[2\] holds NaN"),
        ([good[0], good[1], big, good[3]], ValueError,
         r"weights\[2\] holds NaN or infinity \(in float32\)"),
        (good[0], TypeError, "weights must be a list"),
    ]
    changed = [w + 1 for w in good]
    for weights, error, match in cases:
        if isinstance(weights, list):
            weights = [changed[0], *weights[1:]]  # the first one is fine and would be written
        with pytest.raises(error, match=match):
            net.set_weights(weights)
        assert all(np.array_equal(p, w) for p, w in zip(net.parameters(), good))


def test_repr_names_the_layers_loss_and_optimizer():
    net = network()
    text = repr(net)
    assert text.startswith("Network([Dense(n_in=64, n_out=32, init=None, l2=0.0), ReLU(), "
                           "Dropout(rate=0.1), Dense(n_in=32, n_out=10")
    assert "loss=CrossEntropy(eps=1e-07)" in text and "optimizer=Adam(lr=0.001" in text
    assert text.endswith("dtype='float32')")
    assert repr(fnn.SGD(0.1, momentum=0.9)).startswith("SGD(lr=0.1")


PLOT = textwrap.dedent("""
    import sys
    import matplotlib
    matplotlib.use("svg")  # the user's backend: plot must leave it alone
    import matplotlib.pyplot as plt
    import fastnn as fnn
    h = fnn.History()
    for epoch in range(3):  # few epochs: matplotlib alone would put ticks at 1.25, 1.5, ...
        h.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "accuracy": epoch / 3,
                               "val_loss": 1.2 / (epoch + 1)})
    before = plt.get_fignums()
    fig = h.plot(sys.argv[1])
    assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
    assert plt.get_fignums() == before == [], plt.get_fignums()
    assert type(fig).__name__ == "Figure" and len(fig.axes) == 2
    for axis in fig.axes:
        ticks = [t for t in axis.get_xticks() if 1 <= t <= 3]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["loss", "val_loss"]
    shown = h.plot()  # no path: a pyplot figure, for plt.show()
    assert plt.get_fignums() == [shown.number]
    print("ok")
""")


def test_history_plot_keeps_the_backend_and_leaves_no_pyplot_figure(tmp_path):
    path = tmp_path / "curves.png"
    result = subprocess.run([sys.executable, "-c", PLOT, str(path)], capture_output=True,
                            text=True, cwd=str(tmp_path.parent), env=_env())
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _env():
    import os
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(fnn.__file__))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env
