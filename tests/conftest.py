"""Shared test settings: hypothesis profiles (``ci`` is derandomised and has no deadline), and
a throwaway venv for the tests that install a plugin package."""

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def make_venv():
    """Makes a throwaway venv that sees this environment's packages; returns its python.

    No pip and no network: a test installs into it with the parent's pip
    (``python -m pip`` resolves through the ``.pth`` file), ``--no-index``.
    """

    def make(root: Path) -> Path:
        venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = venv / "bin" / "python"
        purelib = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
        (Path(purelib) / "_parent_environment.pth").write_text(
            "import site; " + "; ".join(f"site.addsitedir({p!r})" for p in parents) + "\n"
        )
        return python

    return make
