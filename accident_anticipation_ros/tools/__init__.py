"""The top floor: every command-line entry point of the package, one module per command.

Each module holds an argparse parser and ``main(argv) -> int``: a few lines that parse, call a tested
library function and print its result; errors become exit codes in one place (:mod:`.command`).
:mod:`.cli` is the ``accident-anticipation`` command, which imports a subcommand's module only when it
runs, so ``replay`` never imports torch and ``train`` never imports rclpy.
"""
