"""The benchmark scripts' machinery (not their speed: that lives in benchmarks/results/). They
are scripts beside the package, not part of it: imported here from benchmarks/, which is on
sys.path only while these tests run (its sparse.py would hide the sparse package from others)."""
import importlib
import math
import pathlib
import sys

import pytest

BENCHMARKS = str(pathlib.Path(__file__).resolve().parent.parent / "benchmarks")
bench = estimators = None  # the scripts training.py and estimators.py, imported by `scripts`


@pytest.fixture(scope="module", autouse=True)
def scripts():
    global bench, estimators
    sys.path.insert(0, BENCHMARKS)
    try:
        bench = importlib.import_module("training")
        estimators = importlib.import_module("estimators")
        yield
    finally:
        sys.path.remove(BENCHMARKS)

SPIRAL = "spiral 2-64-3, full batch"


def test_a_peer_missing_any_of_its_modules_is_skipped(monkeypatch):
    assert "scikit-learn" in bench.available_systems()  # a dependency: always installed
    monkeypatch.setitem(bench.MODULES, "scikit-learn", ("sklearn", "no_such_module_for_tests"))
    systems = bench.available_systems()
    assert systems[:2] == ["fastnn", "NumPy loop"]
    assert "scikit-learn" not in systems


def test_each_thread_count_gives_a_row_per_workload_and_the_predict_latency():
    systems = ["fastnn", "NumPy loop"]
    results = bench.run((SPIRAL,), [1], 1, systems)  # in a fresh process, as the CLI runs it
    assert [(threads, name) for threads, name, _, _ in results] == [
        (1, SPIRAL), (1, "single-row predict, digits 64-64-10")]
    (_, _, medians, floor), (_, _, latency, no_floor) = results
    assert set(medians) == set(systems)
    assert all(0 < t < 1 and math.isfinite(t) for t in medians.values())
    assert 0 < floor < 1 and no_floor is None
    assert 0 < latency["fastnn"] < 1e-3

    text = bench.table(results, systems, 1, "python benchmarks/training.py")
    row = next(line for line in text.splitlines() if SPIRAL in line)
    ratio = medians["NumPy loop"] / medians["fastnn"]
    assert row.startswith(f"| 1 | {SPIRAL} | 500 | ") and f"(x{ratio:.2f})" in row


def test_the_estimator_table_gives_speed_up_bound_and_floor_rate():
    # digits 64-100-10 in batches of 200: 9 batches of 200 rows an epoch in the floor, and per
    # row 2 * (6400 + 1000) multiply-adds forward and for dW, 1000 for the second layer's dX
    fmas = estimators.multiply_adds(1797, (64, 100, 10), 200, 30)
    assert fmas == 30 * 1800 * 15800
    medians = {"fastnn": 0.04, "scikit-learn": 0.12, "GEMM floor": 0.03}
    text = estimators.table([(1, "digits", "float64", "sgd", 30, medians, fmas)], 5,
                            "python benchmarks/estimators.py", "a machine", "0.1.0")
    row = text.splitlines()[-1]
    assert row == ("| 1 | digits | float64 | sgd | 30 | 0.040 s | 0.120 s | x3.00 | 0.030 s | "
                   f"x4.00 | {fmas / 0.03 / 1e9:.1f} G/s |")


def batch_norm_rows(systems):
    """The batch-normalized workload's row, measured with one sample of its epochs."""
    name = bench.BATCH_NORM[0]
    results = bench.run((name,), [1], 1, systems)
    (threads, row_name, medians, floor), _ = results
    assert (threads, row_name) == (1, name)
    assert all(0 < t < 1 and math.isfinite(t) for t in medians.values())
    return name, results, medians


def test_the_batch_norm_workload_runs_only_its_systems():
    from fastnn.engine import compile_plan
    name, results, medians = batch_norm_rows(["fastnn", "NumPy loop"])
    assert set(medians) == {"fastnn"}  # the NumPy loop has no BatchNorm: its cell stays empty
    row = next(line for line in bench.table(results, ["fastnn", "NumPy loop"], 1, "x").splitlines()
               if name in line)
    assert row.startswith(f"| 1 | {name} | 20 | ") and row.split(" | ")[4] == "-"
    sizes, rows, batch, lr, _ = bench.WORKLOADS[name]
    X, y = bench.make_data(name, sizes, rows)
    net = bench.fastnn_system(X, y, sizes, batch, lr, 1, batch_norm=True).network
    assert [type(layer).__name__ for layer in net.layers] == ["Dense", "BatchNorm", "ReLU", "Dense"]
    assert compile_plan(net, batch) is not None  # fastnn runs it in the engine


@pytest.mark.torch
def test_the_batch_norm_workload_runs_against_torch():
    _, _, medians = batch_norm_rows(["fastnn", "PyTorch"])
    assert set(medians) == {"fastnn", "PyTorch"}
