"""Markdown tables of timing spreads, shared by the browser benchmarks."""

from __future__ import annotations

import statistics


def spread_table(results: dict[str, list[float]], heading: str) -> str:
    """One row per measurement: count, median, p10, p90, min and max in milliseconds."""
    lines = [
        f"| {heading} | n | median ms | p10 ms | p90 ms | min ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, values in results.items():
        if not values:
            lines.append(f"| {name} | 0 | — | — | — | — | — |")
            continue
        ordered = sorted(values)
        deciles = (
            statistics.quantiles(ordered, n=10, method="inclusive")
            if len(ordered) > 1
            else ordered * 9
        )
        lines.append(
            f"| {name} | {len(ordered)} | {statistics.median(ordered):.0f} | "
            f"{deciles[0]:.0f} | {deciles[-1]:.0f} | {ordered[0]:.0f} | {ordered[-1]:.0f} |"
        )
    return "\n".join(lines)
