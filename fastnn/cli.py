"""What the command line's commands share: the one-line error, and the checks of output paths
made before any work starts (so a trained network is never lost to a bad path)."""
import os
import re
import tempfile


class UsageError(Exception):
    """A problem the user can fix; printed as one line, `error: ...`, with exit status 2."""


def one_line(message):
    return re.sub(r"\s*[\r\n]+\s*", " ", str(message)).strip()


# Outputs that must be regular files (model files); --save replaces its file by a rename, the
# others open theirs for writing.
MODEL_OPTIONS = ("--save", "--export-onnx")


def available_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_output(option, path):
    """Refuse an output path that could not be written after training: an empty name, a folder,
    a missing or non-folder parent, a folder this process cannot create files in."""
    if path == "":
        raise UsageError(f"{option} needs a file name")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path} is a folder; give a file name inside it")
    if option in MODEL_OPTIONS and os.path.lexists(path) and not (
            os.path.islink(path) or os.path.isfile(path)):
        raise UsageError(f"{option} {path} exists and is not a regular file")
    if option != "--save" and os.path.isfile(path) and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {path}: the file exists and is not writable")
    # The folder as the system will resolve it for the final rename or open, and the absolute
    # folder Network.save makes its temporary file in (they differ with "..", symbolic links).
    folders = [os.path.dirname(path) or os.curdir]
    if os.path.dirname(os.path.abspath(path)) != os.path.abspath(folders[0]):
        folders.append(os.path.dirname(os.path.abspath(path)))
    for folder in folders:
        if not os.path.exists(folder):
            raise UsageError(f"{option} {path}: the folder {folder} does not exist")
        if not os.path.isdir(folder):
            raise UsageError(f"{option} {path}: {folder} is not a folder")
        try:
            fd, probe = tempfile.mkstemp(prefix=".fastnn-check-", dir=folder)
        except OSError as error:
            raise UsageError(f"{option} {path}: cannot write in the folder {folder} "
                             f"({error.strerror or error})") from None
        os.close(fd)
        os.unlink(probe)
    name = os.path.basename(path)
    try:
        longest = os.pathconf(folders[0], "PC_NAME_MAX")
    except (AttributeError, ValueError, OSError):
        longest = None
    if longest is not None and len(os.fsencode(name)) > longest:
        raise UsageError(f"{option} {path}: File name too long (at most {longest} bytes)")
    if option in MODEL_OPTIONS:
        from fastnn import io as model_files
        try:
            model_files.check_path(path)  # what save itself refuses (long names, links, ...)
        except (ValueError, OSError) as error:
            raise UsageError(f"{option} {path}: {one_line(error)}") from None


def check_plot(path):
    """--plot needs matplotlib and a file type it can write; find out before training."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'fastnn[plot]'") from None
    extension = os.path.splitext(path)[1][1:].lower()
    supported = FigureCanvasBase.get_supported_filetypes()
    if extension and extension not in supported:
        raise UsageError(f"--plot {path}: matplotlib cannot write .{extension} files; use one "
                         f"of {', '.join('.' + e for e in sorted(supported))}")


def same_file(a, b):
    """Whether paths a and b name one file: the same path, or links to one file."""
    if os.path.abspath(a) == os.path.abspath(b) or os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_distinct(paths):
    """Refuse two output options naming the same file: {option: path or None}."""
    seen = []
    for option, path in paths.items():
        if path is None:
            continue
        for other, other_path in seen:
            if same_file(path, other_path):
                raise UsageError(f"{other} and {option} name the same file, {path}")
        seen.append((option, path))
