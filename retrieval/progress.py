"""Progress text with an estimate of the time left, for callers that draw their own bar."""

from __future__ import annotations

import time
from collections.abc import Callable


def eta_text(elapsed: float, fraction: float) -> str:
    """'about 3 min left' from the time spent and the share done ('' until there is a basis)."""
    if fraction <= 0.0 or fraction >= 1.0 or elapsed < 1.0:
        return ""
    left = elapsed * (1.0 - fraction) / fraction
    if left < 60:
        return f"about {max(1, round(left))} s left"
    if left < 3600:
        return f"about {round(left / 60)} min left"
    return f"about {left / 3600:.1f} h left"


def with_eta(draw: Callable[[str, float], None], clock: Callable[[], float] = time.monotonic):
    """Wrap a ``(message, fraction)`` progress callback so each message ends with the ETA."""
    start = clock()

    def note(message: str, fraction: float) -> None:
        eta = eta_text(clock() - start, fraction)
        draw(f"{message} · {eta}" if eta else message, fraction)

    return note
