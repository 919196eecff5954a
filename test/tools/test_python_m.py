"""The ``python -m`` entry points the README and model card name (all on the tools floor)."""

from __future__ import annotations

import runpy
import sys
import warnings

import pytest

TOOLS = "accident_anticipation_ros.tools"


@pytest.mark.parametrize(
    ("module", "prog"),
    [
        (f"{TOOLS}.score_profile", f"python -m {TOOLS}.score_profile"),
        (f"{TOOLS}.separability", f"python -m {TOOLS}.separability"),
        (f"{TOOLS}.synth_bench", f"python -m {TOOLS}.synth_bench"),
        (f"{TOOLS}.ship", f"python -m {TOOLS}.ship"),
        (f"{TOOLS}.train", "accident-anticipation train"),
    ],
)
def test_python_m_shows_the_tool_s_help(module, prog, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [module, "--help"])
    with pytest.raises(SystemExit) as exit_, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # runpy: the module was imported before
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.split()[: 2 + len(prog.split())] == ["usage:", *prog.split(), "[-h]"]
