"""No lost update under contention: threads of one process, and separate processes each
with a store of its own, increment one counter field; every increment must count.

Real folders only (pyfakefs is not shared with other processes, and its rename is not
atomic towards other threads). Writers start together on a barrier; nothing here
depends on timing.
"""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest
from helpers import COUNTER_KEY, PROFILE_NAMES, StoreFactory, entry, increment_with, process_worker

from reference_store import SessionCache, SessionStore, open_store

pytestmark = [
    pytest.mark.real_only,
    pytest.mark.parametrize("profile", PROFILE_NAMES),
    pytest.mark.parametrize("layout", ["legacy", "directory", "sqlite"]),
]

THREADS = 8
THREAD_ROUNDS = 10
PROCESSES = 4
PROCESS_ROUNDS = 5


def seed_counter(store: SessionStore) -> None:
    store.save({COUNTER_KEY: entry("counter", 1, count=0), "agent:main:other": entry("o", 1)})


def count_on_disk(store_dir: str, layout: str, profile: str) -> int:
    fresh = open_store(
        os.path.join(store_dir, "sessions.json"), layout, profile, cache=SessionCache()
    )
    try:
        data = fresh.load(skip_cache=True)
    finally:
        fresh.close()
    assert data["agent:main:other"] == entry("o", 1)
    return int(data[COUNTER_KEY]["count"])


def test_threads_racing_update_and_update_entry_lose_nothing(
    make_store: StoreFactory, store_dir: str, layout: str, profile: str
) -> None:
    # Two store objects: half the threads share each, and each object gets both calls.
    stores = [make_store(layout, profile), make_store(layout, profile, cache=SessionCache())]
    seed_counter(stores[0])
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        store = stores[index // (THREADS // 2)]
        how = ("update_entry", "update")[index % 2]
        try:
            start.wait(timeout=60)
            for _ in range(THREAD_ROUNDS):
                increment_with(store, how)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert not any(thread.is_alive() for thread in threads)
    assert count_on_disk(store_dir, layout, profile) == THREADS * THREAD_ROUNDS


def test_processes_each_with_its_own_store_lose_nothing(
    make_store: StoreFactory, store_dir: str, layout: str, profile: str
) -> None:
    seed_counter(make_store(layout, profile))
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    path = os.path.join(store_dir, "sessions.json")
    workers = [
        context.Process(target=process_worker, args=(path, layout, profile, PROCESS_ROUNDS, start))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)

    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    for worker in workers:
        worker.close()
    assert count_on_disk(store_dir, layout, profile) == PROCESSES * PROCESS_ROUNDS
    assert [n for n in os.listdir(store_dir) if n.endswith((".lock", ".tmp"))] == []
