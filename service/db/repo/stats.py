"""The fleet view: a tenant's diagnoses counted by category, root cause, time and signature."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from service.db.models import DiagnosisRecord

Bucket = Literal["day", "hour"]
TOP_SIGNATURES = 10


def fleet_stats(
    session: Session,
    tenant_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket: Bucket = "day",
) -> dict[str, Any]:
    """Counts over the tenant's diagnoses created in [since, until) (None: unbounded).

    Shape: `{"total", "by_category": [{category, count}], "by_root_cause": [{id, title,
    category, count}], "over_time": [{bucket, category, count}], "top_signatures":
    [{signature, title, count, hosts}], "hosts_affected"}`; lists are sorted by count, then
    name; `over_time` by bucket. Other tenants' rows are never read.
    """
    if bucket not in ("day", "hour"):
        raise ValueError("bucket is 'day' or 'hour'")
    d = DiagnosisRecord
    scope = [d.tenant_id == tenant_id]
    if since is not None:
        scope.append(d.created_at >= since)
    if until is not None:
        scope.append(d.created_at < until)

    total = session.scalar(select(func.count()).select_from(d).where(*scope)) or 0
    by_category = [
        {"category": category, "count": int(count)}
        for category, count in session.execute(
            select(d.category, func.count())
            .where(*scope)
            .group_by(d.category)
            .order_by(func.count().desc(), d.category)
        ).all()
    ]
    by_root_cause = [
        {"id": rc_id, "title": title, "category": category, "count": int(count)}
        for rc_id, title, category, count in session.execute(
            select(
                d.root_cause_id, func.max(d.root_cause_title), func.max(d.category), func.count()
            )
            .where(*scope, d.root_cause_id.is_not(None))
            .group_by(d.root_cause_id)
            .order_by(func.count().desc(), d.root_cause_id)
        ).all()
    ]
    bucket_expr = _bucket(session, d.created_at, bucket)
    over_time = [
        {"bucket": _bucket_iso(value, bucket), "category": category, "count": int(count)}
        for value, category, count in session.execute(
            select(bucket_expr, d.category, func.count())
            .where(*scope)
            .group_by(bucket_expr, d.category)
            .order_by(bucket_expr, d.category)
        ).all()
    ]
    top_signatures = [
        {"signature": signature, "title": title, "count": int(count), "hosts": int(hosts)}
        for signature, title, count, hosts in session.execute(
            select(d.signature, func.max(d.title), func.count(), func.count(d.host.distinct()))
            .where(*scope, d.signature.is_not(None))
            .group_by(d.signature)
            .order_by(func.count().desc(), d.signature)
            .limit(TOP_SIGNATURES)
        ).all()
    ]
    hosts = session.scalar(select(func.count(d.host.distinct())).where(*scope)) or 0
    return {
        "total": int(total),
        "by_category": by_category,
        "by_root_cause": by_root_cause,
        "over_time": over_time,
        "top_signatures": top_signatures,
        "hosts_affected": int(hosts),
    }


def _bucket(session: Session, column: Any, bucket: Bucket) -> ColumnElement[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(bucket, func.timezone("UTC", column))
    # SQLite stores "YYYY-MM-DD HH:MM:SS.ffffff" in UTC: truncating the text is the bucket.
    return func.substr(column, 1, 10 if bucket == "day" else 13)


def _bucket_iso(value: Any, bucket: Bucket) -> str:
    """An ISO 8601 UTC timestamp for the start of the bucket."""
    if isinstance(value, datetime):
        start = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    else:
        suffix = " 00:00:00" if bucket == "day" else ":00:00"
        start = datetime.fromisoformat(str(value) + suffix).replace(tzinfo=UTC)
    return start.isoformat().replace("+00:00", "Z")
