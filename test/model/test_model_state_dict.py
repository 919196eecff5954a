"""state_dict_problems names missing, unexpected and mis-shaped keys, and nothing for a fitting dict."""

from __future__ import annotations

import torch

from accident_anticipation_ros.model.state_dict import state_dict_problems


def test_fitting_state_dict_has_no_problems():
    layer = torch.nn.Linear(3, 2)
    assert state_dict_problems(layer.state_dict(), dict(layer.state_dict())) == []


def test_each_kind_of_problem_is_named():
    want = {"a": torch.zeros(2, 3), "b": torch.zeros(4), "c": torch.zeros(1)}
    got = {"a": torch.zeros(3, 2), "b": torch.zeros(4), "d": torch.zeros(1), "e": torch.zeros(1)}
    problems = state_dict_problems(want, got, ("student", "teacher"), first=1)
    assert problems == [
        "1 missing (first: ['c'])",
        "2 unexpected (first: ['d'])",
        "1 shape mismatches (first: ['a: student (2, 3) vs teacher (3, 2)'])",
    ]
