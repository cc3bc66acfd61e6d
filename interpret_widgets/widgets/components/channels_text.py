"""Channel lists as text: ``"0-7, 12"`` read and written."""

from __future__ import annotations

import re
from collections.abc import Iterable


def parse_channels(text: str) -> list[int]:
    """Channel indices from text such as ``"0-7, 12"`` (ranges inclusive, order kept).

    Raises
    ------
    ValueError
        If a part is neither a non-negative integer nor a range ``a-b`` with ``a <= b``,
        or if no channel is given.
    """
    channels: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise ValueError(f"cannot read channels {part!r}; write e.g. '0-7, 12'")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if high < low:
            raise ValueError(f"channel range {part!r} runs backwards; write e.g. '{high}-{low}'")
        channels.extend(range(low, high + 1))
    if not channels:
        raise ValueError("no channels given; write e.g. '0-7, 12'")
    return channels


def format_channels(channels: Iterable[int]) -> str:
    """The shortest ``"0-7, 12"`` text for a list of channels (runs of consecutive ones)."""
    parts: list[str] = []
    values = list(channels)
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[i - 1] + 1:
            low, high = values[start], values[i - 1]
            parts.append(str(low) if low == high else f"{low}-{high}")
            start = i
    return ", ".join(parts)
