"""The notebook widget (an anywidget model); its envelope is :mod:`vatel_nb.envelope`."""

from ..envelope import (
    BROWSER_KINDS,
    CONTROL_ACTIONS,
    FRONTEND_CLOCKS,
    KERNEL_KINDS,
    PLAYBACK_EVENTS,
    EnvelopeError,
    validate_browser_envelope,
)


def __getattr__(name: str) -> type:
    # VatelWidget imports anywidget/ipywidgets: only when asked for (headless sessions skip it).
    if name == "VatelWidget":
        from ._widget import VatelWidget

        return VatelWidget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BROWSER_KINDS",
    "CONTROL_ACTIONS",
    "FRONTEND_CLOCKS",
    "KERNEL_KINDS",
    "PLAYBACK_EVENTS",
    "EnvelopeError",
    "VatelWidget",
    "validate_browser_envelope",
]
