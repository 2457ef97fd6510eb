"""Hypothesis strategies for session keys, entries, patches and routes: the public entry
point (they live in ``harness/checks/_strategies.py``, beside the machines that use them).
"""

from harness.checks import _strategies
from harness.checks._strategies import *  # noqa: F403 - the public names are _strategies's __all__

__all__ = list(_strategies.__all__)
