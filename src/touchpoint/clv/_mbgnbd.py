"""The MBG/NBD purchase model (Batislam, Denizel & Filiztekin 2007).

BG/NBD with one change: a customer may also drop out right after their *first*
purchase, not only after repeat ones. Under BG/NBD a customer who bought once and never
again is alive with probability 1, however long ago that was; under MBG/NBD their
chance of being alive falls with the time since that purchase, as it should for a
churn probability (`touchpoint.scoring.churn_risk` is built on it).

The likelihood, the coordinates in which it is maximised, the limits it recognises and
the predictions are those of `BetaGeo` (see `touchpoint.clv._bgnbd`), with the
dropout chances counted from the first purchase: a customer alive at T with ``x``
repeat purchases has survived ``x + 1`` of them, so their dropout probability is
Beta(a, b + x + 1) a posteriori. It agrees with `lifetimes`' ``ModifiedBetaGeoFitter``.

Examples
--------
Customers who leave after a purchase with probability p ~ Beta(1, 4), the first one
included, and otherwise buy at Gamma(0.5, 5)-distributed weekly rates:

>>> rng = np.random.default_rng(2)
>>> n = 20_000
>>> T = rng.uniform(20, 52, n)
>>> k = rng.poisson(rng.gamma(0.5, 1 / 5, n) * T)   # repeat purchases had they stayed
>>> alive_for = rng.geometric(rng.beta(1.0, 4.0, n)) - 1   # repeat purchases before leaving
>>> x = np.minimum(k, alive_for)
>>> t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(k - x + 1, 1)), 0.0)
>>> model = ModifiedBetaGeo().fit({"frequency": x, "recency": t_x, "T": T})
>>> {k: round(v, 1) for k, v in model.params_.items()}
{'r': 0.5, 'alpha': 4.8, 'a': 1.0, 'b': 4.0}
>>> new = {"frequency": [0, 0], "recency": [0.0, 0.0], "T": [1.0, 50.0]}
>>> p = model.probability_alive(new).to_numpy()
>>> bool(p[0] > p[1]), bool(p[1] < 1.0)
(True, True)
"""

from __future__ import annotations

import numpy as np  # noqa: F401 (the examples use it)

from touchpoint.clv._bgnbd import _BetaGeoModel

__all__ = ["ModifiedBetaGeo"]


class ModifiedBetaGeo(_BetaGeoModel):
    """MBG/NBD model of repeat purchases (Batislam, Denizel & Filiztekin 2007).

    The interface of `BetaGeo`: fit on a customer summary (``frequency``, ``recency``,
    ``T``), then `probability_alive`, `expected_purchases`, `expected_purchases_new`;
    ``params_`` has the keys ``r``, ``alpha``, ``a``, ``b``. Unlike BG/NBD, a customer
    without repeat purchases may have left: their probability of being alive falls
    with ``T``.

    Examples
    --------
    >>> m = ModifiedBetaGeo()
    >>> m.params_ = {"r": 0.5, "alpha": 5.0, "a": 1.0, "b": 4.0}
    >>> m.probability_alive({"frequency": [0, 0, 3], "recency": [0.0, 0.0, 40.0],
    ...                      "T": [1.0, 50.0, 50.0]}).to_numpy().round(3).tolist()
    [0.785, 0.547, 0.776]
    """

    _modified = True
    _feature = "MBG/NBD fitting"
    _label = "ModifiedBetaGeo"
