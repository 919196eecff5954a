"""The prompt bank of the vision-language loss: literal prompts plus ``{cause}`` templates x causes."""

from __future__ import annotations

from accident_anticipation_ros.training.config import ContrastiveConfig


def expand_prompts(cfg: ContrastiveConfig) -> list[str]:
    """``prompts`` then every ``template.format(cause=c)``, in order, duplicates removed.

    Raises:
        ValueError: the bank is empty.
    """
    bank = list(cfg.prompts) + [t.format(cause=c) for t in cfg.templates for c in cfg.causes]
    bank = list(dict.fromkeys(p.strip() for p in bank if p.strip()))
    if not bank:
        raise ValueError("loss.contrastive needs a prompt bank: set 'prompts' or 'templates' + 'causes'")
    return bank
