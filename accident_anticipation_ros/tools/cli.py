"""``accident-anticipation``: one command, subcommands imported lazily.

Each subcommand is a module of :mod:`accident_anticipation_ros.tools` exposing
``main(argv: list[str]) -> int``. Importing a subcommand's module only when it runs keeps the floors
apart: ``replay`` never pulls in torch and ``train`` never pulls in rclpy.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

from accident_anticipation_ros import __version__

PROG = "accident-anticipation"
TOOLS = "accident_anticipation_ros.tools"
TRAINING = "accident_anticipation_ros.training"

# name -> (module under tools/ providing ``main(argv) -> int``, one-line help, library package it needs)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("demo", "the main job: synthetic bag -> node over DDS -> metrics", TRAINING),
    "synth": ("synth", "write a synthetic dashcam benchmark", TRAINING),
    "bag-from-clips": ("bag_from_clips", "write clips as a rosbag2 evaluation bag", TRAINING),
    "export": ("export", "export a checkpoint to an ONNX step graph", "accident_anticipation_ros.model"),
    "verify": (
        "verify",
        "check parallel/step, torch/ONNX, reparam parity",
        "accident_anticipation_ros.model",
    ),
    "bench": ("bench", "benchmark the student and window baselines", "accident_anticipation_ros.runtime"),
    "bench-node": ("bench_node", "benchmark the running node end to end", "accident_anticipation_ros.node"),
    "replay": ("replay", "replay a bag through the node and record outputs", "accident_anticipation_ros.bag"),
    "evaluate-bag": (
        "evaluate_bag",
        "metrics and report from recorded bags",
        "accident_anticipation_ros.bag",
    ),
    "render": ("render", "render a recorded overlay stream as a video", "accident_anticipation_ros.bag"),
    "train-teacher": ("train_teacher", "train a small CLIP teacher", TRAINING),
    "train": ("train", "train the student (TSD distillation)", TRAINING),
    "evaluate": ("evaluate", "evaluate a checkpoint on a split", TRAINING),
    "ablate": ("ablate", "run the paper's ablation", TRAINING),
}


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except ModuleNotFoundError:
        return False


def available(name: str) -> bool:
    """Whether subcommand ``name`` exists and the library floor it runs on is installed."""
    return name in COMMANDS and _installed(COMMANDS[name][2])


def _usage() -> str:
    lines = [f"usage: {PROG} [--version] [--help] COMMAND [ARGS ...]", "", "commands:"]
    for name, (_, text, _) in COMMANDS.items():
        if available(name):
            lines.append(f"  {name:<16}{text}")
    lines.append("")
    lines.append(f"Run '{PROG} COMMAND --help' for a command's options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand; return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        print(f"{PROG} {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if not available(name):
        print(f"{PROG}: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    # Before any subcommand creates a DDS participant (its own, or a node it starts): large frames.
    from accident_anticipation_ros.dds_profile import apply_default_profile

    apply_default_profile(os.environ)
    module = importlib.import_module(f"{TOOLS}.{COMMANDS[name][0]}")
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
