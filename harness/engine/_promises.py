"""THE registry of the store's promises: what each one is, what breaks it, where it is judged.

docs/spec.md section 10 states each promise in prose under the same id; this module is
the same list as data, and everything else derives from it: the promise rows of the
gate summary and the report (``harness.engine._summary``), the line the gate ends with,
and the coverage table ``store-harness gate --promises`` prints
(``harness.gate._promise_table``): promise x check x fault families x seeded bug.

A promise names:

* ``kinds`` -- the violation kinds (``VIOLATION_KINDS``) that break it; every registered
  kind belongs to at least one promise, so no violation found is left out of the tables;
* ``checks`` -- the gate checks where a breach can show: scenario names of the catalog,
  or the gate's own ``machine`` and ``concurrency`` checks. A check named here must
  report one of ``kinds`` on the seeded bug that breaks only this promise
  (``tests/mutants``; ``tests/test_mutants.py`` asserts it, ``tests/test_promises.py``
  fails on a promise without a check or a check without such a bug);
* ``families`` -- the fault families the promise is judged under: ``None`` is every
  family but power loss (a store promises nothing about unsynced data except where a
  promise says so);
* ``judged`` -- when the check looks, and for a promise looked at only after recovery,
  why the running state does not matter.

Ids are stable: replays, reports and docs cite them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DATA_LOSS_KINDS", "PROMISES", "PROMISE_TABLE_NAME", "Promise", "promise"]

#: the coverage table's file, written beside mutation-score.md by the gate and read by
#: the report (which may not import the gate)
PROMISE_TABLE_NAME = "promise-table.md"


@dataclass(frozen=True)
class Promise:
    id: str
    #: the sentence the summary tables print
    name: str
    kinds: frozenset[str]
    checks: tuple[str, ...]
    families: frozenset[str] | None = None
    judged: str = "after every call and after recovery"

    def judged_under(self, family: str) -> bool:
        if self.families is None:
            return family != "power-loss"
        return family in self.families


#: what power loss can do to acknowledged data: every kind of lost or changed state
DATA_LOSS_KINDS = frozenset(
    {
        "acked-write-lost",
        "silently-dropped",
        "half-applied",
        "unloadable",
        "migration-lost",
        "changed-entry",
        "phantom-entry",
        "resurrected",
    }
)

_AFTER_RECOVERY = (
    "after recovery: the promise is about what a restarted store finds, so only the "
    "state it restarts from matters"
)

PROMISES: tuple[Promise, ...] = (
    Promise(
        "P-roundtrip",
        "every entry loads back exactly as it was written",
        # A value the codec changed reads as an acknowledged write lost, a changed entry or
        # a wrong read, depending on which call the machine checks it after.
        frozenset({"wrong-read", "changed-entry", "acked-write-lost"}),
        ("machine",),
        judged="at every read of the machine, against the model's entries",
    ),
    Promise(
        "P-in-place-kept",
        "changes made in place by a mutator or patch are kept",
        frozenset({"acked-write-lost", "wrong-read", "wrong-result"}),
        ("update.kill", "machine"),
        judged="after every call of the machine, and after recovery in update.kill",
    ),
    Promise(
        "P-atomic-call",
        "every call is all-or-nothing",
        frozenset({"half-applied", "mismatch"}),
        ("update.kill", "update.disk-full"),
        judged=_AFTER_RECOVERY + " (a call in flight may show in part to a reader)",
    ),
    Promise(
        "P-durable-crash",
        "acknowledged writes survive a process crash",
        # An entry written before the workload (in its setup) was acknowledged too: a
        # crash that tears the file it lives in shows as silently dropped.
        frozenset({"acked-write-lost", "silently-dropped"}),
        ("update.kill", "update.non-atomic-rename"),
        judged=_AFTER_RECOVERY,
    ),
    Promise(
        "P-durable-power",
        "acknowledged writes survive power loss",
        DATA_LOSS_KINDS,
        ("power-loss.update", "power-loss.save", "power-loss.migration"),
        families=frozenset({"power-loss"}),
        judged=_AFTER_RECOVERY,
    ),
    Promise(
        "P-refused-changes-nothing",
        "a refused call changes nothing and releases what it took",
        frozenset(
            {"wrong-result", "changed-entry", "phantom-entry", "mismatch", "unexpected-error"}
        ),
        ("machine",),
        judged="after the refused call: the state is the one before it, and the next "
        "call of another store on the same folder gets the lock",
    ),
    Promise(
        "P-untouched-kept",
        "no entry is dropped or changed silently",
        frozenset({"silently-dropped", "changed-entry", "phantom-entry"}),
        ("io-error",),
        judged="after recovery: an entry dropped or changed stays so, so the restarted state "
        "shows it",
    ),
    Promise(
        "P-corrupt-kept",
        "unreadable files are never destroyed",
        frozenset({"corrupt-destroyed"}),
        ("corrupt-entry",),
        judged="after recovery: a deleted or overwritten file stays gone, so the end state shows "
        "it",
    ),
    Promise(
        "P-deletes-stick",
        "deleted entries stay deleted",
        frozenset({"resurrected"}),
        ("update.kill", "migration.backup-failure"),
        judged="after every call of the machine, and after recovery (a deleted entry must not "
        "come back)",
    ),
    Promise(
        "P-migration-lossless",
        "migration keeps every entry",
        frozenset({"migration-lost"}),
        ("migration.kill", "migration.disk-full", "case-variant-keys", "keys.hostile"),
        judged=_AFTER_RECOVERY,
    ),
    Promise(
        "P-backups-kept",
        "the legacy file or a copy of it is kept until the switch is complete",
        frozenset({"resurrected", "migration-lost"}),
        ("migration.backup-failure",),
        judged=_AFTER_RECOVERY,
    ),
    Promise(
        "P-no-leftovers",
        "no temp or lock file is left for good",
        frozenset({"leftover-temp", "leftover-lock"}),
        ("update.kill", "migration.non-atomic-rename", "machine"),
        judged="after recovery (a crashed writer's files) and, in the machine, after every "
        "call that returned (a writer that leaves its own files behind)",
    ),
    Promise(
        "P-recovers",
        "the store loads and writes after any fault",
        frozenset({"unloadable", "unwritable"}),
        ("update.kill", "stale-staging"),
        judged=_AFTER_RECOVERY,
    ),
    Promise(
        "P-modes",
        "files the store creates are 0600, folders 0700",
        frozenset({"wrong-mode"}),
        ("machine",),
        judged="after every call of the machine, on every path under its folder",
    ),
    Promise(
        "P-paths-inside",
        "nothing is written outside the store's folder",
        frozenset({"escaped-folder"}),
        ("disk-shapes",),
        judged="after recovery, over every file under the run's root: a file written outside "
        "stays there",
    ),
    Promise(
        "P-names-safe",
        "every valid key is stored without a fault",
        frozenset({"baseline"}),
        ("keys.hostile",),
        judged="at every call of the fault-free baseline run: a valid key refused fails there",
    ),
    Promise(
        "P-updatedAt-monotonic",
        "updatedAt never goes back and is at least now",
        frozenset({"wrong-result", "wrong-read"}),
        ("machine",),
        judged="at every update_last_route and update_entry of the machine, against the model's "
        "clock",
    ),
    Promise(
        "P-order-independent",
        "case-variant ties do not depend on input order",
        frozenset({"order-dependent"}),
        ("case-variant-keys",),
        judged="after recovery, comparing the states two input orders of the same keys reach",
    ),
    Promise(
        "P-reads-agree",
        "every read path finds the entry the writes resolve a key to",
        frozenset({"wrong-read", "divergence"}),
        ("machine",),
        judged="at every read_updated_at and load of the machine",
    ),
    Promise(
        "P-fresh-reads",
        "a read sees the last completed write",
        frozenset({"stale-read"}),
        ("update.kill",),
        judged="at every read: the scenarios' reads after recovery and the machine's after every "
        "call",
    ),
    Promise(
        "P-lock-excludes",
        "concurrent updates are not lost",
        frozenset({"lost-update"}),
        ("concurrency",),
        judged="while racing: every increment a worker was told succeeded must be in the final "
        "count",
    ),
    Promise(
        "P-returns",
        "every call returns: no hang, no dead process",
        frozenset({"hung", "store-crashed"}),
        ("corrupt-entry",),
        judged="at every call and at recovery: each run has a deadline (--run-timeout)",
    ),
    Promise(
        "P-errors-explained",
        "a failure is a store error naming the path and what to do",
        frozenset({"bare-os-error", "unexpected-error"}),
        ("disk-shapes",),
        judged="at every call, start-up and recovery under the disk shapes",
    ),
    Promise(
        "P-results",
        "every call returns what it promises",
        frozenset({"wrong-result"}),
        ("machine", "concurrency"),
        judged="at every call of the machine and the concurrency check, against the model's result",
    ),
)


def promise(promise_id: str) -> Promise:
    for found in PROMISES:
        if found.id == promise_id:
            return found
    known = ", ".join(p.id for p in PROMISES)
    raise KeyError(f"no promise {promise_id!r} (known: {known})")
