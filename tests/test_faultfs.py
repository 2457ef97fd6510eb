"""The fault filesystem does exactly what its header promises, on pyfakefs and real folders."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator

import pytest
from pyfakefs.fake_filesystem_unittest import Patcher

from harness.faultfs import FaultFileSystem, FaultPlan, SimulatedCrash
from harness.faults._durability import PowerLossChoice
from reference_store.fs import OsFileSystem


@pytest.fixture(params=["fake", "real"])
def root(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    if request.param == "fake":
        with Patcher() as patcher:
            assert patcher.fs is not None
            patcher.fs.create_dir("/root")
            yield "/root"
    else:
        yield str(tmp_path)


def _write(fs: FaultFileSystem, path: str, data: bytes, *, sync: bool = False) -> None:
    fs.write_file(path, data, sync=sync)


def test_operations_are_numbered_with_relative_paths(root: str) -> None:
    fs = FaultFileSystem(OsFileSystem(), root)
    _write(fs, os.path.join(root, "a.tmp"), b"hello")
    fs.replace(os.path.join(root, "a.tmp"), os.path.join(root, "a"))
    assert [(op.n, op.name, op.path, op.path2) for op in fs.trace] == [
        (1, "open_write", "a.tmp", None),
        (2, "write", "a.tmp", None),
        (3, "close", "a.tmp", None),
        (4, "replace", "a.tmp", "a"),
    ]
    assert fs.op_count == 4


def test_crash_before_operation_k_skips_it_and_kills_the_process(root: str) -> None:
    plain = OsFileSystem()
    fs = FaultFileSystem(plain, root, FaultPlan(crash_at=4))
    _write(fs, os.path.join(root, "a.tmp"), b"hello")
    with pytest.raises(SimulatedCrash) as info:
        fs.replace(os.path.join(root, "a.tmp"), os.path.join(root, "a"))
    assert info.value.op == 4
    assert not plain.exists(os.path.join(root, "a"))  # the rename never happened
    assert plain.read_file(os.path.join(root, "a.tmp")) == b"hello"  # page cache survives
    with pytest.raises(SimulatedCrash):  # a dead process does nothing more
        fs.unlink(os.path.join(root, "a.tmp"))
    assert plain.exists(os.path.join(root, "a.tmp"))
    assert not isinstance(info.value, Exception)  # no `except Exception` can swallow it


def test_torn_write_lands_a_prefix_then_crashes(root: str) -> None:
    plain = OsFileSystem()
    fs = FaultFileSystem(plain, root, FaultPlan(crash_at=2, torn_bytes=3))
    handle = fs.open_write(os.path.join(root, "f"))
    with pytest.raises(SimulatedCrash):
        fs.write(handle, b"abcdef")
    assert plain.read_file(os.path.join(root, "f")) == b"abc"
    assert fs.trace[-1].outcome == "torn:3"


def test_enospc_at_the_write_that_crosses_the_budget(root: str) -> None:
    plain = OsFileSystem()
    fs = FaultFileSystem(plain, root, FaultPlan(enospc_budget=4))
    handle = fs.open_write(os.path.join(root, "f"))
    fs.write(handle, b"ab")
    with pytest.raises(OSError) as info:
        fs.write(handle, b"cdef")
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == os.path.join(root, "f")
    fs.close(handle)
    assert plain.read_file(os.path.join(root, "f")) == b"abcd"


def test_enospc_charged_at_close_truncates_and_reports(root: str) -> None:
    plain = OsFileSystem()
    fs = FaultFileSystem(plain, root, FaultPlan(enospc_budget=2, enospc_at_close=True))
    handle = fs.open_write(os.path.join(root, "f"))
    fs.write(handle, b"abcdef")  # delayed allocation: the write itself succeeds
    with pytest.raises(OSError) as info:
        fs.close(handle)
    assert info.value.errno == errno.ENOSPC
    assert plain.read_file(os.path.join(root, "f")) == b"ab"


@pytest.mark.parametrize(
    ("kind", "exc_type"),
    [
        ("EACCES", PermissionError),
        ("ENOENT", FileNotFoundError),
        ("EIO", OSError),
        ("EXDEV", OSError),
    ],
)
def test_injected_errors_are_real_oserrors(root: str, kind: str, exc_type: type) -> None:
    fs = FaultFileSystem(OsFileSystem(), root, FaultPlan(errors=((1, kind),)))
    with pytest.raises(exc_type) as info:
        fs.mkdir(os.path.join(root, "d"))
    assert info.value.errno == getattr(errno, kind)
    assert not OsFileSystem().exists(os.path.join(root, "d"))
    fs.mkdir(os.path.join(root, "d"))  # only operation 1 was doomed


def test_non_atomic_replace_has_a_window_without_the_target(root: str) -> None:
    plain = OsFileSystem()
    plain.write_file(os.path.join(root, "t"), b"old")
    plain.write_file(os.path.join(root, "s"), b"new")
    # unlink t (#1), open t (#2), write (#3): crash before the write
    fs = FaultFileSystem(plain, root, FaultPlan(non_atomic_replace=True, crash_at=3))
    with pytest.raises(SimulatedCrash):
        fs.replace(os.path.join(root, "s"), os.path.join(root, "t"))
    assert plain.read_file(os.path.join(root, "t")) == b""
    assert plain.read_file(os.path.join(root, "s")) == b"new"
    fs2 = FaultFileSystem(plain, root, FaultPlan(non_atomic_replace=True))
    fs2.replace(os.path.join(root, "s"), os.path.join(root, "t"))
    assert plain.read_file(os.path.join(root, "t")) == b"new"
    assert not plain.exists(os.path.join(root, "s"))


def _files_after(fs: FaultFileSystem, choice: PowerLossChoice) -> dict[str, bytes]:
    assert fs.durability is not None
    files, _dirs = fs.durability.state_after(choice)
    return files


def test_power_loss_drops_unsynced_data_and_names(root: str) -> None:
    plain = OsFileSystem()
    plain.write_file(os.path.join(root, "store.json"), b"old")
    fs = FaultFileSystem(plain, root, track_durability=True)
    _write(fs, os.path.join(root, "store.json.tmp"), b"new")
    fs.replace(os.path.join(root, "store.json.tmp"), os.path.join(root, "store.json"))
    assert fs.durability is not None
    effects = fs.durability.unsynced_effects()
    kinds = [e.kind for e in effects]
    assert kinds == ["data", "create", "rename"]
    every = frozenset(e.index for e in effects)
    assert _files_after(fs, PowerLossChoice("all", every)) == {"store.json": b"new"}
    assert _files_after(fs, PowerLossChoice("none", frozenset())) == {"store.json": b"old"}
    # The classic: the rename survived, the data did not -> an empty file.
    data = next(e.index for e in effects if e.kind == "data")
    assert _files_after(fs, PowerLossChoice("no-data", every - {data})) == {"store.json": b""}


def test_fsync_of_file_and_folder_makes_everything_durable(root: str) -> None:
    plain = OsFileSystem()
    plain.write_file(os.path.join(root, "store.json"), b"old")
    fs = FaultFileSystem(plain, root, track_durability=True)
    _write(fs, os.path.join(root, "store.json.tmp"), b"new", sync=True)
    fs.replace(os.path.join(root, "store.json.tmp"), os.path.join(root, "store.json"))
    assert fs.durability is not None
    assert [e.kind for e in fs.durability.unsynced_effects()] == ["create", "rename"]
    fs.fsync_dir(root)
    assert fs.durability.unsynced_effects() == []
    assert _files_after(fs, PowerLossChoice("none", frozenset())) == {"store.json": b"new"}


def test_materialize_rewrites_the_root(root: str) -> None:
    plain = OsFileSystem()
    fs = FaultFileSystem(plain, root, track_durability=True)
    fs.mkdir(os.path.join(root, "d"))
    _write(fs, os.path.join(root, "d", "x"), b"data")
    assert fs.durability is not None
    fs.durability.materialize(PowerLossChoice("none", frozenset()))
    assert plain.listdir(root) == []  # neither the folder nor the file was durable


def test_same_workload_gives_the_same_trace_on_both_backends(tmp_path: os.PathLike[str]) -> None:
    import scenarios
    from harness.engine._explorer import RunSpec, run_once

    scenario = scenarios.get("update.kill")
    traces = []
    for backend in ("fake", "real", "real"):
        spec = RunSpec(
            "update.kill",
            "default",
            "directory",
            "hardened",
            backend,
            FaultPlan(crash_at=30),
            "crash",
        )
        traces.append([op.to_json() for op in run_once(scenario, spec).trace])
    assert traces[0] == traces[1] == traces[2]
    assert traces[0][-1]["outcome"] == "crash"
