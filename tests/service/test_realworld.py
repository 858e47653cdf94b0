"""Regression guard on real public panic logs the model never trained on.

The floors are the figures measured when this test was written (see
`classifier/reports/realworld.md`); a change that makes the product worse on real logs fails
here. Raise them when the product improves; never lower them to make a change pass.
"""

from __future__ import annotations

import pytest

from classifier.corpus import DEFAULT_CORPUS_PATH, read_corpus
from classifier.realworld import evaluate, load_realworld, split_of, summarise
from knowledge_base.taxonomy import category_ids
from service.diagnoser import Diagnoser

LOGS = load_realworld()
# Measured on 2026-11-23 over 226 logs: test 95/117 = 81.2% (3 confidently wrong), dev 108/109
# = 99.1% (0 wrong). (The first 93 logs alone went from test 82.7% / dev 97.6% to 90.4% / 100%;
# the 133 logs added since are harder, mostly excerpts without the report's header.)
# Then over 334 logs (a third round of 108 production-leaning logs; its test half scored 58/65 =
# 89.2% at first contact, before any change): test 165/182 = 90.7% (3 wrong), dev 151/152.
# Then over 403 logs (a fourth round of 69, measured at first contact: 58/69 = 84.1%, test half
# 35/39): test 204/221 = 92.3% (4 wrong), dev 180/182 = 98.9%. Then over 476 logs (a fifth
# round of 73 at first contact: 61/73 = 83.6%, test half 32/41): test 237/262 = 90.5% (6 wrong),
# dev 212/214. (The test floor is lower than the 221-log one because the fifth round is harder
# at first contact; the 221 earlier test logs still score 204/221 with 4 wrong.) Then over 529
# logs (a sixth round of 53 at first contact: 44/53 = 83.0%, test half 18/22): test 256/284 =
# 90.1% (7 wrong), dev 242/245 (1 wrong: a secondary oops after a recursive fault, which the
# collector labelled unknown). Then over 569 logs (a seventh, harder round of 40 at first
# contact: 27/40 = 67.5%, test half 13/18): test 269/302 = 89.1% (8 wrong), dev 262/267 (2
# wrong); the 284 earlier test logs unchanged at 256/284. Then over 599 logs (an eighth round
# of 30 at first contact: 28/30 = 93.3%, test half 14/14): test 283/316 = 89.6% (8 wrong), dev
# 278/283. Then over 633 logs (a ninth round of 34 at first contact: 29/34 = 85.3%, test half
# 18/20): test 301/336 = 89.6% (8 wrong), dev 290/297 (3 wrong, one a label this round's
# collector gave differently from earlier rounds).
FLOORS = {"test": (0.895, 8), "dev": (0.975, 3)}


def test_every_log_has_a_taxonomy_category_and_a_split() -> None:
    assert len(LOGS) >= 180
    known = set(category_ids())
    assert {log.category for log in LOGS} <= known
    assert {log.split for log in LOGS} == {"dev", "test"}


def test_every_split_follows_the_file_name_hash() -> None:
    """Nobody picks which logs are measured: the SPLIT header is the hash rule's answer."""
    wrong = [(log.name, log.split) for log in LOGS if log.split != split_of(log.name)]
    assert wrong == []
    assert split_of("hung-task-rockpro64-panic-line-only.log") == "test"
    assert split_of("hung-task-ddnet-no-timestamps-mutex.log") == "dev"


@pytest.mark.parametrize("split", sorted(FLOORS))
def test_category_accuracy_does_not_regress(diagnoser: Diagnoser, split: str) -> None:
    outcomes = evaluate([log for log in LOGS if log.split == split], diagnoser.diagnose_texts)
    summary = summarise(outcomes)
    min_accuracy, max_wrong = FLOORS[split]
    misses = [(o.log.name, o.predicted) for o in outcomes if o.predicted != o.log.category]
    assert summary["accuracy"] >= min_accuracy, misses
    assert summary["wrong"] <= max_wrong, misses


def test_realworld_logs_are_not_in_the_training_corpus() -> None:
    """No real-world log was copied into training: most of its lines are absent from it.

    A few generic lines (e.g. `Kernel panic - not syncing: Fatal exception`, x86's `#PF:`
    decoding lines) occur in both by nature; a copied log would share nearly all of its long
    lines.
    """
    training_lines = {
        line.strip()
        for sample in read_corpus(DEFAULT_CORPUS_PATH)
        for line in sample.text.splitlines()
    }
    for log in LOGS:
        lines = {line.strip() for line in log.text.splitlines() if len(line.strip()) >= 30}
        shared = sum(line in training_lines for line in lines)
        assert shared <= max(3, len(lines) // 3), (log.name, shared, len(lines))
