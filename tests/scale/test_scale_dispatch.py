"""The Dask registry: one table says which scores run on Dask, and the scores only declare it.

A score marked ``@distributed(name)`` runs the plan `touchpoint.scale` registered under
that name when given a Dask collection; these tests check that the marks and the plans
match one for one, that a plan accepts exactly its score's arguments, that the docs
page shows the registry, and that scoring in memory never imports `touchpoint.scale`.
No cluster is started here (the results on Dask are checked in the other tests of
this folder).
"""

import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pytest

from touchpoint.errors import ValidationError
from touchpoint.frame import _dispatch, distributed, distributed_scores, register_plan
from touchpoint.scoring import referral

ROOT = Path(__file__).parents[2]
HOOK = ROOT / "docs" / "_hooks" / "distributed_scores.py"
PAGE = ROOT / "docs" / "scaling-out.md"


def _hook():
    spec = importlib.util.spec_from_file_location("distributed_scores_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _marked() -> dict[str, object]:
    """Every function of the package marked `distributed`, by the name it is marked with."""
    import touchpoint.attribution
    import touchpoint.clv
    import touchpoint.journeys
    import touchpoint.scoring

    found = {}
    packages = (touchpoint.scoring, touchpoint.clv, touchpoint.attribution, touchpoint.journeys)
    for package in packages:
        for obj in vars(package).values():
            members = [m for _, m in inspect.getmembers(obj)] if inspect.isclass(obj) else []
            candidates = [obj, *members]
            for f in candidates:
                name = getattr(f, "__distributed__", None)
                if name is not None:
                    found[name] = f
    return found


def test_every_marked_score_has_a_plan_and_every_plan_a_score():
    table = distributed_scores()
    assert sorted(table["score"].tolist()) == sorted(_marked())
    assert len(table) >= 20


def test_the_table_names_where_each_score_lives_and_how_it_runs():
    table = distributed_scores()
    rows = {name: table.row(name) for name in table["score"].tolist()}
    assert rows["rfm"]["function"] == "touchpoint.scoring.rfm"
    assert rows["BetaGeo.fit"]["function"] == "touchpoint.clv.BetaGeo.fit"
    assert rows["markov"]["how"] == "summed"
    assert rows["pyramid"]["how"] == "ranked"
    assert {r["how"] for r in rows.values()} <= set(_dispatch.HOWS)
    assert all(r["result"] for r in rows.values())


@pytest.mark.parametrize("name", sorted(_marked()))
def test_a_plan_takes_exactly_the_arguments_of_its_score(name):
    score = inspect.signature(_marked()[name])
    plan = inspect.signature(_dispatch._PLANS[name].run)
    # positional parameters by position (a method's self is the plan's model), the
    # keyword-only ones by name: the plan is called with bound.args and bound.kwargs
    positional = [p for p in score.parameters.values() if p.kind is not p.KEYWORD_ONLY]
    keywords = [p.name for p in score.parameters.values() if p.kind is p.KEYWORD_ONLY]
    plan_positional = [p for p in plan.parameters.values() if p.kind is not p.KEYWORD_ONLY]
    plan_keywords = [p.name for p in plan.parameters.values() if p.kind is p.KEYWORD_ONLY]
    assert len(plan_positional) == len(positional), name
    assert sorted(plan_keywords) == sorted(keywords), name


def test_a_dask_argument_runs_the_plan_with_the_defaults_filled_in():
    calls = []

    @distributed("test.double", on="values")
    def double(values, *, factor=2, label="x"):
        return [factor * v for v in values]

    register_plan("test.double", how="per partition", result="a list")(
        lambda values, *, factor, label: calls.append((values, factor, label)) or "planned"
    )
    try:
        Lazy = type("Lazy", (), {"__module__": "dask.dataframe.fake"})
        lazy = Lazy()
        assert double([1, 2], factor=3) == [3, 6]
        assert calls == []
        assert double(lazy, label="y") == "planned"
        assert calls == [(lazy, 2, "y")]
    finally:
        del _dispatch._PLANS["test.double"], _dispatch._MARKED["test.double"]


def test_an_attribute_of_an_argument_can_decide():
    @distributed("test.method", on="self.table")
    def method(self, n):
        return ("memory", n)

    register_plan("test.method", how="per partition", result="a tuple")(
        lambda report, n: ("plan", n)
    )
    try:
        Lazy = type("Lazy", (), {"__module__": "dask.dataframe.fake"})
        in_memory = type("Report", (), {"table": [1]})()
        on_dask = type("Report", (), {"table": Lazy()})()
        assert method(in_memory, 1) == ("memory", 1)
        assert method(on_dask, 2) == ("plan", 2)
    finally:
        del _dispatch._PLANS["test.method"], _dispatch._MARKED["test.method"]


def test_a_score_without_a_plan_refuses_a_dask_dataframe_naming_the_table():
    events = dd.from_pandas(
        pd.DataFrame({"customer": ["a", "b"], "referrer": [None, "a"]}), npartitions=1
    )
    with pytest.raises(ValidationError, match=r"distributed_scores\(\)"):
        referral(events)


def test_a_plan_is_registered_once():
    with pytest.raises(ValueError, match="registered already"):
        register_plan("rfm", how="per customer", result="")(lambda data: None)
    with pytest.raises(ValueError, match="how must be one of"):
        register_plan("test.nowhere", how="somehow", result="")


def test_scoring_in_memory_does_not_import_the_scale_layer():
    code = (
        "import sys\n"
        "from touchpoint.scoring import rfm, pyramid\n"
        "r = rfm({'customer': [1], 'time': ['2026-01-01'], 'amount': [1.0]})\n"
        "pyramid(r)\n"
        "print('touchpoint.scale' in sys.modules, 'dask' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_docs_page_shows_the_registry():
    hook = _hook()
    text = PAGE.read_text(encoding="utf-8")
    assert hook.render(text) == text, (
        "docs/scaling-out.md's table differs from the registry: "
        "paste `python docs/_hooks/distributed_scores.py` between its markers"
    )
    assert "`scoring.rfm`" in hook.table()


def _code_names(path: Path) -> set[str]:
    """The names and imported modules a module's code uses (docstrings and comments aside)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("package", ["scoring", "clv", "attribution"])
def test_no_score_body_mentions_dask(package):
    folder = ROOT / "src" / "touchpoint" / package
    for path in sorted(folder.glob("*.py")):
        used = _code_names(path)
        mentions = {n for n in used if "dask" in n.lower() or n.startswith("touchpoint.scale")}
        assert not mentions, f"{path.relative_to(ROOT)} mentions {sorted(mentions)}"
