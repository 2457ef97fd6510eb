"""Small tmpfs mounts: disk full on a real kernel.

A tmpfs of ``size=N`` refuses the page that would cross ``N`` with ``ENOSPC``, in
``write(2)`` itself: tmpfs allocates at write time, so there is no delayed allocation (no
ENOSPC at ``close``/``fsync``; that family stays with the simulated explorer). Space is
counted in whole pages: a 10-byte file costs one page, a directory costs none.

Mounting needs ``CAP_SYS_ADMIN`` in the current mount namespace. :func:`probe` finds out
once per process what this machine allows: a plain ``mount`` (root, or a container that
lets us), or only a private namespace (``unshare -rm``: an unprivileged user namespace,
where the mount vanishes with the last process in it). The harness mounts only in the
first case; in the second it says how to re-run itself inside ``unshare -rm``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from harness._roots import make_root, remove_root, temp_root

__all__ = ["PAGE_SIZE", "Tmpfs", "TmpfsSupport", "probe", "tmpfs"]

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class TmpfsSupport:
    #: the harness can mount a tmpfs itself, here, now
    allowed: bool
    #: ``mount`` (a plain mount works), ``unshare`` (only inside ``unshare -rm``), ``""``
    how: str
    #: why not, or what was found (printed when tmpfs tests are skipped)
    reason: str


def _run(argv: list[str]) -> tuple[bool, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return done.returncode == 0, (done.stderr or done.stdout).strip()


def _try_mount(folder: str) -> tuple[bool, str]:
    ok, text = _run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", folder])
    if not ok:
        return False, text or "mount failed"
    try:
        if os.statvfs(folder).f_blocks * os.statvfs(folder).f_frsize > 1 << 20:
            return False, "mount reported success but the folder is not the small tmpfs"
    finally:
        _run(["umount", folder])
    return True, ""


@functools.cache
def probe() -> TmpfsSupport:
    """What this machine allows (computed once per process)."""
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return TmpfsSupport(False, "", "no mount/umount binaries on PATH")
    folder = make_root("tmpfs-probe")
    try:
        ok, why = _try_mount(folder)
        if ok:
            return TmpfsSupport(True, "mount", "mount -t tmpfs works here")
        unshare = shutil.which("unshare")
        if unshare is not None:
            script = f"mount -t tmpfs -o size=64k tmpfs '{folder}' && umount '{folder}'"
            ok_ns, why_ns = _run([unshare, "-rm", "sh", "-c", script])
            if ok_ns:
                return TmpfsSupport(
                    False,
                    "unshare",
                    f"mount -t tmpfs is not permitted here ({why}), but `unshare -rm` is: "
                    "run the harness inside it, e.g. `unshare -rm store-harness explore "
                    "--mode tmpfs ...`",
                )
            why += f"; unshare -rm: {why_ns or 'failed'}"
        return TmpfsSupport(False, "", f"cannot mount a tmpfs: {why}")
    finally:
        remove_root(folder)


class Tmpfs:
    """One mounted tmpfs at ``path`` (an empty folder the harness created)."""

    def __init__(self, path: str, size_bytes: int) -> None:
        self.path = path
        ok, text = _run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0700", "tmpfs", path]
        )
        if not ok:
            raise OSError(f"cannot mount a tmpfs on {path}: {text}")

    def used_pages(self) -> int:
        st = os.statvfs(self.path)
        return (st.f_blocks - st.f_bfree) * st.f_frsize // PAGE_SIZE

    def resize(self, size_bytes: int) -> None:
        ok, text = _run(["mount", "-o", f"remount,size={size_bytes}", self.path])
        if not ok:
            raise OSError(f"cannot resize the tmpfs on {self.path}: {text}")

    def unmount(self) -> None:
        ok, _text = _run(["umount", self.path])
        if not ok:  # something still holds it: detach now, the kernel frees it later
            _run(["umount", "-l", self.path])


@contextlib.contextmanager
def tmpfs(size_bytes: int, *, purpose: str = "tmpfs") -> Iterator[Tmpfs]:
    """A fresh tmpfs of ``size_bytes`` on a new temp root; unmounted and removed after."""
    with temp_root(purpose) as folder:
        mount = Tmpfs(folder, size_bytes)
        try:
            yield mount
        finally:
            mount.unmount()
