"""The fault filesystem: the public entry point. The crash, disk-full, error and
non-atomic-rename models are written once, at the top of ``harness/faults/_faultfs.py``.
"""

from harness.faults import _faultfs
from harness.faults._faultfs import *  # noqa: F403 - the public names are _faultfs's __all__

__all__ = list(_faultfs.__all__)
