"""The compiled kernels, built once for the baseline CPU and once per x86-64 ISA level.

`variant()` names the build to use: the best this CPU runs, or the one named by the environment
variable FASTNN_KERNELS (baseline, x86_64_v3, x86_64_v4), e.g. to test the baseline build on a
machine that has AVX-512.
"""
import importlib
import os

from fastnn._kernels._cpu import supported_variants  # noqa: F401  (re-exported for .ci/run)

MODULES = ("activations", "dense", "losses", "optim")


def built_variants():
    """The ISA-specific builds this installation has, whether or not the CPU runs them."""
    folder = os.path.dirname(__file__)
    return [v for v in ("x86_64_v4", "x86_64_v3") if os.path.isdir(os.path.join(folder, v))]


def variant():
    runnable = [v for v in supported_variants() if v in built_variants()] + ["baseline"]
    wanted = os.environ.get("FASTNN_KERNELS", "").strip()
    if not wanted:
        return runnable[0]
    if wanted not in runnable:
        raise ImportError(f"FASTNN_KERNELS={wanted!r}, but this installation on this CPU runs "
                          f"only {runnable}")
    return wanted


def load(name):
    """The compiled module `name` (one of MODULES) of the chosen build."""
    chosen = variant()
    package = __name__ if chosen == "baseline" else f"{__name__}.{chosen}"
    return importlib.import_module(f"{package}.{name}")
