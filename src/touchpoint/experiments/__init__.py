"""Experiments: does a care programme work? Holdouts, lift and sample sizes.

The material's claim is that care raises repurchase; this package lets a company show
it, as the global control groups of CRM systems do:

- `holdout`: a deterministic control group from a salted keyed hash of each customer
  id (the same customer is always in or out for one salt, in any process);
- `lift`: the effect of a rule or programme on repurchase, revenue or retention over a
  window, treated against holdout, with a confidence interval and a p-value
  (`effect` does the same on one outcome per customer);
- `sample_size` and `power`: how many customers a test needs to detect an effect.

Examples
--------
>>> ids = [f"C{i}" for i in range(1000)]
>>> held = holdout(ids, share=0.2, salt="welcome-call-2026")
>>> 150 < int(held.sum()) < 250
True
>>> sample_size(0.05, baseline=0.30, share=0.2).total > 1000
True
"""

from touchpoint.experiments._holdout import hash_ids, holdout
from touchpoint.experiments._lift import KINDS, METRICS, Lift, effect, lift
from touchpoint.experiments._power import SampleSize, power, sample_size

__all__ = [
    "KINDS",
    "METRICS",
    "Lift",
    "SampleSize",
    "effect",
    "hash_ids",
    "holdout",
    "lift",
    "power",
    "sample_size",
]
