"""Shared constants, records and helpers of the API tests (fixtures are in conftest.py)."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.db.repo import create_api_key
from service.db.session import Database
from service.settings import Settings

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
NFS_LOG = EXAMPLES / "nfs-hung-task.log"
OOM_LOG = EXAMPLES / "panic-on-oom.log"
MCE_LOG = EXAMPLES / "dimm-machine-check.log"
NFS_ROOT_CAUSE = "hung-task-nfs-server-not-responding"
OOM_ROOT_CAUSE = "oom-panic-on-oom-system-wide"
KB_EXAMPLES = REPO / "knowledge_base" / "examples"

POSTGRES_ADMIN_URL = os.environ.get(
    "PANICDX_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# Small limits so the 413 tests send megabytes, not gigabytes.
MAX_LOG_BYTES = 1024 * 1024
MAX_DUMP_BYTES = 16 * 1024 * 1024


# The operator's token for /metrics in the `service` fixture's settings.
METRICS_TOKEN = "test-metrics-token"
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@dataclass
class Service:
    """One app under test: its settings, an HTTP client and a direct database handle."""

    backend: str
    settings: Settings
    client: TestClient
    db: Database

    @property
    def blob_dir(self) -> Path:
        """The local blob store's directory."""
        return self.settings.data_dir / "blobs"


@dataclass
class TenantKeys:
    """A fresh tenant and an Authorization header for each role."""

    name: str
    tenant_id: str
    admin: dict[str, str]
    submitter: dict[str, str]
    reader: dict[str, str]
    admin_key: str


def make_tenant(service: Service) -> TenantKeys:
    """A new tenant with an admin, a submitter and a reader key."""
    name = f"tenant-{uuid.uuid4().hex[:10]}"
    headers: dict[str, dict[str, str]] = {}
    plaintexts: dict[str, str] = {}
    with service.db.write_session() as session:
        tenant_id = ""
        for role in ("admin", "submitter", "reader"):
            key, plaintext = create_api_key(session, name, role)
            tenant_id = key.tenant_id
            headers[role] = {"Authorization": f"Bearer {plaintext}"}
            plaintexts[role] = plaintext
        session.commit()
    return TenantKeys(
        name=name,
        tenant_id=tenant_id,
        admin=headers["admin"],
        submitter=headers["submitter"],
        reader=headers["reader"],
        admin_key=plaintexts["admin"],
    )


def raw_headers(headers: dict[str, str], **extra: str) -> dict[str, str]:
    """Headers for a raw octet-stream upload."""
    return {**headers, "Content-Type": "application/octet-stream", **extra}


def blob_files(service: Service, tenant_id: str) -> list[Path]:
    """Every blob stored for a tenant (raw uploads and extracted logs), plus temp files."""
    found = [
        p
        for sub in ("raw", "logs")
        for p in (service.blob_dir / sub / tenant_id).rglob("*")
        if p.is_file()
    ]
    tmp = service.blob_dir / ".tmp"
    found += [p for p in tmp.rglob("*") if p.is_file()] if tmp.exists() else []
    return found


def elf_dump_of(log_text: str) -> bytes:
    """A small but real-layout ELF vmcore whose printk ring buffer holds `log_text`."""
    dumpfactory = pytest.importorskip("tests.vmcore_parsers.dumps.dumpfactory")
    records = []
    for index, line in enumerate(log_text.splitlines()):
        match = re.match(r"\[\s*(\d+)\.(\d+)\]\s?(.*)", line)
        stamp = int(match.group(1)) * 10**9 + int(match.group(2)) * 1000 if match else index
        records.append((stamp, (match.group(3) if match else line).encode()))
    kernel = dumpfactory.build_prb_kernel(records, memory_size=4 << 20, count_bits=7, size_bits=14)
    data: bytes = dumpfactory.write_elf(kernel)
    return data
