"""The compliance heat map is the pandas pivot of the report; the funnel draws its table."""

import numpy as np
import pandas as pd
import polars as pl
import pytest
from matplotlib import pyplot as plt

from touchpoint.datasets import load_synthetic
from touchpoint.errors import ValidationError
from touchpoint.plot import compliance_heatmap, funnel
from touchpoint.scoring import compliance


@pytest.fixture(scope="module")
def base():
    return load_synthetic(customers=600, seed=11)


def _pivot(summary, rows, columns):
    df = summary.to_pandas()
    df[rows] = df[rows].astype(str)
    df[columns] = df[columns].astype(str)
    sums = df.pivot_table(index=rows, columns=columns, values=["met", "cases"], aggfunc="sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums["met"] / sums["cases"]).where(sums["cases"] > 0)


def _drawn(ax):
    rows = [t.get_text() for t in ax.get_yticklabels()]
    columns = [t.get_text() for t in ax.get_xticklabels()]
    return pd.DataFrame(ax.images[0].get_array().filled(np.nan), index=rows, columns=columns)


@pytest.mark.parametrize(
    ("group", "columns", "rows"),
    [
        ({"period": "quarter"}, "period", "touchpoint"),
        ({"by": "store"}, "store", "touchpoint"),
        ({"by": "store"}, "store", "indicator"),
    ],
)
def test_the_heatmap_is_the_pivot_of_met_over_cases(base, group, columns, rows):
    report = compliance(base.interactions, base.blueprint, **group)
    ax = compliance_heatmap(report, columns=columns, rows=rows)
    drawn = _drawn(ax)
    want = _pivot(report.summary, rows, columns).reindex(index=drawn.index, columns=drawn.columns)
    assert set(drawn.index) == set(np.asarray(report.summary[rows]).astype(str))
    assert list(drawn.columns) == sorted(drawn.columns)
    np.testing.assert_allclose(drawn.to_numpy(), want.to_numpy(), rtol=1e-12)
    # rows keep the blueprint's order
    order = list(dict.fromkeys(np.asarray(report.summary[rows]).astype(str)))
    assert list(drawn.index) == order


def test_cells_without_cases_are_blank_and_small_maps_are_annotated():
    summary = {
        "touchpoint": ["A", "A", "B", "B"],
        "period": ["2026-01", "2026-02", "2026-01", "2026-02"],
        "met": [3, 0, 1, 0],
        "cases": [4, 0, 2, 0],
    }
    ax = compliance_heatmap(summary)
    shown = ax.images[0].get_array()
    assert shown.mask.tolist() == [[False, True], [False, True]]
    assert sorted(t.get_text() for t in ax.texts) == ["50%", "75%"]


def test_a_funnel_draws_each_stage_as_wide_as_its_customers():
    table = pd.DataFrame(
        {
            "stage": ["lead", "visit", "buy"],
            "customers": [500, 200, 50],
            "conversion": [1.0, 0.4, 0.1],
        }
    )
    ax = funnel(table)
    bars = ax.containers[0]
    assert [b.get_width() for b in bars] == [500, 200, 50]
    # centred, first stage on top
    assert [b.get_x() + b.get_width() / 2 for b in bars] == [0.0, 0.0, 0.0]
    assert [b.get_y() for b in bars] == sorted((b.get_y() for b in bars), reverse=True)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["lead", "visit", "buy"]
    # the table's conversion, as the table defines it (here: of the first stage)
    assert [t.get_text() for t in ax.texts] == ["500", "200 (40%)", "50 (10%)"]


def test_without_a_conversion_column_each_stage_is_compared_with_the_one_before():
    ax = funnel(
        pl.DataFrame({"step": ["a", "b", "c"], "n": [80, 20, 0]}), stage="step", customers="n"
    )
    assert [t.get_text() for t in ax.texts] == [
        "80",
        "20 (25% of the previous stage)",
        "0 (0% of the previous stage)",
    ]


@pytest.mark.parametrize(
    "draw",
    [
        lambda ax: compliance_heatmap(
            {"touchpoint": ["A"], "period": ["p"], "met": [1], "cases": [1]}, ax=ax
        ),
        lambda ax: funnel({"stage": ["a", "b"], "customers": [2, 1]}, ax=ax),
    ],
)
def test_the_given_axes_is_drawn_on_and_returned(draw):
    _, (_, right) = plt.subplots(1, 2)
    assert draw(right) is right
    assert right.has_data() and len(plt.get_fignums()) == 1


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda r: compliance_heatmap(r), "period"),
        (lambda r: compliance_heatmap({"touchpoint": ["A"], "period": ["p"]}), "met"),
        (
            lambda r: compliance_heatmap(
                {"touchpoint": ["A"], "period": ["p"], "met": [1], "cases": [-1]}
            ),
            "cases[0]",
        ),
        (lambda r: funnel({"stage": ["a"], "people": [3]}), "customers"),
        (lambda r: funnel({"stage": ["a", "b"], "customers": [3, -1]}), "customers[1]"),
        (
            lambda r: funnel({"stage": ["a"], "customers": [3], "conversion": [1.5]}),
            "conversion[0]",
        ),
        (lambda r: funnel({"stage": [], "customers": []}), "no stages"),
    ],
)
def test_bad_input_raises_the_librarys_error(call, where, base):
    report = compliance(base.interactions, base.blueprint, by="store")  # no period column
    with pytest.raises(ValidationError) as info:
        call(report)
    assert where in str(info.value)
