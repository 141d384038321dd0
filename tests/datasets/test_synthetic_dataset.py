"""`load_synthetic` is the demo's synthetic base, in the form asked, ready for every score."""

import numpy as np
import pandas as pd
import polars as pl
import pytest

from touchpoint import EventFrame, ScoreFrame, templates
from touchpoint.datasets import SyntheticData, load_synthetic
from touchpoint.demo import synthetic_base
from touchpoint.errors import ValidationError
from touchpoint.scoring import compliance, pyramid, rfm, rfm_scores
from touchpoint.templates import UnknownTemplateError


def test_it_is_the_demo_base_for_the_template_size_and_seed():
    got = load_synthetic(customers=150, seed=3, template="budget-hotel")
    base = synthetic_base(templates.load("budget-hotel"), customers=150, seed=3)
    assert isinstance(got, SyntheticData)
    assert isinstance(got.interactions, EventFrame) and isinstance(got.customers, ScoreFrame)
    assert got.interactions == base.events
    np.testing.assert_array_equal(got.customers["customer"], base.customers["customer"])
    assert got.blueprint.name == "budget-hotel"


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    a = load_synthetic(customers=80, seed=1)
    assert a.interactions == load_synthetic(customers=80, seed=1).interactions
    assert a.interactions != load_synthetic(customers=80, seed=2).interactions


def test_a_blueprint_and_the_generator_options_are_passed_on():
    blueprint = templates.load("telecom-hall")
    got = load_synthetic(customers=60, seed=0, template=blueprint, stores=3, years=1.0)
    assert got.blueprint is blueprint
    assert len(np.unique(got.customers["store"])) <= 3
    span = got.interactions["time"].max() - got.interactions["time"].min()
    assert span <= np.timedelta64(366, "D")


def test_the_tables_feed_the_scores():
    events, customers, blueprint = load_synthetic(customers=400, seed=5)
    scores = rfm_scores(rfm(events))
    # mystery-shopper audits are recorded under the shopper's id ("MS-" + store)
    people = {c for c in scores["customer"] if not c.startswith("MS-")}
    assert people and people <= set(customers["customer"])
    assert len(pyramid(rfm(events))) == len(scores)
    report = compliance(events, blueprint, by="store")
    assert (report.summary["cases"] > 0).any()


def test_every_form_holds_the_same_tables():
    ref = load_synthetic(customers=50, seed=9)
    as_dicts = load_synthetic(customers=50, seed=9, as_frame="numpy")
    as_pandas = load_synthetic(customers=50, seed=9, as_frame="pandas")
    as_polars = load_synthetic(customers=50, seed=9, as_frame="polars")
    assert isinstance(as_pandas.interactions, pd.DataFrame)
    assert isinstance(as_polars.customers, pl.DataFrame)
    for column in ("customer", "touchpoint", "time", "amount", "store"):
        want = ref.interactions[column]
        for got in (as_dicts.interactions, as_pandas.interactions, as_polars.interactions):
            values = got[column]
            values = values.to_numpy() if hasattr(values, "to_numpy") else values
            np.testing.assert_array_equal(
                np.asarray(values, dtype=want.dtype), want, err_msg=column
            )
    for got in (as_dicts.customers, as_pandas.customers, as_polars.customers):
        assert list(got["customer"]) == list(ref.customers["customer"])


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"customers": 0}, "customers"),
        ({"customers": 2.5}, "customers"),
        ({"as_frame": "csv"}, "as_frame"),
    ],
)
def test_bad_arguments_raise_the_librarys_error(kwargs, where):
    with pytest.raises(ValidationError) as info:
        load_synthetic(**kwargs)
    assert where in str(info.value)


def test_an_unknown_template_names_the_ones_that_exist():
    with pytest.raises(UnknownTemplateError, match="car-dealership"):
        load_synthetic(customers=10, template="bakery")
