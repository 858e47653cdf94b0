"""Every knowledge-base example goes through the whole pipeline (parse, match, model, rule).

Positives must be diagnosed as their `ROOT_CAUSE`, near-misses as their `ROOT_CAUSE` and never
as the entry they sit under, and known misses are strict expected failures: when one starts
passing, the test fails so that its header is updated (the semgrep `todoruleid` idea).

The model has seen variants of these examples in training, so this is a regression test of
the pipeline and the data, not an accuracy measurement (see `classifier.evaluate` for that).
"""

from __future__ import annotations

import pytest

from knowledge_base.examples import Example, iter_examples
from service.diagnoser import Diagnoser

EXAMPLES = sorted(iter_examples(), key=lambda e: str(e.path))


def _param(example: Example) -> object:
    marks = (
        [pytest.mark.xfail(strict=True, reason="known miss recorded in the example header")]
        if example.kind == "known-miss"
        else []
    )
    ident = f"{example.entry_id}/{example.path.name}"
    return pytest.param(example, id=ident, marks=marks)


@pytest.mark.parametrize("example", [_param(e) for e in EXAMPLES])
def test_example_is_diagnosed_as_its_header_says(diagnoser: Diagnoser, example: Example) -> None:
    diagnosis = diagnoser.diagnose_text(example.text)
    got = diagnosis.root_cause.id if diagnosis.root_cause else "unknown"
    context = (
        f"{example.path}: got {got} ({diagnosis.decided_by}, {diagnosis.confidence:.2f}), "
        f"title {diagnosis.report.get('title') if diagnosis.report else None!r}"
    )
    if example.kind == "near-miss":
        assert got != example.entry_id, context
    assert got == example.root_cause, context
    assert diagnosis.category == example.category, context


def test_there_are_examples_to_run() -> None:
    assert len(EXAMPLES) >= 120
