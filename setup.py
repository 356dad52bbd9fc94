"""Build the compiled kernels: cythonize fastnn/_kernels/*.pyx with the package's directives.

Environment switches:
  FASTNN_DEBUG_CYTHON=1  Cython's bounds/wraparound/initialized checks on, -O1 -g and
                         AddressSanitizer (run with LD_PRELOAD=$(gcc -print-file-name=libasan.so)),
                         so an out-of-bounds access in a pointer loop fails loudly.
  FASTNN_NO_OPENMP=1     build without OpenMP even where the compiler supports it.
"""
import os
import shlex
import subprocess
import sysconfig
import tempfile
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


DEBUG = _flag("FASTNN_DEBUG_CYTHON")

DIRECTIVES = dict(
    language_level=3,
    boundscheck=DEBUG,
    wraparound=DEBUG,
    initializedcheck=DEBUG,
    nonecheck=DEBUG,
    cdivision=True,
)


def openmp_flags():
    """Compile, link and run a tiny OpenMP program; its flags if that works, else none."""
    if _flag("FASTNN_NO_OPENMP"):
        return []
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    source = "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "omp.c"), os.path.join(tmp, "omp")
        with open(src, "w") as f:
            f.write(source)
        try:
            subprocess.run(cc + ["-fopenmp", src, "-o", exe], check=True, capture_output=True)
            subprocess.run([exe], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError):
            print("fastnn: no OpenMP support found; building the serial kernels")
            return []
    return ["-fopenmp"]


omp = openmp_flags()
compile_args = ["-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer"] if DEBUG else ["-O3"]
link_args = ["-fsanitize=address"] if DEBUG else []

extensions = [
    Extension(
        "fastnn._kernels." + os.path.splitext(os.path.basename(path))[0],
        [path],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        extra_compile_args=compile_args + omp,
        extra_link_args=link_args + omp,
    )
    for path in sorted(glob("fastnn/_kernels/*.pyx"))
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=DIRECTIVES,
        force=True,  # the directives differ between debug and release builds
    ),
)
