"""`touchpoint.plot` and `touchpoint.datasets` import no extra; a missing one names its extra."""

import subprocess
import sys

EXTRAS = ("matplotlib", "pandas", "polars", "pyarrow", "scipy", "dask")


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_importing_the_plot_and_dataset_packages_imports_no_extra():
    out = _run(
        "import sys, touchpoint.plot, touchpoint.datasets\n"
        f"print(' '.join(m for m in {EXTRAS!r} if m in sys.modules))"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_drawing_without_matplotlib_says_which_extra_to_install():
    out = _run(
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "from touchpoint.errors import MissingExtraError\n"
        "from touchpoint.plot import funnel\n"
        "try:\n"
        "    funnel({'stage': ['a'], 'customers': [1]})\n"
        "except MissingExtraError as e:\n"
        "    print(e)\n"
    )
    assert out.returncode == 0, out.stderr
    assert "pip install 'touchpoint-ctm[plots]'" in out.stdout


def test_a_dataframe_form_without_pandas_says_which_extra_to_install():
    out = _run(
        "import sys\n"
        "sys.modules['pandas'] = None\n"
        "from touchpoint.errors import MissingExtraError\n"
        "from touchpoint.datasets import load_cdnow\n"
        "print(len(load_cdnow(sample=True)))\n"
        "try:\n"
        "    load_cdnow(sample=True, as_frame='pandas')\n"
        "except MissingExtraError as e:\n"
        "    print(e)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("6919\n")
    assert "pip install 'touchpoint-ctm[dataframes]'" in out.stdout
