"""Key touchpoints: attribution share combined with key-driver analysis of satisfaction.

A touchpoint is *key* (a moment of truth) when it both moves purchases (its share of
attributed conversions) and moves how customers feel overall (how much its rating
explains overall satisfaction or willingness to recommend). The driver side uses
Johnson's (2000) relative weights: the explained variance R² of a regression of the
overall score on the touchpoint ratings, split among the touchpoints in a way that stays
sensible when ratings are correlated (as they always are); they sum to R².

Examples
--------
>>> attribution = {"touchpoint": ["ad", "store"], "share": [0.3, 0.7]}
>>> ratings = {"customer": [1, 1, 2, 2, 3, 3, 4, 4],
...            "touchpoint": ["ad", "store"] * 4,
...            "rating": [3, 5, 4, 2, 2, 4, 5, 1],
...            "overall": [5, 5, 2, 2, 4, 4, 1, 1]}
>>> k = key_touchpoints(attribution, ratings)
>>> list(k["touchpoint"]), k["rank"].tolist()
(['ad', 'store'], [2, 1])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from touchpoint._deprecation import renamed
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import ScoreFrame, as_float64, check_codes, factorize, read_columns

__all__ = ["key_touchpoints", "relative_weights"]


@renamed(X="predictors", y="outcome")
def relative_weights(
    predictors: np.ndarray, outcome: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Johnson's relative weights, standardised betas and R² of ``outcome`` on ``predictors``.

    ``predictors`` has one column per predictor (n x p), ``outcome`` one value per row.
    Columns without variance get weight and beta 0.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> y = X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=500)
    >>> w, beta, r2 = relative_weights(X, y)
    >>> bool(abs(w.sum() - r2) < 1e-12), bool(w[0] > w[1])
    (True, True)
    """
    X = np.asarray(predictors, dtype=np.float64)
    y = np.asarray(outcome, dtype=np.float64)
    p = X.shape[1]
    sd = X.std(axis=0)
    ok = sd > 0
    weights, betas = np.zeros(p), np.zeros(p)
    if not ok.any() or y.std() == 0:
        return weights, betas, 0.0
    Z = (X[:, ok] - X[:, ok].mean(axis=0)) / sd[ok]
    yz = (y - y.mean()) / y.std()
    n = len(y)
    # From the SVD of the standardised predictors Z = U S V' (never the correlation matrix
    # Z'Z/n, whose condition number is the square of Z's): the eigenvectors of R_xx are
    # V with eigenvalues S^2/n, so its square root is V diag(S/sqrt n) V', the
    # orthogonalised predictors' coefficients are V U' y / sqrt n, and the betas are the
    # least-squares solution V diag(1/S) U' y.
    u, sv, vt = np.linalg.svd(Z, full_matrices=False)
    tiny = sv.max() * max(Z.shape) * np.finfo(np.float64).eps  # numerically zero below this
    keep = sv > tiny
    uy = u.T @ yz
    root = (vt.T * (sv / np.sqrt(n))) @ vt  # correlations of X with orthogonal Z
    beta_orth = vt.T @ np.where(keep, uy, 0.0) / np.sqrt(n)
    raw = (root**2) @ (beta_orth**2)
    weights[ok] = raw
    betas[ok] = vt.T @ np.where(keep, uy / np.where(keep, sv, 1.0), 0.0)
    return weights, betas, float(raw.sum())


def key_touchpoints(
    attribution: Any,
    ratings: Any,
    *,
    customer: str = "customer",
    touchpoint: str = "touchpoint",
    rating: str = "rating",
    overall: str = "overall",
    share: str = "share",
    weight: float = 0.5,
) -> Any:
    """Rank touchpoints by their share of conversions and their pull on overall satisfaction.

    Parameters
    ----------
    attribution:
        A result of `markov`, `shapley` or `heuristic` (or any frame with the
        ``touchpoint`` and ``share`` columns).
    ratings:
        One row per customer and rated touchpoint: ``customer``, ``touchpoint``,
        ``rating`` (e.g. 1-5 CSAT), and ``overall`` (the customer's overall satisfaction
        or likelihood to recommend, repeated on each of their rows). A customer's
        missing touchpoint ratings are filled with that touchpoint's mean rating.
    weight:
        Weight of the attribution share in the combined importance (the driver share
        gets ``1 - weight``).

    Returns
    -------
    A frame keyed by touchpoint (every touchpoint of either input) with
    ``attribution_share``, ``driver_share`` (relative weight over R²),
    ``relative_weight``, ``beta`` (standardised regression coefficient),
    ``correlation`` (of the rating with the overall score), ``mean_rating``,
    ``n_ratings``, ``importance`` (the weighted combination), ``rank`` (1 = most
    important) and ``action``: ``"improve"`` (important, rated below the median),
    ``"keep"`` (important, rated well), ``"maintain"`` (less important, rated well),
    ``"monitor"`` (less important, rated low) or ``"unrated"``.
    """
    if not 0 <= weight <= 1:
        raise ValidationError([Problem("weight", "must be between 0 and 1", weight)])
    att = read_columns(
        attribution, {"touchpoint": touchpoint, "share": share}, required=("touchpoint", "share")
    )
    rat = read_columns(
        ratings,
        {"customer": customer, "touchpoint": touchpoint, "rating": rating, "overall": overall},
        required=("customer", "touchpoint", "rating", "overall"),
    )
    r = as_float64(rat["rating"], f"ratings[{rating!r}]")
    y_rows = as_float64(rat["overall"], f"ratings[{overall!r}]")
    valid = np.isfinite(r) & np.isfinite(y_rows)
    if not valid.any():
        raise ValidationError([Problem(f"ratings[{rating!r}]", "no usable rating")])
    att_units = np.asarray(att["touchpoint"])
    # coded by hashing, in ascending order (a sort of millions of names as Python
    # objects was most of this function's time at a million ratings)
    inverse, units = factorize(
        np.concatenate([att_units, np.asarray(rat["touchpoint"])[valid]]).astype(object),
        sort=True,
    )
    check_codes(inverse[: len(att_units)], f"attribution[{touchpoint!r}]")
    check_codes(inverse[len(att_units) :], f"ratings[{touchpoint!r}]")
    p = len(units)
    att_share = np.full(p, 0.0)
    att_share[inverse[: len(att_units)]] = as_float64(att["share"], f"attribution[{share!r}]")
    tp = inverse[len(att_units) :]
    cust, cust_ids = factorize(np.asarray(rat["customer"])[valid], sort=True)
    check_codes(cust, f"ratings[{customer!r}]")
    n = len(cust_ids)
    r, y_rows = r[valid], y_rows[valid]
    cell = cust * p + tp
    count = np.bincount(cell, minlength=n * p).reshape(n, p)
    total = np.bincount(cell, weights=r, minlength=n * p).reshape(n, p)
    n_ratings = count.sum(axis=0)
    mean_rating = np.divide(
        total.sum(axis=0), n_ratings, out=np.full(p, np.nan), where=n_ratings > 0
    )
    X = np.where(count > 0, total / np.maximum(count, 1), mean_rating)
    X = np.where(np.isnan(X), 0.0, X)  # unrated touchpoints: constant, weight 0
    y = np.bincount(cust, weights=y_rows, minlength=n) / np.bincount(cust, minlength=n)
    rel, beta, r2 = relative_weights(X, y)
    driver = rel / r2 if r2 > 0 else np.zeros(p)
    corr = np.array([_corr(X[:, i], y) if n_ratings[i] > 0 else np.nan for i in range(p)])
    importance = weight * att_share + (1 - weight) * driver
    order = np.lexsort((units.astype(str), -importance))
    rank = np.empty(p, dtype=np.int64)
    rank[order] = np.arange(1, p + 1)
    rated = n_ratings > 0
    high_imp = importance >= np.median(importance)
    high_rating = mean_rating >= np.nanmedian(mean_rating) if rated.any() else np.zeros(p, bool)
    action = np.where(
        ~rated,
        "unrated",
        np.where(
            high_imp,
            np.where(high_rating, "keep", "improve"),
            np.where(high_rating, "maintain", "monitor"),
        ),
    ).astype(object)
    return ScoreFrame(
        {
            touchpoint: units,
            "attribution_share": att_share,
            "driver_share": driver,
            "relative_weight": rel,
            "beta": beta,
            "correlation": corr,
            "mean_rating": mean_rating,
            "n_ratings": n_ratings,
            "importance": importance,
            "rank": rank,
            "action": action,
        },
        key=touchpoint,
    )


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
