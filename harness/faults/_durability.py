"""What survives a power loss: the durability model behind ``FaultFileSystem``.

THE MODEL (kept true by the code below; after SQLite's ``test6.c``, ALICE's
"application-level crash vulnerabilities" model, LazyFS's "lose unsynced data", and
RocksDB's ``FaultInjectionTestFS``):

* Two views of the tree under the harness's root: the *volatile* view (what every
  process sees -- the page cache; the inner seam holds it) and the *durable* view (what
  the disk holds). At the start every file and folder is durable.
* A file is an inode with volatile content and durable content. ``write`` changes only
  the volatile content. ``fsync(handle)`` copies volatile to durable content of that
  inode. A file created and never synced has durable content ``b""``.
* Names are a map path -> inode (plus a set of folders). ``open_write`` of a new path,
  ``link``, ``replace``, ``unlink``, ``mkdir`` and ``rmdir`` change the volatile names
  at once; each is also recorded as a *pending name operation* that becomes durable only
  when every folder it touched (the parent of each path it names) is ``fsync_dir``-ed
  after it. An fsync of a file does NOT make its name durable (POSIX promises no more;
  ext4 often does, which is why code that relies on it breaks elsewhere).
* At a power loss, the *unsynced effects* are: the data of each inode whose volatile
  content differs from its durable content, and each pending name operation, in order.
  Any subset of them may survive; the rest are lost. A surviving name operation is
  replayed on the durable names in its original order; one that no longer applies (its
  source is gone because an earlier effect was dropped) is skipped. A surviving data
  effect may also be *torn*: only a prefix of the new content reached the disk.
* Not modelled: reordering of data inside one file beyond a prefix, metadata such as
  mode and mtime (kept as volatile), and corruption of synced data.

The explorer chooses which unsynced effects survive: all, none, each single one
dropped, then a seeded sample (``PowerLossChoice``).
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from reference_store.fs import FileSystem

__all__ = ["DurabilityTracker", "Effect", "PowerLossChoice", "power_loss_choices"]


@dataclass(frozen=True)
class Effect:
    """One unsynced effect that a power loss may drop: ``data`` or a name operation."""

    index: int
    kind: str  # "data" | "create" | "link" | "rename" | "unlink" | "mkdir" | "rmdir"
    path: str  # relative to the root
    path2: str | None = None

    def describe(self) -> str:
        if self.kind == "rename":
            return f"rename {self.path} -> {self.path2}"
        if self.kind == "link":
            return f"link {self.path} -> {self.path2}"
        return f"{self.kind} {self.path}"


@dataclass(frozen=True)
class PowerLossChoice:
    """Which unsynced effects survive (by ``Effect.index``), and which data is torn."""

    label: str
    survive: frozenset[int]
    torn: frozenset[int] = frozenset()

    def to_json(self) -> dict[str, object]:
        return {"label": self.label, "survive": sorted(self.survive), "torn": sorted(self.torn)}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> PowerLossChoice:
        survive = raw.get("survive", [])
        torn = raw.get("torn", [])
        assert isinstance(survive, list) and isinstance(torn, list)
        return cls(str(raw.get("label", "")), frozenset(survive), frozenset(torn))


def power_loss_choices(
    effects: list[Effect], *, samples: int, seed: int
) -> Iterator[PowerLossChoice]:
    """All survive, none survive, each single one dropped, then ``samples`` random
    subsets (some with torn data), deterministic for a seed."""
    every = frozenset(e.index for e in effects)
    yield PowerLossChoice("all-survive", every)
    if not effects:
        return
    yield PowerLossChoice("none-survive", frozenset())
    for effect in effects:
        yield PowerLossChoice(f"drop:{effect.describe()}", every - {effect.index})
    data = [e.index for e in effects if e.kind == "data"]
    for index in data:
        yield PowerLossChoice(f"torn:{effects[index].path}", every, frozenset({index}))
    rng = random.Random(seed)
    seen: set[tuple[frozenset[int], frozenset[int]]] = set()
    for n in range(samples):
        survive = frozenset(i for i in every if rng.random() < 0.5)
        torn = frozenset(i for i in data if i in survive and rng.random() < 0.25)
        if (survive, torn) in seen:
            continue
        seen.add((survive, torn))
        yield PowerLossChoice(f"sample:{n}", survive, torn)


@dataclass
class _Inode:
    volatile: bytes = b""
    durable: bytes = b""


@dataclass
class _NameOp:
    kind: str
    path: str
    path2: str | None
    inode: int | None
    folders: frozenset[str]  # parents that must be fsynced for it to be durable
    synced: set[str] = field(default_factory=set)


class DurabilityTracker:
    """Shadow of the tree under ``root`` that knows what is durable (see the model)."""

    def __init__(self, inner: FileSystem, root: str) -> None:
        self.inner = inner
        self.root = os.path.abspath(root)
        self._ids = itertools.count(1)
        self.inodes: dict[int, _Inode] = {}
        self.volatile: dict[str, int] = {}  # rel path -> inode
        self.durable: dict[str, int] = {}
        self.volatile_dirs: set[str] = set()
        self.durable_dirs: set[str] = set()
        self.pending: list[_NameOp] = []
        self._snapshot("")

    # --- paths -----------------------------------------------------------------------------
    def rel(self, path: str) -> str | None:
        full = os.path.abspath(path)
        if full == self.root:
            return ""
        if not full.startswith(self.root + os.sep):
            return None
        return full[len(self.root) + 1 :]

    def _snapshot(self, rel: str) -> None:
        full = os.path.join(self.root, rel) if rel else self.root
        for name in self.inner.listdir(full):
            child = f"{rel}/{name}" if rel else name
            path = os.path.join(full, name)
            if self.inner.stat(path).is_dir:
                self.volatile_dirs.add(child)
                self.durable_dirs.add(child)
                self._snapshot(child)
            else:
                content = self.inner.read_file(path)
                inode = next(self._ids)
                self.inodes[inode] = _Inode(content, content)
                self.volatile[child] = inode
                self.durable[child] = inode

    @staticmethod
    def _parent(rel: str) -> str:
        return rel.rsplit("/", 1)[0] if "/" in rel else ""

    def _record(self, kind: str, path: str, path2: str | None, inode: int | None) -> None:
        folders = {self._parent(path)}
        if path2 is not None and kind == "rename":
            folders.add(self._parent(path2))
        if path2 is not None and kind == "link":
            folders = {self._parent(path2)}
        self.pending.append(_NameOp(kind, path, path2, inode, frozenset(folders)))

    # --- events from the fault filesystem (called after the inner op succeeded) -----------
    def opened(self, path: str) -> int | None:
        """A file opened for write (created or truncated); returns its inode."""
        rel = self.rel(path)
        if rel is None:
            return None
        inode = self.volatile.get(rel)
        if inode is None:
            inode = next(self._ids)
            self.inodes[inode] = _Inode()
            self.volatile[rel] = inode
            self._record("create", rel, None, inode)
        else:
            self.inodes[inode].volatile = b""
        return inode

    def ensured(self, path: str) -> None:
        """A file opened with create-if-missing and without truncation (a lock file)."""
        rel = self.rel(path)
        if rel is not None and rel not in self.volatile:
            inode = next(self._ids)
            self.inodes[inode] = _Inode()
            self.volatile[rel] = inode
            self._record("create", rel, None, inode)

    def wrote(self, inode: int | None, data: bytes) -> None:
        if inode is not None:
            self.inodes[inode].volatile += data

    def truncated(self, inode: int | None, size: int) -> None:
        if inode is not None:
            node = self.inodes[inode]
            node.volatile = node.volatile[:size]

    def synced(self, inode: int | None) -> None:
        if inode is not None:
            node = self.inodes[inode]
            node.durable = node.volatile

    def renamed(self, src: str, dst: str) -> None:
        rs, rd = self.rel(src), self.rel(dst)
        if rs is None or rd is None:
            return
        if rs in self.volatile_dirs:
            self._move_dir(self.volatile, self.volatile_dirs, rs, rd)
        else:
            inode = self.volatile.pop(rs, None)
            if inode is not None:
                self.volatile[rd] = inode
        self._record("rename", rs, rd, None)

    def linked(self, src: str, dst: str) -> None:
        rs, rd = self.rel(src), self.rel(dst)
        if rs is None or rd is None or rs not in self.volatile:
            return
        self.volatile[rd] = self.volatile[rs]
        self._record("link", rs, rd, self.volatile[rs])

    def unlinked(self, path: str) -> None:
        rel = self.rel(path)
        if rel is not None:
            self.volatile.pop(rel, None)
            self._record("unlink", rel, None, None)

    def made_dir(self, path: str) -> None:
        rel = self.rel(path)
        if rel is not None:
            self.volatile_dirs.add(rel)
            self._record("mkdir", rel, None, None)

    def removed_dir(self, path: str) -> None:
        rel = self.rel(path)
        if rel is not None:
            self.volatile_dirs.discard(rel)
            self._record("rmdir", rel, None, None)

    def synced_dir(self, path: str) -> None:
        rel = self.rel(path)
        if rel is None:
            return
        for op in self.pending:
            if rel in op.folders:
                op.synced.add(rel)
        # Apply, in order, every pending operation all of whose folders are now synced.
        still: list[_NameOp] = []
        for op in self.pending:
            if op.synced >= op.folders:
                self._apply(op, self.durable, self.durable_dirs)
            else:
                still.append(op)
        self.pending = still

    # --- power loss ------------------------------------------------------------------------
    def unsynced_effects(self) -> list[Effect]:
        effects: list[Effect] = []
        reachable = set(self.volatile.values()) | set(self.durable.values())
        for op in self.pending:
            if op.inode is not None:
                reachable.add(op.inode)
        for inode in sorted(reachable):
            node = self.inodes[inode]
            if node.volatile != node.durable:
                name = self._name_of(inode)
                effects.append(Effect(len(effects), "data", name, str(inode)))
        for op in self.pending:
            effects.append(Effect(len(effects), op.kind, op.path, op.path2))
        return effects

    def _name_of(self, inode: int) -> str:
        for mapping in (self.volatile, self.durable):
            for rel, node in mapping.items():
                if node == inode:
                    return rel
        return f"<inode {inode}>"

    def state_after(self, choice: PowerLossChoice) -> tuple[dict[str, bytes], set[str]]:
        """Files (rel path -> content) and folders on disk after a power loss."""
        effects = self.unsynced_effects()
        data_effects = {int(e.path2 or 0): e for e in effects if e.kind == "data"}
        names = dict(self.durable)
        dirs = set(self.durable_dirs)
        first_name_effect = len(data_effects)
        for offset, op in enumerate(self.pending):
            if first_name_effect + offset in choice.survive:
                self._apply(op, names, dirs)
        files: dict[str, bytes] = {}
        for rel, inode in names.items():
            if self._parent(rel) and self._parent(rel) not in dirs:
                continue  # its folder's creation did not survive
            node = self.inodes[inode]
            effect = data_effects.get(inode)
            if effect is None or effect.index not in choice.survive:
                content = node.durable
            elif effect.index in choice.torn:
                content = node.volatile[: max(len(node.durable), len(node.volatile) // 2)]
            else:
                content = node.volatile
            files[rel] = content
        return files, {d for d in dirs if not self._parent(d) or self._parent(d) in dirs}

    @staticmethod
    def _move_dir(names: dict[str, int], dirs: set[str], src: str, dst: str) -> None:
        prefix = src + "/"
        for rel in [r for r in names if r.startswith(prefix)]:
            names[dst + "/" + rel[len(prefix) :]] = names.pop(rel)
        for rel in [d for d in dirs if d == src or d.startswith(prefix)]:
            dirs.discard(rel)
            dirs.add(dst + rel[len(src) :])

    def _apply(self, op: _NameOp, names: dict[str, int], dirs: set[str]) -> None:
        if op.kind == "create" and op.inode is not None:
            names[op.path] = op.inode
        elif op.kind == "link" and op.inode is not None and op.path2 is not None:
            names[op.path2] = op.inode
        elif op.kind == "rename" and op.path2 is not None:
            if op.path in dirs:
                self._move_dir(names, dirs, op.path, op.path2)
            elif op.path in names:
                names[op.path2] = names.pop(op.path)
        elif op.kind == "unlink":
            names.pop(op.path, None)
        elif op.kind == "mkdir":
            dirs.add(op.path)
        elif op.kind == "rmdir":
            dirs.discard(op.path)

    def materialize(self, choice: PowerLossChoice) -> None:
        """Rewrite the tree under the root (via the inner seam) as the disk holds it."""
        files, dirs = self.state_after(choice)
        for name in self.inner.listdir(self.root):
            path = os.path.join(self.root, name)
            if self.inner.stat(path).is_dir:
                self.inner.remove_tree(path)
            else:
                self.inner.unlink(path)
        for rel in sorted(dirs, key=lambda d: d.count("/")):
            self.inner.mkdir(os.path.join(self.root, rel))
        for rel, content in sorted(files.items()):
            self.inner.write_file(os.path.join(self.root, rel), content, mode=0o600)

    def effects_summary(self) -> Iterable[str]:
        return (e.describe() for e in self.unsynced_effects())
