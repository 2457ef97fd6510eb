"""store-harness: crash-consistency, fault-injection and contention harness for session stores.

Layers (docs/design.md): the core (fault filesystem, oracle, explorer, replay, machines,
bench) never imports ``scenarios``; only the front doors (CLI, gate, pytest plugin) do.
"""

from ._errors import HarnessError

__all__ = ["HarnessError"]
