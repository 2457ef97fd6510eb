"""Contained work: batches run in forked children, each item watched by a timeout.

THE PROMISE (written once, here): a store that hangs, or that kills the process it runs
in (``os._exit``, a signal, a crash in an extension), costs the one item it was running,
never the whole run, and never leaves a child behind.

* Each batch goes to a forked child, which reports ``start i`` before item ``i`` and its
  result right after it. The parent waits at most ``timeout_s`` between two reports.
* A child that stays silent longer is killed (``SIGKILL``) and its item in flight
  becomes ``on_lost(item, "hung", detail)``; a child that dies -- its pipe closes
  before the batch is done -- makes its item ``on_lost(item, "died", detail)``. Either
  way a fresh child takes the rest of the batch.
* Up to ``jobs`` children run at once; results come back in batch order, so the output
  is the same whatever the timing, and the same as running the batches in process.
* Each child's temp folder is a temp root the parent made (``harness._roots``) and
  removes when the child ends, however it ends: what a killed run was writing goes too.

Children are forked, not spawned: they inherit what the parent registered (store
targets, scenarios, mutants' patches), and items and results only need to pickle.
"""

from __future__ import annotations

import faulthandler
import multiprocessing
import os
import signal
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

from harness._errors import HarnessError
from harness._roots import make_root, remove_root

__all__ = ["LOST_KINDS", "ContainedError", "run_contained"]

Item = TypeVar("Item")
Result = TypeVar("Result")


class ContainedError(HarnessError):
    """Work run in a child raised an exception of its own (a bug of the harness)."""


#: what ``on_lost`` is told: the item never returned, or its process died
LOST_KINDS = ("hung", "died")

#: ``work(batch, started)`` calls ``started(i)`` before item ``i`` and yields
#: ``(i, result)`` after it
Work = Callable[[Sequence[Item], Callable[[int], None]], Iterator[tuple[int, Result]]]


def _child(
    work: Work[Any, Any],
    batch: Sequence[Any],
    todo: Sequence[int],
    conn: Connection,
    scratch: str,
) -> None:
    # A store that crashes here is reported by the parent; the parent's fault handler
    # (pytest turns one on) would only print the dying child's stack into its output.
    faulthandler.disable()
    # Every temp folder this child makes (its runs' temp roots, the store's own) goes
    # into a root the parent made and removes, so a child killed in the middle of a run
    # leaves nothing behind.
    tempfile.tempdir = scratch
    os.environ["TMPDIR"] = scratch
    chosen = [batch[i] for i in todo]

    def started(position: int) -> None:
        conn.send(("start", todo[position], None))

    try:
        for position, result in work(chosen, started):
            conn.send(("done", todo[position], result))
        conn.send(("end", None, None))
    except BaseException:  # the harness's own bug: the parent raises it
        conn.send(("error", None, traceback.format_exc()))
    finally:
        conn.close()
        # Skip the atexit handlers and buffered output copied from the parent: this
        # child only ever ran the batch, and the parent reads the pipe, not our status.
        os._exit(0)


@dataclass
class _Running(Generic[Item, Result]):
    batch_index: int
    process: Any
    conn: Connection
    todo: list[int]
    deadline: float
    scratch: str
    results: dict[int, Result] = field(default_factory=dict)
    current: int | None = None


def run_contained(
    batches: Sequence[Sequence[Item]],
    work: Work[Item, Result],
    on_lost: Callable[[Item, str, str], Result],
    *,
    jobs: int,
    timeout_s: float,
    progress: Callable[[int], None] | None = None,
) -> list[list[Result]]:
    """Run every batch contained (module docstring); ``progress(n)`` after n more items.

    An exception raised by ``work`` itself (not by what it contains) is the harness's
    bug: it stops the run with :class:`ContainedError` holding the child's traceback.
    """
    ctx = multiprocessing.get_context("fork")
    out: list[dict[int, Result]] = [{} for _ in batches]
    waiting = [(b, list(range(len(batch)))) for b, batch in enumerate(batches) if batch]
    running: list[_Running[Item, Result]] = []

    def start(batch_index: int, todo: list[int]) -> None:
        receive, send = ctx.Pipe(duplex=False)
        scratch = make_root("child")
        process = ctx.Process(target=_child, args=(work, batches[batch_index], todo, send, scratch))
        process.start()
        send.close()
        deadline = time.monotonic() + timeout_s
        running.append(_Running(batch_index, process, receive, todo, deadline, scratch))

    def finish(run: _Running[Item, Result]) -> None:
        running.remove(run)
        _stop(run.process)
        run.conn.close()
        remove_root(run.scratch)
        out[run.batch_index].update(run.results)

    def lose(run: _Running[Item, Result], kind: str, detail: str) -> None:
        """The item in flight is lost; a fresh child takes what is left of the batch."""
        finish(run)
        # The item that started and never ended; a child that dies between two items
        # takes the blame for the next one (nothing else is left to blame).
        lost = run.current
        if lost is None:
            lost = next(i for i in run.todo if i not in run.results)
        item = batches[run.batch_index][lost]
        out[run.batch_index][lost] = on_lost(item, kind, detail)
        if progress:
            progress(1)
        rest = [i for i in run.todo if i not in run.results and i != lost]
        if rest:
            waiting.insert(0, (run.batch_index, rest))

    try:
        while waiting or running:
            while waiting and len(running) < max(1, jobs):
                start(*waiting.pop(0))
            now = time.monotonic()
            ready = wait(
                [r.conn for r in running], timeout=max(0.0, min(r.deadline for r in running) - now)
            )
            for run in [r for r in running if r.conn in ready]:
                try:
                    tag, index, result = run.conn.recv()
                except EOFError:
                    run.process.join(timeout=5)
                    lose(run, "died", _death(run.process.exitcode))
                    continue
                run.deadline = time.monotonic() + timeout_s
                if tag == "start":
                    run.current = index
                elif tag == "done":
                    run.results[index] = result
                    run.current = None
                    if progress:
                        progress(1)
                elif tag == "error":
                    raise ContainedError(f"a contained batch failed in the harness:\n{result}")
                else:  # "end": the batch is complete
                    finish(run)
            now = time.monotonic()
            for run in [r for r in running if r.deadline <= now]:
                lose(run, "hung", f"no answer within {timeout_s:g} s; its process was killed")
    finally:
        for run in list(running):
            finish(run)
    return [[done[i] for i in range(len(batch))] for done, batch in zip(out, batches, strict=True)]


def _stop(process: Any) -> None:
    if process.is_alive():
        process.kill()
    process.join()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"its process was killed by {name}"
    return f"its process exited with status {exitcode} in the middle of the run"
