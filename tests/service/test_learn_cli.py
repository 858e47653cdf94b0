"""The learning loop end to end through the CLI, on a temporary data directory.

Label a handful of panics the service gets wrong, train, read the report, promote, and the
active model now diagnoses them right; then the registry's promote/rollback rules. Training
uses a small corpus (a few variants of every knowledge-base example) without cross-validation
so the module stays well under a minute.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from classifier.corpus import DEFAULT_CORPUS_PATH, read_corpus, write_corpus
from knowledge_base.loader import load_knowledge_base
from service.cli import app
from service.diagnoser import Diagnoser
from service.learning import active_model_loader
from service.settings import get_settings

REALWORLD = Path(__file__).parents[1] / "realworld" / "logs"
# Real logs (posted in bug reports) with a crash the parser finds, which the shipped system
# answers `unknown` for; the expert's category is the file name's prefix.
WRONG_TODAY = {
    "null-deref-arm64-vm-interleaved-console.log": "generic-null-deref",
    "hardware-mce-ppc64-powernv-early-boot.log": "generic-hardware-mce",
}

runner = CliRunner()


def run(*args: str) -> Any:
    """Run `panicdx ARGS`, fail with its output when it exits non-zero."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def flat(result: Any) -> str:
    """The command's output on one line (rich wraps long lines at the terminal width)."""
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped corpus cut to three variants per example log."""
    samples = [s for s in read_corpus(DEFAULT_CORPUS_PATH) if s.variant.get("index", -1) < 2]
    return write_corpus(samples, tmp_path_factory.mktemp("corpus") / "small.jsonl.gz")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, small_corpus: Path) -> dict[str, Any]:
    """Import labels, train a candidate with them; the data dir and the candidate's version."""
    data = tmp_path_factory.mktemp("data")
    imports = tmp_path_factory.mktemp("import")
    lines = [
        json.dumps({"path": str(REALWORLD / name), "root_cause": cause, "note": "test"})
        for name, cause in WRONG_TODAY.items()
    ]
    (imports / "labels.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("labels", "import", str(imports / "labels.jsonl"), "--data-dir", str(data))
    assert "imported 2 label(s); 0 duplicate(s)" in flat(result)
    run("train", "--data-dir", str(data), "--corpus", str(small_corpus), "--no-cross-validate")
    versions = json.loads(run("model", "list", "--data-dir", str(data), "--json").stdout)
    assert [v["status"] for v in versions] == ["candidate"]
    return {"data": data, "version": versions[0]["version"]}


def test_the_report_is_written_next_to_the_artifact(trained: dict[str, Any]) -> None:
    directory = trained["data"] / "models" / trained["version"]
    report = (directory / "report.md").read_text(encoding="utf-8")
    assert "| root-cause macro-F1 |" in report and "most-frequent baseline" in report
    for plot in ("confusion_matrix.png", "calibration.png"):
        assert (directory / plot).read_bytes().startswith(b"\x89PNG")
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["frozen_eval"]["sha256"]) == 64
    assert manifest["labelled_panics"] == 2


def test_promoted_model_diagnoses_the_labelled_panics(trained: dict[str, Any]) -> None:
    data, version = trained["data"], trained["version"]
    settings = get_settings(data)
    kb = load_knowledge_base()
    texts = {name: (REALWORLD / name).read_text(errors="replace") for name in WRONG_TODAY}
    before = Diagnoser(kb, active_model_loader(settings))
    assert all(before.diagnose_text(t).category == "unknown" for t in texts.values())

    result = run("model", "promote", version, "--data-dir", str(data), "--json")
    promotion = json.loads(result.stdout)
    assert promotion["previous"] is None and promotion["gate"]["passed"], promotion

    after = Diagnoser(kb, active_model_loader(settings))
    for name, cause in WRONG_TODAY.items():
        diagnosis = after.diagnose_text(texts[name])
        assert diagnosis.root_cause is not None and diagnosis.root_cause.id == cause, name
        assert diagnosis.model is not None and diagnosis.model.version == version

    shown = json.loads(run("model", "show", version, "--data-dir", str(data), "--json").stdout)
    assert shown["status"] == "active" and shown["promoted_at"]

    rolled = json.loads(run("model", "rollback", "--data-dir", str(data), "--json").stdout)
    assert rolled == {"retired": version, "active": "built-in"}
    assert active_model_loader(settings).version != version
    failed = runner.invoke(app, ["model", "rollback", "--data-dir", str(data)])
    assert failed.exit_code == 1 and "nothing to roll back" in failed.output


def test_export_round_trips_through_import(trained: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    run("labels", "export", "--data-dir", str(trained["data"]), "--out", str(out))
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["root_cause"] for r in rows) == sorted(WRONG_TODAY.values())
    other = tmp_path / "other"
    result = run("labels", "import", str(out), "--data-dir", str(other), "--json")
    assert json.loads(result.stdout)["imported"] == 2
    again = tmp_path / "again.jsonl"
    run("labels", "export", "--data-dir", str(other), "--out", str(again))
    strip = ("created_at",)
    first = [{k: v for k, v in r.items() if k not in strip} for r in rows]
    second = [
        {k: v for k, v in json.loads(line).items() if k not in strip}
        for line in again.read_text(encoding="utf-8").splitlines()
    ]
    assert sorted(first, key=str) == sorted(second, key=str)


def test_bad_import_is_a_clear_error_and_stores_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"path": "missing.log", "root_cause": "x"}\n', encoding="utf-8")
    result = runner.invoke(app, ["labels", "import", str(bad), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "bad.jsonl:1: " in flat(result) and "nothing was imported" in flat(result)
    assert "Traceback" not in result.output


def test_unknown_version_and_forced_promotion_need_a_reason(trained: dict[str, Any]) -> None:
    data = str(trained["data"])
    result = runner.invoke(app, ["model", "promote", "clf-nope", "--data-dir", data])
    assert result.exit_code == 1 and "no model version" in flat(result)
    result = runner.invoke(
        app, ["model", "promote", trained["version"], "--data-dir", data, "--force"]
    )
    assert result.exit_code == 1 and "--force needs --reason" in flat(result)


def test_gate_refusal_forced_promotion_and_rollback_to_previous(
    trained: dict[str, Any], small_corpus: Path
) -> None:
    data, first = str(trained["data"]), trained["version"]
    run("train", "--data-dir", data, "--corpus", str(small_corpus), "--no-cross-validate")
    versions = json.loads(run("model", "list", "--data-dir", data, "--json").stdout)
    second = next(v["version"] for v in versions if v["version"] != first)
    run("model", "promote", second, "--data-dir", data)

    # `first` was evaluated against the built-in model, not against `second`: refused.
    refused = runner.invoke(app, ["model", "promote", first, "--data-dir", data])
    message = flat(refused)
    assert refused.exit_code == 1 and "promotion gate failed" in message
    assert f"evaluated against built-in, but {second} is active" in message

    forced = run(
        "model", "promote", first, "--data-dir", data, "--force", "--reason", "INC-42 hotfix"
    )
    assert "INC-42 hotfix" in flat(forced)
    shown = json.loads(run("model", "show", first, "--data-dir", data, "--json").stdout)
    assert shown["status"] == "active" and shown["reason"].startswith("forced: INC-42 hotfix")

    rolled = json.loads(run("model", "rollback", "--data-dir", data, "--json").stdout)
    assert rolled == {"retired": first, "active": second}


def test_import_of_an_export_from_elsewhere_drops_foreign_diagnosis_ids(tmp_path: Path) -> None:
    name, cause = next(iter(WRONG_TODAY.items()))
    line = {"path": str(REALWORLD / name), "root_cause": cause, "diagnosis_id": "dg_elsewhere"}
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    result = run("labels", "import", str(path), "--data-dir", str(tmp_path / "d"), "--json")
    assert json.loads(result.stdout)["imported"] == 1
    exported = run("labels", "export", "--data-dir", str(tmp_path / "d")).stdout
    assert "dg_elsewhere" not in exported and cause in exported


def test_active_model_swaps_without_restart(trained: dict[str, Any]) -> None:
    from service.blobs import open_blob_store
    from service.db.session import open_database
    from service.learning import ActiveModel

    data = trained["data"]
    settings = get_settings(data)
    database = open_database(settings)
    try:
        active = ActiveModel(settings, database.session, open_blob_store(settings), check_seconds=0)
        versions = json.loads(run("model", "list", "--data-dir", str(data), "--json").stdout)
        by_status = {v["status"]: v["version"] for v in versions}
        serving = by_status.get("active")
        first = active.current()
        assert active.version == (serving or "built-in")
        target = next(v["version"] for v in versions if v["version"] != serving)
        run("model", "promote", target, "--data-dir", str(data), "--force", "--reason", "swap")
        swapped = active.current()
        assert swapped.version == target and active.version == target
        assert first.version != swapped.version
        run("model", "rollback", "--data-dir", str(data))
        assert active.current().version == first.version
    finally:
        database.dispose()


def test_a_registered_model_is_served_from_its_export(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    """A version downloaded from the registry brings its plain-array export, so serving it
    needs no unpickling (the pickle stays unloaded) and a cache made before it gets it."""
    from classifier.export import EXPORT_FILES
    from service.blobs import open_blob_store
    from service.db.session import open_database
    from service.learning import list_versions, load_registered

    settings = get_settings(trained["data"])
    database = open_database(settings)
    try:
        with database.session() as session:
            row = next(v for v in list_versions(session) if v.version == trained["version"])
            session.expunge(row)
    finally:
        database.dispose()
    blobs = open_blob_store(settings)
    model = load_registered(blobs, row, tmp_path / "cache")
    directory = tmp_path / "cache" / row.version
    assert all((directory / name).is_file() for name in EXPORT_FILES)
    assert model.compiled is not None and model._pipeline is None
    # A cache directory written before the export was fetched is completed on the next load.
    for name in EXPORT_FILES:
        (directory / name).unlink()
    again = load_registered(blobs, row, tmp_path / "cache")
    assert again.compiled is not None and again._pipeline is None
