"""Run a scenario that could crash the interpreter in a fresh one, so a segfault fails the test
instead of ending pytest."""
import os
import subprocess
import sys
import tempfile
import textwrap


def run_isolated(code, timeout=120):
    """Run `code` in a new Python (importing the same fastnn as the tests) and return its
    standard output; fail with its stderr if it did not exit with status 0."""
    import fastnn
    here = os.path.dirname(os.path.abspath(__file__))  # the tests, whose helpers code may import
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(fastnn.__file__)), here]))
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=timeout, env=env, cwd=tempfile.gettempdir())
    assert result.returncode == 0, (
        f"exit status {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result.stdout
