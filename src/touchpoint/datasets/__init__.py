"""Data to try things on, offline: the CDNOW purchase log and a synthetic base of any size.

- `load_cdnow`: the CDNOW log (23,570 customers, 69,659 transactions, 1997-01 to
  1998-06) that the CLV literature fits, or its 1/10 sample (2,357 customers), as
  transactions or as the per-customer summary of Fader, Hardie & Lee (2005).
- `load_synthetic`: the demo's synthetic customer base for any built-in template, any
  number of customers, from a seed.

Each returns tables every score reads: the library's frames by default, a dict of numpy
columns, or a pandas / polars DataFrame (``as_frame=``; those two need the
``dataframes`` extra, imported only then). Nothing is downloaded.

Source and licence of CDNOW
---------------------------
The CDNOW files ship in ``touchpoint/datasets/data/`` (see the ``README.md`` there). The
master log is byte for byte ``CDNOW_master.txt`` of the ``lifetimes`` package 0.11.3
(MIT licence, copyright 2015 Cameron Davidson-Pilon), gzip-compressed; the sample is
rebuilt from it with the list of the sample's customer ids, and equals ``lifetimes``'
``CDNOW_sample.txt`` row for row. The data set comes from Fader, Hardie & Lee, and is
distributed by Bruce Hardie (brucehardie.com/datasets) for research and teaching; cite
Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science
24(2), when you publish results on it. The 255 rows of the log that repeat another row
exactly are kept: they are separate purchases.

Examples
--------
>>> from touchpoint.clv import BetaGeo
>>> summary = load_cdnow("summary", sample=True)
>>> bg = BetaGeo().fit(summary)
>>> {k: round(v, 3) for k, v in bg.params_.items()}
{'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
"""

from touchpoint.datasets._cdnow import CDNOW_CALIBRATION_END, CDNOW_END, load_cdnow
from touchpoint.datasets._frames import FORMS
from touchpoint.datasets._synthetic import SyntheticData, load_synthetic

__all__ = [
    "CDNOW_CALIBRATION_END",
    "CDNOW_END",
    "FORMS",
    "SyntheticData",
    "load_cdnow",
    "load_synthetic",
]
