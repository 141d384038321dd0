"""The worked examples of docs/journeys.md and docs/experiments.md run as printed."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs"


def _example(page: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.search(r"## A worked example.*?```python\n(.*?)```", text, re.S).group(1)


@pytest.mark.parametrize("page", ["journeys.md", "experiments.md"])
def test_the_worked_example_runs(page, capsys):
    exec(compile(_example(page), page, "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out.strip()
