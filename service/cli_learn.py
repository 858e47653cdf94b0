"""`panicdx labels ...`, `panicdx model ...`, `panicdx unknowns` and `panicdx train --data-dir`.

The learning loop's command line (DESIGN 9, issue 5). Every command takes `--data-dir` like
the service (database and blob store under it unless `PANICDX_DATABASE_URL` /
`PANICDX_BLOB_URL` say otherwise) and migrates the database to the current schema first.
Errors are one line on stderr and exit 1, never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from service.blobs import BlobStore
    from service.settings import Settings

labels_app = typer.Typer(help="Import and export labelled panics.", no_args_is_help=True)
model_app = typer.Typer(
    help="The model registry: list, show, promote, roll back.", no_args_is_help=True
)

stdout = Console()
stderr = Console(stderr=True, soft_wrap=True)  # error lines stay whole for scripts and logs

DataDir = Annotated[
    Path | None,
    typer.Option(help="Service data directory (default: PANICDX_DATA_DIR or ./panicdx-data)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
DEFAULT_TENANT = "default"


def _fail(message: str) -> typer.Exit:
    stderr.print(f"[bold red]panicdx:[/] {message}", highlight=False)
    return typer.Exit(1)


def _settings(data_dir: Path | None) -> Settings:
    from service.settings import get_settings

    return get_settings(data_dir)


@contextmanager
def _store(data_dir: Path | None, write: bool = False) -> Iterator[tuple[Session, BlobStore]]:
    """A migrated database session (committed on success) and the blob store."""
    from service.blobs import open_blob_store
    from service.db.migrate import upgrade_database
    from service.db.session import open_database

    settings = _settings(data_dir)
    try:
        upgrade_database(settings)
        database = open_database(settings)
        blobs = open_blob_store(settings)
    except Exception as exc:  # a bad URL or an unreachable server: say which, no trace
        raise _fail(f"cannot open the data store: {exc}") from None
    try:
        factory = database.write_session if write else database.session
        with factory() as session:
            yield session, blobs
            session.commit()
    finally:
        database.dispose()


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _tenant_id(session: Session, tenant: str | None) -> str | None:
    """The id of the tenant called `tenant`; None when `tenant` is None (meaning all tenants).

    An unknown name is an error (exit 1), not an empty result that would look like no data.
    """
    from service.db.repo.tenants import get_tenant_by_name

    if tenant is None:
        return None
    row = get_tenant_by_name(session, tenant)
    if row is None:
        raise _fail(f"no tenant named {tenant!r}")
    return row.id


# --- labels --------------------------------------------------------------------------------


@labels_app.command("import")
def labels_import(
    path: Annotated[
        Path, typer.Argument(help="A .jsonl file, a directory with a labels file, or the file.")
    ],
    data_dir: DataDir = None,
    author: Annotated[
        str | None, typer.Option(help="Recorded on labels that name no author.")
    ] = None,
    tenant: Annotated[str, typer.Option(help="Tenant the labels belong to.")] = DEFAULT_TENANT,
    as_json: AsJson = False,
) -> None:
    """Import labelled panics (formats: `classifier/labels.py` docstring)."""
    from classifier.labels import KnownCauses, LabelImportError, read_label_import
    from service.db.repo.tenants import get_or_create_tenant
    from service.learning import store_labels

    try:
        labels = read_label_import(path, KnownCauses.from_knowledge_base(), author=author)
    except LabelImportError as exc:
        for problem in exc.problems:
            stderr.print(f"[bold red]panicdx:[/] {problem}", highlight=False)
        stderr.print(f"{len(exc.problems)} problem(s); nothing was imported", highlight=False)
        raise typer.Exit(1) from None
    with _store(data_dir, write=True) as (session, blobs):
        tenant_row = get_or_create_tenant(session, tenant)
        counts = store_labels(session, blobs, tenant_row.id, labels)
    if as_json:
        _print_json(counts.as_json())
        return
    stdout.print(
        f"imported {counts.imported} label(s); {counts.duplicates} duplicate(s) of an "
        f"already-labelled crash (kept, counted once in training); "
        f"{sum(counts.unknown_root_causes.values())} naming a root cause not in the "
        "knowledge base",
        highlight=False,
    )
    for cause, count in sorted(counts.unknown_root_causes.items()):
        stdout.print(f"  candidate for a new entry: {cause!r} ({count})", highlight=False)


@labels_app.command("export")
def labels_export(
    data_dir: DataDir = None,
    out: Annotated[
        Path | None, typer.Option(help="Write to this file (default: standard output).")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's labels (default: all).")
    ] = None,
) -> None:
    """Export every label as JSON Lines (imports back with `panicdx labels import`)."""
    from classifier.labels import write_jsonl
    from service.learning import load_labels

    with _store(data_dir) as (session, blobs):
        labels, skipped = load_labels(session, blobs, _tenant_id(session, tenant))
    for reason in skipped:
        stderr.print(f"skipped label {reason}", highlight=False)
    if out is None:
        write_jsonl(labels, sys.stdout)
        return
    try:
        with out.open("w", encoding="utf-8") as handle:
            count = write_jsonl(labels, handle)
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror}") from None
    stderr.print(f"{count} label(s) written to {out}", highlight=False)


# --- train ---------------------------------------------------------------------------------


def train_with_data_dir(
    data_dir: Path,
    out: Path | None,
    *,
    corpus: Path | None = None,
    cross_validate: bool = True,
    if_new_labels: bool = False,
) -> None:
    """`panicdx train --data-dir DIR`: corpus + stored labels, evaluate, register a candidate.

    Recorded as a training run (`service.training_runs`), so it never overlaps a run the API
    or the schedule started. `if_new_labels`: only when labels were added since the last
    training (else a message and exit 0), the form for a cron line.
    """
    from classifier.train import rich_progress
    from service.db.session import open_database
    from service.learning import TrainingError
    from service.training_runs import (
        RunConflict,
        RunNotQueued,
        execute_run,
        new_label_count,
        reap_interrupted,
        start_run,
    )

    settings = _settings(data_dir).with_overrides(
        train_corpus=corpus, train_cross_validate=cross_validate
    )
    with _store(data_dir, write=True) as (session, blobs):
        reap_interrupted(session)
        if if_new_labels:
            count = new_label_count(session)
            if count == 0:
                stdout.print("no labels added since the last training: nothing to do")
                return
            stderr.print(f"{count} label(s) added since the last training", highlight=False)
        try:
            run_id = start_run(session, trigger="cli", requested_by=_who()).id
        except RunConflict as exc:
            raise _fail(f"{exc}; try again when it has finished") from None
    database = open_database(settings)
    try:
        with rich_progress(stderr) as progress:
            done = execute_run(settings, database, blobs, run_id, out=out, progress=progress)
    except (TrainingError, RunNotQueued) as exc:
        raise _fail(str(exc)) from None
    finally:
        database.dispose()
    for reason in done.skipped_labels:
        stderr.print(f"skipped label {reason}", highlight=False)
    _print_candidate_summary(done.version, done.metrics)
    stdout.print(f"report: {done.report_path}", highlight=False)


def _who() -> str:
    """`cli:<login name>` for the run's requested_by (`cli` when the name is unknown)."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (containers)
        return "cli"


def _print_candidate_summary(version: str, metrics: dict[str, Any]) -> None:
    from classifier.registry import check_gate

    gate = check_gate(
        metrics, None if metrics["compared_with"] == "built-in" else metrics["compared_with"]
    )
    cand, act = metrics["candidate"], metrics["active"]
    stdout.print(
        f"candidate {version}: macro-F1 {cand['macro_f1']:.3f} vs {metrics['compared_with']} "
        f"{act['macro_f1']:.3f}, accuracy {100 * cand['accuracy']:.1f}% vs "
        f"{100 * act['accuracy']:.1f}% on the frozen evaluation set "
        f"({metrics['frozen_samples']} samples)",
        highlight=False,
    )
    verdict = "passes" if gate.passed else "FAILS: " + "; ".join(gate.failures)
    stdout.print(f"promotion gate {verdict}", highlight=False)
    stdout.print(f"promote with: panicdx model promote {version}", highlight=False)


# --- model ---------------------------------------------------------------------------------


@model_app.command("list")
def model_list(data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """List registered model versions, newest first."""
    from service.learning import list_versions, version_json

    with _store(data_dir) as (session, _blobs):
        rows = [version_json(row) for row in list_versions(session)]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        stdout.print("no registered model versions; the built-in model serves")
        return
    table = Table(title="model versions")
    for column in ("version", "status", "created", "macro-F1", "compared with", "labels"):
        table.add_column(column)
    for row in rows:
        f1 = row["macro_f1"]
        table.add_row(
            row["version"],
            row["status"],
            row["created_at"],
            "-" if f1 is None else f"{f1:.3f}",
            str(row["compared_with"]),
            str(row["labelled_panics"]),
        )
    stdout.print(table)


@model_app.command("show")
def model_show(
    version: Annotated[str, typer.Argument(help="A version from `panicdx model list`.")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Show one version: status, promotion record, metrics and what the gate says now."""
    from service.learning import version_detail

    with _store(data_dir) as (session, _blobs):
        data = version_detail(session, version)
    if data is None:
        raise _fail(f"no model version {version!r} (see `panicdx model list`)")
    if as_json:
        _print_json(data)
        return
    for key in ("version", "status", "created_at", "promoted_at", "promoted_by", "reason"):
        stdout.print(f"{key}: {data[key]}", highlight=False)
    metrics = data["metrics"]
    for name in ("candidate", "active", "baseline"):
        if name in metrics:
            m = metrics[name]
            label = "this model" if name == "candidate" else name
            if name == "active":
                label = f"compared with {metrics.get('compared_with')}"
            stdout.print(
                f"{label}: macro-F1 {m['macro_f1']:.3f}, accuracy {100 * m['accuracy']:.1f}%, "
                f"category accuracy {100 * m['category_accuracy']:.1f}%",
                highlight=False,
            )
    gate = data["gate"]
    if gate is not None:
        verdict = "passes" if gate["passed"] else "fails: " + "; ".join(gate["failures"])
        stdout.print(f"promotion gate now: {verdict}", highlight=False)


@model_app.command("promote")
def model_promote(
    version: Annotated[str, typer.Argument(help="The candidate to make active.")],
    *,
    data_dir: DataDir = None,
    force: Annotated[bool, typer.Option(help="Promote even if the gate fails.")] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why (required with --force; recorded).")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Who promotes (recorded).")] = None,
    as_json: AsJson = False,
) -> None:
    """Make a candidate the active model, if the promotion gate allows it."""
    from service.learning import PromotionRefused, RegistryError, promote_version

    with _store(data_dir, write=True) as (session, _blobs):
        try:
            done = promote_version(session, version, force=force, reason=reason, by=by)
        except (PromotionRefused, RegistryError) as exc:
            raise _fail(str(exc)) from None
    data = {
        "version": done.version,
        "previous": done.previous,
        "gate": done.gate.as_json(),
        "reason": done.reason,
    }
    if as_json:
        _print_json(data)
        return
    stdout.print(
        f"{done.version} is now active (was {done.previous or 'the built-in model'})"
        + (f"; reason: {done.reason}" if done.reason else ""),
        highlight=False,
    )


@model_app.command("rollback")
def model_rollback(
    data_dir: DataDir = None,
    by: Annotated[str | None, typer.Option(help="Who rolls back (recorded).")] = None,
    as_json: AsJson = False,
) -> None:
    """Retire the active version and restore the one promoted before it."""
    from service.learning import RegistryError, rollback

    with _store(data_dir, write=True) as (session, _blobs):
        try:
            retired, restored = rollback(session, by=by)
        except RegistryError as exc:
            raise _fail(str(exc)) from None
    if as_json:
        _print_json({"retired": retired, "active": restored or "built-in"})
        return
    stdout.print(
        f"retired {retired}; active now: {restored or 'the built-in model'}", highlight=False
    )


# --- unknowns ------------------------------------------------------------------------------


def unknowns(
    data_dir: DataDir = None,
    as_json: AsJson = False,
    top: Annotated[int, typer.Option(help="Draft entries for this many clusters.", min=0)] = 3,
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant's diagnoses (default: all).")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Also write each draft (<id>.yaml) and its example logs here."),
    ] = None,
) -> None:
    """Cluster diagnoses that abstained and draft knowledge-base entries for the biggest."""
    from classifier.unknowns import cluster, draft_entry
    from service.learning import load_abstained

    with _store(data_dir) as (session, blobs):
        items = load_abstained(session, blobs, _tenant_id(session, tenant))
    clusters = cluster(items)
    drafts = [draft_entry(c) for c in clusters[:top]]
    if out is not None:
        _write_drafts(out, clusters[:top], drafts)
    if as_json:
        summaries = [c.as_json() for c in clusters]
        for summary, draft in zip(summaries, drafts, strict=False):
            summary["draft"] = draft
        _print_json({"abstained": len(items), "clusters": summaries})
        return
    if not clusters:
        stdout.print("no abstained diagnoses: nothing to cluster")
        return
    table = Table(title=f"{len(items)} abstained diagnoses in {len(clusters)} clusters")
    for column in ("#", "size", "latest", "hosts", "title"):
        table.add_column(column)
    for number, found in enumerate(clusters[:20], 1):
        data = found.as_json()
        table.add_row(
            str(number), str(found.size), data["latest"], str(len(data["hosts"])), found.title
        )
    stdout.print(table)
    for number, draft in enumerate(drafts, 1):
        stdout.print(f"\n[bold]Draft entry for cluster {number}[/]")
        stdout.print(draft, highlight=False, markup=False)


def _write_drafts(out: Path, clusters: list[Any], drafts: list[str]) -> None:
    """Each draft as `<id>.yaml` plus up to three example logs in `<id>/example-N.log`."""
    import yaml

    try:
        out.mkdir(parents=True, exist_ok=True)
        for found, draft in zip(clusters, drafts, strict=True):
            entry_id = yaml.safe_load(draft)["id"]
            (out / f"{entry_id}.yaml").write_text(draft, encoding="utf-8")
            examples = out / entry_id
            examples.mkdir(exist_ok=True)
            for number, member in enumerate(found.members[:3], 1):
                header = (
                    f"KIND: positive\nROOT_CAUSE: {entry_id}\nSOURCE: diagnosis "
                    f"{member.diagnosis_id}\nNOTE: TODO\n\n"
                )
                (examples / f"example-{number}.log").write_text(
                    header + member.text, encoding="utf-8"
                )
    except OSError as exc:
        raise _fail(f"cannot write drafts to {out}: {exc.strerror}") from None


def register(app: typer.Typer) -> None:
    """Add the learning-loop commands to the main `panicdx` app."""
    app.add_typer(labels_app, name="labels")
    app.add_typer(model_app, name="model")
    app.command("unknowns")(unknowns)
