"""python -m fastnn as a whole tool, run as a user runs it: train a CSV, save, predict raw rows,
evaluate, and the model file then predicts in Python as the command line does; regression and
the guess of the task; and bad input (one line on stderr, exit 2)."""
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnn as fnn
from fastnn import cli_csv
from fastnn.__main__ import main, parser

ROOT = Path(__file__).resolve().parents[1]
SPECIES = ("setosa", "versicolor", "virginica")
COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def run(*args):
    path = os.environ.get("PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + (os.pathsep + path if path else ""))
    return subprocess.run([sys.executable, "-m", "fastnn", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def ok(result):
    assert result.returncode == 0, result.stderr
    return result


def one_line_error(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    return result.stderr


def write(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def iris_like(n=150, seed=0):
    """Three string classes in four features of very different means and scales: a model that
    does not standardize raw rows as training did scores near chance."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[0, 0, 0, 0], [2, -1, 2, 1], [4, 1, 4, -1]], float)
    X = centers[y] + 0.5 * rng.standard_normal((n, 4))
    X = X * [100, 0.005, 10, 2] + [500, 0.01, -30, 7]
    return X, np.array(SPECIES)[y]


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    """(model path, raw X, labels) of a classifier trained by the command line on an iris-like
    CSV whose label column sits among the features."""
    folder = tmp_path_factory.mktemp("iris")
    X, labels = iris_like()
    rows = [[*x[:2], label, *x[2:]] for x, label in zip(X, labels)]
    data = write(folder / "iris.csv", [*COLUMNS[:2], "species", *COLUMNS[2:]], rows)
    model = folder / "m.npz"
    result = ok(run("train", "--csv", data, "--target", "species", "--epochs", "60",
                    "--verbose", "0", "--save", model))
    accuracy = float(result.stdout.split("test accuracy ")[1].split(",")[0])
    assert accuracy > 0.9
    return model, X, labels, data


def test_the_model_file_predicts_raw_rows_as_the_command_line(iris_model, tmp_path):
    model, X, labels, _ = iris_model
    net = fnn.load(model)
    assert net.feature_names == list(COLUMNS) and net.target_name == "species"
    assert net.class_names == list(SPECIES)
    assert isinstance(net.layers[0], fnn.Normalization) and not net.layers[0].invert
    # the symptom: fnn.load(m).predict(raw_X) scored 0.33
    predicted = np.array(SPECIES)[net.predict(X).argmax(axis=1)]
    assert np.mean(predicted == labels) > 0.9
    # rows to predict: columns shuffled, an extra one, no label
    order = [3, 0, 2, 1]
    raw = write(tmp_path / "raw.csv", ["id", *(COLUMNS[j] for j in order)],
                [[i, *x[order]] for i, x in enumerate(X)])
    result = ok(run("predict", model, raw))
    header, rows = read(result.stdout)
    assert header == ["species"] and [r[0] for r in rows] == list(predicted)
    assert result.stderr == ""


def test_predict_output_file_and_probabilities(iris_model, tmp_path):
    model, X, _, _ = iris_model
    raw = write(tmp_path / "raw.csv", COLUMNS, X)
    out = tmp_path / "p.csv"
    assert ok(run("predict", model, raw, "--proba", "--output", out)).stdout == ""
    header, rows = read(out.read_text())
    assert header == list(SPECIES)
    p = np.array(rows, dtype=np.float64)
    np.testing.assert_allclose(p, fnn.load(model).predict(X), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)


def test_evaluate_prints_the_saved_models_metrics(iris_model):
    model, X, labels, data = iris_model
    net = fnn.load(model)
    expected = net.evaluate(X, np.searchsorted(SPECIES, labels))
    for args in ([], ["--target", "species"]):  # the model knows its target column
        out = ok(run("evaluate", model, data, *args)).stdout
        assert f"{len(X)} rows" in out
        assert float(out.split("accuracy ")[1].split(" ")[0]) == pytest.approx(
            expected["accuracy"], abs=1e-6)
        assert float(out.split("loss ")[1].split(",")[0]) == pytest.approx(
            expected["loss"], rel=1e-5)


def diabetes_csv(path):
    from sklearn.datasets import load_diabetes
    data = load_diabetes()
    return write(path, [*data.feature_names, "progression"],
                 np.column_stack([data.data, data.target])), data


def test_a_numeric_target_with_many_values_trains_a_regressor(tmp_path):
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split
    path, data = diabetes_csv(tmp_path / "diabetes.csv")
    model = tmp_path / "r.npz"
    result = ok(run("train", "--csv", path, "--target", "progression", "--hidden", "64",
                    "--dropout", "0.5", "--lr", "0.001", "--epochs", "50", "--verbose", "0",
                    "--save", model))
    assert "(regression of 'progression')" in result.stdout and "MSE loss" in result.stdout
    assert result.stderr == ""  # 214 distinct whole numbers: no close call
    r2 = float(result.stdout.split("test R^2 ")[1].split(",")[0])
    assert r2 > 0.3
    net = fnn.load(model)
    assert isinstance(net.layers[-1], fnn.Normalization) and net.layers[-1].invert
    assert net.class_names is None and net.target_name == "progression"
    # the file predicts in the target's units, on raw rows: the R^2 the command line printed
    _, X_test, _, y_test = train_test_split(data.data, data.target, test_size=0.25,
                                            random_state=0)
    assert r2_score(y_test, net.predict(X_test)[:, 0]) == pytest.approx(r2, abs=1e-4)
    header, rows = read(ok(run("predict", model, path)).stdout)
    assert header == ["progression"]
    np.testing.assert_allclose(np.array(rows, float)[:, 0], net.predict(data.data)[:, 0],
                               rtol=1e-6)
    out = ok(run("evaluate", model, path)).stdout
    for name in ("R^2 ", "MAE ", "MSE ", "loss "):
        assert name in out


def whole_number_target(tmp_path, distinct, n=120):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, 3))
    y = np.arange(n) % distinct
    return write(tmp_path / "t.csv", ["a", "b", "c", "y"], np.column_stack([X, y]).tolist())


def test_a_close_guess_warns_and_task_overrides(tmp_path):
    path = whole_number_target(tmp_path, 30)  # 30 distinct whole numbers: regression, barely
    common = ["train", "--csv", path, "--target", "y", "--epochs", "2", "--verbose", "0"]
    result = ok(run(*common, "--save", tmp_path / "r.npz"))
    assert result.stderr == ("warning: guessed regression for column 'y' (30 distinct whole "
                             "numbers); give --task classification to override (or --task "
                             "regression to silence this)\n")
    assert "(regression of 'y')" in result.stdout
    result = ok(run(*common, "--task", "classification", "--save", tmp_path / "c.npz"))
    assert result.stderr == "" and "(classification of 'y')" in result.stdout
    net = fnn.load(tmp_path / "c.npz")
    assert net.class_names == [str(i) for i in range(30)] and net.loss.classification
    assert not fnn.load(tmp_path / "r.npz").loss.classification


@pytest.mark.parametrize("values,task,close", [
    (["cat", "dog", "cat"], "classification", False),
    (["1", "2", "x"], "classification", False),
    (["0", "1", "1.0"], "classification", False),
    ([str(i) for i in range(20)], "classification", True),
    ([str(i) for i in range(21)], "regression", True),
    ([str(i) for i in range(9)], "classification", False),
    ([str(i) for i in range(51)], "regression", False),
    (["0.5", "1.5", "0.5"], "regression", True),
    ([str(i / 7) for i in range(11)], "regression", False),
])
def test_the_task_rule(values, task, close):
    guessed, _, is_close = cli_csv.guess_task(values)
    assert (guessed, is_close) == (task, close)


def test_numeric_class_labels_sort_as_numbers_and_name_one_spelling():
    classes, y = cli_csv.encode_labels("t.csv", "y", ["10", "9", "9.0", "-1"])
    assert classes == ["-1", "9", "10"] and y.tolist() == [2, 1, 1, 0]


def test_a_bundled_set_model_reads_columns_by_position(tmp_path):
    model = tmp_path / "iris.npz"
    ok(run("train", "iris", "--epochs", "5", "--verbose", "0", "--save", model))
    net = fnn.load(model)
    assert net.feature_names is None and net.class_names is None
    X = fnn.datasets.load("iris", random_state=0)[1]
    raw = write(tmp_path / "x.csv", ["a", "b", "c", "d"], X)
    header, rows = read(ok(run("predict", model, raw)).stdout)
    assert header == ["label"]
    assert [int(r[0]) for r in rows] == net.predict(X).argmax(axis=1).tolist()
    wide = write(tmp_path / "wide.csv", ["a", "b", "c", "d", "e"], np.hstack([X, X[:, :1]]))
    one_line_error(run("predict", model, wide), "wide.csv has 5 columns; the model has no "
                   "feature names, so it reads every column by position and needs exactly 4")


def test_train_options_shape_the_network(tmp_path, capsys):
    X, labels = iris_like(60)
    data = write(tmp_path / "t.csv", [*COLUMNS, "species"],
                 [[*x, label] for x, label in zip(X, labels)])
    model = tmp_path / "m.npz"
    assert main(["train", "--csv", str(data), "--target", "species", "--hidden", "8", "4",
                 "--batch-norm", "--dropout", "0.25", "--loss", "cross_entropy",
                 "--epochs", "2", "--verbose", "0", "--save", str(model)]) == 0
    kinds = [type(layer).__name__ for layer in fnn.load(model).layers]
    assert kinds == ["Normalization", "Dense", "BatchNorm", "ReLU", "Dropout", "Dense",
                     "BatchNorm", "ReLU", "Dropout", "Dense", "Softmax"]
    assert fnn.load(model).layers[4].rate == 0.25
    assert type(fnn.load(model).loss).__name__ == "CrossEntropy"


def test_early_stopping_stops_and_keeps_the_best_weights(tmp_path, capsys, monkeypatch):
    X, labels = iris_like(80)
    data = write(tmp_path / "t.csv", [*COLUMNS, "species"],
                 [[*x, label] for x, label in zip(X, labels)])
    fits = []
    fit = fnn.Network.fit
    monkeypatch.setattr(fnn.Network, "fit", lambda self, *a, **k: fits.append(k) or
                        fit(self, *a, **k))
    assert main(["train", "--csv", str(data), "--target", "species", "--lr", "0.05",
                 "--epochs", "500", "--early-stopping", "3", "--verbose", "0"]) == 0
    out = capsys.readouterr().out
    assert "validation split 0.1, early stopping (patience 3)" in out
    stopper, = fits[0]["callbacks"]
    assert fits[0]["validation_split"] == 0.1 and stopper.restore_best_weights
    assert stopper.monitor == "val_loss" and stopper.patience == 3
    stopped = int(out.split("early stopping after ")[1].split(" ")[0])
    assert stopped < 500 and stopper.stopped_epoch == stopped - 1


def test_export_onnx_is_called_with_the_saved_network(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(fnn, "export_onnx", lambda net, path: calls.append((net, path)),
                        raising=False)
    X, labels = iris_like(40)
    data = write(tmp_path / "t.csv", [*COLUMNS, "species"],
                 [[*x, label] for x, label in zip(X, labels)])
    path = tmp_path / "m.onnx"
    assert main(["train", "--csv", str(data), "--target", "species", "--epochs", "1",
                 "--verbose", "0", "--export-onnx", str(path)]) == 0
    (net, given), = calls
    assert given == str(path) and isinstance(net.layers[0], fnn.Normalization)
    assert net.feature_names == list(COLUMNS)
    assert f"exported the network to {path}" in capsys.readouterr().out


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_exported_onnx_model_predicts_raw_rows_as_the_saved_one(tmp_path, task):
    import onnxruntime
    X, labels = iris_like(120)
    target = labels if task == "classification" else X[:, 0] * 0.3 + X[:, 2]
    data = write(tmp_path / "t.csv", [*COLUMNS, "y"], [[*x, t] for x, t in zip(X, target)])
    extra = ["--batch-norm", "--dropout", "0.2"] if task == "classification" else []
    ok(run("train", "--csv", data, "--target", "y", "--task", task, "--epochs", "5",
           "--verbose", "0", "--save", tmp_path / "m.npz", "--export-onnx", tmp_path / "m.onnx",
           *extra))
    net = fnn.load(tmp_path / "m.npz")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"),
                                           providers=["CPUExecutionProvider"])
    raw = X.astype(np.float32)
    got, = session.run(None, {session.get_inputs()[0].name: raw})
    np.testing.assert_allclose(got, net.predict(raw), rtol=1e-5, atol=1e-5)
    assert isinstance(net.layers[0], fnn.Normalization)
    assert isinstance(net.layers[-1], fnn.Normalization) == (task == "regression")


def test_version_help_and_every_option_explained(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out == f"fastnn {fnn.__version__}\n"
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("train", "predict", "evaluate"):
        assert f"    {command} " in out
    sub = next(a for a in parser()._actions if a.dest == "command")
    for name, command in sub.choices.items():
        for action in command._actions:
            assert action.help, (name, action.dest)


# ------------------------------------------------------------------------------- bad input

@pytest.fixture(scope="module")
def regressor(tmp_path_factory):
    folder = tmp_path_factory.mktemp("regressor")
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 2))
    data = write(folder / "r.csv", ["u", "v", "w"], np.column_stack([X, X @ [1.5, -2] + 0.1]))
    model = folder / "r.npz"
    ok(run("train", "--csv", data, "--target", "w", "--epochs", "1", "--verbose", "0",
           "--save", model))
    return model, data


def test_predict_names_the_missing_columns(iris_model, tmp_path):
    model, X, _, _ = iris_model
    raw = write(tmp_path / "raw.csv", ["sepal_length", "petal_width"], X[:, [0, 3]])
    one_line_error(run("predict", model, raw), "raw.csv lacks the model's columns "
                   "'sepal_width', 'petal_length'")


@pytest.mark.parametrize("content,fragment", [
    ("sepal_length,sepal_width,petal_length,petal_width\n", "has a header but no data rows"),
    ("", "is empty"),
    ("sepal_length,sepal_width,petal_length,petal_width\n1,2,x,4\n",
     "row 2 column 'petal_length': 'x' is not a number"),
])
def test_predict_bad_rows(iris_model, tmp_path, content, fragment):
    raw = tmp_path / "raw.csv"
    raw.write_text(content)
    one_line_error(run("predict", iris_model[0], raw), fragment)


def test_predict_refuses_what_is_not_a_model(iris_model, tmp_path):
    _, _, _, data = iris_model
    one_line_error(run("predict", data, data), "is not a valid fastnn model file")
    one_line_error(run("predict", tmp_path / "none.npz", data), "cannot read the model",
                   "No such file")


def test_probabilities_of_a_regressor_are_refused(regressor, tmp_path):
    model, data = regressor
    out = tmp_path / "p.csv"
    one_line_error(run("predict", model, data, "--proba", "--output", out),
                   "--proba needs a classifier", "is a regression model")
    assert not out.exists()


def test_predict_output_into_a_missing_folder(iris_model, tmp_path):
    model, _, _, data = iris_model
    one_line_error(run("predict", model, data, "--output", tmp_path / "no" / "p.csv"),
                   "--output", "does not exist")
    before = Path(data).read_bytes()
    one_line_error(run("predict", model, data, "--output", data), f"--output {data} is the input")
    assert Path(data).read_bytes() == before


def test_evaluate_a_regressor_on_a_target_that_is_not_numbers(regressor, tmp_path):
    model, _ = regressor
    data = write(tmp_path / "e.csv", ["u", "v", "w"], [[1, 2, 3], [4, 5, "high"]])
    one_line_error(run("evaluate", model, data), "e.csv row 3 column 'w': 'high' is not a finite "
                   "number")


def test_evaluate_bad_targets(iris_model, tmp_path):
    model, X, labels, _ = iris_model
    labels = labels.copy()
    labels[5] = "daisy"
    data = write(tmp_path / "e.csv", [*COLUMNS, "species"],
                 [[*x, label] for x, label in zip(X, labels)])
    one_line_error(run("evaluate", model, data), "e.csv row 7 column 'species': 'daisy' is not "
                   "one of the model's classes (setosa, versicolor, virginica)")
    one_line_error(run("evaluate", model, data, "--target", "kind"),
                   "e.csv has no target column 'kind'")


@pytest.mark.parametrize("args,fragment", [
    (["--loss", "mse"], "--loss mse does not fit a classifier; choose one of "
                        "softmax_cross_entropy, cross_entropy"),
    (["--task", "regression", "--loss", "cross_entropy"],
     "--loss cross_entropy does not fit a regressor; choose one of mse"),
    (["--task", "regression"], "row 2 column 'y': 'no' is not a finite number"),
    (["--dropout", "1"], "--dropout must be at least 0 and below 1, got 1.0"),
    (["--validation-split", "0"], "--validation-split must be between 0 and 1"),
    (["--early-stopping", "-1"], "--early-stopping must be at least 0"),
    (["--export-onnx", "/no/such/folder/m.onnx"], "--export-onnx /no/such/folder/m.onnx: the "
                                                  "folder /no/such/folder does not exist"),
    (["--save", "SAME", "--export-onnx", "SAME"], "--save and --export-onnx name the same file"),
])
def test_bad_train_options_are_refused_before_training(tmp_path, args, fragment):
    data = write(tmp_path / "t.csv", ["a", "b", "y"],
                 [[i, i % 3, "yes" if i % 2 else "no"] for i in range(12)])
    args = [str(tmp_path / "same.npz") if a == "SAME" else a for a in args]
    result = run("train", "--csv", data, "--target", "y", "--epochs", "1", "--verbose", "0", *args)
    one_line_error(result, fragment)
    assert result.stdout == ""


def test_feature_columns_of_one_name_are_refused_before_training(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("a,b,a,y\n" + "".join(f"{i},{i},{i},{i % 2}\n" for i in range(8)))
    result = run("train", "--csv", data, "--target", "y", "--verbose", "0")
    one_line_error(result, "t.csv has 2 columns named 'a'; the model finds its columns by name")
    assert result.stdout == ""


def test_batch_norm_takes_a_batch_size_that_leaves_no_single_row(tmp_path):
    X, labels = iris_like(300)  # 225 training rows: 225 % 32 == 1
    data = write(tmp_path / "t.csv", [*COLUMNS, "y"], [[*x, label] for x, label in zip(X, labels)])
    result = ok(run("train", "--csv", data, "--target", "y", "--batch-norm", "--epochs", "2",
                    "--verbose", "0"))
    assert "batch 33 (32 would leave BatchNorm 1 row)" in result.stdout
    from fastnn.cli_train import batch_without_a_single_row
    assert batch_without_a_single_row(225, None, 32) == 33
    assert batch_without_a_single_row(225, 0.2, 32) == 32  # 180 rows trained
    assert batch_without_a_single_row(201, 0.0, 25) == 26  # 201 % 25 == 1, 201 % 26 == 19


def test_no_output_replaces_the_input_or_the_model_through_a_link(tmp_path):
    X, labels = iris_like(40)
    data = write(tmp_path / "t.csv", [*COLUMNS, "y"], [[*x, label] for x, label in zip(X, labels)])
    before = data.read_bytes()
    for option in ("--save", "--export-onnx"):
        one_line_error(run("train", "--csv", data, "--target", "y", option, data),
                       f"{option} {data} is the --csv input")
    os.symlink(data, tmp_path / "soft.npz")
    one_line_error(run("train", "--csv", data, "--target", "y", "--save", tmp_path / "soft.npz"),
                   "is the --csv input")
    os.link(data, tmp_path / "hard.csv")
    ok(run("train", "--csv", data, "--target", "y", "--epochs", "1", "--verbose", "0",
           "--save", tmp_path / "m.npz"))
    os.symlink(tmp_path / "m.npz", tmp_path / "model-link.csv")
    one_line_error(run("predict", tmp_path / "m.npz", data, "--output", tmp_path / "hard.csv"),
                   "is the input")
    one_line_error(run("predict", tmp_path / "m.npz", data, "--output",
                       tmp_path / "model-link.csv"), "is the model")
    assert data.read_bytes() == before
    fnn.load(tmp_path / "m.npz")


def test_whole_number_labels_stay_exact_however_long(tmp_path):
    big = ["9007199254740993", "9007199254740992", "12345678901234567890123"]
    X, _ = iris_like(60)
    labels = [big[i % 3] for i in range(60)]
    data = write(tmp_path / "t.csv", [*COLUMNS, "y"], [[*x, label] for x, label in zip(X, labels)])
    ok(run("train", "--csv", data, "--target", "y", "--task", "classification", "--epochs", "1",
           "--verbose", "0", "--save", tmp_path / "m.npz"))
    assert fnn.load(tmp_path / "m.npz").class_names == sorted(big, key=int)
    assert cli_csv.label_key("1.0") == cli_csv.label_key("1") == "1"
    assert cli_csv.label_key("1e300") == "1e300"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_as_the_csv_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    one_line_error(run("train", "--csv", tmp_path / "pipe.csv", "--target", "y"),
                   "not a regular file")


def test_evaluate_warns_of_another_target_and_predict_names_a_value_too_large(tmp_path):
    X, _ = iris_like(60)
    y = X[:, 0] * 0.3 + X[:, 2]
    data = write(tmp_path / "t.csv", [*COLUMNS, "y"], [[*x, t] for x, t in zip(X, y)])
    ok(run("train", "--csv", data, "--target", "y", "--task", "regression", "--epochs", "1",
           "--verbose", "0", "--save", tmp_path / "m.npz"))
    result = ok(run("evaluate", tmp_path / "m.npz", data, "--target", COLUMNS[1]))
    assert result.stderr == f"warning: {tmp_path / 'm.npz'} was trained to predict 'y', not " \
                            f"'{COLUMNS[1]}'\n"
    big = write(tmp_path / "big.csv", list(COLUMNS), [[1, 2, 3, 4], [1, "1e39", 3, 4]])
    one_line_error(run("predict", tmp_path / "m.npz", big),
                   f"big.csv row 3 column '{COLUMNS[1]}': '1e39' is too large for the model's "
                   f"float32")
