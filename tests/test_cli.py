"""python -m fastnn train: the main job, its options and its errors."""
import numpy as np
import pytest

import fastnn as fnn
from fastnn.__main__ import main


def test_train_digits_prints_progress_accuracy_and_time(capsys):
    assert main(["train", "digits", "--epochs", "3", "--verbose", "2"]) == 0
    out = capsys.readouterr().out
    assert "epoch 3/3" in out
    accuracy = float(out.split("test accuracy ")[1].split(",")[0])
    assert accuracy > 0.9 and " trained in " in out


def test_options_and_save(tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert main(["train", "iris", "--hidden", "16", "8", "--activation", "tanh", "--optimizer",
                 "sgd", "--lr", "0.05", "--epochs", "5", "--batch-size", "16", "--seed", "3",
                 "--verbose", "0", "--save", str(path)]) == 0
    net = fnn.load(path)
    assert [layer.n_out for layer in net.layers if isinstance(layer, fnn.Dense)] == [16, 8, 3]
    assert isinstance(net.layers[1], fnn.Tanh) and net.optimizer.lr == 0.05


def test_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,label,c\n" + "".join(f"{r[0]},{r[1]},{label},{r[2]}\n"
                                              for r, label in zip(X, labels)))
    assert main(["train", "--csv", str(csv), "--target", "label", "--epochs", "50",
                 "--verbose", "0"]) == 0
    assert float(capsys.readouterr().out.split("test accuracy ")[1].split(",")[0]) > 0.8


@pytest.mark.parametrize("argv,message", [
    (["train", "--csv", "/no/such.csv", "--target", "y"], "cannot read /no/such.csv"),
    (["train", "--csv", "x.csv"], "--csv needs --target"),
    (["train"], "name a data set"),
    (["train", "iris", "--epochs", "0"], "--epochs must be at least 1"),
    (["train", "iris", "--lr", "-1"], "--lr must be a finite number >= 0, got -1.0"),
    (["train", "iris", "--lr", "inf"], "--lr must be a finite number >= 0, got inf"),
    (["train", "iris", "--seed", "-1"], "--seed must be >= 0, got -1"),
    (["train", "iris", "--threads", "0"], "--threads must be between 1 and"),
    (["train", "iris", "--save", "/no/such/folder/m.npz"], "the folder /no/such/folder does not"),
])
def test_errors_print_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unknown_dataset_is_rejected_by_argparse(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "mnist"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'mnist'" in err and err.count("\n") == 1


def test_bad_csv_names_file_row_and_column(tmp_path, capsys):
    csv = tmp_path / "table.csv"
    csv.write_text("a,b,c,y\n" + "1,2,3,0\n" * 5 + "1,2,0\n")
    assert main(["train", "--csv", str(csv), "--target", "y"]) == 2
    assert capsys.readouterr().err == f"error: {csv} row 7 has 3 fields, the header has 4\n"
    csv.write_text("a,b,y\n1,2,0\n3,nan,1\n")
    assert main(["train", "--csv", str(csv), "--target", "y"]) == 2
    assert capsys.readouterr().err == (f"error: {csv} row 3 column 'b': "
                                       "'nan' is not a finite number\n")


def test_bad_save_path_is_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(fnn.Network, "fit", lambda *a, **k: pytest.fail("trained"))
    assert main(["train", "iris", "--save", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"error: --save {tmp_path} is a folder; give a " \
                                                  "file name inside it\n"


def test_library_value_error_is_one_line(capsys, monkeypatch):
    def fit(*args, **kwargs):
        raise ValueError("y holds class labels, which must be whole numbers")
    monkeypatch.setattr(fnn.Network, "fit", fit)
    assert main(["train", "iris", "--verbose", "0"]) == 2
    assert capsys.readouterr().err == "error: y holds class labels, which must be whole numbers\n"


def test_bench_says_where_the_benchmarks_went(capsys):
    from fastnn.__main__ import main
    assert main(["bench", "--quick"]) == 2
    assert "python benchmarks/training.py" in capsys.readouterr().err
