"""`import touchpoint` stays light: no optional extra is imported until a feature needs it."""

import subprocess
import sys

EXTRAS = (
    "pandas",
    "polars",
    "pyarrow",
    "scipy",
    "dask",
    "distributed",
    "matplotlib",
    "duckdb",
    "tomli_w",
    "numba",
)


def test_import_touchpoint_imports_no_extra():
    code = f"import sys, touchpoint\nprint(' '.join(m for m in {EXTRAS!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import touchpoint imported: {out.stdout.strip()}"


def test_scoring_modules_and_the_scale_package_import_no_extra():
    code = (
        "import sys, touchpoint.scale, touchpoint.scoring, touchpoint.clv, touchpoint.attribution\n"
        f"print(' '.join(m for m in {EXTRAS!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"importing the scoring modules imported: {out.stdout.strip()}"


def test_public_api_is_reexported():
    import touchpoint

    for name in touchpoint.__all__:
        assert hasattr(touchpoint, name), name
    assert issubclass(touchpoint.BlueprintError, touchpoint.TouchpointError)
    assert issubclass(touchpoint.MissingExtraError, ImportError)
