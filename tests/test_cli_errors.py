"""python -m fastnn train, run as a user runs it: every error is one line on stderr starting with
"error:", exit status 2, no traceback; options, CSV files and output paths are checked before
training starts (nothing on stdout: the first stdout line is printed as training begins)."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--epochs", "1", "--verbose", "0"]


def env():
    path = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=str(ROOT) + (os.pathsep + path if path else ""),
                PYTHONUNBUFFERED="1")


def run(*args, code=None, extra_path=None):
    """python -m fastnn train ARGS, or python -c CODE train ARGS (CODE patches, then calls main)."""
    command = [sys.executable, "-m", "fastnn"] if code is None else [sys.executable, "-c", code]
    environment = env()
    if extra_path:
        environment["PYTHONPATH"] = str(extra_path) + os.pathsep + environment["PYTHONPATH"]
    return subprocess.run([*command, "train", *map(str, args)], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)


def assert_error(result, *fragments, status=2, before_training=True):
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr.endswith("\n"), result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert result.returncode == status, (result.returncode, result.stderr)
    if before_training:
        assert result.stdout == "", result.stdout
    return lines[0]


def write_csv(tmp_path, content, name="table.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


GOOD = "a,b,y\n" + "".join(f"{i},{i % 3},{'yes' if i % 2 else 'no'}\n" for i in range(12))


# ------------------------------------------------------------------------------- CSV files

@pytest.mark.parametrize("content,target,fragments", [
    ("a,b,c,y\n1,2,3,0\n4,5,6,1\n7,8,9,0\n1,2,3,1\n1,2,3,0\n7,8,0\n1,2,3,1\n", "y",
     ["table.csv row 7 has 3 fields, the header has 4"]),
    ("a,b,y\n1,2,0\n3,4,1,9\n5,6,0\n", "y", ["table.csv row 3 has 4 fields, the header has 3"]),
    (b"a,b,y\n1,2,0\n3,\xff4,1\n5,6,0\n", "y", ["table.csv row 3 is not UTF-8", "0xff"]),
    (b"a,b,y\n1,2,0\n3,4,1\n5,6,\xe9\n", "y", ["table.csv row 4 is not UTF-8", "0xe9"]),
    ("a,b,y\n1,2,0\n3,nan,1\n5,6,0\n", "y", ["table.csv row 3 column 'b': 'nan' is not a finite"]),
    ("a,b,y\n1,2,0\n3,4,1\n1e999,6,0\n", "y", ["row 4 column 'a': '1e999' is not a finite"]),
    ("a,b,y\n1,2,0\n3,-inf,1\n5,6,0\n", "y", ["row 3 column 'b': '-inf' is not a finite"]),
    ("a,b,y\ninf,2,0\n3,4,1\n5,6,0\n", "y", ["row 2 column 'a': 'inf' is not a finite"]),
    ("y\n0\n1\n0\n1\n", "y", ["table.csv has no feature columns, only the target 'y'"]),
    ("", "y", ["table.csv is empty"]),
    ("\n\n", "y", ["table.csv is empty"]),
    ("a,b,y\n", "y", ["table.csv has a header but no data rows"]),
    ("a,b,y\n1,2,0\n", "y", ["table.csv has 1 data row; it needs at least 2"]),
    ("a,b,y\n1,2,0\n3,4,1\n", "label",
     ["table.csv has no column 'label'; its columns are a, b, y"]),
    ("a,b,y\n1,2,0\n3,x,1\n5,6,0\n", "y", ["table.csv row 3 column 'b': 'x' is not a number"]),
    ("a,b,y\n1,2,0\n3,,1\n5,6,0\n", "y", ["table.csv row 3 column 'b': '' is not a number"]),
    ("a,b,y\n1,2,0\n3,4,\n5,6,0\n", "y", ["table.csv row 3 column 'y' is empty"]),
    ("a,b,y\n1,2,0\n3,4,0\n5,6,0\n", "y", ["table.csv: column 'y' has a single class"]),
    ("y,b,y\n1,2,0\n3,4,1\n", "y", ["table.csv has 2 columns named 'y'"]),
    ("a,b,y\n1e308,2,0\n1.5e308,4,1\n1.7e308,6,0\n1.6e308,3,1\n", "y",
     ["table.csv column 'a': values too large to standardize"]),
])
def test_bad_csv(tmp_path, content, target, fragments):
    path = write_csv(tmp_path, content)
    assert_error(run("--csv", path, "--target", target, *QUICK), *fragments)


def test_missing_csv_and_folder_as_csv(tmp_path):
    assert_error(run("--csv", tmp_path / "none.csv", "--target", "y", *QUICK),
                 "cannot read", "none.csv", "No such file")
    assert_error(run("--csv", tmp_path, "--target", "y", *QUICK), "cannot read", str(tmp_path))


def test_csv_with_bom_spaces_and_blank_rows_trains(tmp_path):
    content = "\ufeffa, b , y\n" + GOOD.split("\n", 1)[1].replace("\n", "\r\n") + "\n,,\n\n"
    path = write_csv(tmp_path, content)
    result = run("--csv", path, "--target", "y", *QUICK)
    assert result.returncode == 0, result.stderr
    assert "9 training / 3 test samples" in result.stdout


# --------------------------------------------------------------------------------- options

@pytest.mark.parametrize("option,value,message", [
    ("--lr", "inf", "--lr must be a finite number >= 0, got inf"),
    ("--lr=-inf", None, "--lr must be a finite number >= 0, got -inf"),
    ("--lr", "nan", "--lr must be a finite number >= 0, got nan"),
    ("--lr", "-1", "--lr must be a finite number >= 0, got -1.0"),
    ("--seed", "-1", "--seed must be >= 0, got -1"),
    ("--seed", str(2**32), f"--seed must be at most {2**32 - 1}, got {2**32}"),
    ("--epochs", "-1", "--epochs must be at least 1, got -1"),
    ("--epochs", "0", "--epochs must be at least 1, got 0"),
    ("--batch-size", "0", "--batch-size must be at least 1, got 0"),
    ("--batch-size", "-5", "--batch-size must be at least 1, got -5"),
    ("--threads", "0", "--threads must be between 1 and "),
    ("--threads", "-1", "--threads must be between 1 and "),
    ("--threads", "100000", "--threads must be between 1 and "),
    ("--hidden", "0", "--hidden sizes must be at least 1, got 0"),
    ("--hidden", "-3", "--hidden sizes must be at least 1, got -3"),
    ("--lr", "fast", "argument --lr: invalid float value: 'fast'"),
    ("--epochs", "1.5", "argument --epochs: invalid int value: '1.5'"),
])
def test_bad_option(option, value, message):
    args = ["iris", "--verbose", "0", option] + ([] if value is None else [value])
    if not option.startswith("--epochs"):
        args += ["--epochs", "1"]
    assert_error(run(*args), message)


def test_hidden_names_the_bad_size_among_several():
    assert_error(run("iris", "--hidden", "16", "-3", *QUICK),
                 "--hidden sizes must be at least 1, got -3 in --hidden 16 -3")


@pytest.mark.parametrize("args,message", [
    (["iris", "--csv", "t.csv", "--target", "y"], "give a data set (iris) or --csv FILE, not both"),
    (["iris", "--target", "y"], "--target goes with --csv"),
    (["--csv", "t.csv"], "--csv needs --target"),
    ([], "name a data set"),
])
def test_bad_combination(args, message):
    assert_error(run(*args, *QUICK), message)


def test_lr_zero_is_allowed_as_the_optimizers_allow_it():
    result = run("iris", "--lr", "0", *QUICK)
    assert result.returncode == 0, result.stderr
    assert "adam lr=0.0," in result.stdout


def test_threads_at_the_cpu_count_is_allowed():
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert run("iris", "--threads", cpus, *QUICK).returncode == 0
    assert_error(run("iris", "--threads", cpus + 1, *QUICK),
                 f"--threads must be between 1 and {cpus} (the CPUs available), got {cpus + 1}")


# ---------------------------------------------------------------------------- output paths

@pytest.mark.parametrize("option", ["--save", "--plot"])
def test_output_into_a_missing_folder(tmp_path, option):
    path = tmp_path / "missing" / "out.file"
    assert_error(run("iris", option, path, *QUICK),
                 f"{option} {path}: the folder {tmp_path / 'missing'} does not exist")


@pytest.mark.parametrize("option", ["--save", "--plot"])
def test_output_onto_a_folder(tmp_path, option):
    assert_error(run("iris", option, tmp_path, *QUICK), f"{option} {tmp_path} is a folder")
    assert_error(run("iris", option, f"{tmp_path}{os.sep}", *QUICK), "is a folder")


@pytest.mark.parametrize("option", ["--save", "--plot"])
def test_output_under_a_file(tmp_path, option):
    file = write_csv(tmp_path, GOOD)
    assert_error(run("iris", option, file / "out.file", *QUICK), f"{file} is not a folder")


@pytest.mark.parametrize("option", ["--save", "--plot"])
def test_output_empty_name(option):
    assert_error(run("iris", option, "", *QUICK), f"{option} needs a file name")


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
@pytest.mark.parametrize("option", ["--save", "--plot"])
def test_output_where_no_file_can_be_created(option):
    # /proc takes no new files, even from root.
    assert_error(run("iris", option, "/proc/out.file", *QUICK),
                 f"{option} /proc/out.file: cannot write in the folder /proc")


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_save_onto_a_device_is_refused():
    assert_error(run("iris", "--save", "/dev/null", *QUICK),
                 "--save /dev/null exists and is not a regular file")


def test_save_and_plot_on_the_same_file(tmp_path, monkeypatch):
    # matplotlib stands in (empty package) so the check reaches the comparison of the two paths.
    fake = tmp_path / "fake"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("")
    (fake / "matplotlib" / "backend_bases.py").write_text(
        "class FigureCanvasBase:\n    @classmethod\n"
        "    def get_supported_filetypes(cls):\n        return {'png': 'PNG', 'pdf': 'PDF'}\n")
    path = tmp_path / "same.png"
    assert_error(run("iris", "--save", path, "--plot", path, *QUICK, extra_path=fake),
                 "--save and --plot name the same file")
    assert_error(run("iris", "--plot", tmp_path / "c.xyz", *QUICK, extra_path=fake),
                 "matplotlib cannot write .xyz files; use one of .pdf, .png")


def test_plot_without_matplotlib_is_reported_before_training(tmp_path):
    blocker = tmp_path / "blocker"
    (blocker / "matplotlib").mkdir(parents=True)
    (blocker / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib')\n")
    save = tmp_path / "m.npz"
    assert_error(run("iris", "--save", save, "--plot", tmp_path / "c.png", *QUICK,
                     extra_path=blocker), "--plot needs matplotlib")
    assert not save.exists()


def test_good_save_leaves_no_probe_files(tmp_path):
    result = run("iris", "--save", tmp_path / "m.npz", *QUICK)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


# ------------------------------------------------------ errors raised while training, Ctrl-C

def patched(target, body):
    """python -c source: replace fastnn's `target` (e.g. "Network.fit") by a function whose body
    is `body`, then run the command line."""
    cls, method = target.split(".")
    return (f"import sys\nimport fastnn.network as n\n"
            f"def patch(*args, **kwargs):\n    {body}\n"
            f"setattr(getattr(n, {cls!r}), {method!r}, patch)\n"
            f"from fastnn.__main__ import main\nsys.exit(main(sys.argv[1:]))\n")


@pytest.mark.parametrize("raised,message", [
    ("ValueError('y holds class labels, which must be in [0, 3)')",
     "error: y holds class labels, which must be in [0, 3)"),
    ("TypeError('X must hold real numbers, got dtype object')",
     "error: X must hold real numbers, got dtype object"),
    ("ValueError('first line\\nsecond line')", "error: first line second line"),
    ("ValueError()", "error: ValueError"),
])
def test_library_errors_while_training_are_one_line(raised, message):
    result = run("iris", *QUICK, code=patched("Network.fit", f"raise {raised}"))
    assert assert_error(result, before_training=False) == message
    assert result.stdout.startswith("fastnn ")  # training had started


def test_failed_save_after_training_is_one_line(tmp_path):
    path = tmp_path / "m.npz"
    result = run("iris", "--save", path, *QUICK,
                 code=patched("Network.save", "raise OSError(28, 'No space left on device')"))
    assert_error(result, f"error: cannot save the network to {path}: No space left on device",
                 before_training=False)


def test_a_real_bug_keeps_its_traceback():
    result = run("iris", *QUICK, code=patched("Network.fit", "raise RuntimeError('a bug')"))
    assert result.returncode == 1 and "Traceback" in result.stderr
    assert "RuntimeError: a bug" in result.stderr


def test_keyboard_interrupt_is_one_line_and_130():
    result = run("iris", *QUICK, code=patched("Network.fit", "raise KeyboardInterrupt"))
    assert_error(result, "error: interrupted", status=130, before_training=False)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_ctrl_c_while_training():
    process = subprocess.Popen(
        [sys.executable, "-m", "fastnn", "train", "digits", "--epochs", "100000", "--verbose", "0"],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("fastnn ")  # printed as training starts
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130 and err == "error: interrupted\n", (process.returncode, err)


# ------------------------------------------------------ found by attacking it

def test_a_csv_that_is_not_a_regular_file_is_refused_unread():
    assert_error(run("--csv", "/dev/zero", "--target", "y", *QUICK),
                 "cannot read /dev/zero: not a regular file")


def test_a_network_too_large_for_memory_is_one_line():
    assert_error(run("iris", "--hidden", "99999999999", *QUICK), "not enough memory",
                 before_training=False)


def test_a_save_name_too_long_is_refused_before_training(tmp_path):
    assert_error(run("iris", "--save", tmp_path / ("m" * 300), *QUICK), "File name too long")
