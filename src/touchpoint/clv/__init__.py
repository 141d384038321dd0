"""Probabilistic customer lifetime value: BG/NBD purchases and Gamma-Gamma spend.

`customer_summary` turns transactions into the per-customer frequency, recency, age and
average spend the models need; `BetaGeo` (BG/NBD) and `ModifiedBetaGeo` (MBG/NBD)
predict purchases and the probability a customer is still active, as does `ParetoNBD`
(Pareto/NBD: customers may leave at any time); `GammaGamma` predicts average spend and,
with a purchase model, discounted lifetime value. Summaries and predictions are
`ScoreFrame`s keyed by ``customer``, as every score is (`Predictions`). The purchase
models need numpy only; Gamma-Gamma needs scipy (``pip install 'touchpoint-ctm[clv]'``).
A fit whose likelihood is highest at a limit of its model (nobody drops out, equal
rates, equal spend) fits that limit and warns with
`touchpoint.errors.BoundaryFitWarning`. `calibration_and_holdout` splits transactions
into a calibration and a holdout period, and `holdout_check` sets a model's predicted
holdout purchases against the actual ones.

Examples
--------
>>> from touchpoint.clv import BetaGeo, GammaGamma, customer_summary
>>> data = {"customer": [1, 1, 2, 3, 3, 3],
...         "time": ["2024-01-02", "2024-02-10", "2024-01-05", "2024-01-03", "2024-01-20", "2024-03-01"],
...         "amount": [20.0, 35.0, 12.0, 50.0, 40.0, 45.0]}
>>> summary = customer_summary(data, asof="2024-03-31")
>>> summary["frequency"].tolist()
[1, 0, 2]
"""

from touchpoint.clv._bgnbd import BetaGeo
from touchpoint.clv._gammagamma import GammaGamma
from touchpoint.clv._holdout import HoldoutCheck, calibration_and_holdout, holdout_check
from touchpoint.clv._keyed import Predictions
from touchpoint.clv._mbgnbd import ModifiedBetaGeo
from touchpoint.clv._pareto import ParetoNBD
from touchpoint.clv._summary import UNITS, customer_summary

__all__ = [
    "UNITS",
    "BetaGeo",
    "GammaGamma",
    "HoldoutCheck",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "Predictions",
    "calibration_and_holdout",
    "customer_summary",
    "holdout_check",
]
