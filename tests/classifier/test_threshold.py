"""The abstention threshold meets its documented criterion on constructed examples."""

from __future__ import annotations

import numpy as np

from classifier.threshold import choose_threshold, precision_coverage, top_answers


def test_lowest_threshold_reaching_the_target_precision() -> None:
    # Sorted by confidence: right, right, right, WRONG, right. Precision of the answers at
    # 0.5 is 4/5, at 0.6 3/4, at 0.7 3/3: 0.7 is the lowest threshold reaching 0.95.
    top = ["a", "b", "c", "a", "b"]
    prob = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    truth = ["a", "b", "c", "b", "b"]
    choice = choose_threshold(top, prob, truth, target_precision=0.95)
    assert choice.threshold == 0.7
    assert choice.met and choice.precision == 1.0 and choice.coverage == 3 / 5
    # Criterion check by brute force: every lower candidate misses the target.
    correct = np.array([t == p for t, p in zip(top, truth, strict=True)])
    answered = np.ones(5, dtype=bool)
    for lower in (0.5, 0.6):
        assert precision_coverage(prob, correct, answered, lower)[0] < 0.95


def test_a_lower_target_buys_coverage() -> None:
    top = ["a", "b", "c", "a", "b"]
    prob = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    truth = ["a", "b", "c", "b", "b"]
    choice = choose_threshold(top, prob, truth, target_precision=0.8)
    assert choice.threshold == 0.2 and choice.coverage == 1.0  # the floor already gives 4/5


def test_predicting_unknown_is_an_abstention_not_an_answer() -> None:
    top = ["unknown", "a", "b"]
    prob = np.array([0.99, 0.9, 0.4])
    truth = ["a", "a", "c"]
    choice = choose_threshold(top, prob, truth, target_precision=0.95)
    assert choice.threshold == 0.9 and choice.coverage == 1 / 3 and choice.met


def test_unreachable_target_takes_the_best_precision() -> None:
    top = ["a", "a", "a", "a"]
    prob = np.array([0.9, 0.8, 0.7, 0.6])
    truth = ["b", "a", "b", "a"]  # precision 2/4 at 0.6, 1/3 at 0.7, 1/2 at 0.8, 0 at 0.9
    choice = choose_threshold(top, prob, truth, target_precision=0.95)
    assert not choice.met
    assert choice.precision == 0.5 and choice.threshold == 0.2


def test_top_answers() -> None:
    labels, prob = top_answers(np.array([[0.1, 0.9], [0.7, 0.3]]), ["x", "y"])
    assert labels == ["y", "x"] and prob.tolist() == [0.9, 0.7]


def test_the_generic_entry_of_the_right_category_counts_as_right() -> None:
    top = ["generic-oom", "oom-cgroup", "generic-hung-task"]
    prob = np.array([0.9, 0.8, 0.7])
    truth = ["oom-runaway", "oom-runaway", "oom-runaway"]
    fallbacks = {"oom-runaway": "generic-oom"}
    strict = choose_threshold(top, prob, truth, target_precision=0.95)
    lenient = choose_threshold(top, prob, truth, target_precision=0.95, fallbacks=fallbacks)
    assert not strict.met
    assert lenient.met and lenient.threshold == 0.9 and lenient.coverage == 1 / 3
