"""Model files: save(network, path) and load(path). No pickle: loading never runs code.

A model file is a .npz archive (a zip of .npy members, stored uncompressed, as NumPy's savez
writes them): `metadata.npy` holds a JSON description (format, version, dtype, layers, loss,
optimizer), `param_<i>.npy` the parameters in the order of Network.parameters(),
`opt_<i>_<j>.npy` the optimizer's state arrays of parameter i and `buffer_<i>.npy` the layers'
buffers (BatchNorm's running statistics, Normalization's mean and variance), in the order of
the layers' buffers() (a file of a network without them has none, as files written before
they existed). Since version 2 the
description also holds what training draws from and runs on (the network's random generator,
each Dropout's stream, the seed of validation_split, threads), so a loaded network continues
training as the saved one would, bit for bit. Version 3 adds "columns": the network's
feature_names, class_names and target_name (null when not set).

load checks every field of the description, then compares the shapes it declares with the
arrays' .npy headers and the sizes the archive records, before it allocates anything; it reads
only the members the format has, and refuses non-finite values. Whatever is wrong with a file,
the error is a ValueError that says what (a missing file stays FileNotFoundError). save runs the
same checks before it writes, so it never writes a file that load would refuse, and it replaces
a file only once the new one is complete.
"""
from __future__ import annotations

import json
import math
import os
import stat
import tokenize
import warnings
import zipfile
import zlib
from typing import TYPE_CHECKING

import numpy as np

from fastnn import initializers, kernels, losses, optimizers, schedules
from fastnn import layers as L

if TYPE_CHECKING:
    from fastnn.network import Network

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, concurrent saves to one path are not detected
    fcntl = None

FORMAT = "fastnn-network"
VERSION = 3  # 2 adds "training": the generator, the dropout streams and threads; 3 "columns"
READS = (1, 2, 3)
MAX_NAME_CHARS = 1000
GENERATORS = ("PCG64", "PCG64DXSM")  # bit generators whose state a file holds (NumPy's default)
MAX_METADATA_BYTES = 1 << 24  # a description of 10^5 layers is about 6 MB
MAX_LAYERS = 100_000
MAX_ITERATIONS = 2**62
CHUNK_BYTES = 1 << 20  # read arrays in pieces, so reading costs no second copy
PARTIAL = ".fastnn-partial"  # a save in progress (or killed) writes to .<name>.fastnn-partial


# ---------------------------------------------------------------- the description


def describe(net):
    """(metadata, {member name: array}) of a network, as save writes them."""
    meta = {
        "format": FORMAT, "version": VERSION, "dtype": net.dtype.name,
        "layers": [{"class": type(layer).__name__, "config": layer.config()}
                   for layer in net.layers],
        "loss": {"class": type(net.loss).__name__, "config": net.loss.config()},
        "optimizer": {"class": type(net.optimizer).__name__,
                      "config": _optimizer_config(net.optimizer),
                      "iterations": net.optimizer.iterations,
                      "state_per_param": [len(s) for s in net.optimizer.state]},
        "training": {"threads": net.threads, "generator": _generator_state(net.rng),
                     "streams": [[int(v) for v in layer.state] for layer in net.layers
                                 if isinstance(layer, L.Dropout)],
                     "split_seed": net.split_seed},
        "columns": {"features": net.feature_names, "classes": net.class_names,
                    "target": net.target_name},
    }
    arrays = {f"param_{i}": p for i, p in enumerate(net.parameters())}
    arrays.update({f"buffer_{i}": b for i, b in
                   enumerate(b for layer in net.layers for b in layer.buffers())})
    for i, state in enumerate(net.optimizer.state):
        arrays.update({f"opt_{i}_{j}": s for j, s in enumerate(state)})
    return meta, arrays


def _generator_state(rng):
    """The state of the network's generator as JSON holds it, or None (with a warning) for a
    bit generator other than GENERATORS: the loaded network then draws from a fresh one."""
    if isinstance(rng, np.random.Generator):
        state = rng.bit_generator.state
        if state.get("bit_generator") in GENERATORS:
            return state
    warnings.warn(f"network.rng is not a numpy Generator on one of {GENERATORS}; the file keeps "
                  f"no generator state, so the loaded network shuffles and drops out anew",
                  UserWarning, stacklevel=4)
    return None


def _generator(spec):
    """A Generator in the state `spec` describes (None: a fresh one); ValueError unless it is
    one of GENERATORS' states, field by field."""
    if spec is None:
        return np.random.default_rng()
    _fields(spec, "training.generator", ("bit_generator", "state", "has_uint32", "uinteger"))
    if spec["bit_generator"] not in GENERATORS:
        raise ValueError(f"training.generator.bit_generator must be one of {GENERATORS}, got "
                         f"{spec['bit_generator']!r}")
    _fields(spec["state"], "training.generator.state", ("state", "inc"))
    for where, value, bits in (("state.state", spec["state"]["state"], 128),
                               ("state.inc", spec["state"]["inc"], 128),
                               ("has_uint32", spec["has_uint32"], 1),
                               ("uinteger", spec["uinteger"], 32)):
        if type(value) is not int or not 0 <= value < 2**bits:
            raise ValueError(f"training.generator.{where} must be an integer in [0, 2^{bits}), "
                             f"got {value!r}")
    bit_generator = getattr(np.random, spec["bit_generator"])()
    bit_generator.state = spec
    return np.random.Generator(bit_generator)


def _training(spec, n_dropout):
    """(threads, generator, streams, split seed) of a description's "training" field."""
    _fields(spec, "training", ("threads", "generator", "streams", "split_seed"))
    split_seed = spec["split_seed"]
    if split_seed is not None and (type(split_seed) is not int or not 0 <= split_seed < 2**31):
        raise ValueError(f"training.split_seed must be null or an integer in [0, 2^31), got "
                         f"{split_seed!r}")
    threads = spec["threads"]
    if type(threads) is not int or not 1 <= threads <= 2**31 - 1:
        raise ValueError(f"training.threads must be an integer >= 1, got {threads!r}")
    streams = spec["streams"]
    if not isinstance(streams, list) or len(streams) != n_dropout or not all(
            isinstance(st, list) and len(st) == 2 and
            all(type(v) is int and 0 <= v < 2**64 for v in st) for st in streams):
        raise ValueError(f"training.streams must hold [key, counter] (integers in [0, 2^64)) for "
                         f"each of the {n_dropout} Dropout layers")
    return threads, _generator(spec["generator"]), streams, split_seed
def _optimizer_config(optimizer):
    """The optimizer's config, a learning-rate schedule in it as {"schedule": class name,
    "config": its arguments}; ValueError for a schedule that is not one of fastnn's classes."""
    config = optimizer.config()
    schedule = optimizer.schedule
    if schedule is not None:
        if schedules.CLASSES.get(type(schedule).__name__) is not type(schedule):
            raise ValueError(f"cannot save the optimizer: its learning rate is the custom "
                             f"schedule {schedule!r}, which a model file cannot hold (only "
                             f"fastnn.schedules' classes: {sorted(schedules.CLASSES)}); set "
                             f"optimizer.lr to a number or such a schedule before saving")
        config["lr"] = {"schedule": type(schedule).__name__, "config": schedule.config()}
    return config


def _schedule(spec, where):
    """The schedule of a model file's {"schedule": class name, "config": arguments}."""
    _fields(spec, where, ("schedule", "config"))
    cls = schedules.CLASSES.get(spec["schedule"]) if isinstance(spec["schedule"], str) else None
    if cls is None:
        raise ValueError(f"{where}.schedule is {spec['schedule']!r}, not one of fastnn's "
                         f"schedules: {sorted(schedules.CLASSES)}")
    config = spec["config"]
    if not isinstance(config, dict):
        raise ValueError(f"{where}.config must be an object, got {type(config).__name__}")
    for key, value in config.items():
        values = value if isinstance(value, list) else [value]
        if not all(v is None or isinstance(v, (bool, int, float)) for v in values):
            raise ValueError(f"{where}.config.{key} must be a number, true/false, null or a "
                             f"list of numbers")
    return _construct(cls, config, where)


def _fields(obj, where, names):
    """obj, which must be a JSON object with exactly these keys."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where} must be an object, got {type(obj).__name__}")
    if set(obj) != set(names):
        missing, unknown = sorted(set(names) - set(obj)), sorted(set(obj) - set(names))
        raise ValueError(f"{where} has fields {sorted(obj)}: "
                         + "; ".join(([f"missing {missing}"] if missing else [])
                                     + ([f"unknown {unknown}"] if unknown else [])))
    return obj


def _config(obj, where):
    """A layer's, loss's or optimizer's constructor arguments: an object of plain values."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where} must be an object, got {type(obj).__name__}")
    for key, value in obj.items():
        if not (value is None or isinstance(value, (bool, int, float, str))):
            raise ValueError(f"{where}.{key} must be a number, a string, true/false or null, "
                             f"got {type(value).__name__}")
    return dict(obj)


def _build(table, spec, where, family):
    _fields(spec, where, ("class", "config"))
    cls = table.get(spec["class"]) if isinstance(spec["class"], str) else None
    if cls is None:
        raise ValueError(f"{where}.class is {spec['class']!r}, not one of fastnn's {family}: "
                         f"{sorted(table)}")
    return cls, _config(spec["config"], where + ".config")


class Description:
    """A checked description: what to build, and the members and array shapes it needs."""

    def __init__(self, meta):
        if not isinstance(meta, dict):
            raise ValueError(f"the metadata must be an object, got {type(meta).__name__}")
        version = meta.get("version")
        if type(version) is not int or version not in READS:
            raise ValueError(f"format version {version!r}: this fastnn reads versions {READS}")
        _fields(meta, "the metadata", ("format", "version", "dtype", "layers", "loss", "optimizer")
                + (("training",) if version >= 2 else ()) + (("columns",) if version >= 3 else ()))
        if meta["format"] != FORMAT:
            raise ValueError(f"format is {meta['format']!r}, not {FORMAT!r}")
        if meta["dtype"] not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {meta['dtype']!r}")
        self.dtype = np.dtype(meta["dtype"])
        layers = meta["layers"]
        if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
            raise ValueError(f"layers must be a list of 1 to {MAX_LAYERS} layers")
        self.layers, self.shapes, self.buffer_shapes = [], [], []
        for i, spec in enumerate(layers):
            cls, config = _build(L.LAYERS, spec, f"layers[{i}]", "layers")
            if cls is L.Dense:
                if config.get("init") == "custom":  # a function: not saved, not needed to load
                    config["init"] = None
                if config.get("init") not in (None, *initializers.INITIALIZERS):
                    raise ValueError(f"layers[{i}].config.init must be one of "
                                     f"{sorted(initializers.INITIALIZERS)}, 'custom' or null")
            try:
                shapes = cls.parameter_shapes(config)
                buffers = cls.buffer_shapes(config)
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"layers[{i}].config: {error}") from None
            self.layers.append((cls, config, len(self.shapes), len(shapes),
                                len(self.buffer_shapes), len(buffers)))
            self.shapes += shapes
            self.buffer_shapes += buffers
        self.loss = _construct(*_build(losses.CLASSES, meta["loss"], "loss", "losses"), "loss")
        spec = _fields(meta["optimizer"], "optimizer",
                       ("class", "config", "iterations", "state_per_param"))
        config = spec["config"]
        lr = config.get("lr") if isinstance(config, dict) else None
        if isinstance(lr, dict):  # a learning-rate schedule
            config = {**config, "lr": None}
        cls, config = _build(optimizers.CLASSES, {"class": spec["class"], "config": config},
                             "optimizer", "optimizers")
        if isinstance(lr, dict):
            config["lr"] = _schedule(lr, "optimizer.config.lr")
        self.optimizer = _construct(cls, config, "optimizer")
        self.iterations = spec["iterations"]
        if type(self.iterations) is not int or not 0 <= self.iterations < MAX_ITERATIONS:
            raise ValueError(f"optimizer.iterations must be an integer in [0, 2^62), got "
                             f"{self.iterations!r}")
        counts = spec["state_per_param"]
        n_state = self.optimizer.n_state
        if not (isinstance(counts, list) and all(type(c) is int for c in counts)) or (
                counts != [] and counts != [n_state] * len(self.shapes)):
            raise ValueError(f"optimizer.state_per_param must be [] (no state yet) or "
                             f"{n_state} for each of the {len(self.shapes)} parameters "
                             f"({cls.__name__} with this config), got {counts!r}")
        self.state_counts = counts
        n_dropout = sum(spec[0] is L.Dropout for spec in self.layers)
        # files of version 1 hold no generator: a fresh one, one thread
        self.threads, self.generator, self.streams, self.split_seed = (
            _training(meta["training"], n_dropout) if version >= 2
            else (1, np.random.default_rng(), None, None))
        dense = [config for cls, config, *_ in self.layers if cls is L.Dense]
        n_features, n_outputs = (dense[0]["n_in"], dense[-1]["n_out"]) if dense else (0, 0)
        self.columns = (_columns(meta["columns"], n_features, n_outputs) if version >= 3
                        else (None, None, None))

    def members(self):
        """{member name: shape} of every array the file must hold, and no other."""
        shapes = {f"param_{i}": shape for i, shape in enumerate(self.shapes)}
        shapes.update({f"buffer_{i}": shape for i, shape in enumerate(self.buffer_shapes)})
        for i, count in enumerate(self.state_counts):
            shapes.update({f"opt_{i}_{j}": self.shapes[i] for j in range(count)})
        return shapes


def _names(value, where, count=None):
    """A list of strings (count of them, if given), or None."""
    if value is None:
        return None
    if not (isinstance(value, list) and all(isinstance(v, str) and len(v) <= MAX_NAME_CHARS
                                            for v in value)):
        raise ValueError(f"{where} must be null or a list of strings of at most "
                         f"{MAX_NAME_CHARS} characters")
    if len(set(value)) != len(value):
        twice = next(v for v in value if value.count(v) > 1)
        raise ValueError(f"{where} names {twice!r} twice")
    if count is not None and len(value) not in count:
        raise ValueError(f"{where} must hold {' or '.join(map(str, count))} names, got "
                         f"{len(value)}")
    return list(value)


def _columns(spec, n_features, n_outputs):
    """(feature names, class names, target name) of a description's "columns" field."""
    _fields(spec, "columns", ("features", "classes", "target"))
    target = spec["target"]
    if target is not None and not (isinstance(target, str) and len(target) <= MAX_NAME_CHARS):
        raise ValueError(f"columns.target must be null or a string of at most {MAX_NAME_CHARS} "
                         f"characters")
    return (_names(spec["features"], "columns.features", (n_features,)),
            _names(spec["classes"], "columns.classes", (n_outputs, 2) if n_outputs == 1
                   else (n_outputs,)), target)


def _construct(cls, config, where):
    try:
        return cls(**config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}.config: {error}") from None


# ---------------------------------------------------------------- save


def _non_finite(value, where=""):
    """(path, value) of the first NaN or infinite float in nested dicts and lists, or None."""
    if isinstance(value, dict):
        items = ((f"{where}.{key}" if where else str(key), v) for key, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(value))
    else:
        return (where, value) if isinstance(value, float) and not math.isfinite(value) else None
    for path, item in items:
        found = _non_finite(item, path)
        if found is not None:
            return found
    return None


def save(net, path):
    """Write `net` to `path` (see the module's docstring for the format).

    Refused before anything is written (ValueError): a layer, loss or optimizer that is not one
    of fastnn's own classes (load could not rebuild it), non-finite parameters or state, a path
    that is a directory or another non-regular file, or a file with other hard links (replacing
    it would cut them). A symbolic link is written through: the file it points to is replaced.
    The new file keeps the permissions (and, where allowed, the owner) of the file it replaces;
    a new file gets the usual 0666 less the umask. The data go to `.<name>.fastnn-partial` in
    the same folder first, which is renamed over the target once complete: a save killed
    midway leaves the old file intact and that one partial file, which the next save replaces.
    Two saves to one path at once: the second raises RuntimeError.
    """
    text, arrays = checked(net)
    target, existing = _target(path)
    _write(target, existing, lambda f: np.savez(f, metadata=np.array(text), **arrays))


def checked(net):
    """(metadata text, {member name: array}) that save writes for `net`, after every check of
    save's but the path's (ValueError): ModelCheckpoint asks before training."""
    net._refresh()
    for where, obj, table in ([(f"layers[{i}]", layer, L.LAYERS) for i, layer in
                               enumerate(net.layers)]
                              + [("the loss", net.loss, losses.CLASSES),
                                 ("the optimizer", net.optimizer, optimizers.CLASSES)]):
        if table.get(type(obj).__name__) is not type(obj):
            raise ValueError(f"cannot save {where}: {type(obj).__name__} is not one of fastnn's "
                             f"own classes, so load could not rebuild it")
    for i, layer in enumerate(net.layers):  # what load refuses
        if isinstance(layer, L.Normalization):  # its arrays may have changed in place
            try:
                layer.check(f"layers[{i}]")
            except (TypeError, ValueError) as error:
                raise ValueError(f"cannot save: {error}") from None
        if isinstance(layer, L.BatchNorm):
            try:
                layer.check_statistics(f"layers[{i}]'s")
            except ValueError as error:
                raise ValueError(f"cannot save: {error}") from None
    meta, arrays = describe(net)
    arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}  # as load reads them
    bad = _non_finite(meta)
    if bad is not None:
        raise ValueError(f"cannot save this network: {bad[0]} is {bad[1]}, which a model file "
                         f"cannot hold (a finite number)")
    try:
        text = json.dumps(meta, allow_nan=False, default=_plain)
        description = Description(_parse_json(text))
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot save this network: {error}") from None
    for name, shape in description.members().items():
        array = arrays[name]
        if array.shape != shape or array.dtype != description.dtype:
            raise ValueError(f"cannot save: {name} is a {array.dtype} array of shape "
                             f"{array.shape}, the network needs {description.dtype} {shape}")
        if not kernels.all_finite(np.ascontiguousarray(array)):
            raise ValueError(f"cannot save: {name} holds NaN or infinity")
    return text, arrays


def _plain(value):
    """A NumPy number in a config, as the Python number JSON writes."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"a config holds {type(value).__name__}, which a model file cannot")


def check_path(path):
    """Raise ValueError, FileNotFoundError or PermissionError if save could not write `path`:
    the command line checks this before training, so a model is never lost to a bad path."""
    target, _ = _target(path)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot save to {path}: the folder {folder} is not writable")


def write_file(path, write):
    """Write the file `path` as save does (through write(f) into a partial file beside it, then
    replacing the old one at once), refusing what save refuses."""
    target, existing = _target(path)
    _write(target, existing, write)


def _partial_name(target):
    """.<name>.fastnn-partial beside the target; a long name is shortened, keeping it unique."""
    folder, name = os.path.split(os.path.abspath(target))
    if len(os.fsencode(name)) > 200:
        name = name[:150] + "~%08x" % zlib.crc32(os.fsencode(name))
    return os.path.join(folder, f".{name}{PARTIAL}")


def _target(path):
    """(the file to replace, its os.stat or None), after refusing what save cannot replace."""
    path = os.fsdecode(os.fspath(path))
    if not path or path.endswith(("/", os.sep)) or os.path.basename(path) in (".", ".."):
        raise ValueError(f"cannot save to {path!r}: it names no file")
    try:
        target = os.path.realpath(path) if os.path.islink(path) else path
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as error:  # a loop of symbolic links, a name too long
        raise ValueError(f"cannot save to {path}: {error.strerror}") from None
    if existing is not None:
        if stat.S_ISDIR(existing.st_mode):
            raise ValueError(f"cannot save to {path}: it is a directory")
        if not stat.S_ISREG(existing.st_mode):
            raise ValueError(f"cannot save to {path}: it is not a regular file")
        if existing.st_nlink > 1:
            raise ValueError(f"cannot save to {path}: the file has {existing.st_nlink} hard links, "
                             f"and replacing it would cut them; remove it or save elsewhere")
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save to {path}: the folder {folder} does not exist")
    return target, existing


def _write(target, existing, write):
    folder = os.path.dirname(os.path.abspath(target))
    partial = _partial_name(target)
    fd = _open_partial(partial, target)
    try:
        with os.fdopen(os.dup(fd), "wb") as f:
            write(f)
            f.flush()
        if existing is not None:
            try:  # first: a change of owner clears the setuid and setgid bits
                os.fchown(fd, existing.st_uid, existing.st_gid)
            except OSError:
                pass  # only the owner or root may give a file away: it stays ours
            os.fchmod(fd, stat.S_IMODE(existing.st_mode))
        os.fsync(fd)
        os.replace(partial, target)
    except BaseException:
        _remove(partial)
        raise
    finally:
        os.close(fd)
    _sync_folder(folder)


_FLAGS = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _open_partial(partial, target):
    """A new, locked partial file; one left by a killed save is removed first."""
    for _ in range(2):
        try:
            fd = os.open(partial, _FLAGS | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            _remove_stale(partial, target)
            continue
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException:
            os.close(fd)
            _remove(partial)
            raise
        return fd
    raise RuntimeError(f"cannot save to {target}: another save to it is in progress")


def _remove_stale(partial, target):
    try:
        fd = os.open(partial, _FLAGS | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return
    except OSError as error:  # a symbolic link or a FIFO in its place
        raise ValueError(f"cannot save to {target}: {partial} is in the way ({error})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"cannot save to {target}: {partial} is in the way (not a file)")
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError(f"cannot save to {target}: another save to it is in "
                                   f"progress") from None
        os.unlink(partial)
    finally:
        os.close(fd)


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _sync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename has happened all the same
    finally:
        os.close(fd)


# ---------------------------------------------------------------- load


def load(path: str | os.PathLike[str]) -> Network:
    """Load a Network written by Network.save.

    Never unpickles: loading runs no code. Every field of the file's description is checked,
    and the shapes it declares are compared with the arrays' headers and the sizes the
    archive records, before more is allocated than the arrays it declares and holds. The
    network comes back with its layers, arrays, loss, optimizer and optimizer state, and
    the state of its random generators, so training continues as the saved network's would,
    bit for bit. Files of every earlier format version load.

    Parameters
    ----------
    path : str or os.PathLike
        The model file (a .npz archive that Network.save wrote).

    Returns
    -------
    Network
        The network as it was saved.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    PermissionError
        If the file may not be read.
    ValueError
        If the file is not a valid fastnn model file (saying what is wrong): not a regular
        file, not a zip archive, a description that does not parse or hold together, arrays
        of other shapes than declared, non-finite values.

    See Also
    --------
    Network.save : Write a network to a model file.

    Examples
    --------
    >>> import os, tempfile
    >>> net = fnn.Network([fnn.Dense(4, 8), fnn.ReLU(), fnn.Dense(8, 3)], random_state=0)
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = os.path.join(tmp.name, "model.npz")
    >>> net.save(path)
    >>> loaded = fnn.load(path)
    >>> loaded.count_params(), loaded.n_features, loaded.n_outputs
    (67, 4, 3)
    >>> X = np.ones((2, 4), np.float32)
    >>> bool(np.array_equal(loaded.predict(X), net.predict(X)))
    True
    >>> tmp.cleanup()
    """
    name = os.fsdecode(os.fspath(path))
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, PermissionError):
        raise
    except OSError as error:
        raise ValueError(f"{name} cannot be read as a model file: {error}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ValueError(f"{name} is not a model file: not a regular file")
    with os.fdopen(fd, "rb") as f:
        try:
            return _read(f, info.st_size)
        except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error,
                ValueError, TypeError, KeyError, RecursionError, OverflowError,
                NotImplementedError, MemoryError) as error:
            raise ValueError(f"{name} is not a valid fastnn model file: {error}") from None


def _read(f, file_size):
    from fastnn.network import Network
    archive = zipfile.ZipFile(f)
    infos = archive.infolist()
    members = {info.filename: info for info in infos}
    if len(members) != len(infos):
        raise ValueError("the archive names a member twice")
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ValueError(f"member {info.filename} is compressed or encrypted; model files "
                             f"store their arrays as they are")
        if info.file_size != info.compress_size or info.header_offset + info.file_size > file_size:
            raise ValueError(f"member {info.filename} declares more bytes than the file holds")
    if "metadata.npy" not in members:
        raise ValueError("no metadata member")
    meta_info = members["metadata.npy"]
    if meta_info.file_size > MAX_METADATA_BYTES:
        raise ValueError(f"the metadata is {meta_info.file_size} bytes, more than the "
                         f"{MAX_METADATA_BYTES} a description may take")
    with archive.open(meta_info) as member:
        header = _read_header(member, "metadata")
        if header[2].kind != "U" or header[0] != () or header[1] or \
                member.tell() + header[2].itemsize != meta_info.file_size:
            raise ValueError("the metadata must be one string, as long as its member")
        metadata = _read_data(member, (), header[2], "metadata")
    description = Description(_parse_json(str(metadata[()])))
    shapes = description.members()
    wanted = {name + ".npy" for name in shapes} | {"metadata.npy"}
    if set(members) != wanted:
        missing, extra = sorted(wanted - set(members)), sorted(set(members) - wanted)
        raise ValueError("the archive's members do not match its description: "
                         + "; ".join(([f"missing {missing}"] if missing else [])
                                     + ([f"not part of the format {extra[:5]}"] if extra else [])))
    opened = {}
    for name, shape in shapes.items():  # every header first: nothing allocated yet
        member = archive.open(members[name + ".npy"])
        opened[name] = member
        _check_header(member, members[name + ".npy"], name, shape, description.dtype)
    arrays = {name: _read_data(member, shapes[name], description.dtype, name)
              for name, member in opened.items()}
    for member in opened.values():
        member.close()
    for name, array in arrays.items():
        if not kernels.all_finite(array):
            raise ValueError(f"{name} holds NaN or infinity")
    params = [arrays[f"param_{i}"] for i in range(len(description.shapes))]
    layers = []
    buffers = [arrays[f"buffer_{i}"] for i in range(len(description.buffer_shapes))]
    for cls, config, first, count, first_buffer, n_buffers in description.layers:
        try:
            layers.append(cls.from_arrays(config, params[first:first + count]
                                          + buffers[first_buffer:first_buffer + n_buffers],
                                          description.dtype))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{cls.__name__} config: {error}") from None
    optimizer = description.optimizer
    optimizer.iterations = description.iterations
    optimizer.state = [[arrays[f"opt_{i}_{j}"] for j in range(count)]
                       for i, count in enumerate(description.state_counts)]
    dropouts = [layer for layer in layers if isinstance(layer, L.Dropout)]
    for layer, stream in zip(dropouts, description.streams or ()):
        layer.state = np.array(stream, dtype=np.uint64)
    net = Network.__new__(Network)
    net._setup(layers, description.loss, optimizer, description.dtype, None,
               description.threads, True)
    net.rng, net.split_seed = description.generator, description.split_seed
    net.feature_names, net.class_names, net.target_name = description.columns
    net._refresh()
    return net


def _read_header(member, name):
    """(shape, fortran order, dtype) of a .npy member, read without allocating its data."""
    version = np.lib.format.read_magic(member)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"{name} has .npy version {version}")
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    try:
        return read(member)
    except (tokenize.TokenError, SyntaxError) as error:  # NumPy's fallback parser of old headers
        raise ValueError(f"{name} has a malformed .npy header: {error}") from None


def _check_header(member, info, name, shape, dtype):
    got_shape, fortran, got_dtype = _read_header(member, name)
    if got_dtype != dtype or fortran or got_shape != shape:
        raise ValueError(f"{name} is a {got_dtype} array of shape {got_shape}"
                         f"{' (Fortran order)' if fortran else ''}, but the description needs "
                         f"{dtype} {shape}")
    offset, nbytes = member.tell(), math.prod(shape) * dtype.itemsize
    if info.file_size != offset + nbytes:
        raise ValueError(f"{name} holds {info.file_size - offset} bytes of data, not the "
                         f"{nbytes} its header says")


def _read_data(member, shape, dtype, name):
    array = np.empty(shape, dtype)
    view = memoryview(array.reshape(-1)).cast("B")
    at = 0
    while at < len(view):
        got = member.readinto(view[at:at + CHUNK_BYTES])
        if not got:
            raise ValueError(f"{name} ends early")
        at += got
    return array


def _reject_constant(name):
    raise ValueError(f"the metadata holds {name}, which is not a number JSON allows")


def _finite_float(text):
    value = float(text)
    if not np.isfinite(value):
        raise ValueError(f"the metadata holds the number {text}, too large for a float")
    return value


def _parse_json(text):
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("the metadata nests too deeply") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"the metadata is not valid JSON: {error}") from None
