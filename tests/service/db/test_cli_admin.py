"""`panicdx apikey ...`, `panicdx db ...` and `panicdx worker` from the command line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.db import repo
from service.db.session import open_database
from service.settings import Settings

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_apikey_create_prints_only_a_working_key(tmp_path: Path) -> None:
    code, out, _ = invoke("apikey", "create", "--tenant", "acme", "--data-dir", str(tmp_path))
    assert code == 0
    assert re.fullmatch(r"pdx_[A-Za-z0-9_-]{43}\n", out)
    code, out2, _ = invoke(
        "apikey", "create", "--tenant", "acme", "--role", "admin", "--label", "ops",
        "--data-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 0 and out2 != out
    database = open_database(Settings(data_dir=tmp_path))
    try:
        with database.session() as session:
            key = repo.authenticate_key(session, out.strip())
            admin = repo.authenticate_key(session, out2.strip())
    finally:
        database.dispose()
    assert key is not None and key.role.value == "submitter"
    assert admin is not None and admin.role.value == "admin" and admin.label == "ops"


def test_apikey_list_never_shows_keys_and_revoke_works(tmp_path: Path) -> None:
    data = ("--data-dir", str(tmp_path))
    _, key, _ = invoke("apikey", "create", "--tenant", "acme", *data)
    invoke("apikey", "create", "--tenant", "globex", "--role", "reader", *data)
    code, out, _ = invoke("apikey", "list", "--json", *data)
    assert code == 0 and key.strip() not in out
    listed = json.loads(out)
    assert [(k["tenant"], k["role"], k["revoked_at"]) for k in listed] == [
        ("acme", "submitter", None),
        ("globex", "reader", None),
    ]
    assert key.startswith(listed[0]["prefix"])
    code, out, _ = invoke("apikey", "list", "--json", "--tenant", "globex", *data)
    assert [k["tenant"] for k in json.loads(out)] == ["globex"]
    code, _, err = invoke("apikey", "revoke", listed[0]["prefix"], *data)
    assert code == 0 and "revoked" in err
    code, out, _ = invoke("apikey", "list", "--json", *data)
    assert json.loads(out)[0]["revoked_at"] is not None
    code, out, _ = invoke("apikey", "list", *data)
    assert code == 0 and key.strip() not in out
    code, _, err = invoke("apikey", "revoke", "pdx_nothing", *data)
    assert code == 1 and "no API key" in err


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    data = ("--data-dir", str(tmp_path))
    code, out, err = invoke("apikey", "create", "--tenant", "acme", "--role", "root", *data)
    assert code == 2 and out == "" and "root" in err
    code, out, err = invoke("apikey", "create", "--tenant", " ", *data)
    assert code == 2 and out == "" and "empty" in err


def test_db_upgrade_and_purge(tmp_path: Path) -> None:
    code, _, err = invoke("db", "upgrade", "--data-dir", str(tmp_path))
    assert code == 0 and "revision" in err
    assert (tmp_path / "panicdx.db").is_file()
    code, out, _ = invoke("db", "purge", "--data-dir", str(tmp_path))
    assert (code, out) == (0, "0\n")


def test_an_unreachable_database_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANICDX_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, out, err = invoke("apikey", "list")
    assert code == 1 and out == "" and "cannot open the database" in err


def test_worker_needs_a_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PANICDX_BROKER_URL", raising=False)
    code, _, err = invoke("worker", "--data-dir", str(tmp_path))
    assert code == 2 and "PANICDX_BROKER_URL" in err


def test_worker_with_an_unreachable_broker_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PANICDX_BROKER_URL", "redis://127.0.0.1:1/0")
    # `panicdx worker --data-dir` exports PANICDX_DATA_DIR; monkeypatch restores it afterwards.
    monkeypatch.setenv("PANICDX_DATA_DIR", str(tmp_path))
    code, out, err = invoke("worker", "--data-dir", str(tmp_path))
    assert code == 1 and out == "" and "cannot reach the broker" in err
