"""Compare a module's state dict with the one about to be loaded into it, key by key."""

from __future__ import annotations

from collections.abc import Mapping

import torch


def state_dict_problems(
    want: Mapping[str, torch.Tensor],
    got: Mapping[str, torch.Tensor],
    labels: tuple[str, str] = ("model", "file"),
    first: int = 5,
) -> list[str]:
    """Why ``got`` does not load strictly into a module whose state dict is ``want`` (empty: it does).

    One entry each for missing keys, unexpected keys and shape mismatches, naming the first ``first``.
    """
    missing = sorted(set(want) - set(got))
    unexpected = sorted(set(got) - set(want))
    mismatched = [
        f"{k}: {labels[0]} {tuple(want[k].shape)} vs {labels[1]} {tuple(got[k].shape)}"
        for k in sorted(set(want) & set(got))
        if want[k].shape != got[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (first: {missing[:first]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (first: {unexpected[:first]})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches (first: {mismatched[:first]})")
    return problems
