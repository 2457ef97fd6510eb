"""``python -m harness.faults``: print, as one JSON line, what this machine allows for tmpfs
(the real disk-full runs need it; ``_tmpfs`` says what a machine must allow)."""

import json
import sys

from harness.faults import _tmpfs


def main() -> int:
    support = _tmpfs.probe()
    print(json.dumps({"allowed": support.allowed, "how": support.how, "reason": support.reason}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
