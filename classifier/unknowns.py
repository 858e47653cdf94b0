"""Cluster the panics panicdx could not name, and draft knowledge-base entries for them.

About a quarter of production incidents have a cause the knowledge base lacks; they show up
as diagnoses that abstained (category `unknown`, or the `generic-unknown` entry). `cluster`
groups them in two passes:

1. **by crash signature**: the parser's dedup key, so copies of one bug are one group;
2. **by text similarity**: signature groups (and logs without a signature) whose TF-IDF
   vectors (title, guilty frame, first failure, call trace, log tail) have cosine similarity
   >= `SIMILARITY` join the first, largest such cluster: one bug seen with different
   addresses or modules usually differs in signature but not in words.

Clusters are ranked by size, then by their latest occurrence. `draft_entry` writes a YAML
skeleton for one cluster that the schema accepts as is, with every field a human must decide
marked `TODO` (id, title, summary, remediation, verify; the category and signature are
suggestions from the parsed reports).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

from vmcore_parsers.report import CRASH_TYPE_CATEGORY, CrashType

SIMILARITY = 0.5
TAIL_LINES = 60
GENERIC_UNKNOWN = "generic-unknown"


@dataclass(frozen=True)
class Abstained:
    """One diagnosis that abstained: its id, when, where, its parsed report and its log."""

    diagnosis_id: str
    created_at: dt.datetime
    signature: str
    report: Mapping[str, Any]
    text: str
    host: str | None = None


@dataclass
class Cluster:
    """Abstained diagnoses that look like one bug."""

    members: list[Abstained] = field(default_factory=list)
    signatures: Counter[str] = field(default_factory=Counter)

    @property
    def size(self) -> int:
        """How many diagnoses the cluster holds."""
        return len(self.members)

    @property
    def latest(self) -> dt.datetime:
        """When the most recent member was diagnosed."""
        return max(m.created_at for m in self.members)

    @property
    def title(self) -> str:
        """The most common report title of the members (`(no crash found)` when none)."""
        titles = Counter(str(m.report.get("title") or "") for m in self.members)
        best = next((t for t, _ in titles.most_common() if t), "")
        return best or "(no crash found)"

    def as_json(self, examples: int = 3) -> dict[str, Any]:
        """A summary with a few example diagnoses (ids, hosts, first lines of the log)."""
        hosts = sorted({m.host for m in self.members if m.host})
        newest = sorted(self.members, key=lambda m: m.created_at, reverse=True)[:examples]
        return {
            "size": self.size,
            "title": self.title,
            "latest": self.latest.isoformat(timespec="seconds"),
            "first": min(m.created_at for m in self.members).isoformat(timespec="seconds"),
            "signatures": dict(self.signatures.most_common()),
            "hosts": hosts,
            "examples": [
                {"diagnosis_id": m.diagnosis_id, "host": m.host, "created_at": str(m.created_at)}
                for m in newest
            ],
        }


def _document(item: Abstained) -> str:
    report = item.report
    frames = " ".join(str(f.get("function", "")) for f in report.get("call_trace") or [])
    first = (report.get("first_failure") or {}).get("text", "")
    tail = "\n".join(item.text.splitlines()[-TAIL_LINES:])
    # Addresses and long numbers differ between copies of one bug: drop them.
    tail = re.sub(r"\b(0x)?[0-9a-f]{6,}\b|\b\d+\b", " ", tail)
    return " ".join(
        [str(report.get("title") or ""), str(report.get("guilty_frame") or ""), first, frames, tail]
    )


def cluster(items: Sequence[Abstained], similarity: float = SIMILARITY) -> list[Cluster]:
    """Group abstained diagnoses (see the module docstring); largest, then latest, first."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    by_signature: dict[str, list[Abstained]] = {}
    for index, item in enumerate(items):
        key = item.signature or f"\0{index}"  # no signature: a group of its own
        by_signature.setdefault(key, []).append(item)
    groups = sorted(by_signature.values(), key=len, reverse=True)
    if not groups:
        return []
    documents = [" ".join(_document(m) for m in group[:5]) for group in groups]
    try:
        vectors = TfidfVectorizer(sublinear_tf=True, min_df=1).fit_transform(documents)
    except ValueError:  # every document empty: no words to compare
        vectors = None
    clusters: list[Cluster] = []
    heads: list[int] = []  # index into groups of each cluster's first (largest) group
    for index, group in enumerate(groups):
        target = None
        if vectors is not None and heads:
            # Rows are L2-normalised by TF-IDF, so the dot product is the cosine.
            sims = (vectors[heads] @ vectors[index].T).toarray().ravel()
            best = int(np.argmax(sims))
            if sims[best] >= similarity:
                target = clusters[best]
        if target is None:
            target = Cluster()
            clusters.append(target)
            heads.append(index)
        target.members.extend(group)
        for member in group:
            if member.signature:
                target.signatures[member.signature] += 1
    return sorted(clusters, key=lambda c: (c.size, c.latest), reverse=True)


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words[:6]) or "unnamed"


def suggested_category(members: Sequence[Abstained]) -> str:
    """The category the members' crash types point to most often (`unknown` when none)."""
    votes: Counter[str] = Counter()
    for member in members:
        try:
            crash_type = CrashType(str(member.report.get("crash_type")))
        except ValueError:
            continue
        votes[CRASH_TYPE_CATEGORY[crash_type]] += 1
    return votes.most_common(1)[0][0] if votes else "unknown"


def suggested_signature(members: Sequence[Abstained]) -> dict[str, Any]:
    """A signature from what the members share: crash type, guilty frame, else the title."""
    reports = [m.report for m in members if m.report]
    signature: dict[str, Any] = {}
    types = Counter(str(r.get("crash_type")) for r in reports if r.get("crash_type"))
    if types:
        signature["crash_type"] = [types.most_common(1)[0][0]]
    frames = Counter(str(r.get("guilty_frame")) for r in reports if r.get("guilty_frame"))
    if frames:
        signature["guilty_frame"] = f"^{re.escape(frames.most_common(1)[0][0])}$"
    elif reports and reports[0].get("title"):
        signature["title"] = re.escape(str(reports[0]["title"]))
    if not signature:
        # No crash parsed: the schema needs a condition; the first log line is a start.
        first = next((ln for ln in members[0].text.splitlines() if ln.strip()), "TODO")
        signature["text"] = re.escape(first.strip()[:120])
    return signature


def draft_entry(found: Cluster) -> str:
    """A knowledge-base entry skeleton for a cluster, as YAML text (schema-valid; TODOs)."""
    category = suggested_category(found.members)
    entry = {
        "id": f"todo-{_slug(found.title)}",
        "status": "experimental",
        "category": category,
        "title": f"TODO: name the root cause of '{found.title}'"[:160],
        "summary": (
            f"TODO: what happened, in plain words. Seen {found.size} time(s), last on "
            f"{found.latest:%Y-%m-%d}, signatures {', '.join(list(found.signatures)[:3]) or '-'}."
        ),
        "signatures": [suggested_signature(found.members)],
        "remediation": [{"text": "TODO: the first thing an operator should do, and why."}],
        "verify": ["TODO: how to check that the fix worked."],
        "references": [],
        "tags": ["todo"],
    }
    header = (
        "# Drafted by `panicdx unknowns`: replace every TODO, check the suggested category and\n"
        "# signature against the example logs, then save as\n"
        f"# knowledge_base/entries/{category}/<id>.yaml with the logs as examples.\n"
    )
    return header + yaml.safe_dump(entry, sort_keys=False, allow_unicode=True, width=100)
