"""Clock times as people read and type them: ``HH:MM:SS[.mmm]`` (what ``recanon recover --from`` takes).

>>> format_clock(75.5)
'00:01:15.500'
>>> format_clock(75.0), format_clock(75.0, millis=True), format_clock(None)
('00:01:15', '00:01:15.000', '?')
"""

from __future__ import annotations


def format_clock(seconds: float | None, *, millis: bool | None = None) -> str:
    """``seconds`` as ``HH:MM:SS`` plus ``.mmm`` (always with ``millis=True``; by default only when
    there is a fraction); ``None`` as ``?``."""
    if seconds is None:
        return "?"
    whole = int(seconds)
    fraction = seconds - whole
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    show = fraction > 1e-6 if millis is None else millis
    return text + (f".{round(fraction * 1000):03d}" if show else "")
