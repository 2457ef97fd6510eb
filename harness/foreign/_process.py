"""An adapter command in a child process: JSON-lines requests out, responses and events in.

:class:`AdapterProcess` starts an adapter command (``python -m reference_store.adapter``,
or a foreign store speaking ``docs/adapter-protocol.md``) and owns its pipes; the store
API on top of it is :class:`~harness.foreign._client.AdapterClient`'s.

How failures surface
--------------------
* a structured error response becomes :class:`AdapterStoreError` (also a
  :class:`reference_store.StoreError` for store errors, so harness code catching
  ``StoreError`` treats a foreign store like the reference one), and an ``OSError``
  response becomes a real ``OSError`` subclass with the adapter's ``errno`` -- callers see
  exactly what the foreign disk said;
* a request unanswered within its timeout raises :class:`AdapterTimeout` and the process
  is killed (a store that hangs must not hang the harness);
* a process that dies raises :class:`AdapterCrashed` with its exit code or signal;
* output that breaks the protocol raises :class:`AdapterViolationError` (process killed).

Real-kill tests start the adapter with ``--announce`` / ``--pause-at N``, wait for
operation ``N`` with :meth:`AdapterProcess.wait_for_op`, and :meth:`AdapterProcess.kill` it.

Threads: one writer (requests are queued, so sending never blocks on a full pipe) and two
readers (responses, and stderr events). One condition variable guards everything they
share; no method relies on sleeping.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import IO, Self

from harness.foreign._errors import (
    AdapterCrashed,
    AdapterError,
    AdapterTimeout,
    AdapterViolationError,
    raise_remote,
)
from reference_store.protocol import (
    EVENT_PAUSED,
    Json,
    OpAnnouncement,
    encode_line,
    request_message,
)

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "EXIT_GRACE_S",
    "AdapterProcess",
    "reference_command",
]

DEFAULT_TIMEOUT_S = 30.0
#: How long :meth:`AdapterClient.close` waits for the process to exit after answering.
EXIT_GRACE_S = 10.0
#: Lines of non-event stderr output kept for error messages.
STDERR_TAIL_LINES = 200


# --- commands ---------------------------------------------------------------------------------


def reference_command(
    store_path: str | os.PathLike[str] | None = None,
    *,
    layout: str = "auto",
    profile: str = "seed",
    announce: bool = False,
    pause_at: int | None = None,
    python: str | None = None,
    no_sync: bool = False,
    clock_ms: int | None = None,
) -> list[str]:
    """The argv that runs the reference store's adapter with these options."""
    argv = [python or sys.executable, "-m", "reference_store.adapter"]
    if store_path is not None:
        argv += ["--store-path", os.fspath(store_path), "--layout", layout, "--profile", profile]
    if announce:
        argv.append("--announce")
    if pause_at is not None:
        argv += ["--pause-at", str(pause_at)]
    if no_sync:
        argv.append("--no-sync")
    if clock_ms is not None:
        argv += ["--clock-ms", str(clock_ms)]
    return argv


_CLOSE = object()  # writer-queue sentinel


class AdapterProcess:
    """An adapter command in a child process: requests out, responses and events in.

    The transport only; :class:`AdapterClient` adds the store API on top.
    """

    def __init__(
        self,
        command: str | Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise AdapterError("empty adapter command")
        self.timeout = timeout
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._in_flight: dict[int, str] = {}  # id -> op, sent and not yet received
        self._responses: dict[int, dict[str, Json]] = {}
        self._arrivals = 0  # responses read so far (for raw exchanges)
        self._last: dict[str, Json] | None = None
        self._unmatched: list[dict[str, Json]] = []
        self._violation: str | None = None
        self._stdout_eof = False
        self._stderr_eof = False
        self._events: list[dict[str, Json]] = []
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._outbox: queue.Queue[object] = queue.Queue()
        self._finished = False
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        except OSError as exc:
            raise AdapterError(f"cannot start adapter {shlex.join(self.argv)}: {exc}") from exc
        assert self._proc.stdin and self._proc.stdout and self._proc.stderr
        self._threads = [
            threading.Thread(target=self._write_loop, args=(self._proc.stdin,), daemon=True),
            threading.Thread(target=self._read_stdout, args=(self._proc.stdout,), daemon=True),
            threading.Thread(target=self._read_stderr, args=(self._proc.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @classmethod
    def reference(
        cls,
        store_path: str | os.PathLike[str] | None = None,
        *,
        layout: str = "auto",
        profile: str = "seed",
        announce: bool = False,
        pause_at: int | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        env: Mapping[str, str] | None = None,
        clock_ms: int | None = None,
    ) -> Self:
        """A client of the reference store's own adapter (``python -m reference_store.adapter``);
        ``clock_ms`` gives it a deterministic clock starting there."""
        command = reference_command(
            store_path,
            layout=layout,
            profile=profile,
            announce=announce,
            pause_at=pause_at,
            clock_ms=clock_ms,
        )
        return cls(command, timeout=timeout, env=env)

    # --- context manager ------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.kill()  # never hide the error in flight behind a slow or failing close

    # --- the process ----------------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.poll()

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    @property
    def events(self) -> list[dict[str, Json]]:
        """Every event read from stderr so far (a copy), in order."""
        with self._cond:
            return list(self._events)

    def take_events(self) -> list[dict[str, Json]]:
        """Every event read so far, forgetting them (keeps long announced runs small)."""
        with self._cond:
            taken, self._events = self._events, []
            return taken

    @property
    def stderr_text(self) -> str:
        """The last lines the adapter wrote to stderr that were not events."""
        with self._cond:
            return "".join(self._stderr_tail)

    @property
    def unmatched_responses(self) -> list[dict[str, Json]]:
        """Responses whose id matched no request (``id`` null: unparsable requests)."""
        with self._cond:
            return list(self._unmatched)

    def kill(self) -> int:
        """SIGKILL the adapter (if still running), reap it; returns its exit status."""
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
        returncode = self._proc.wait()
        self._finish()
        return returncode

    def wait_for_op(self, n: int, timeout: float | None = None) -> dict[str, Json]:
        """Block until the adapter announces seam operation ``n`` (an ``op`` event with
        that number or later, or a ``paused`` event at ``n``); returns that event.

        Raises :class:`AdapterTimeout` (the process is left running) or
        :class:`AdapterCrashed` when it exits first.
        """

        def found() -> dict[str, Json] | None:
            for event in self._events:
                announced = OpAnnouncement.from_event(event)
                if announced is not None and announced.n >= n:
                    return event
            return None

        return self._wait_event(found, f"seam operation {n}", timeout)

    def wait_for_event(
        self, predicate: Callable[[dict[str, Json]], bool], timeout: float | None = None
    ) -> dict[str, Json]:
        """Block until an event satisfying ``predicate`` has been announced; returns it."""

        def found() -> dict[str, Json] | None:
            return next((e for e in self._events if predicate(e)), None)

        return self._wait_event(found, "an event", timeout)

    def _wait_event(
        self, found: Callable[[], dict[str, Json] | None], what: str, timeout: float | None
    ) -> dict[str, Json]:
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._cond:
            while True:
                event = found()
                if event is not None:
                    return event
                if self._stderr_eof:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AdapterTimeout(f"adapter did not announce {what} within {limit} s")
                self._cond.wait(remaining)
        raise self._crashed(f"adapter ended before announcing {what}")

    def wait_answer_or_event(
        self,
        request_id: int,
        predicate: Callable[[dict[str, Json]], bool],
        timeout: float | None = None,
    ) -> dict[str, Json] | None:
        """Block until request ``request_id`` is answered or the adapter ends (``None``:
        :meth:`receive` tells which), or an event satisfying ``predicate`` comes first
        (returned). Raises :class:`AdapterTimeout` when neither happens in time; the
        process is left running (a real-kill driver kills it at that moment)."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._cond:
            while True:
                event = next((e for e in self._events if predicate(e)), None)
                if event is not None:
                    return event
                if request_id in self._responses or self._stdout_eof or self._violation:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AdapterTimeout(
                        f"neither an answer to request {request_id} nor the awaited event "
                        f"within {limit} s"
                    )
                self._cond.wait(remaining)

    @property
    def paused(self) -> bool:
        """Whether the adapter announced that it paused (it will never answer again)."""
        with self._cond:
            return any(e.get("event") == EVENT_PAUSED for e in self._events)

    # --- requests ---------------------------------------------------------------------------
    def send(self, op: str, args: Mapping[str, Json] | None = None) -> int:
        """Queue one request without waiting for its answer; returns its id.

        Requests are answered in order, so several can be in flight (pipelining).
        """
        request_id = next(self._ids)
        line = encode_line(request_message(request_id, op, args))
        with self._cond:
            self._check_usable()
            self._in_flight[request_id] = op
        self._outbox.put((line + "\n").encode("ascii"))
        return request_id

    def receive(self, request_id: int, timeout: float | None = None) -> Json:
        """Wait for the answer to request ``request_id``; its result, or raise its error."""
        limit = self.timeout if timeout is None else timeout
        response = self._await(lambda: self._responses.pop(request_id, None), request_id, limit)
        with self._cond:
            op = self._in_flight.pop(request_id, None)
        if response.get("ok") is True:
            return response.get("result")
        error = response.get("error")
        raise_remote(op, request_id, error if isinstance(error, dict) else {})

    def request(
        self, op: str, args: Mapping[str, Json] | None = None, *, timeout: float | None = None
    ) -> Json:
        """Send one request and wait for its result."""
        return self.receive(self.send(op, args), timeout)

    def exchange_raw(self, line: str, timeout: float | None = None) -> dict[str, Json]:
        """Write ``line`` verbatim (a newline is added) and return the next response as
        parsed JSON, whatever its id -- for protocol tests. Nothing may be in flight."""
        with self._cond:
            self._check_usable()
            if self._in_flight:
                raise AdapterError("exchange_raw needs every earlier request answered first")
            seen = self._arrivals
        self._outbox.put((line.rstrip("\n") + "\n").encode("utf-8"))
        limit = self.timeout if timeout is None else timeout

        def next_response() -> dict[str, Json] | None:
            if self._arrivals > seen and self._last is not None:
                response, self._last = self._last, None
                with contextlib.suppress(ValueError):
                    self._unmatched.remove(response)
                rid = response.get("id")
                if isinstance(rid, int):
                    self._responses.pop(rid, None)
                return response
            return None

        return self._await(next_response, None, limit)

    def _await(
        self,
        take: Callable[[], dict[str, Json] | None],
        request_id: int | None,
        limit: float,
    ) -> dict[str, Json]:
        deadline = time.monotonic() + limit
        with self._cond:
            what = f"request {request_id} ({self._in_flight.get(request_id or -1, 'raw')})"
            while True:
                response = take()
                if response is not None:
                    return response
                if self._violation is not None:
                    problem, violation = "violation", self._violation
                    break
                if self._stdout_eof:
                    problem, violation = "ended", ""
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    problem, violation = "timeout", ""
                    break
                self._cond.wait(remaining)
        if problem == "violation":
            self.kill()
            raise AdapterViolationError(f"{violation} (adapter killed)")
        if problem == "timeout":
            paused = " (it announced a pause)" if self.paused else ""
            self.kill()
            raise AdapterTimeout(f"no answer to {what} within {limit} s{paused}; adapter killed")
        raise self._crashed(f"adapter ended before answering {what}")

    def _check_usable(self) -> None:
        if self._finished:
            raise AdapterError("the adapter client is closed")
        if self._violation is not None:
            raise AdapterViolationError(self._violation)

    def _crashed(self, message: str) -> AdapterCrashed:
        try:
            returncode: int | None = self._proc.wait(EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            returncode = None
            message += " (it closed its output but kept running: killed)"
        if returncode is None:
            self.kill()
            returncode = self._proc.returncode
        self._finish()
        if returncode is not None and returncode < 0:
            with contextlib.suppress(ValueError):
                message += f" (killed by {signal.Signals(-returncode).name})"
        else:
            message += f" (exit status {returncode})"
        return AdapterCrashed(message, returncode=returncode, stderr_tail=self.stderr_text)

    # --- threads ------------------------------------------------------------------------------
    def _write_loop(self, stdin: IO[bytes]) -> None:
        broken = False
        while True:
            item = self._outbox.get()
            if item is _CLOSE:
                break
            if broken:
                continue
            assert isinstance(item, bytes)
            try:
                stdin.write(item)
                stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                broken = True  # the process is gone; the stdout reader reports it
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            stdin.close()

    def _read_stdout(self, stdout: IO[bytes]) -> None:
        for raw in stdout:
            try:
                message = json.loads(raw.decode("utf-8"))
            except ValueError:
                message = None
            with self._cond:
                if not isinstance(message, dict) or "ok" not in message:
                    if self._violation is None:
                        self._violation = (
                            f"adapter wrote a line that is not a response: {raw!r:.200}"
                        )
                    self._cond.notify_all()
                    continue
                self._arrivals += 1
                self._last = message
                rid = message.get("id")
                if isinstance(rid, int) and not isinstance(rid, bool) and rid in self._in_flight:
                    self._responses[rid] = message
                else:
                    self._unmatched.append(message)
                self._cond.notify_all()
        with self._cond:
            self._stdout_eof = True
            self._cond.notify_all()

    def _read_stderr(self, stderr: IO[bytes]) -> None:
        for raw in stderr:
            text = raw.decode("utf-8", "replace")
            event: Json = None
            if text.startswith("{"):
                with contextlib.suppress(ValueError):
                    event = json.loads(text)
            with self._cond:
                if isinstance(event, dict) and "event" in event:
                    self._events.append(event)
                else:
                    self._stderr_tail.append(text)
                self._cond.notify_all()
        with self._cond:
            self._stderr_eof = True
            self._cond.notify_all()

    def _finish(self) -> None:
        """After the process has exited: stop the threads and close every pipe."""
        if self._finished:
            return
        self._finished = True
        self._outbox.put(_CLOSE)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(EXIT_GRACE_S)
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def close(self, timeout: float | None = None) -> None:
        """Close the store and let the adapter exit; reap it and release every pipe.

        A paused adapter (which can never answer) is killed instead. Raises
        :class:`AdapterCrashed` when the adapter had already died (non-zero status), fails to answer
        ``close``, or exits with a non-zero status.
        """
        if self._finished:
            return
        if self.paused:
            self.kill()
            return
        if self._proc.poll() is not None:  # it died on its own, unnoticed until now
            returncode = self.kill()
            if returncode != 0:
                raise AdapterCrashed(
                    f"adapter had already exited with status {returncode}",
                    returncode=returncode,
                    stderr_tail=self.stderr_text,
                )
            return
        limit = self.timeout if timeout is None else timeout
        try:
            self.receive(self.send("close"), limit)
        except BaseException:
            self.kill()  # whatever went wrong, leave no process behind
            raise
        try:
            returncode = self._proc.wait(EXIT_GRACE_S)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AdapterCrashed(
                "adapter answered close but did not exit (killed)",
                returncode=self._proc.returncode,
                stderr_tail=self.stderr_text,
            ) from None
        self._finish()
        if returncode != 0:
            raise AdapterCrashed(
                f"adapter exited with status {returncode} after close",
                returncode=returncode,
                stderr_tail=self.stderr_text,
            )

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited {self._proc.returncode}"
        return f"<{type(self).__name__} pid={self.pid} {state} {shlex.join(self.argv)!r}>"
