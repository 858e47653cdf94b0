"""End-to-end evaluation on real public panic logs the model never trained on.

`python -m classifier.realworld` runs every log of `tests/realworld/logs/` through the whole
product (parse, signatures, model, decision rule) and compares the diagnosed category with the
category a kernel engineer assigned. The `dev` half may have been read while improving the
parser; the `test` half never was, so its figures are the honest measure of generalisation.
Writes `classifier/reports/realworld.md`.
"""

from __future__ import annotations

import argparse
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vmcore_parsers.golden import read_golden

REALWORLD_DIR = Path(__file__).resolve().parents[1] / "tests" / "realworld" / "logs"
REPORT_PATH = Path(__file__).parent / "reports" / "realworld.md"


@dataclass(frozen=True)
class LabelledLog:
    """One real log: file name, split (dev/test), expert category and the text."""

    name: str
    split: str
    category: str
    text: str


@dataclass(frozen=True)
class Outcome:
    """What the product answered for one labelled log."""

    log: LabelledLog
    predicted: str
    root_cause: str | None
    confidence: float


def split_of(file_name: str) -> str:
    """The split a log file belongs to, fixed by its name alone: `dev` when the SHA-256 of the
    UTF-8 file name (with `.log`), read as a big-endian integer, is even, else `test`.

    Assigned before anyone runs panicdx on the file, so nobody chooses which logs are
    measured; every file's `SPLIT:` header must agree (the guard test checks it).
    """
    digest = hashlib.sha256(file_name.encode("utf-8")).digest()
    return "dev" if digest[-1] % 2 == 0 else "test"


def load_realworld(directory: Path = REALWORLD_DIR) -> list[LabelledLog]:
    """Read the labelled real-world logs (empty list when the directory is absent)."""
    logs = []
    for path in sorted(directory.glob("*.log")):
        golden = read_golden(path)
        logs.append(
            LabelledLog(
                name=path.name,
                split=golden.headers.get("SPLIT", "test"),
                category=golden.headers["CATEGORY"],
                text=golden.text,
            )
        )
    return logs


def evaluate(
    logs: Iterable[LabelledLog], diagnose: Callable[[list[str]], list[Any]]
) -> list[Outcome]:
    """Diagnose every log with `diagnose` (a batch function returning Diagnosis objects)."""
    items = list(logs)
    results = diagnose([log.text for log in items])
    return [
        Outcome(
            log=log,
            predicted=result.category,
            root_cause=result.root_cause.id if result.root_cause else None,
            confidence=result.confidence,
        )
        for log, result in zip(items, results, strict=True)
    ]


def summarise(outcomes: list[Outcome]) -> dict[str, float]:
    """Category accuracy (abstentions count as wrong), coverage, and accuracy when answering.

    A log whose expert label is `unknown` is right when the product abstains.
    """
    total = len(outcomes)
    if total == 0:
        return {"n": 0, "accuracy": 0.0, "coverage": 0.0, "answered_accuracy": 0.0, "wrong": 0}
    correct = sum(o.predicted == o.log.category for o in outcomes)
    answered = [o for o in outcomes if o.predicted != "unknown"]
    answered_correct = sum(o.predicted == o.log.category for o in answered)
    return {
        "n": total,
        "accuracy": correct / total,
        "coverage": len(answered) / total,
        "answered_accuracy": answered_correct / len(answered) if answered else 0.0,
        # Confidently wrong answers are worse than abstentions: count them separately.
        "wrong": len(answered) - answered_correct,
    }


def render(outcomes: list[Outcome]) -> str:
    """A Markdown report: per-split summary, per-category accuracy, every miss."""
    lines = [
        "# Real-world evaluation",
        "",
        "Produced by `python -m classifier.realworld` on `tests/realworld/logs` (public logs, "
        "never used for training). Category accuracy counts an abstention (`unknown`) as a miss "
        "unless the expert label is `unknown`; *wrong* counts confident wrong answers.",
        "",
        "| split | logs | category accuracy | coverage | accuracy when answering | wrong |",
        "|---|---|---|---|---|---|",
    ]
    for split in ("test", "dev", "all"):
        chosen = [o for o in outcomes if split in ("all", o.log.split)]
        s = summarise(chosen)
        lines.append(
            f"| {split} | {s['n']} | {s['accuracy']:.1%} | {s['coverage']:.1%} | "
            f"{s['answered_accuracy']:.1%} | {s['wrong']} |"
        )
    lines += ["", "## Per expert category (all splits)", "", "| category | logs | right |"]
    lines.append("|---|---|---|")
    totals = Counter(o.log.category for o in outcomes)
    right = Counter(o.log.category for o in outcomes if o.predicted == o.log.category)
    for category in sorted(totals):
        lines.append(f"| {category} | {totals[category]} | {right[category]} |")
    # Only the dev half's misses are named: listing the test half's would invite tuning on
    # them, which would make its figure meaningless. Its misses are counted per category.
    lines += ["", "## Misses in the dev split", ""]
    lines += ["| file | expert | panicdx | root cause | confidence |", "|---|---|---|---|---|"]
    for o in outcomes:
        if o.log.split == "dev" and o.predicted != o.log.category:
            lines.append(
                f"| {o.log.name} | {o.log.category} | {o.predicted} | "
                f"{o.root_cause or '-'} | {o.confidence:.2f} |"
            )
    test_misses = Counter(
        (o.log.category, o.predicted)
        for o in outcomes
        if o.log.split == "test" and o.predicted != o.log.category
    )
    lines += ["", "## Misses in the test split (counts only)", ""]
    lines += ["| expert | panicdx | logs |", "|---|---|---|"]
    for (expert, predicted), count in sorted(test_misses.items()):
        lines.append(f"| {expert} | {predicted} | {count} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the evaluation with the default diagnoser and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report", type=Path, default=REPORT_PATH)
    args = parser.parse_args()
    # Imported here: the service layer sits above the classifier; only this entry point
    # needs the whole product.
    from service.diagnoser import Diagnoser

    diagnoser = Diagnoser.load(require_model=True)
    outcomes = evaluate(load_realworld(), diagnoser.diagnose_texts)
    report = render(outcomes)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
