import os

import numpy as np
import pytest
from hypothesis import settings

import fastnn
from fastnn import kernels

# CI must not pass or fail by luck: the same hypothesis examples on every run there.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_report_header(config):
    return f"fastnn {fastnn.__version__} from {os.path.dirname(fastnn.__file__)}, " \
           f"kernel build {kernels.VARIANT}"

# Tolerances for compiled kernel vs NumPy reference, relative to the larger of 1 and the
# reference's largest magnitude. float32 allows for a different summation order (BLAS blocking,
# SIMD exp) over up to a few hundred terms; float64 for the same at double precision.
TOLERANCE = {np.float32: 2e-5, np.float64: 1e-12}


def assert_close(got, want, dtype, factor=1.0):
    want = np.asarray(want)
    tol = TOLERANCE[np.dtype(dtype).type] * factor
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param
