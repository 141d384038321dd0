"""mkdocs hook: the table of the scores that run on Dask, generated from the registry.

The "Scaling out" page holds the table between two markers; at build time this hook
writes it afresh from `touchpoint.frame.distributed_scores()`, the registry the plans
of `touchpoint.scale` fill in, so the published page cannot drift from the code. The
page's own copy is kept equal to it by ``tests/scale/test_scale_dispatch.py`` (run
``python docs/_hooks/distributed_scores.py`` to print it).
"""

from __future__ import annotations

from typing import Any

START = "<!-- distributed-scores:start -->"
END = "<!-- distributed-scores:end -->"


def table() -> str:
    """The markdown table of the registry, and what each way of running means."""
    from touchpoint.frame import distributed_scores
    from touchpoint.frame._dispatch import HOWS

    rows = distributed_scores()
    lines = [
        "| score | result on Dask | how it runs | notes |",
        "| --- | --- | --- | --- |",
    ]
    for i in range(len(rows)):  # a loop over the twenty-odd scores
        function = str(rows["function"][i]).removeprefix("touchpoint.")
        lines.append(
            f"| `{function}` | {rows['result'][i]} | {rows['how'][i]} | {rows['note'][i]} |"
        )
    lines.append("")
    lines.extend(f"- **{how}**: {meaning}." for how, meaning in HOWS.items())
    return "\n".join(lines)


def render(markdown: str) -> str:
    """``markdown`` with the text between the markers replaced by `table`."""
    head, rest = markdown.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return render(markdown) if START in markdown else markdown


if __name__ == "__main__":
    print(table())
