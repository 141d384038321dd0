"""Every notebook in docs/notebooks runs from top to bottom on a fresh kernel.

Each is executed with nbclient (the ``python3`` kernel of ipykernel) in a fresh working
directory, as a reader would run it; a failing cell fails the test with its number and
source. The notebooks are stored without outputs: the site executes them when it is
built (mkdocs-jupyter, ``execute: true``), this test when the suite runs.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "docs" / "notebooks").glob("*.ipynb"))


def test_there_are_the_four_notebooks_the_docs_link_to():
    names = {p.stem for p in NOTEBOOKS}
    assert {"first-analysis", "clv", "attribution", "care-programme"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: cell {i}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: {exc}", pytrace=False)
