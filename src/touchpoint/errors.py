"""The exception hierarchy: every error the library raises on purpose is a `TouchpointError`.

Each message says what went wrong, where (file, record, field) and with which value,
masking personal values (see `touchpoint._privacy`).

Examples
--------
>>> from touchpoint.errors import BlueprintError, Problem
>>> err = BlueprintError([Problem("touchpoints[0].code", "duplicate code", "A102")])
>>> print(err)
1 problem in the blueprint:
  - touchpoints[0].code: duplicate code (value: 'A102')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

__all__ = [
    "BlueprintError",
    "BoundaryFitWarning",
    "ChannelError",
    "MissingExtraError",
    "PluginError",
    "Problem",
    "StorageBusyError",
    "StorageError",
    "TouchpointError",
    "ValidationError",
]

_NO_VALUE = object()


@attrs.frozen
class Problem:
    """One thing wrong with an input, located by a path such as ``touchpoints[3].indicators[0].target``.

    ``value`` is the offending value (already masked if personal); leave it out when
    there is no single value to show.
    """

    path: str
    message: str
    value: Any = attrs.field(default=_NO_VALUE, eq=False)

    @property
    def has_value(self) -> bool:
        return self.value is not _NO_VALUE

    def under(self, prefix: str) -> Problem:
        """The same problem located under ``prefix``: ``weight`` under ``touchpoints[3]``
        is ``touchpoints[3].weight``, ``[0]`` under ``tiers`` is ``tiers[0]``.

        >>> str(Problem("weight", "must be > 0", -1).under("touchpoints[3]"))
        'touchpoints[3].weight: must be > 0 (value: -1)'
        """
        path = (
            f"{prefix}.{self.path}"
            if self.path and not self.path.startswith("[")
            else f"{prefix}{self.path}"
        )
        if self.has_value:
            return Problem(path, self.message, self.value)
        return Problem(path, self.message)

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        value = self.value
        if type(value).__module__ == "numpy" and hasattr(value, "item"):
            value = value.item()  # show 'late', not np.str_('late')
        shown = f" (value: {value!r})" if self.has_value else ""
        return f"{where}{self.message}{shown}"


class TouchpointError(Exception):
    """Root of every error `touchpoint` raises on purpose."""


class _ProblemsError(TouchpointError, ValueError):
    """An error that carries a list of `Problem`s and prints all of them."""

    what = "input"

    def __init__(self, problems: Iterable[Problem], *, source: str | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.problems)
        where = f" in {self.source}" if self.source else ""
        head = (
            f"{n} problem{'s' if n != 1 else ''}{where}"
            if where
            else (f"{n} problem{'s' if n != 1 else ''} in the {self.what}")
        )
        lines = [f"{head}:"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.problems,), {"source": self.source})

    def __setstate__(self, state: dict[str, Any] | None) -> None:
        self.source = (state or {}).get("source")


class BlueprintError(_ProblemsError):
    """A blueprint (in code or in a file) has one or more problems; ``problems`` lists them all."""

    what = "blueprint"


class ValidationError(_ProblemsError):
    """Records or columns from a host application failed validation.

    Each `Problem` path names the record (or row) and the field, e.g. ``records[12].amount``.
    """

    what = "records"


class StorageError(TouchpointError):
    """A storage backend could not do what was asked (and did not change anything)."""


class StorageBusyError(StorageError):
    """The store was busy: another writer held its lock past this one's timeout.

    Nothing was written; the same call may simply be made again (SQLite's ``busy_timeout``
    sets how long a writer waits before this is raised).
    """


class ChannelError(TouchpointError):
    """A channel could not deliver a message."""


class PluginError(TouchpointError):
    """A plugin failed to load or raised in a hook; the message names the plugin."""


class MissingExtraError(TouchpointError, ImportError):
    """A feature needs an optional extra that is not installed; the message says which."""

    def __init__(self, feature: str, extra: str, missing: str) -> None:
        self.feature, self.extra, self.missing = feature, extra, missing
        super().__init__(
            f"{feature} needs the optional package {missing!r}: "
            f"install it with  pip install 'touchpoint-ctm[{extra}]'"
        )


class BoundaryFitWarning(UserWarning):
    """A model's likelihood is highest at a limit of the model, and that limit was fitted.

    Raised as a warning (``warnings.warn``), not an exception: the fitted limit model is
    legitimate and its predictions are finite. The message names the limit, e.g. "no
    dropout" for a BG/NBD fit whose customers never seem to leave; the model's
    ``limit_`` attribute lists them.
    """


def problems_from(errors: Sequence[Problem] | Problem) -> list[Problem]:
    """Normalise one problem or several into a list."""
    return [errors] if isinstance(errors, Problem) else list(errors)
