"""The code keeps to the rclpy API of ROS 2 Humble (rclpy 3.3), which cannot be installed here.

A static check over the package, training, the launch files and the tests: every ``rclpy`` name they
import or call is one of the Humble rclpy names below, unless the import sits in a ``try`` whose
``except ImportError`` imports the same names from a Humble module (Iron's ``rclpy.event_handler`` vs
Humble's ``rclpy.qos_event``). A new rclpy name fails here until it is checked against Humble and added.
Under ``make test-py310`` the same parse also checks every file against Python 3.10's grammar.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HUMBLE = {
    "rclpy": {"init", "create_node", "ok", "spin", "spin_once", "shutdown", "try_shutdown"},
    "rclpy.context": {"Context"},
    "rclpy.exceptions": {"ParameterUninitializedException"},
    "rclpy.executors": {"ExternalShutdownException", "SingleThreadedExecutor"},
    "rclpy.lifecycle": {"LifecycleNode", "LifecycleState", "TransitionCallbackReturn"},
    "rclpy.node": {"Node"},
    "rclpy.parameter": {"Parameter"},
    "rclpy.qos": {"DurabilityPolicy", "HistoryPolicy", "QoSProfile", "ReliabilityPolicy"},
    "rclpy.qos_event": {"SubscriptionEventCallbacks", "UnsupportedEventTypeError"},
    "rclpy.serialization": {"deserialize_message", "serialize_message"},  # rclpy/serialization.py since Foxy
}
SOURCES = sorted(
    p
    for folder in ("accident_anticipation_ros", "training", "launch", "test")
    for p in (REPO / folder).rglob("*.py")
    if "__pycache__" not in p.parts
)


def _rclpy_uses(tree: ast.AST) -> list[tuple[int, str, str, bool]]:
    """(line, module, name, guarded) of every rclpy import (name "" for ``import rclpy.x``) and ``rclpy.<name>``."""
    guarded_nodes = {
        id(stmt)
        for node in ast.walk(tree)
        if isinstance(node, ast.Try)
        and any(_catches_import_error(h) and _humble_fallback(h) for h in node.handlers)
        for stmt in node.body
    }
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "rclpy":
            uses += [(node.lineno, node.module, a.name, id(node) in guarded_nodes) for a in node.names]
        elif isinstance(node, ast.Import):
            uses += [(node.lineno, a.name, "", False) for a in node.names if a.name.startswith("rclpy.")]
        elif (
            isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "rclpy"
        ):
            uses.append((node.lineno, "rclpy", node.attr, False))
    return uses


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names)


def _humble_fallback(handler: ast.ExceptHandler) -> bool:
    imports = [s for s in handler.body if isinstance(s, ast.ImportFrom)]
    return bool(imports) and all(all(a.name in HUMBLE.get(s.module, ()) for a in s.names) for s in imports)


def _foreign(tree: ast.AST) -> list[str]:
    return [
        f"line {n}: {module}.{name}" if name else f"line {n}: {module}"
        for n, module, name, guarded in _rclpy_uses(tree)
        if not guarded and (name not in HUMBLE.get(module, ()) if name else module not in HUMBLE)
    ]


def test_rclpy_names_exist_in_humble():
    foreign = [
        f"{path.relative_to(REPO)} {use}" for path in SOURCES for use in _foreign(ast.parse(path.read_text()))
    ]
    assert not foreign, f"not in Humble's rclpy (or not yet checked against it): {foreign}"


def test_the_check_sees_the_node_and_flags_what_humble_lacks():
    node = REPO / "accident_anticipation_ros" / "node" / "anticipation_node.py"
    uses = {(module, name, guarded) for _, module, name, guarded in _rclpy_uses(ast.parse(node.read_text()))}
    assert ("rclpy.lifecycle", "LifecycleNode", False) in uses
    assert ("rclpy.event_handler", "SubscriptionEventCallbacks", True) in uses  # feature-detected
    iron_only = "import rclpy\nfrom rclpy.type_hash import TypeHash\nrclpy.init()\n"
    assert _foreign(ast.parse(iron_only)) == ["line 2: rclpy.type_hash.TypeHash"]
    no_fallback = (
        "try:\n    from rclpy.event_handler import QoSLivelinessChangedInfo\nexcept ImportError:\n    pass\n"
    )
    assert _foreign(ast.parse(no_fallback)) == ["line 2: rclpy.event_handler.QoSLivelinessChangedInfo"]
