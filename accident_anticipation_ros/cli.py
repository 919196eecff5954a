"""``accident-anticipation``: one command, subcommands imported lazily.

Each subcommand lives in its own module, which exposes ``main(argv: list[str]) -> int`` and builds
its own argparse parser. Importing a subcommand's module only when it runs keeps the floors apart:
``replay`` never pulls in torch and ``train`` never pulls in rclpy.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

from accident_anticipation_ros import __version__

PROG = "accident-anticipation"

# name -> (module providing ``main(argv) -> int``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("accident_anticipation_ros.demo", "the main job: synthetic bag -> node over DDS -> metrics"),
    "synth": ("accident_anticipation_ros.training.synth.cli", "write a synthetic dashcam benchmark"),
    "bag-from-clips": ("accident_anticipation_ros.bag.cli", "write clips as a rosbag2 evaluation bag"),
    "export": ("accident_anticipation_ros.model.export", "export a checkpoint to an ONNX step graph"),
    "verify": ("accident_anticipation_ros.model.verify", "check parallel/step, torch/ONNX, reparam parity"),
    "bench": ("accident_anticipation_ros.runtime.bench", "benchmark the student and window baselines"),
    "bench-node": ("accident_anticipation_ros.bench_node", "benchmark the running node end to end"),
    "replay": ("accident_anticipation_ros.replay", "replay a bag through the node and record outputs"),
    "evaluate-bag": ("accident_anticipation_ros.evaluate_bag", "metrics and report from recorded bags"),
    "render": ("accident_anticipation_ros.render", "render a recorded overlay stream as a video"),
    "train-teacher": ("accident_anticipation_ros.training.teacher_train", "train a small CLIP teacher"),
    "train": ("accident_anticipation_ros.training.train", "train the student (TSD distillation)"),
    "evaluate": ("accident_anticipation_ros.training.evaluate", "evaluate a checkpoint on a split"),
    "ablate": ("accident_anticipation_ros.training.ablate", "run the paper's ablation"),
}


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _usage() -> str:
    lines = [f"usage: {PROG} [--version] [--help] COMMAND [ARGS ...]", "", "commands:"]
    for name, (module, text) in COMMANDS.items():
        if _available(module):
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
    if name not in COMMANDS or not _available(COMMANDS[name][0]):
        print(f"{PROG}: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
