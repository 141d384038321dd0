"""CLV plots of a fitted BG/NBD or MBG/NBD model, like those of ``lifetimes.plotting``.

- `frequency_recency_matrix`: expected purchases in the next period for each frequency
  and recency;
- `probability_alive_matrix`: the probability of being active on the same grid;
- `period_transactions`: customers by number of repeat purchases, actual against the
  model's expectation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from touchpoint.clv import BetaGeo, ModifiedBetaGeo
from touchpoint.errors import Problem, ValidationError
from touchpoint.frame import read_columns
from touchpoint.plot._axes import axes_for

__all__ = [
    "frequency_recency_matrix",
    "period_transactions",
    "probability_alive_matrix",
    "repeat_purchase_probabilities",
]


def _population(model: Any) -> dict[str, float]:
    """The fitted model's population, or the library's error for anything else."""
    if not isinstance(model, (BetaGeo, ModifiedBetaGeo)):
        raise ValidationError(
            [Problem("model", "must be a fitted BetaGeo or ModifiedBetaGeo", type(model).__name__)]
        )
    try:
        return model.population_
    except AttributeError:
        raise ValidationError(
            [Problem("model", "the model is not fitted: call fit first", type(model).__name__)]
        ) from None


def _grid_limits(
    summary: Any, max_frequency: Any, max_recency: Any, columns: dict[str, str]
) -> tuple[int, float]:
    if summary is None and (max_frequency is None or max_recency is None):
        raise ValidationError(
            [Problem("summary", "give the summary, or both max_frequency and max_recency")]
        )
    if summary is not None and (max_frequency is None or max_recency is None):
        cols = read_columns(
            summary,
            {"frequency": columns["frequency"], "T": columns["T"]},
            required=("frequency", "T"),
        )
        if not len(cols["T"]):
            raise ValidationError([Problem("summary", "no customers")])
        if max_frequency is None:
            max_frequency = np.max(cols["frequency"])
        if max_recency is None:
            max_recency = np.max(cols["T"])
    problems = []
    if not (float(max_frequency) >= 0 and float(max_frequency) == int(max_frequency)):
        problems.append(Problem("max_frequency", "must be a whole number >= 0", max_frequency))
    if not (math.isfinite(float(max_recency)) and float(max_recency) >= 0):
        problems.append(Problem("max_recency", "must be a finite number >= 0", max_recency))
    if problems:
        raise ValidationError(problems)
    return int(max_frequency), float(max_recency)


def _grid(model: Any, summary: Any, max_frequency: Any, max_recency: Any) -> dict[str, Any]:
    """Frequencies 0..F down the rows, recencies 0, 1, ... R across, every customer aged R."""
    _population(model)
    f_max, age = _grid_limits(summary, max_frequency, max_recency, model.columns)
    frequency = np.arange(f_max + 1, dtype=np.float64)
    recency = np.arange(math.floor(age) + 1, dtype=np.float64)
    x, t_x = np.meshgrid(frequency, recency, indexing="ij")
    names = model.columns
    grid = {
        names["frequency"]: x.ravel(),
        names["recency"]: t_x.ravel(),
        names["T"]: np.full(x.size, age),
    }
    # a customer without repeat purchases has recency 0: the rest of row 0 cannot occur
    impossible = (x == 0) & (t_x > 0)
    return {"grid": grid, "shape": x.shape, "impossible": impossible, "age": age}


def _matrix(ax: Any, values: np.ndarray, age: float, label: str, title: str, **kw: Any) -> Any:
    ax = axes_for(ax)
    image = ax.imshow(
        np.ma.masked_invalid(values),
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap="viridis",
        **kw,
    )
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xlabel(f"recency: time of the last purchase (customers aged T = {age:.4g})")
    ax.set_ylabel("frequency: repeat purchases")
    ax.set_title(title)
    return ax


def frequency_recency_matrix(
    model: Any,
    summary: Any = None,
    *,
    horizon: float = 1.0,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    ax: Any = None,
) -> Any:
    """Expected purchases in the next ``horizon`` by frequency and recency (a heat map).

    As ``lifetimes.plotting.plot_frequency_recency_matrix``: for every frequency
    0..``max_frequency`` and every recency 0, 1, ... up to ``max_recency``, a customer
    aged ``T = max_recency`` (in the summary's time unit), the model's
    ``expected_purchases`` over ``horizon``. The best customers are top right: bought
    often and recently. Cells of frequency 0 with a recency above 0 cannot occur (a
    customer without repeat purchases has recency 0) and are left blank. Frequency
    runs up the rows (``lifetimes`` draws it downwards).

    Parameters
    ----------
    model:
        A fitted `touchpoint.clv.BetaGeo` or `touchpoint.clv.ModifiedBetaGeo`.
    summary:
        The customer summary the grid is sized from (the largest frequency and age);
        not needed when ``max_frequency`` and ``max_recency`` are given.
    horizon:
        The prediction period, in the summary's time unit.
    max_frequency, max_recency:
        The size of the grid; default: the summary's largest ``frequency`` and ``T``.
    ax:
        The matplotlib Axes to draw on; None: a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.images[0].get_array()`` is the matrix: row ``x`` = frequency ``x``, column
        ``j`` = recency ``j`` (masked where impossible).

    Raises
    ------
    touchpoint.errors.ValidationError
        A model that is not fitted, neither a summary nor both maxima, bad maxima or
        horizon.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from touchpoint.clv import BetaGeo
    >>> bg = BetaGeo()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> ax = frequency_recency_matrix(bg, max_frequency=10, max_recency=38)
    >>> ax.images[0].get_array().shape
    (11, 39)
    >>> plt.close(ax.figure)
    """
    g = _grid(model, summary, max_frequency, max_recency)
    values = model.expected_purchases(g["grid"], horizon).to_numpy().astype(np.float64)
    values = values.reshape(g["shape"])
    values[g["impossible"]] = np.nan
    return _matrix(
        ax,
        values,
        g["age"],
        f"expected purchases in the next {horizon:g}",
        f"Expected purchases in the next {horizon:g} time units",
    )


def probability_alive_matrix(
    model: Any,
    summary: Any = None,
    *,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    ax: Any = None,
) -> Any:
    """The probability each kind of customer is still active, by frequency and recency.

    As ``lifetimes.plotting.plot_probability_alive_matrix``, on the grid of
    `frequency_recency_matrix` (customers aged ``T = max_recency``): the model's
    ``probability_alive``. A customer who bought often but not lately has probably
    left (bottom right is pale, top left dark under BG/NBD).

    Parameters
    ----------
    model, summary, max_frequency, max_recency, ax:
        As in `frequency_recency_matrix`.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.images[0].get_array()`` is the matrix of probabilities (colour scale 0..1).

    Raises
    ------
    touchpoint.errors.ValidationError
        As `frequency_recency_matrix`.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from touchpoint.clv import BetaGeo
    >>> bg = BetaGeo()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> ax = probability_alive_matrix(bg, max_frequency=2, max_recency=38.86)
    >>> float(ax.images[0].get_array()[2, 30].round(3))
    0.721
    >>> plt.close(ax.figure)
    """
    g = _grid(model, summary, max_frequency, max_recency)
    values = model.probability_alive(g["grid"]).to_numpy().astype(np.float64)
    values = values.reshape(g["shape"])
    values[g["impossible"]] = np.nan
    return _matrix(
        ax,
        values,
        g["age"],
        "probability of being active",
        "Probability of being active",
        vmin=0.0,
        vmax=1.0,
    )


def repeat_purchase_probabilities(model: Any, T: Any, max_frequency: int) -> np.ndarray:
    """P(x repeat purchases in (0, T]) of a new customer, x = 0..max_frequency - 1.

    Returns an array of shape ``(len(T), max_frequency)``. Under BG/NBD (Fader, Hardie &
    Lee 2005, eq. 8) a customer buys at a Poisson rate while active and leaves after
    each purchase with chance p; under MBG/NBD also right after the first purchase.
    Mixed over the gamma rates and the beta dropout chances::

        P(X(T) = x) = E[(1-p)^(x+e)] NB(x; T) + [x+e >= 1] E[p (1-p)^(x+e-1)] (1 - sum_{j<x} NB(j; T))

    with e = 0 (BG/NBD) or 1 (MBG/NBD) and NB the negative binomial (Poisson-gamma)
    counts. Written in the model's finite coordinates (`population_`), so the limits
    (no dropout, equal rates, equal dropout chances) need no special case.
    """
    pop = _population(model)
    mu, phi = pop["mean_rate"], pop["rate_cv"] ** 2
    pi, psi = pop["mean_dropout"], pop["dropout_dispersion"]
    e = 1 if isinstance(model, ModifiedBetaGeo) else 0
    t = np.asarray(T, dtype=np.float64)
    scale = mu * t
    if phi > 0:
        nb = np.exp(-np.log1p(phi * scale) / phi)
        step = scale / (1.0 + phi * scale)
    else:
        nb = np.exp(-scale)
        step = scale

    def beta_moment(n: int) -> float:
        """E[(1 - p)^n] under the Beta(pi, psi) dropout chances."""
        out = 1.0
        for k in range(n):  # n is at most max_frequency: a handful of factors
            out *= (1.0 - pi + k * psi) / (1.0 + k * psi)
        return out

    out = np.empty((len(t), max_frequency))
    below = np.zeros(len(t))  # sum of NB(j) for j < x
    for x in range(max_frequency):  # a loop over purchase counts, vectorised over customers
        if x > 0:
            nb = nb * (1.0 + (x - 1) * phi) / x * step
        n = x + e
        alive = beta_moment(n) * nb
        left = beta_moment(n - 1) * pi / (1.0 + (n - 1) * psi) * (1.0 - below) if n >= 1 else 0.0
        out[:, x] = alive + left
        below = below + nb
    return out


def period_transactions(model: Any, summary: Any, *, max_frequency: int = 7, ax: Any = None) -> Any:
    """Customers by number of repeat purchases: the data against the fitted model.

    The check of ``lifetimes.plotting.plot_period_transactions``: bars of how many
    customers made 0, 1, ... repeat purchases in their observation period, next to how
    many the model expects. The expectation is exact rather than simulated: for each
    customer, the model's probability of each count over their own ``T``
    (`repeat_purchase_probabilities`), summed over customers. The last bar gathers
    ``max_frequency`` purchases or more.

    Parameters
    ----------
    model:
        A fitted `touchpoint.clv.BetaGeo` or `touchpoint.clv.ModifiedBetaGeo`.
    summary:
        The customer summary the model was fitted on (``frequency`` and ``T``, under the
        model's column names).
    max_frequency:
        Counts from this one up share the last bar (labelled ``"7+"`` by default).
    ax:
        The matplotlib Axes to draw on; None: a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax.containers[0]`` holds the actual bars, ``ax.containers[1]`` the model's,
        one per count 0 .. ``max_frequency - 1`` and the last for ``max_frequency+``.

    Raises
    ------
    touchpoint.errors.ValidationError
        A model that is not fitted, summary columns missing or not finite, a
        ``max_frequency`` below 1.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from touchpoint.clv import BetaGeo
    >>> from touchpoint.datasets import load_cdnow
    >>> summary = load_cdnow("summary", sample=True)
    >>> ax = period_transactions(BetaGeo().fit(summary), summary)
    >>> [int(b.get_height()) for b in ax.containers[0]]
    [1411, 439, 214, 100, 62, 38, 29, 64]
    >>> plt.close(ax.figure)
    """
    _population(model)
    if isinstance(max_frequency, bool) or int(max_frequency) != max_frequency or max_frequency < 1:
        raise ValidationError(
            [Problem("max_frequency", "must be a whole number >= 1", max_frequency)]
        )
    max_frequency = int(max_frequency)
    names = model.columns
    cols = read_columns(
        summary, {"frequency": names["frequency"], "T": names["T"]}, required=("frequency", "T")
    )
    problems = []
    for role in ("frequency", "T"):
        values = np.asarray(cols[role], dtype=np.float64)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            problems.append(
                Problem(f"summary[{names[role]!r}][{row}]", "must be a number >= 0", values[row])
            )
    if problems:
        raise ValidationError(problems)
    x = np.asarray(cols["frequency"], dtype=np.float64).astype(np.int64)
    T = np.asarray(cols["T"], dtype=np.float64)
    actual = np.bincount(np.minimum(x, max_frequency), minlength=max_frequency + 1)
    probabilities = repeat_purchase_probabilities(model, T, max_frequency).sum(axis=0)
    expected = np.append(probabilities, len(T) - probabilities.sum())
    labels = [str(i) for i in range(max_frequency)] + [f"{max_frequency}+"]
    at = np.arange(max_frequency + 1)
    ax = axes_for(ax)
    ax.bar(at - 0.2, actual, width=0.4, color="C0", label="actual")
    ax.bar(at + 0.2, expected, width=0.4, color="C1", label="model")
    ax.set_xticks(at, labels)
    ax.set_xlabel("repeat purchases in the observation period")
    ax.set_ylabel("customers")
    ax.set_title("Repeat purchases: actual and expected")
    ax.legend()
    return ax
