"""Keeps running jobs' leases alive: one renewal thread per process for every job it runs.

A job renews its lease every third of the lease's length while it works. Most jobs (a log is
diagnosed in milliseconds) finish long before their first renewal is due, so instead of a
thread per job, every run registers its lease with this process's renewer and unregisters it
when it ends; the renewer's single thread sleeps until the earliest renewal is due. A job that
finishes early costs a dictionary insert and delete, no thread start and no database write.

A forked child (Celery's prefork pool) gets a fresh, empty renewer: threads and the parent's
leases do not carry over a fork.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from service.db import repo
from service.db.errors import LeaseLostError
from service.db.models import Job

log = logging.getLogger(__name__)

# Shortest renewal interval, so a tiny lease (tests use 1 s) does not spin.
MIN_RENEW_SECONDS = 0.1


@dataclass(eq=False)
class HeldLease:
    """One job's lease while its run works; `check()` raises `LeaseLostError` once a renewal
    found the lease gone (the job was taken over after this worker looked dead)."""

    job: Job
    worker_id: str
    session_factory: sessionmaker[Session]
    lease_seconds: int
    due: float
    lost: bool = field(default=False)

    @property
    def interval(self) -> float:
        """Seconds between renewals: a third of the lease, leaving two thirds of slack."""
        return max(self.lease_seconds / 3, MIN_RENEW_SECONDS)

    def check(self) -> None:
        """Raise `LeaseLostError` when the lease is known to be lost; else nothing."""
        if self.lost:
            raise LeaseLostError(self.job.id, self.worker_id)


class LeaseRenewer:
    """Renews every registered lease when it is due, from one daemon thread (started on the
    first registration in this process)."""

    def __init__(self) -> None:
        self._leases: set[HeldLease] = set()
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        # When the renewer thread will next wake by itself (0: it is awake and will look at
        # every lease before sleeping again). A new lease due later needs no wake-up call.
        self._sleeping_until = 0.0

    def hold(
        self,
        job: Job,
        worker_id: str,
        session_factory: sessionmaker[Session],
        lease_seconds: int,
    ) -> HeldLease:
        """Start renewing the lease `worker_id` just took on `job`; call `release` when done."""
        lease = HeldLease(job, worker_id, session_factory, lease_seconds, due=0.0)
        lease.due = time.monotonic() + lease.interval
        with self._wakeup:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="panicdx-leases", daemon=True
                )
                self._thread.start()
            self._leases.add(lease)
            if lease.due < self._sleeping_until:
                self._wakeup.notify()
        return lease

    def release(self, lease: HeldLease) -> None:
        """Stop renewing `lease` (the job finished, failed or was handed back)."""
        with self._wakeup:
            self._leases.discard(lease)

    def held(self) -> int:
        """How many leases are being kept alive now."""
        with self._wakeup:
            return len(self._leases)

    def _run(self) -> None:
        while True:
            with self._wakeup:
                now = time.monotonic()
                due = [lease for lease in self._leases if lease.due <= now]
                if not due:
                    next_due = min((lease.due for lease in self._leases), default=math.inf)
                    self._sleeping_until = next_due
                    self._wakeup.wait(None if next_due == math.inf else next_due - now)
                    self._sleeping_until = 0.0
                    continue
            for lease in due:
                self._renew(lease)

    def _renew(self, lease: HeldLease) -> None:
        try:
            with lease.session_factory() as session:
                repo.renew_lease(session, lease.job, lease.worker_id, lease.lease_seconds)
                session.commit()
        except LeaseLostError:
            lease.lost = True
            self.release(lease)
            return
        except Exception:  # a database hiccup: try again next interval, the lease has slack
            log.warning("job %s: could not renew the lease", lease.job.id, exc_info=True)
        lease.due = time.monotonic() + lease.interval


class _Current:
    renewer = LeaseRenewer()


def _new_renewer_after_fork() -> None:
    # A forked child (Celery's prefork pool) has none of its parent's threads, and the
    # parent's leases are not its own: it starts with an empty renewer.
    _Current.renewer = LeaseRenewer()


os.register_at_fork(after_in_child=_new_renewer_after_fork)


def lease_renewer() -> LeaseRenewer:
    """This process's renewer."""
    return _Current.renewer
