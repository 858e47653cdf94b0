"""The `panicdx` command line.

`panicdx diagnose FILE...` is the main entry; `panicdx kb ...` inspects and validates the
knowledge base; `panicdx train` rebuilds the classifier. Errors are one line on stderr and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from service.cli_admin import apikey_app, db_app, worker
from service.cli_dumps import register as register_dump_commands
from service.cli_learn import register as register_learning_commands
from service.cli_serve import serve
from service.render import render_diagnosis
from vmcore_parsers.errors import InputError
from vmcore_parsers.intake import DEFAULT_MAX_LOG_BYTES, read_log_file

if TYPE_CHECKING:  # the diagnoser loads numpy and the KB: import it only when diagnosing
    from service.diagnoser import Diagnoser, LogSource
    from service.diagnosis import Diagnosis

app = typer.Typer(
    name="panicdx",
    help="Tell why a Linux machine panicked and what to do about it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Inspect and validate the knowledge base.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
register_learning_commands(app)
app.command("serve")(serve)
register_dump_commands(app)
app.add_typer(apikey_app, name="apikey")
app.add_typer(db_app, name="db")
app.command("worker")(worker)

# Logs are diagnosed in batches so that one model call serves many files while memory stays
# bounded however many files are named.
BATCH_SIZE = 256
EXIT_INPUT_ERROR = 1
EXIT_USAGE = 2

stdout = Console()
stderr = Console(stderr=True, soft_wrap=True)  # error lines stay whole for scripts and logs


def _fail(message: str, code: int = EXIT_INPUT_ERROR) -> typer.Exit:
    stderr.print(f"[bold red]panicdx:[/] {message}", highlight=False)
    return typer.Exit(code)


@app.command()
def diagnose(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Kernel logs or crash dumps (detected by content); '-' reads a log from stdin."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per file (JSON Lines).")
    ] = False,
    model_dir: Annotated[
        Path | None,
        typer.Option(help="Classifier model directory (default: PANICDX_MODEL_DIR or built-in)."),
    ] = None,
    max_size: Annotated[
        int, typer.Option(help="Largest log accepted, in bytes.", min=1)
    ] = DEFAULT_MAX_LOG_BYTES,
    debuginfo: Annotated[
        Path | None,
        typer.Option(
            help="For dumps: vmlinux or debug-info directory; drgn's report (crashed stack, "
            "blocked tasks, CPUs, memory, modules) joins the evidence (tier vmcore-debuginfo)."
        ),
    ] = None,
    *,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Use the active model of this service data directory's model registry "
            "(what `panicdx serve --data-dir` serves) instead of --model-dir."
        ),
    ] = None,
) -> None:
    """Diagnose kernel panic logs: root cause, confidence, evidence and the fix."""
    from service.diagnoser import Diagnoser

    if sum(1 for f in files if str(f) == "-") > 1:
        raise _fail("standard input ('-') can be named only once", EXIT_USAGE)
    if data_dir is not None and model_dir is not None:
        raise _fail("give --data-dir or --model-dir, not both", EXIT_USAGE)
    try:
        if data_dir is not None:
            from service.cli_registry_model import registry_diagnoser

            diagnoser = registry_diagnoser(data_dir)
        else:
            diagnoser = Diagnoser.load(model_dir)
    except Exception as exc:  # a broken install must say what broke, not dump a trace
        raise _fail(f"cannot load the knowledge base or model: {exc}") from None

    failures = 0
    with _progress(len(files), enabled=len(files) > BATCH_SIZE) as advance:
        for batch in _batches(files, BATCH_SIZE):
            for path, outcome in _diagnose_batch(diagnoser, batch, max_size, debuginfo):
                if isinstance(outcome, InputError):
                    failures += 1
                    _report_input_error(path, outcome, as_json)
                elif as_json:
                    record = {"file": str(path), **outcome.model_dump(mode="json")}
                    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
                else:
                    render_diagnosis(stdout, outcome, str(path))
            advance(len(batch))
    if failures:
        raise typer.Exit(EXIT_INPUT_ERROR)


def _diagnose_batch(
    diagnoser: Diagnoser, batch: list[Path], max_size: int, debuginfo: Path | None = None
) -> list[tuple[Path, Diagnosis | InputError]]:
    """Read and diagnose one batch; unreadable files keep their place with their error."""
    reads: list[tuple[Path, tuple[str, LogSource] | InputError]] = []
    for path in batch:
        try:
            reads.append((path, _read_input(path, max_size, debuginfo)))
        except InputError as exc:
            reads.append((path, exc))
    readable = [read for _, read in reads if not isinstance(read, InputError)]
    diagnoses = iter(
        diagnoser.diagnose_texts([text for text, _ in readable], [source for _, source in readable])
    )
    return [
        (path, read if isinstance(read, InputError) else next(diagnoses)) for path, read in reads
    ]


def _read_input(path: Path, max_size: int, debuginfo: Path | None = None) -> tuple[str, LogSource]:
    """A log is read in this process; a dump (or archive) is extracted in a sandbox.

    The bytes decide which: a crash dump named `kern.log` is still a dump. With `debuginfo`,
    drgn's report on a dump follows its log in the text the parser reads (after the panic,
    so it adds evidence without moving the first failure).
    """
    from service.diagnoser import LogSource
    from vmcore_parsers.extract import extract_file_sandboxed, sniff_file
    from vmcore_parsers.sandbox import SandboxLimits

    if str(path) == "-" or not path.is_file() or sniff_file(path) in ("log", "unknown"):
        log = read_log_file(path, max_size)
        return log.text, LogSource(name=str(path), compression=log.compression)
    if debuginfo is None:
        limits = SandboxLimits(max_log_bytes=max_size)
    else:
        roomy = SandboxLimits.for_debuginfo()
        limits = SandboxLimits(roomy.cpu_seconds, roomy.memory_bytes, roomy.wall_seconds, max_size)
    extracted = extract_file_sandboxed(
        path, limits, deep=debuginfo is not None, debuginfo=debuginfo
    )
    text = extracted.text
    if extracted.debug_report:
        text += f"\n==== drgn with debug info ====\n{extracted.debug_report}\n"
    return text, LogSource(
        name=str(path),
        compression=extracted.compression,
        kind=extracted.kind,
        format=None if extracted.format == "log" else extracted.format,
        tier=extracted.tier,
        warnings=extracted.warnings,
    )


def _report_input_error(path: Path, error: InputError, as_json: bool) -> None:
    if as_json:
        record = {"file": str(path), "error": {"code": error.code, "message": error.message}}
        sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    # Escaped: "[dump_corrupt]" would otherwise be taken for rich markup and vanish.
    stderr.print(
        f"[bold red]panicdx:[/] {escape(f'{error.message} [{error.code}]')}", highlight=False
    )


def _batches(items: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextmanager
def _progress(total: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr for long batches; a no-op for a handful of files."""
    if not (enabled and stderr.is_terminal):
        yield lambda count: None
        return
    with Progress(console=stderr, transient=True) as progress:
        task = progress.add_task("diagnosing", total=total)
        yield lambda count: progress.advance(task, count)


@kb_app.command("validate")
def kb_validate(
    path: Annotated[
        Path | None, typer.Option(help="Entries directory (default: the built-in knowledge base).")
    ] = None,
) -> None:
    """Check every entry and example; exit 1 when there is an error."""
    from knowledge_base.validators import validate_all

    problems = validate_all(path)
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        colour = "red" if problem.severity == "error" else "yellow"
        stdout.print(
            f"[{colour}]{problem.severity}[/] {problem.entry_id or '-'}: {problem.message}"
            + (f" ({problem.path})" if problem.path else ""),
            highlight=False,
        )
    warnings = len(problems) - len(errors)
    stdout.print(f"{len(errors)} error(s), {warnings} warning(s)")
    if errors:
        raise typer.Exit(1)


@kb_app.command("list")
def kb_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the knowledge-base entries: id, category, status and title."""
    from knowledge_base.loader import load_knowledge_base

    kb = load_knowledge_base()
    rows = sorted(kb.entries.values(), key=lambda e: (e.category, not e.generic, e.id))
    if as_json:
        data = [
            {
                "id": e.id,
                "category": e.category,
                "status": e.status.value,
                "title": e.title,
                "generic": e.generic,
            }
            for e in rows
        ]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(title=f"panicdx knowledge base {kb.version} ({len(rows)} entries)")
    for column in ("category", "id", "status", "title"):
        table.add_column(column)
    for e in rows:
        table.add_row(e.category, e.id, e.status.value, e.title)
    stdout.print(table)


@app.command()
def train(
    out: Annotated[
        Path | None, typer.Option(help="Where to write the model (default: the built-in location).")
    ] = None,
    rebuild_corpus: Annotated[
        bool, typer.Option(help="Regenerate the training corpus from the knowledge base first.")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Add the labelled panics of this service data directory, evaluate against "
            "the active model and register a candidate (see `panicdx model`)."
        ),
    ] = None,
    *,
    corpus: Annotated[Path | None, typer.Option(hidden=True)] = None,
    cross_validate: Annotated[bool, typer.Option(hidden=True)] = True,
    if_new_labels: Annotated[
        bool,
        typer.Option(
            help="With --data-dir: train only if labels were added since the last training "
            "(else say so and exit 0), for a cron line."
        ),
    ] = False,
) -> None:
    """Build the training corpus if needed, train and evaluate the classifier, save it."""
    from classifier.train import train_default

    if if_new_labels and data_dir is None:
        raise _fail("--if-new-labels needs --data-dir (the labels live there)", EXIT_USAGE)
    if data_dir is not None:
        from service.cli_learn import train_with_data_dir

        if rebuild_corpus:
            from classifier.corpus import build_corpus

            build_corpus()
        train_with_data_dir(
            data_dir,
            out,
            corpus=corpus,
            cross_validate=cross_validate,
            if_new_labels=if_new_labels,
        )
        return
    try:
        artifact_dir = train_default(out_dir=out, rebuild_corpus=rebuild_corpus, console=stderr)
    except Exception as exc:
        raise _fail(f"training failed: {exc}") from None
    stdout.print(f"model written to {artifact_dir}")


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="panicdx: %(message)s")
    app()


if __name__ == "__main__":
    main()
