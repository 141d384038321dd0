"""Plots for notebooks: each takes the library's results, draws on a matplotlib Axes, returns it.

Matplotlib is the ``plots`` extra (``pip install 'touchpoint-ctm[plots]'``), imported
when a plot is drawn, never by ``import touchpoint.plot``. Every function takes ``ax=``
(the Axes to draw on; None: a new figure) and returns the Axes, so plots compose with
``plt.subplots`` and can be restyled after the fact.

- value: `pareto_curve` (the 80/20 curve), `value_pyramid` (tiers' shares of customers
  and of value);
- RFM: `rfm_segments` (the segment map of recency x frequency scores);
- CLV, like ``lifetimes.plotting``: `frequency_recency_matrix`,
  `probability_alive_matrix` and `period_transactions` of a fitted BG/NBD or MBG/NBD;
- operations: `compliance_heatmap` (touchpoint x period or store), `funnel` (stages,
  customers, conversion).

The HTML report of ``touchpoint demo`` keeps its own dependency-free SVG charts.

Examples
--------
>>> import matplotlib.pyplot as plt
>>> from touchpoint.datasets import load_cdnow
>>> fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
>>> summary = load_cdnow("summary", sample=True)
>>> pareto_curve(summary, value="monetary_value", ax=left) is left
True
>>> from touchpoint.clv import BetaGeo
>>> period_transactions(BetaGeo().fit(summary), summary, ax=right) is right
True
>>> plt.close(fig)
"""

from touchpoint.plot._clv import (
    frequency_recency_matrix,
    period_transactions,
    probability_alive_matrix,
    repeat_purchase_probabilities,
)
from touchpoint.plot._rfm import rfm_segments
from touchpoint.plot._tables import compliance_heatmap, funnel
from touchpoint.plot._value import pareto_curve, value_pyramid

__all__ = [
    "compliance_heatmap",
    "frequency_recency_matrix",
    "funnel",
    "pareto_curve",
    "period_transactions",
    "probability_alive_matrix",
    "repeat_purchase_probabilities",
    "rfm_segments",
    "value_pyramid",
]
