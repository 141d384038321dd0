"""Every example in a docstring of the package runs and shows what it says.

(Run here rather than with ``--doctest-modules`` so that doctest collection never walks
the test folders, whose conftest files would clash as modules.)
"""

import doctest
import importlib
import pkgutil

import pytest

import touchpoint

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(touchpoint.__path__, prefix="touchpoint.")
    if ".testing" not in m.name and not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
