"""The pure steps of the CLV scores and models, for `touchpoint.scale` and for extensions.

`touchpoint.scale` runs `customer_summary` on Dask by summarising each partition of
customers with `partition_summary`, and fits and predicts with the models' own methods;
these are the checks and steps it needs besides, gathered from the private modules of
`touchpoint.clv` that own them.

Examples
--------
>>> partition_summary({"customer": [1], "time": ["2024-02-01"]},
...                   asof="2024-01-31")["customer"].tolist()
[]
"""

from typing import Any

from touchpoint.clv._bgnbd import _BetaGeoModel
from touchpoint.clv._gammagamma import GammaGamma, check_periods
from touchpoint.clv._inputs import read_summary
from touchpoint.clv._summary import UNITS, check_unit, partition_summary

__all__ = [
    "UNITS",
    "check_fitted",
    "check_periods",
    "check_unit",
    "partition_summary",
    "read_summary",
]


def check_fitted(model: Any) -> None:
    """A `touchpoint.errors.ValidationError` unless ``model`` is fitted and can predict.

    For `GammaGamma`, also unless its mean spend is finite (``q > 1``), as its
    predictions require.
    """
    if isinstance(model, GammaGamma):
        model._spend_params()
    elif isinstance(model, _BetaGeoModel):
        model._params()
