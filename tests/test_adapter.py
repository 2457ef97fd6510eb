"""The adapter protocol: ``python -m reference_store.adapter`` and ``harness.foreign._client``.

Every test drives real child processes over real temp folders (the reference store's own
adapter, or a few lines of Python playing a broken one). Synchronisation is by protocol
only: a response, an announced event, or a process exit -- never a sleep.
"""

from __future__ import annotations

import copy
import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import HarnessError
from harness.foreign import (
    AdapterClient,
    AdapterCrashed,
    AdapterError,
    AdapterProtocolError,
    AdapterRejectedError,
    AdapterStoreError,
    AdapterTimeout,
    AdapterViolationError,
    reference_command,
)
from reference_store import StoreError, crash_leftovers, deterministic_runtime, migrate, open_store
from reference_store.adapter import Adapter, AdapterOptions, parse_args, serve
from reference_store.protocol import EVENT_OP, EVENT_PAUSED, EVENT_REQUEST, OPS, PAUSED_EXIT_CODE

pytestmark = pytest.mark.real_only

TIMEOUT = 20.0
LAYOUTS = ["legacy", "directory", "sqlite", "auto"]
PROFILES = ["seed", "hardened"]
SEAM_OPS = {
    "open_write",
    "create_excl",
    "write",
    "fsync",
    "close",
    "read",
    "try_lock",
    "unlock",
    "replace",
    "link",
    "unlink",
    "mkdir",
    "rmdir",
    "listdir",
    "stat",
    "fsync_dir",
    "chmod",
}
Entry = dict[str, Any]


def entry(session_id: str, updated_at: int, **fields: Any) -> Entry:
    return {"sessionId": session_id, "updatedAt": updated_at, **fields}


FAR_FUTURE = 9_999_999_999_999  # updatedAt that max(old, now) keeps: deterministic routes
INITIAL: dict[str, Entry] = {
    "agent:main:telegram:direct:12345": entry("s1", FAR_FUTURE, lastChannel="telegram"),
    "agent:main:Telegram:direct:777": entry(
        "s2", FAR_FUTURE - 1, origin={"label": "Zoë ✓", "n": [1, 2.5]}
    ),
    "agent:main:telegram:direct:777": entry("s3", FAR_FUTURE),
    "agent:ops:main": entry("s4", 3, turns=1, skillsSnapshot={"a": {"b": None}}),
}


def start(path: Path | None = None, **options: Any) -> AdapterClient:
    layout = options.pop("layout", "auto")
    profile = options.pop("profile", "seed")
    return AdapterClient.reference(
        path, layout=layout, profile=profile, timeout=options.pop("timeout", TIMEOUT), **options
    )


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.json"


# --- the same calls, through the adapter and in process ------------------------------------------


def apply_update(
    current: dict[str, Any],
    sets: dict[str, Any],
    deletes: list[str],
    patches: dict[str, dict[str, Any]],
) -> int:
    """The documented ``update`` semantics, written independently of the adapter."""
    touched = list(dict.fromkeys([*sets, *deletes, *patches]))
    before = {k: json.dumps(current[k], sort_keys=True) if k in current else None for k in touched}
    current.update(copy.deepcopy(sets))
    for key in deletes:
        current.pop(key, None)
    for key, partial in patches.items():
        if key in current:
            current[key] = {**current[key], **partial}
    after = {k: json.dumps(current[k], sort_keys=True) if k in current else None for k in touched}
    return sum(1 for k in touched if before[k] != after[k])


def increment(field: str, by: int) -> Callable[[Entry], Entry]:
    return lambda e: {field: e.get(field, 0) + by}


def run_script(
    call: Callable[..., Any],
    *,
    update: Callable[[dict[str, Any], list[str], dict[str, dict[str, Any]]], Any],
    update_entry: Callable[[str, dict[str, Any] | None, tuple[str, int] | None], Any],
) -> list[Any]:
    """One sequence of every API call; ``call(name, *args, **kwargs)`` runs the plain ones."""
    ops_key = "agent:ops:main"
    return [
        call("load"),
        call("save", INITIAL),
        call("load", skip_cache=True),
        call("load"),
        update(
            {"agent:new:main": entry("s5", 6, lastTo="x")},
            ["agent:main:telegram:direct:12345", "absent"],
            {ops_key: {"turns": 2, "label": "ops"}, "absent:too": {"x": 1}},
        ),
        update({}, [], {ops_key: {"turns": 2}}),  # changes nothing: 0
        update_entry(ops_key, {"note": "patched"}, None),
        update_entry(ops_key, None, None),  # no change, entry returned
        update_entry(ops_key, None, ("turns", 3)),
        update_entry(ops_key, {"x": [1]}, ("hits", 1)),  # missing field starts at 0
        update_entry("agent:nobody:main", {"x": 1}, None),  # None, nothing created
        update_entry("  AGENT:OPS:MAIN ", {"y": 2}, None),  # key resolution
        call(
            "update_last_route",
            "agent:main:TELEGRAM:direct:777",
            channel="telegram",
            to="777",
            account_id="acc",
            thread_id=None,
        ),
        call("update_last_route", "agent:fresh:main", channel="fresh-route", to="me"),
        call("read_updated_at", "agent:main:telegram:direct:777"),
        call("read_updated_at", "agent:ops:main"),
        call("read_updated_at", "agent:nobody:main"),
        call("load", skip_cache=True),
        call("migrate"),
        call("load", skip_cache=True),
        call("migrate"),  # idempotent
        call("load"),
    ]


CLOCK_MS = 1_700_000_000_000


def mask_fresh_route(value: Any) -> Any:
    """The entry ``update_last_route`` creates has a random sessionId and a clock time."""
    if isinstance(value, dict):
        if value.get("lastChannel") == "fresh-route":
            return {**value, "sessionId": "*", "updatedAt": "*"}
        return {k: mask_fresh_route(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_fresh_route(v) for v in value]
    return value


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_call_round_trips_like_the_reference_store(
    tmp_path: Path, profile: str, layout: str
) -> None:
    (tmp_path / "adapter").mkdir()
    (tmp_path / "direct").mkdir()
    remote_path = tmp_path / "adapter" / "sessions.json"
    local_path = str(tmp_path / "direct" / "sessions.json")

    # One clock on both sides: update_entry stamps updatedAt with the store's own clock.
    store = open_store(local_path, layout, profile, runtime=deterministic_runtime(CLOCK_MS))
    try:

        def local(name: str, *args: Any, **kwargs: Any) -> Any:
            if name == "migrate":
                return migrate(local_path, profile)
            return getattr(store, name)(*args, **kwargs)

        def local_update_entry(key: str, patch: Any, inc: tuple[str, int] | None) -> Any:
            def patch_fn(e: Entry) -> Entry | None:
                if patch is None and inc is None:
                    return None
                return {**(patch or {}), **(increment(*inc)(e) if inc else {})}

            return store.update_entry(key, patch_fn)

        expected = run_script(
            local,
            update=lambda s, d, p: store.update(lambda m: apply_update(m, s, d, p)),
            update_entry=local_update_entry,
        )
    finally:
        store.close()

    with start(remote_path, layout=layout, profile=profile, clock_ms=CLOCK_MS) as client:

        def remote(name: str, *args: Any, **kwargs: Any) -> Any:
            return getattr(client, name)(*args, **kwargs)

        found = run_script(
            remote,
            update=lambda s, d, p: client.update(set=s, delete=d, patch=p),
            update_entry=lambda k, p, inc: client.update_entry(
                k, p, increment=None if inc is None else {"field": inc[0], "by": inc[1]}
            ),
        )

    assert mask_fresh_route(found) == mask_fresh_route(expected)
    assert found[4] == 3 and found[5] == 0  # sanity: the script exercised real changes
    assert found[8]["turns"] == 5 and found[9]["hits"] == 1
    assert client.returncode == 0


def test_store_like_client_refuses_functions(store_path: Path) -> None:
    with start(store_path) as client:
        with pytest.raises(TypeError, match="update\\(set="):
            client.update(lambda m: m.clear())
        with pytest.raises(TypeError, match="patch as a dict"):
            client.update_entry("k", lambda e: None)  # type: ignore[arg-type]
        assert client.load() == {}  # nothing reached the adapter, which still serves


def test_open_request_and_ping(tmp_path: Path) -> None:
    with start() as client:
        pong = client.ping()
        assert pong["pong"] is True and pong["protocol"] == 1 and pong["store"] is None
        assert pong["pid"] == client.pid
        with pytest.raises(AdapterProtocolError, match="no store is open"):
            client.load()
        opened = client.open(tmp_path / "a.json", "legacy", "hardened")
        assert opened == {
            "store_path": str(tmp_path / "a.json"),
            "layout": "legacy",
            "profile": "hardened",
        }
        client.save({"k": entry("s", 1)})
        assert client.ping()["store"] == opened
        client.open(tmp_path / "b.json", "sqlite", "seed")  # reopen: another store
        assert client.load() == {}
        client.open(tmp_path / "a.json", "legacy", "hardened")
        assert client.load(skip_cache=True) == {"k": entry("s", 1)}
        with pytest.raises(AdapterRejectedError, match="unknown layout") as info:
            client.open(tmp_path / "c.json", "columnar", "seed")
        assert info.value.error_class == "UnsupportedLayoutError"
        with pytest.raises(AdapterProtocolError, match="no store is open"):
            client.load()  # a failed open leaves no store open


# --- structured errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["legacy", "directory", "sqlite"])
def test_store_errors_come_back_structured(store_path: Path, layout: str) -> None:
    with start(store_path, layout=layout, profile="hardened") as client:
        client.save({"good": entry("s", 1)})
        with pytest.raises(AdapterRejectedError) as info:
            client.save({"bad": {"sessionId": "s"}})  # no updatedAt
        err = info.value
        assert isinstance(err, StoreError) and isinstance(err, HarnessError)
        assert (err.type, err.error_class, err.op) == ("StoreError", "InvalidEntryError", "save")
        assert err.errno is None and err.errno_name is None and "updatedAt" in err.message
        with pytest.raises(AdapterRejectedError, match="empty") as info:
            client.update_entry("  ", {"x": 1})
        assert info.value.error_class == "InvalidKeyError"
        with pytest.raises(AdapterRejectedError, match="not a number"):
            client.update_entry("good", increment={"field": "sessionId", "by": 1})
        assert client.ping()["pong"] is True  # still serving
        assert client.load(skip_cache=True) == {"good": entry("s", 1)}


def test_seed_stores_what_hardened_rejects(store_path: Path) -> None:
    with start(store_path, layout="legacy", profile="seed") as client:
        client.save({"bad": {"sessionId": "s"}, "worse": 7})
        assert client.load(skip_cache=True) == {"bad": {"sessionId": "s"}, "worse": 7}
        # An entry that is not an object cannot be patched: refused, nothing written.
        with pytest.raises(AdapterRejectedError, match="not an object") as info:
            client.update(set={"new": entry("n", 1)}, patch={"worse": {"x": 1}})
        assert info.value.error_class == "BadRequestError"
        # The store itself trips over it (a bug-shaped failure): reported as InternalError.
        with pytest.raises(AdapterStoreError) as internal:
            client.update_entry("worse", {"x": 1})
        assert internal.value.type == "InternalError"
        assert not isinstance(internal.value, StoreError)
        assert client.load(skip_cache=True) == {"bad": {"sessionId": "s"}, "worse": 7}


@pytest.mark.parametrize("profile", PROFILES)
def test_os_errors_are_real_os_errors_with_errno(tmp_path: Path, profile: str) -> None:
    path = tmp_path / "missing" / "sessions.json"
    with start(path, layout="legacy", profile=profile) as client:
        assert client.load() == {}  # a missing store reads as empty
        with pytest.raises(FileNotFoundError) as info:
            client.save({"k": entry("s", 1)})
        err = info.value
        assert err.errno == errno.ENOENT and err.strerror == os.strerror(errno.ENOENT)
        assert str(err.filename).startswith(str(path))
        assert any("reported by the adapter for save" in note for note in err.__notes__)
        assert not isinstance(err, HarnessError)
        assert client.ping()["pong"] is True


def test_protocol_errors_are_structured_and_the_adapter_keeps_serving(store_path: Path) -> None:
    with start(store_path) as client:
        cases = [
            ("this is not json", None, "not valid JSON"),
            ("[1, 2]", None, "must be a JSON object"),
            ('{"op": "ping"}', None, "'id' must be an integer"),
            ('{"id": true, "op": "ping"}', None, "'id' must be an integer"),
            ('{"id": 7, "op": "frobnicate"}', 7, "unknown op 'frobnicate'"),
            ('{"id": 8}', 8, "unknown op None"),
            ('{"id": 9, "op": "load", "args": [1]}', 9, "'args' must be an object"),
            ('{"id": 10, "op": "load", "args": {"skip": true}}', 10, "unknown argument"),
            ('{"id": 11, "op": "load", "args": {"skip_cache": 1}}', 11, "true or false"),
            ('{"id": 12, "op": "save", "args": {}}', 12, "missing argument 'mapping'"),
            ('{"id": 13, "op": "update", "args": {"delete": "k"}}', 13, "list of strings"),
            ('{"id": 14, "op": "update", "args": {"patch": {"k": 1}}}', 14, "partial entry"),
            ('{"id": 15, "op": "update_entry", "args": {"key": "k", "increment": {}}}', 15, "by"),
            ('{"id": 16, "op": "update_last_route", "args": {"key": "k"}}', 16, "'channel'"),
            ('{"id": 17, "op": "ping", "extra": 1}', 17, "unknown request field"),
        ]
        for line, expected_id, message in cases:
            response = client.exchange_raw(line)
            assert response["id"] == expected_id, line
            assert response["ok"] is False
            error = response["error"]
            assert error["type"] == "ProtocolError", line
            assert message in error["message"], (line, error["message"])
            assert error["errno"] is None and error["errno_name"] is None
        assert client.unmatched_responses == []
        with pytest.raises(AdapterProtocolError, match="unknown op"):
            client.request("frobnicate")
        assert client.exchange_raw('{"id": 99, "op": "ping"}')["result"]["pong"] is True
        client.save({"k": entry("s", 1)})
        assert client.load(skip_cache=True) == {"k": entry("s", 1)}


def test_stray_output_of_the_store_cannot_corrupt_the_stream(store_path: Path) -> None:
    noisy = (
        "import sys, reference_store.adapter as a\n"
        "real = a.open_store\n"
        "def noisy(*args, **kwargs):\n"
        "    print('noise on stdout'); sys.stdout.flush()\n"
        "    return real(*args, **kwargs)\n"
        "a.open_store = noisy\n"
        "sys.exit(a.main())\n"
    )
    command = [sys.executable, "-c", noisy, "--store-path", str(store_path)]
    with AdapterClient(command, timeout=TIMEOUT) as client:
        client.open(store_path)
        assert client.ping()["pong"] is True
    assert "noise on stdout\n" in client.stderr_text


# --- the client against broken adapters -----------------------------------------------------------


def python_command(source: str) -> list[str]:
    return [sys.executable, "-c", source]


def test_an_adapter_that_exits_raises_crashed() -> None:
    client = AdapterClient(python_command("import sys; sys.stdin.readline(); sys.exit(3)"))
    with pytest.raises(AdapterCrashed, match="exit status 3") as info:
        client.ping()
    assert info.value.returncode == 3 and info.value.signal is None
    with pytest.raises(AdapterError, match="closed"):
        client.ping()
    client.close()  # already reaped: nothing to do


def test_a_killed_adapter_raises_crashed_with_its_signal(store_path: Path) -> None:
    client = start(store_path, layout="legacy", profile="seed", pause_at=1)
    request = client.send("save", {"mapping": {}})
    client.wait_for_op(1)
    os.kill(client.pid, signal.SIGKILL)  # killed by someone else
    with pytest.raises(AdapterCrashed, match="SIGKILL") as info:
        client.receive(request)
    assert info.value.signal == signal.SIGKILL and info.value.returncode == -signal.SIGKILL


def test_garbage_on_stdout_is_a_protocol_violation() -> None:
    source = "import sys; sys.stdin.readline(); print('hello', flush=True); sys.stdin.read()"
    client = AdapterClient(python_command(source))
    with pytest.raises(AdapterViolationError, match="hello"):
        client.ping()
    assert client.returncode == -signal.SIGKILL


def test_a_hanging_store_times_out_and_is_killed(store_path: Path) -> None:
    # Paused at operation 1 of the save, the adapter never answers: the request times out.
    client = start(store_path, layout="legacy", profile="seed", pause_at=1)
    request = client.send("save", {"mapping": {}})
    client.wait_for_op(1)
    with pytest.raises(AdapterTimeout, match="announced a pause"):
        client.receive(request, timeout=0.2)
    assert client.returncode == -signal.SIGKILL


def test_a_wrong_protocol_version_is_refused() -> None:
    source = (
        "import sys, json\n"
        "for line in sys.stdin:\n"
        "    rid = json.loads(line)['id']\n"
        "    out = {'id': rid, 'ok': True, 'result': {'pong': True, 'protocol': 2}}\n"
        "    print(json.dumps(out), flush=True)\n"
    )
    with AdapterClient(python_command(source)) as client:
        with pytest.raises(AdapterViolationError, match="protocol 2"):
            client.ping()
        client.kill()  # this toy adapter knows no close


# --- announcements, pauses and real kills ---------------------------------------------------------


@pytest.mark.parametrize("layout", ["legacy", "directory"])
def test_announce_numbers_every_seam_operation(store_path: Path, layout: str) -> None:
    with start(store_path, layout=layout, profile="hardened", announce=True) as client:
        save = client.send("save", {"mapping": INITIAL})
        client.receive(save)
        bump = client.send("update_entry", {"key": "agent:ops:main", "patch": {"turns": 2}})
        client.receive(bump)
    events = client.events  # complete: stderr was read to its end before close returned
    ops = [e for e in events if e["event"] == EVENT_OP]
    assert [e["n"] for e in ops] == list(range(1, len(ops) + 1))
    assert {e["name"] for e in ops} <= SEAM_OPS
    assert {"replace", "write", "fsync", "fsync_dir"} <= {e["name"] for e in ops}
    assert all(e["path"].startswith(str(store_path.parent)) for e in ops)
    requests = [e for e in events if e["event"] == EVENT_REQUEST]
    assert [(e["id"], e["op"]) for e in requests] == [
        (save, "save"),
        (bump, "update_entry"),
        (3, "close"),
    ]
    by_request = {e["request"] for e in ops}
    assert by_request <= {None, save, bump} and {save, bump} <= by_request
    writes = [e for e in ops if e["name"] == "write"]
    assert all(isinstance(e["size"], int) and e["size"] > 0 for e in writes)
    assert all("path2" in e for e in ops if e["name"] in ("replace", "link"))


def test_sqlite_announces_requests_but_no_seam_operations(store_path: Path) -> None:
    with start(store_path, layout="sqlite", profile="hardened", announce=True) as client:
        client.save(INITIAL)
        assert client.migrate() is False  # migration does use the seam: nothing to migrate
    ops = [e for e in client.events if e["event"] == EVENT_OP]
    assert {e["request"] for e in ops} == {2}  # only the migrate request's probe
    assert [e["op"] for e in client.events if e["event"] == EVENT_REQUEST] == [
        "save",
        "migrate",
        "close",
    ]


@pytest.mark.parametrize("layout", ["legacy", "directory"])
@pytest.mark.parametrize("profile", PROFILES)
def test_pause_then_sigkill_leaves_a_loadable_store(
    store_path: Path, profile: str, layout: str
) -> None:
    store_path.parent.mkdir(exist_ok=True)
    before = {"agent:ops:main": entry("s4", 3, turns=1)}
    first = open_store(str(store_path), layout, profile)
    first.save(before)

    client = start(store_path, layout=layout, profile=profile, pause_at=3)
    client.send("save", {"mapping": INITIAL})
    paused = client.wait_for_op(3)
    assert paused["event"] == EVENT_PAUSED and paused["n"] == 3 and paused["name"] in SEAM_OPS
    assert client.paused and client.alive
    assert client.kill() == -signal.SIGKILL
    assert client.returncode == -signal.SIGKILL

    fresh = open_store(str(store_path), layout, profile)
    loaded = fresh.load(skip_cache=True)
    if profile == "hardened":
        assert loaded == before
        fresh.update_entry("agent:ops:main", lambda e: {"turns": 2})  # the lock is free again
        assert crash_leftovers(fresh) == []
    else:
        assert isinstance(loaded, dict)


def changing_ops(events: list[dict[str, Any]], request: int) -> list[int]:
    """Kill points that leave distinct states: before the request's first operation, and
    right after each operation that changes names on disk."""
    ops = [e for e in events if e["event"] == EVENT_OP and e["request"] == request]
    first, last = ops[0]["n"], ops[-1]["n"]
    points = [first]
    points += [e["n"] + 1 for e in ops if e["name"] in ("replace", "link", "unlink", "mkdir")]
    return sorted({k for k in points if k <= last})  # op k must exist for the pause to land


@pytest.mark.parametrize("layout", ["legacy", "directory"])
def test_hardened_update_is_all_or_nothing_under_real_kills(tmp_path: Path, layout: str) -> None:
    base = tmp_path / "base"
    base.mkdir()
    seeded = open_store(str(base / "sessions.json"), layout, "hardened")
    seeded.save(INITIAL)
    args = {
        "set": {"agent:new:main": entry("s9", 9)},
        "delete": ["agent:main:telegram:direct:12345"],
        "patch": {"agent:ops:main": {"turns": 2}},
    }
    after = dict(INITIAL)
    apply_update(after, args["set"], args["delete"], args["patch"])  # type: ignore[arg-type]

    def copy_of(name: str) -> Path:
        shutil.copytree(base, tmp_path / name)
        return tmp_path / name / "sessions.json"

    with start(copy_of("count"), layout=layout, profile="hardened", announce=True) as probe:
        request = probe.send("update", args)
        assert probe.receive(request) == 3
    points = changing_ops(probe.events, request)
    assert len(points) >= (2 if layout == "legacy" else 5)

    # Every kill point at once, one folder each: parallel, and each deterministic.
    clients = {
        k: start(copy_of(f"kill-{k}"), layout=layout, profile="hardened", pause_at=k)
        for k in points
    }
    try:
        for client in clients.values():
            client.send("update", args)
        for k, client in clients.items():
            assert client.wait_for_op(k)["event"] == EVENT_PAUSED
    finally:
        for client in clients.values():
            client.kill()

    outcomes = set()
    for k in points:
        fresh = open_store(str(tmp_path / f"kill-{k}" / "sessions.json"), layout, "hardened")
        loaded = fresh.load(skip_cache=True)
        assert loaded in (INITIAL, after), f"half-applied update after a kill before op {k}"
        outcomes.add("after" if loaded == after else "before")
        assert crash_leftovers(fresh) == [], f"leftovers after a kill before op {k}"
    assert outcomes == {"before", "after"}  # the sweep straddles the commit point


def test_a_paused_adapter_exits_when_its_parent_goes_away(store_path: Path) -> None:
    store_path.parent.mkdir(exist_ok=True)
    argv = reference_command(store_path, layout="legacy", profile="hardened", pause_at=1)
    with subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdin and proc.stderr
        event = json.loads(proc.stderr.readline())
        assert event["event"] == EVENT_PAUSED and event["n"] == 1
        proc.stdin.close()  # what a dying parent's pipe does
        assert proc.wait(TIMEOUT) == PAUSED_EXIT_CODE


def test_wait_for_op_reports_an_adapter_that_ends_first(store_path: Path) -> None:
    client = start(store_path, layout="sqlite", announce=True)
    client.close()
    with pytest.raises(AdapterCrashed, match="before announcing seam operation 1"):
        client.wait_for_op(1)


# --- concurrency through the adapter --------------------------------------------------------------


@pytest.mark.parametrize("layout", ["legacy", "directory", "sqlite"])
def test_concurrent_increments_through_adapters_lose_nothing(store_path: Path, layout: str) -> None:
    workers, per_worker, key = 4, 25, "agent:main:counter"
    store_path.parent.mkdir(exist_ok=True)
    seeded = open_store(str(store_path), layout, "hardened")
    seeded.save({key: entry("c", 1, count=0)})
    seeded.close()

    clients = [start(store_path, layout=layout, profile="hardened") for _ in range(workers)]
    seen: list[int] = []
    retries: list[AdapterClient] = []
    try:
        # Pipelined: every request of every worker is in flight before any answer is read.
        pending = [
            (client, client.send("update_entry", {"key": key, "increment": {"field": "count"}}))
            for _ in range(per_worker)
            for client in clients
        ]
        for client, request in pending:
            try:
                seen.append(client.receive(request)["count"])
            except AdapterRejectedError as exc:  # not applied, so safe to repeat
                assert exc.error_class == "LockTimeoutError"
                retries.append(client)
        for client in retries:
            bumped = client.update_entry(key, increment={"field": "count", "by": 1})
            assert bumped is not None
            seen.append(bumped["count"])
        final = clients[0].load(skip_cache=True)[key]["count"]
    finally:
        for client in clients:
            client.close()
    assert sorted(seen) == list(range(1, workers * per_worker + 1))  # each saw a new value
    assert final == workers * per_worker


# --- in process: the adapter object and its command line ------------------------------------------


@pytest.fixture
def adapter(store_path: Path) -> Iterator[Adapter]:
    events: list[dict[str, Any]] = []
    served = Adapter(AdapterOptions(str(store_path), "legacy", "hardened"), events.append)
    yield served
    served.close_store()


def test_serve_answers_in_order_and_skips_blank_lines(adapter: Adapter) -> None:
    lines = [
        '{"id": 1, "op": "ping"}',
        "",
        '{"id": 2, "op": "load", "args": null}',
        '{"id": 3, "op": "close"}',
        '{"id": 4, "op": "ping"}',  # after close: never read
    ]
    out = io.StringIO()
    assert serve(adapter, io.StringIO("\n".join(lines) + "\n"), out) == 0
    responses = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["id"], r["ok"]) for r in responses] == [(1, True), (2, True), (3, True)]
    assert responses[1]["result"] == {} and adapter.store is None


def test_every_op_is_served(adapter: Adapter) -> None:
    assert set(OPS) == set(adapter._handlers) == set(adapter._allowed)


def test_update_counts_keys_that_changed(adapter: Adapter) -> None:
    def call(op: str, args: dict[str, Any]) -> Any:
        response = adapter.handle(json.dumps({"id": 1, "op": op, "args": args}))
        assert response["ok"], response
        return response["result"]

    call("save", {"mapping": {"a": entry("a", 1), "b": entry("b", 1)}})
    # set a to itself (no change), delete a missing key (no change), patch b (change),
    # set c (new): 2 keys changed.
    args = {"set": {"a": entry("a", 1), "c": entry("c", 1)}, "delete": ["zz"]}
    assert call("update", {**args, "patch": {"b": {"x": 1}}}) == 2
    # set then delete the same key in one call: net effect absent -> unchanged if absent.
    assert call("update", {"set": {"d": entry("d", 1)}, "delete": ["d"]}) == 0
    assert call("update", {"delete": ["a", "b"]}) == 2
    assert call("load", {"skip_cache": True}) == {"c": entry("c", 1)}


def test_an_open_failure_at_startup_is_reported_to_every_request(tmp_path: Path) -> None:
    served = Adapter(AdapterOptions(str(tmp_path / "s.json"), "sqlite", "nope"), lambda e: None)
    for _ in range(2):
        response = served.handle('{"id": 1, "op": "load"}')
        assert response["error"]["class"] == "UnsupportedLayoutError"
    assert served.handle('{"id": 2, "op": "ping"}')["result"]["store"] is None
    opened = served.handle(
        json.dumps({"id": 3, "op": "open", "args": {"store_path": str(tmp_path / "s.json")}})
    )
    assert opened["ok"] and served.handle('{"id": 4, "op": "load"}')["result"] == {}
    served.close_store()


def test_command_line() -> None:
    options = parse_args(["--store-path", "x.json", "--layout", "sqlite", "--pause-at", "4"])
    assert options == AdapterOptions("x.json", "sqlite", "seed", announce=False, pause_at=4)
    assert parse_args([]) == AdapterOptions()
    for bad in (["--pause-at", "0"], ["--layout", "columnar"], ["--profile", "x"]):
        with pytest.raises(SystemExit):
            parse_args(bad)
    assert reference_command("p.json", profile="hardened", announce=True, pause_at=2)[1:] == [
        "-m",
        "reference_store.adapter",
        "--store-path",
        "p.json",
        "--layout",
        "auto",
        "--profile",
        "hardened",
        "--announce",
        "--pause-at",
        "2",
    ]
