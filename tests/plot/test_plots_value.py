"""Value plots draw the numbers they claim: checked against numpy and pandas, not the scores."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import pyplot as plt

from touchpoint.datasets import load_cdnow
from touchpoint.errors import ValidationError
from touchpoint.plot import pareto_curve, rfm_segments, value_pyramid
from touchpoint.scoring import DEFAULT_SEGMENTS, pareto, pyramid, rfm, rfm_scores


@pytest.fixture(scope="module")
def cdnow_rfm():
    return rfm(load_cdnow(), asof="1998-06-30")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=40))
def test_the_pareto_curve_is_the_cumulative_share_of_sorted_values(values):
    v = np.array(values)
    if v.sum() == 0:
        v = v + 1.0
    n = len(v)
    ax = pareto_curve({"customer": np.arange(n), "monetary": v}, points=n + 1)
    curve = ax.lines[0]
    expected = np.concatenate(([0.0], np.cumsum(np.sort(v)[::-1]) / v.sum()))
    np.testing.assert_allclose(curve.get_xdata(), np.arange(n + 1) / n, atol=1e-12)
    np.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-9, atol=1e-12)
    plt.close(ax.figure)


def test_the_pareto_curve_of_cdnow_marks_the_top_fifth(cdnow_rfm):
    ax = pareto_curve(cdnow_rfm)
    spend = pd.Series(cdnow_rfm["monetary"]).sort_values(ascending=False)
    top = spend.iloc[: round(0.2 * len(spend))].sum() / spend.sum()
    x, y = ax.lines[2].get_data()  # the mark
    assert x[0] == 0.2 and y[0] == pytest.approx(top, abs=1e-4)
    assert f"{top:.0%} of value" in ax.texts[0].get_text()


def test_a_curve_from_pareto_is_drawn_as_it_is(cdnow_rfm):
    curve = pareto(cdnow_rfm, points=11)
    ax = pareto_curve(curve, mark=None)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), curve["value_share"])
    assert len(ax.texts) == 0


def test_the_pyramid_bars_are_each_tiers_share_of_customers_and_value(cdnow_rfm):
    tiers = pyramid(cdnow_rfm)
    ax = value_pyramid(tiers)
    df = pd.DataFrame({"tier": tiers["tier"], "value": tiers["value"]})
    by = df.groupby("tier").agg(customers=("value", "size"), value=("value", "sum"))
    order = ["key", "major", "ordinary", "small"]  # top to bottom
    labels = {t.get_text(): t.get_position()[1] for t in ax.get_yticklabels()}
    assert sorted(labels, key=labels.get, reverse=True) == order
    left = [-b.get_width() for b in ax.containers[0]]
    right = [b.get_width() for b in ax.containers[1]]
    np.testing.assert_allclose(left, by.loc[order, "customers"] / len(df))
    np.testing.assert_allclose(right, by.loc[order, "value"] / df["value"].sum())
    # bars from the top: the first tier has the highest y
    ys = [b.get_y() for b in ax.containers[1]]
    assert ys == sorted(ys, reverse=True)


def test_the_rfm_map_colours_each_cell_by_its_segment_and_counts_customers(cdnow_rfm):
    scores = rfm_scores(cdnow_rfm)
    ax = rfm_segments(scores)
    image = np.asarray(ax.images[0].get_array())
    names = [*DEFAULT_SEGMENTS, "other"]
    for r in range(1, 6):
        for f in range(1, 6):
            first = next(n for n, ((r0, r1), (f0, f1)) in DEFAULT_SEGMENTS.items()
                         if r0 <= r <= r1 and f0 <= f <= f1)  # fmt: skip
            assert names[image[f - 1, r - 1]] == first, (r, f)
    counts = pd.Series(scores["segment"]).value_counts()
    for text in ax.texts:
        name, rest = text.get_text().split("\n")
        n = int(rest.split(" ")[0].replace(",", ""))
        assert n == counts.get(name, 0), name
    assert sum(
        int(t.get_text().split("\n")[1].split(" ")[0].replace(",", "")) for t in ax.texts
    ) == len(scores)


def test_customers_without_purchases_are_counted_in_the_title_not_on_the_map():
    ax = rfm_segments({"customer": [1, 2, 3], "r_score": [5, 0, 1], "f_score": [5, 0, 1]})
    assert "1 without purchases" in ax.get_title()
    assert "2 customers" in ax.get_title()


@pytest.mark.parametrize(
    "draw",
    [
        lambda ax: pareto_curve({"customer": [1, 2], "monetary": [3.0, 1.0]}, ax=ax),
        lambda ax: value_pyramid(
            pyramid(
                {"customer": [1, 2], "monetary": [3.0, 1.0]}, shares=[0.5, 0.5], tiers=["a", "b"]
            ),
            ax=ax,
        ),
        lambda ax: rfm_segments({"customer": [1], "r_score": [5], "f_score": [5]}, ax=ax),
    ],
)
def test_the_given_axes_is_drawn_on_and_returned(draw):
    _, (_, right) = plt.subplots(1, 2)
    assert draw(right) is right
    assert right.has_data() and len(plt.get_fignums()) == 1


@pytest.mark.parametrize(
    ("call", "where"),
    [
        (lambda: pareto_curve({"customer": [1, 2], "monetary": [3.0, -1.0]}), "monetary[1]"),
        (lambda: pareto_curve({"customer": [1, 2], "spend": [3.0, 1.0]}), "monetary"),
        (lambda: pareto_curve({"customer": [1], "monetary": [1.0]}, mark=1.5), "mark"),
        (lambda: pareto_curve({"customer": [1], "monetary": [1.0]}, ax="left"), "ax"),
        (lambda: value_pyramid({"customer": [1], "value": [1.0]}), "tier"),
        (lambda: rfm_segments({"customer": [1], "r_score": [6], "f_score": [1]}), "r_score"),
        (lambda: rfm_segments({"customer": [1], "r_score": [3], "f_score": [1]}, k=4), "segments"),
    ],
)
def test_bad_input_raises_the_librarys_error(call, where):
    with pytest.raises(ValidationError) as info:
        call()
    assert where in str(info.value)
