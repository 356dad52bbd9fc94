import os

import numpy as np
import pytest
from hypothesis import settings

import fastnn
from fastnn import kernels

# CI must not pass or fail by luck: the same hypothesis examples on every run there.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_addoption(parser):
    parser.addoption("--fail-on-skip", action="store_true",
                     help="fail the run if any test skips (.ci/run, after installing an extra: "
                          "a skip there is not a pass)")


def pytest_sessionfinish(session, exitstatus):
    if not session.config.getoption("--fail-on-skip"):
        return
    skipped = session.config.pluginmanager.get_plugin("terminalreporter").stats.get("skipped")
    if skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\n--fail-on-skip: {len(skipped)} skipped: "
              + "; ".join(sorted({str(report.longrepr[-1]) for report in skipped})))


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


def assert_trains_as_torch(net, torch_optimizer, X, y, dtype):
    """Ten full-batch-of-16 steps of `net` (Dense, Tanh, Dense; loss "mse") and of its torch twin
    from the same weights, with torch_optimizer(parameters) as the twin's optimizer: the weights
    agree after every step (float32: the libraries' gradients differ in summation order, which
    the normalizing optimizers carry on to ~1e-5 in ten steps)."""
    import torch
    torch.set_num_threads(1)
    model = torch.nn.Sequential(torch.nn.Linear(*net.layers[0].W.shape), torch.nn.Tanh(),
                                torch.nn.Linear(*net.layers[2].W.shape)).to(getattr(torch, dtype))
    pairs = list(zip((model[0], model[2]), (net.layers[0], net.layers[2])))
    with torch.no_grad():
        for linear, dense in pairs:
            linear.weight.copy_(torch.tensor(dense.W.T))  # torch's Linear holds W transposed
            linear.bias.copy_(torch.tensor(dense.b))
    opt = torch_optimizer(model.parameters())
    rtol = 1e-12 if dtype == "float64" else 2e-5
    for step in range(10):
        batch = slice(16 * (step % 4), 16 * (step % 4 + 1))
        net.fit(X[batch], y[batch], epochs=1, batch_size=16, shuffle=False, verbose=0)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(torch.tensor(X[batch])), torch.tensor(y[batch]))
        loss.backward()
        opt.step()
        for linear, dense in pairs:
            np.testing.assert_allclose(dense.W, linear.weight.detach().numpy().T, rtol=rtol,
                                       atol=rtol)
            np.testing.assert_allclose(dense.b, linear.bias.detach().numpy(), rtol=rtol,
                                       atol=rtol)
