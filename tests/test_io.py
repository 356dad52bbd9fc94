"""Model files from anywhere: load refuses every tampered or odd file with ValueError, without
crashing or allocating more than the file's arrays; save never replaces a good file with one
load would refuse, and treats the file it replaces (mode, links, non-files) with care."""
import json
import os
import stat
import threading
import zipfile

import numpy as np
import pytest
from hypothesis import strategies as st
from isolated import run_isolated

import fastnn as fnn


def trained(optimizer="adam", dtype="float32"):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 4)), rng.integers(0, 3, 64)
    net = fnn.Network([fnn.Dense(4, 8), fnn.LeakyReLU(0.1), fnn.Dropout(0.2), fnn.Dense(8, 3)],
                      optimizer=optimizer, dtype=dtype, random_state=0)
    net.fit(X, y, epochs=2, batch_size=16, verbose=0)
    return net, X, y


def members(path):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(str(arrays.pop("metadata"))), arrays


def write(path, meta, arrays):
    np.savez(path, metadata=np.array(json.dumps(meta)), **arrays)
    return path


def test_a_saved_network_loads_whole(tmp_path):
    net, X, y = trained()
    net.save(tmp_path / "m.npz")
    loaded = fnn.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.optimizer.iterations == net.optimizer.iterations == 8
    for a, b in zip(loaded.optimizer.state, net.optimizer.state):
        for s, t in zip(a, b):
            np.testing.assert_array_equal(s, t)


@pytest.mark.parametrize("optimizer, counts", [
    ("adam", "zeros"), ("adam", "ones"), ("rmsprop", "zeros"), ("adagrad", "zeros"),
    (fnn.SGD(0.1, momentum=0.9), "zeros"), ("adamw", "ones")],
    ids=["adam", "adam_one", "rmsprop", "adagrad", "sgd", "adamw_one"])
def test_state_that_does_not_match_the_optimizer_is_refused(tmp_path, optimizer, counts):
    """The issue's crash: state_per_param set to zeros (or ones) and the opt_* arrays dropped
    made the next fit segfault. load must refuse; fit runs in a fresh interpreter in case."""
    net, X, y = trained(optimizer)
    net.save(tmp_path / "m.npz")
    meta, arrays = members(tmp_path / "m.npz")
    keep = 0 if counts == "zeros" else 1
    meta["optimizer"]["state_per_param"] = [keep] * len(meta["optimizer"]["state_per_param"])
    arrays = {k: v for k, v in arrays.items()
              if not k.startswith("opt_") or int(k.split("_")[2]) < keep}
    write(tmp_path / "bad.npz", meta, arrays)
    out = run_isolated(f"""
        import numpy as np, fastnn as fnn
        try:
            net = fnn.load({str(tmp_path / 'bad.npz')!r})
        except ValueError as error:
            print("refused:", error)
        else:
            rng = np.random.default_rng(0)
            net.fit(rng.standard_normal((64, 4)), rng.integers(0, 3, 64), epochs=2, verbose=0)
            print("loaded and trained")
    """)
    assert out.startswith("refused:") and "state_per_param" in out, out


ODD_FIELDS = [
    (("optimizer", "iterations"), float("inf")), (("optimizer", "iterations"), 1e30),
    (("optimizer", "iterations"), -5), (("optimizer", "iterations"), "7"),
    (("optimizer", "iterations"), True), (("version",), True), (("dtype",), None),
    (("dtype",), "int32"), (("layers",), []), (("layers",), {}), (("loss",), "mse"),
    (("layers", 0, "class"), "os.system"), (("layers", 0, "class"), "Layer"),
    (("layers", 0, "config", "n_in"), 4.0), (("layers", 0, "config", "n_in"), "4"),
    (("layers", 0, "config", "n_in"), 10**30), (("layers", 0, "config", "extra"), 1),
    (("layers", 0, "config", "init"), "os.system"), (("layers", 1, "config", "alpha"), -1),
    (("layers", 1, "config", "alpha"), [1]), (("layers", 2, "config", "rate"), 1.5),
    (("optimizer", "config", "lr"), -1), (("optimizer", "config", "beta1"), "0.9"),
    (("optimizer", "config", "unknown"), 0), (("optimizer", "state_per_param"), [True] * 4),
    (("optimizer", "class"), "Optimizer"), (("loss", "class"), "Loss"), (("format",), 1),
    (("loss", "config", "eps"), 0),
    (("training", "threads"), 0), (("training", "threads"), "2"), (("training", "threads"), True),
    (("training", "generator", "bit_generator"), "MT19937"),
    (("training", "generator", "state", "state"), -1),
    (("training", "generator", "state", "state"), 2**128),
    (("training", "generator", "state", "inc"), "1"),
    (("training", "generator", "has_uint32"), 2), (("training", "generator", "state"), [1, 2]),
    (("training", "streams"), []), (("training", "streams"), [[1]]),
    (("training", "streams"), [[-1, 0]]), (("training", "streams"), [[2**64, 0]]),
    (("training", "streams"), [[1.5, 0]]), (("training",), None), (("version",), 4),
    (("columns",), None), (("columns", "features"), "a"), (("columns", "target"), 3),
    (("training", "split_seed"), -1), (("training", "split_seed"), 2**31),
    (("training", "split_seed"), "7"),
]


@pytest.mark.parametrize("where, value", ODD_FIELDS, ids=[f"{'.'.join(map(str, w))}={v!r}"
                                                          for w, v in ODD_FIELDS])
def test_odd_metadata_is_refused_with_value_error(tmp_path, where, value):
    net, _, _ = trained()
    net.save(tmp_path / "m.npz")
    meta, arrays = members(tmp_path / "m.npz")
    node = meta
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    with pytest.raises(ValueError):
        fnn.load(write(tmp_path / "odd.npz", meta, arrays))


def test_odd_json_is_refused_with_value_error(tmp_path):
    net, _, _ = trained()
    net.save(tmp_path / "m.npz")
    _, arrays = members(tmp_path / "m.npz")
    for text in ['{"format": NaN}', "[" * 100000 + "]" * 100000, '{"a": 1e999}', "not json",
                 '"a string"', "1" * 5000]:
        np.savez(tmp_path / "j.npz", metadata=np.array(text), **arrays)
        with pytest.raises(ValueError):
            fnn.load(tmp_path / "j.npz")


@pytest.mark.parametrize("array", [np.array(["a", "b"]), np.zeros((4, 8), np.complex64),
                                   np.zeros((4, 8), [("a", "f4"), ("b", "f4")]),
                                   np.zeros((4, 8), np.float64), np.zeros((8, 4), np.float32),
                                   np.asfortranarray(np.zeros((4, 8), np.float32)),
                                   np.full((4, 8), np.nan, np.float32), np.zeros(32, np.float32),
                                   np.zeros((4, 8), ">f4")],
                         ids=["str", "complex", "structured", "float64", "transposed", "fortran",
                              "nan", "flat", "big_endian"])
def test_parameter_arrays_of_the_wrong_kind_are_refused(tmp_path, array):
    net, _, _ = trained()
    net.save(tmp_path / "m.npz")
    meta, arrays = members(tmp_path / "m.npz")
    arrays["param_0"] = array
    with pytest.raises(ValueError, match="param_0"):
        fnn.load(write(tmp_path / "bad.npz", meta, arrays))
    arrays = members(tmp_path / "m.npz")[1]
    arrays["opt_0_1"] = np.full((4, 8), np.inf, np.float32)
    with pytest.raises(ValueError, match="opt_0_1 holds NaN or infinity"):
        fnn.load(write(tmp_path / "bad.npz", meta, arrays))


@pytest.mark.measures_memory
def test_members_outside_the_format_are_refused_unread_with_flat_memory(tmp_path):
    """A small file with a huge deflated member (a zip bomb) is refused from the archive's
    directory: nothing is decompressed, and memory stays flat."""
    net, _, _ = trained()
    net.save(tmp_path / "m.npz")
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(tmp_path / "m.npz") as src, \
            zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info), zipfile.ZIP_STORED)
        with dst.open("junk.npy", "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(256):  # 256 MiB of zeros, about 256 KB deflated
                f.write(block)
    assert bomb.stat().st_size < 2 << 20
    out = run_isolated(f"""
        import resource, fastnn as fnn
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            fnn.load({str(bomb)!r})
        except ValueError as error:
            print("refused", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024,
                  error)
    """)
    assert out.startswith("refused") and "junk.npy" in out, out
    assert int(out.split()[1]) < 32, out  # MiB of peak memory the load added
    # The same member alone, compressed: refused as compressed before anything is read.
    meta, arrays = members(tmp_path / "m.npz")
    np.savez_compressed(tmp_path / "compressed.npz", metadata=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(ValueError, match="compressed"):
        fnn.load(tmp_path / "compressed.npz")


@pytest.mark.measures_memory
@pytest.mark.parametrize("size", [10000, 10**6])
def test_declared_shapes_are_compared_with_the_arrays_before_any_memory_is_allocated(
        tmp_path, size):
    """A 3.6 KB file declaring Dense(size, size) allocated (and initialized) it before comparing
    shapes; Dense(10**6, 10**6) raised MemoryError."""
    net = fnn.Network([fnn.Dense(2, 2)], random_state=0)
    net.save(tmp_path / "m.npz")
    meta, arrays = members(tmp_path / "m.npz")
    meta["layers"][0]["config"].update(n_in=size, n_out=size)
    write(tmp_path / "big.npz", meta, arrays)
    out = run_isolated(f"""
        import resource, fastnn as fnn
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            fnn.load({str(tmp_path / 'big.npz')!r})
        except ValueError as error:
            print("refused", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024,
                  error)
    """)
    assert out.startswith("refused") and "param_0" in out, out
    assert int(out.split()[1]) < 16, out


def test_an_archive_that_declares_more_bytes_than_it_holds_is_refused(tmp_path):
    net, _, _ = trained()
    net.save(tmp_path / "m.npz")
    data = (tmp_path / "m.npz").read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 30):
        (tmp_path / "cut.npz").write_bytes(data[:cut])
        with pytest.raises(ValueError):
            fnn.load(tmp_path / "cut.npz")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # inside an array: the member's CRC no longer matches
    (tmp_path / "flip.npz").write_bytes(bytes(flipped))
    with pytest.raises(ValueError):
        fnn.load(tmp_path / "flip.npz")


def test_load_refuses_what_is_not_a_regular_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ValueError, match="not a regular file"):
        fnn.load(tmp_path / "fifo")  # opened without blocking: no hang
    with pytest.raises(ValueError, match="not a regular file"):
        fnn.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        fnn.load(tmp_path / "missing.npz")


# ---------------------------------------------------------------- save


class MyReLU(fnn.ReLU):
    pass


class MyLoss(fnn.MSE):
    pass


class MyAdam(fnn.Adam):
    pass


@pytest.mark.parametrize("make", [
    lambda: fnn.Network([fnn.Dense(4, 8), MyReLU(), fnn.Dense(8, 3)]),
    lambda: fnn.Network([fnn.Dense(4, 3)], loss=MyLoss()),
    lambda: fnn.Network([fnn.Dense(4, 3)], optimizer=MyAdam()),
], ids=["layer", "loss", "optimizer"])
def test_save_refuses_what_load_could_not_rebuild_and_keeps_the_old_file(tmp_path, make):
    good, X, _ = trained()
    path = tmp_path / "m.npz"
    good.save(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="not one of fastnn's own classes"):
        make().save(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
    np.testing.assert_array_equal(fnn.load(path).predict(X), good.predict(X))


def test_save_refuses_non_finite_parameters(tmp_path):
    net, _, _ = trained()
    net.layers[0].W[0, 0] = np.nan
    with pytest.raises(ValueError, match="param_0 holds NaN"):
        net.save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_save_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    net, _, _ = trained()
    path = tmp_path / "m.npz"
    net.save(path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # a new file: the usual mode
    os.chmod(path, 0o640)
    net.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_save_writes_through_symlinks_and_refuses_other_files(tmp_path):
    net, X, _ = trained()
    real = tmp_path / "real.npz"
    net.save(real)
    link = tmp_path / "link.npz"
    link.symlink_to(real)
    net.layers[0].W += 1
    net.save(link)
    assert link.is_symlink()
    np.testing.assert_array_equal(fnn.load(real).layers[0].W, net.layers[0].W)
    with pytest.raises(ValueError, match="is a directory"):
        net.save(tmp_path)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ValueError, match="not a regular file"):
        net.save(tmp_path / "fifo")
    assert stat.S_ISFIFO(os.stat(tmp_path / "fifo").st_mode)
    os.link(real, tmp_path / "hard.npz")
    with pytest.raises(ValueError, match="2 hard links"):
        net.save(real)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        net.save(tmp_path / "missing" / "m.npz")


def test_a_killed_save_leaves_one_recognizable_partial_file_that_the_next_save_replaces(tmp_path):
    net, X, _ = trained()
    path = tmp_path / "m.npz"
    net.save(path)
    partial = tmp_path / ".m.npz.fastnn-partial"
    partial.write_bytes(b"half a model")  # what a save killed midway leaves
    net.save(path)
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
    np.testing.assert_array_equal(fnn.load(path).predict(X), net.predict(X))


def test_a_second_save_to_the_same_path_at_once_is_refused(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    net, _, _ = trained()
    path = tmp_path / "m.npz"
    partial = tmp_path / ".m.npz.fastnn-partial"
    with open(partial, "wb") as held:  # a save in progress holds its partial file locked
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(RuntimeError, match="another save to it is in progress"):
            net.save(path)
    assert not path.exists()


def test_saves_from_two_threads_leave_one_whole_file(tmp_path):
    net, X, _ = trained()
    path = tmp_path / "m.npz"
    errors = []

    def save():
        for _ in range(20):
            try:
                net.save(path)
            except RuntimeError as error:
                errors.append(error)

    threads = [threading.Thread(target=save) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
    np.testing.assert_array_equal(fnn.load(path).predict(X), net.predict(X))


# ---------------------------------------------------------------- fuzzing


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False,
                                                                      allow_infinity=False)
    | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


def paths(meta, prefix=()):
    """Every path of keys and indices into a JSON value."""
    yield prefix
    if isinstance(meta, dict):
        for k, v in meta.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(meta, list):
        for i, v in enumerate(meta):
            yield from paths(v, prefix + (i,))


def test_mutated_model_files_give_only_value_errors():
    """Hypothesis mutates the metadata (any field set to any JSON value, or removed) and the
    arrays (dropped, reshaped, recast, added) of saved models: load raises ValueError or gives a
    network that predicts and trains. In a fresh interpreter, so a crash fails the test."""
    out = run_isolated("""
        import json, os, tempfile, warnings
        import numpy as np
        from hypothesis import HealthCheck, given, settings, strategies as st
        import fastnn as fnn
        from test_io import json_values, paths

        folder = tempfile.mkdtemp()
        rng = np.random.default_rng(0)
        X, y = rng.standard_normal((32, 4)), rng.integers(0, 3, 32)
        bases = []
        for opt in ("adam", "sgd", "rmsprop", "adagrad"):
            net = fnn.Network([fnn.Dense(4, 5), fnn.ReLU(), fnn.Dropout(0.1), fnn.Dense(5, 3)],
                              optimizer=opt, random_state=0)
            net.fit(X, y, epochs=1, verbose=0)
            meta, arrays = fnn.io.describe(net)
            bases.append((json.loads(json.dumps(meta)), {k: v.copy() for k, v in arrays.items()}))
        outcomes = {"refused": 0, "loaded": 0}

        @settings(max_examples=300, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(base=st.sampled_from(range(4)), data=st.data())
        def mutate(base, data):
            meta, arrays = json.loads(json.dumps(bases[base][0])), dict(bases[base][1])
            for _ in range(data.draw(st.integers(1, 3))):
                where = data.draw(st.sampled_from(list(paths(meta))[1:]))
                node = meta
                for key in where[:-1]:
                    node = node[key]
                if data.draw(st.booleans()):
                    node[where[-1]] = data.draw(json_values)
                elif isinstance(node, dict):
                    del node[where[-1]]
            name = data.draw(st.sampled_from(sorted(arrays)))
            change = data.draw(st.sampled_from(["keep", "drop", "reshape", "float64", "int",
                                                "nan", "extra", "scalar"]))
            if change == "drop":
                del arrays[name]
            elif change == "reshape":
                arrays[name] = arrays[name].reshape(-1)
            elif change == "float64":
                arrays[name] = arrays[name].astype(np.float64)
            elif change == "int":
                arrays[name] = arrays[name].astype(np.int32)
            elif change == "nan":
                arrays[name] = np.full_like(arrays[name], np.nan)
            elif change == "extra":
                arrays["opt_9_9"] = np.zeros(3, np.float32)
            elif change == "scalar":
                arrays[name] = np.float32(1.0)
            path = os.path.join(folder, "m.npz")
            np.savez(path, metadata=np.array(json.dumps(meta)), **arrays)
            try:
                net = fnn.load(path)
            except ValueError:
                outcomes["refused"] += 1
                return
            outcomes["loaded"] += 1
            assert np.all(np.isfinite(net.predict(X)))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    net.fit(X, y, epochs=1, verbose=0)
                except (TypeError, ValueError):
                    pass

        mutate()
        print(outcomes["refused"], outcomes["loaded"])
    """, timeout=600)
    refused, loaded = map(int, out.split())
    assert refused > 100 and loaded > 0, out  # both outcomes were exercised


# ---------------------------------------------------------------- found by attacking it


def test_a_metadata_header_that_declares_a_huge_string_is_refused_unread(tmp_path):
    net, _, _ = trained()
    net.save(tmp_path / "m.npz")
    meta, arrays = members(tmp_path / "m.npz")
    text = json.dumps(meta)
    for descr, shape in (("<U100000000", "()"), ("<U1", "(1000000000000,)")):
        header = ("{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape))
        header += " " * (63 - len(header) % 64) + "\n"
        blob = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
        blob += text.encode("utf-32-le")
        with zipfile.ZipFile(tmp_path / "huge.npz", "w") as z:
            z.writestr("metadata.npy", blob)
            for name, array in arrays.items():
                with z.open(name + ".npy", "w") as f:
                    np.lib.format.write_array(f, array)
        with pytest.raises(ValueError, match="the metadata must be one string"):
            fnn.load(tmp_path / "huge.npz")


def test_unsupported_zip_features_are_value_errors(tmp_path):
    net, _, _ = trained()
    net.save(tmp_path / "m.npz")
    data = bytearray((tmp_path / "m.npz").read_bytes())
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"PK\x05\x06"))
    data[central + 8] |= 0x40  # flag bit 6, strong encryption: zipfile raises NotImplementedError
    (tmp_path / "flag.npz").write_bytes(bytes(data))
    with pytest.raises(ValueError):
        fnn.load(tmp_path / "flag.npz")


def test_save_writes_what_load_reads_whatever_the_arrays_memory_order(tmp_path):
    net, X, y = trained()
    net.optimizer.state[0][0] = np.asfortranarray(net.optimizer.state[0][0].reshape(4, 8))
    net.save(tmp_path / "m.npz")
    loaded = fnn.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.optimizer.state[0][0], net.optimizer.state[0][0])
    with pytest.raises(ValueError, match=r"optimizer.state\[0\] does not match.*C-contiguous"):
        net.fit(X, y, verbose=0)  # the kernels need C order: refused by name


def test_save_keeps_setuid_and_setgid_bits(tmp_path):
    net, _, _ = trained()
    path = tmp_path / "m.npz"
    net.save(path)
    os.chmod(path, 0o6750)
    net.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o6750


def test_save_refuses_paths_that_name_no_file_and_shortens_long_partial_names(tmp_path):
    net, X, _ = trained()
    for bad in ("", str(tmp_path) + "/", str(tmp_path / "x.npz") + "/", str(tmp_path / "..")):
        with pytest.raises(ValueError, match="names no file|is a directory"):
            net.save(bad)
    long = tmp_path / ("m" * 240 + ".npz")
    net.save(long)
    np.testing.assert_array_equal(fnn.load(long).predict(X), net.predict(X))
    assert sorted(os.listdir(tmp_path)) == [long.name]
    with pytest.raises(ValueError, match="File name too long"):
        net.save(tmp_path / ("m" * 300))
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(ValueError, match="cannot save to"):
        net.save(loop)


def test_numpy_numbers_set_on_layers_and_optimizers_save_as_numbers(tmp_path):
    net, X, y = trained()
    net.layers[1].alpha = np.float32(0.2)
    net.optimizer.lr = np.float32(0.01)
    net.dtype = "float32"
    net.fit(X, y, epochs=1, verbose=0)
    net.save(tmp_path / "m.npz")
    loaded = fnn.load(tmp_path / "m.npz")
    assert loaded.layers[1].alpha == pytest.approx(0.2) and loaded.dtype == np.float32


def test_save_waits_for_a_fit_running_in_another_thread(tmp_path):
    """A save while another thread fits used to write weights of neither epoch (torn)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4000, 4)), rng.integers(0, 3, 4000)
    net = fnn.Network([fnn.Dense(4, 64), fnn.ReLU(), fnn.Dense(64, 3)], random_state=0)
    started = threading.Event()

    class Signal(fnn.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            started.set()

    fit = threading.Thread(target=lambda: net.fit(X, y, epochs=20, batch_size=32, verbose=0,
                                                  callbacks=[Signal()]))
    fit.start()
    started.wait()
    net.save(tmp_path / "m.npz")  # waits for the fit
    fit.join()
    loaded = fnn.load(tmp_path / "m.npz")
    assert loaded.optimizer.iterations == net.optimizer.iterations == 20 * 125
    for p, q in zip(loaded.parameters(), net.parameters()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_save_names_a_setting_a_model_file_cannot_hold(tmp_path, value):
    """A NaN or infinite optimizer setting was refused as "Out of range float values are not
    JSON compliant", naming nothing; the file is not written either way."""
    net = fnn.Network([fnn.Dense(4, 8), fnn.GELU(), fnn.Dense(8, 2)], loss="huber",
                      optimizer=fnn.AdamW(), random_state=0)
    net.optimizer.weight_decay = value
    with pytest.raises(ValueError, match=r"optimizer\.config\.weight_decay is (nan|inf)"):
        net.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("old, new", [(b"(4, 3)", b"(4,(3 "), (b"False", b"Fals(")])
def test_a_malformed_npy_header_is_a_value_error(tmp_path, old, new):
    """NumPy's fallback parser of a header it cannot read raises tokenize.TokenError."""
    net = fnn.Network([fnn.Dense(4, 3), fnn.GELU(), fnn.Dense(3, 2)], optimizer=fnn.Adamax(),
                      random_state=0)
    net.save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as src, \
            zipfile.ZipFile(tmp_path / "bad.npz", "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "param_0.npy":
                assert old in data
                data = data.replace(old, new, 1)
            dst.writestr(name, data)
    with pytest.raises(ValueError, match="param_0.*malformed .npy header|not a valid fastnn"):
        fnn.load(tmp_path / "bad.npz")


# ---------------------------------------------------------------- resuming from a file


def test_two_loads_continue_training_as_the_saved_network_would(tmp_path):
    """The generator (shuffling), the dropout streams and threads are in the file: the saved
    network and two loads of it train on bit for bit alike, on the engine and the layer path."""
    for engine in (True, False):
        net, X, y = trained()
        net.threads, net.engine = 2, engine
        net.save(tmp_path / "m.npz")
        loads = [fnn.load(tmp_path / "m.npz") for _ in range(2)]
        for model in [net, *loads]:
            model.engine = engine
            model.fit(X, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
        assert [m.threads for m in loads] == [2, 2]
        for model in loads:
            for a, b in zip(model.parameters(), net.parameters()):
                np.testing.assert_array_equal(a, b)
            assert model.rng.bit_generator.state == net.rng.bit_generator.state


def test_files_of_version_1_still_load(tmp_path):
    net, X, _ = trained()
    net.save(tmp_path / "m.npz")
    meta, arrays = members(tmp_path / "m.npz")
    meta["version"] = 1
    del meta["training"], meta["columns"]
    loaded = fnn.load(write(tmp_path / "v1.npz", meta, arrays))
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.threads == 1
    del meta["optimizer"]
    with pytest.raises(ValueError, match="missing"):
        fnn.load(write(tmp_path / "v1.npz", meta, arrays))


def test_a_generator_a_file_cannot_hold_is_saved_without_it_with_a_warning(tmp_path):
    net, X, y = trained()
    net.rng = np.random.Generator(np.random.MT19937(0))
    with pytest.warns(UserWarning, match="no generator state"):
        net.save(tmp_path / "m.npz")
    assert members(tmp_path / "m.npz")[0]["training"]["generator"] is None
    loaded = fnn.load(tmp_path / "m.npz")
    loaded.fit(X, y, epochs=1, verbose=0)  # a fresh PCG64
