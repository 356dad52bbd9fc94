"""The compiled kernels: the loops (MODULES) built once for the baseline CPU and once per x86-64
ISA level, the modules that check arguments and call them once.

`variant()` names the build to use: the best this CPU runs, or the one named by the environment
variable FASTNN_KERNELS (baseline, x86_64_v3, x86_64_v4), e.g. to test the baseline build on a
machine that has AVX-512. It is decided once, when fastnn is imported; a later change of the
variable changes nothing.
"""
import importlib
import importlib.machinery
import os
import sys

MODULES = ("engine_loops", "kernel_loops")  # built per variant


def _has_compiled(folder):
    return any(os.path.exists(os.path.join(folder, "_cpu" + suffix))
               for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _installed_copy():
    """The _kernels folder of an installed fastnn, other than this one."""
    here = os.path.realpath(os.path.dirname(__file__))
    for entry in sys.path:
        folder = os.path.realpath(os.path.join(entry or os.getcwd(), "fastnn", "_kernels"))
        if folder != here and _has_compiled(folder):
            return folder
    return None


# Run from a source checkout (`python -m fastnn` in the repository after `pip install .`), this
# package is the uncompiled source: its compiled modules went into the installed copy. Load them
# from there; the Python code is the same.
if not _has_compiled(os.path.dirname(__file__)):
    _installed = _installed_copy()
    if _installed is None:
        raise ImportError("fastnn's compiled kernels are not built: install it with "
                          "`pip install .` "
                          "(or build in place with `python setup.py build_ext --inplace`)")
    __path__.append(_installed)

from fastnn._kernels._cpu import supported_variants  # noqa: E402


def built_variants():
    """The ISA-specific builds this installation has, whether or not the CPU runs them."""
    return [v for v in ("x86_64_v4", "x86_64_v3")
            if any(os.path.isdir(os.path.join(folder, v)) for folder in __path__)]


_CHOSEN = []  # the variant, decided on the first call: every module loads the same build


def variant():
    if not _CHOSEN:
        runnable = [v for v in supported_variants() if v in built_variants()] + ["baseline"]
        wanted = os.environ.get("FASTNN_KERNELS", "").strip()
        if wanted and wanted not in runnable:
            raise ImportError(f"FASTNN_KERNELS={wanted!r}, but this installation on this CPU runs "
                              f"only {runnable}")
        _CHOSEN.append(wanted or runnable[0])
    return _CHOSEN[0]


def load(name):
    """The compiled module `name`: one of MODULES from the chosen build, any other from this
    package (built once)."""
    chosen = variant()
    if chosen == "baseline" or name not in MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    package = importlib.import_module(f"{__name__}.{chosen}")
    for folder in __path__[1:]:  # the installed copy, when this is a source checkout
        if os.path.join(folder, chosen) not in package.__path__:
            package.__path__.append(os.path.join(folder, chosen))
    return importlib.import_module(f"{package.__name__}.{name}")
