"""vatel_nb: talk to a Vatel voice agent from a Jupyter notebook, and measure how it went."""

from ._version import __version__

__all__ = ["__version__"]
