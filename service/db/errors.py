"""Exceptions raised by the data functions; the API maps them to HTTP errors in one place."""

from __future__ import annotations


class DataError(Exception):
    """Base class: a request the data layer refuses, with a stable machine-readable `code`."""

    code = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(DataError):
    """The named row does not exist (or belongs to another tenant: callers cannot tell)."""

    code = "not_found"


class ConflictError(DataError):
    """The request contradicts existing data (an ambiguous key prefix, a duplicate name)."""

    code = "conflict"


class InvalidCursorError(DataError):
    """A pagination cursor that this service did not hand out."""

    code = "invalid_request"


class LeaseLostError(Exception):
    """The worker's lease on a job expired or was taken over: it must stop working on it."""

    def __init__(self, job_id: str, worker_id: str) -> None:
        super().__init__(f"worker {worker_id} no longer holds the lease on job {job_id}")
        self.job_id = job_id
        self.worker_id = worker_id
