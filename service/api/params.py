"""Small checks on query parameters and metadata shared by several routes."""

from __future__ import annotations

from datetime import UTC, datetime

from service.api.errors import invalid_request

MAX_TAGS = 32
MAX_TAG_CHARS = 64
MAX_META_CHARS = 255


def as_utc(value: datetime | None) -> datetime | None:
    """The time in UTC; a time without a zone is taken to be UTC already. None stays None."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def time_range(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """`since` and `until` in UTC; 422 when the range is empty or reversed."""
    since, until = as_utc(since), as_utc(until)
    if since is not None and until is not None and since >= until:
        raise invalid_request("'since' must be before 'until'")
    return since, until


def parse_tags(raw: str | None) -> list[str]:
    """Comma-separated tags, trimmed, empties dropped, duplicates removed in order."""
    if not raw:
        return []
    tags: list[str] = []
    for tag in (t.strip() for t in raw.split(",")):
        if not tag or tag in tags:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise invalid_request(f"tag {tag[:20]!r}... is over {MAX_TAG_CHARS} characters")
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise invalid_request(f"at most {MAX_TAGS} tags")
    return tags


def metadata_text(name: str, value: str | None) -> str | None:
    """A host name or instance id: trimmed, None when blank, 422 when too long or multi-line."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_META_CHARS:
        raise invalid_request(f"{name} is over {MAX_META_CHARS} characters")
    if any(ord(c) < 32 for c in value):
        raise invalid_request(f"{name} contains control characters")
    return value
