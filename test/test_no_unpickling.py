"""Nothing the package loads is ever unpickled: a source check over every module, script and launch file.

Unpickling runs code from the file; checkpoints are safetensors + JSON, models ONNX or a verified
TensorRT plan (runtime/trt_cache.py), bags CDR, drives JSON + npz without object arrays.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("accident_anticipation_ros", "training", "launch", "benchmarks", "scripts", "test/scripts")

FORBIDDEN = {
    r"\bimport\s+(pickle|cPickle|_pickle|dill|joblib|shelve|marshal)\b": "a pickle-family module",
    r"\bfrom\s+(pickle|cPickle|_pickle|dill|joblib|shelve|marshal)\s+import\b": "a pickle-family module",
    r"allow_pickle\s*=\s*True": "np.load(..., allow_pickle=True)",
    r"\.read_pickle\(": "pandas read_pickle",
}


def unsafe_calls(source: str) -> list[tuple[int, str]]:
    """``torch.load`` without ``weights_only=True`` and ``yaml.load`` without a SafeLoader (by the AST)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load"
        ):
            continue
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
        kw = {k.arg: k.value for k in node.keywords}
        if owner == "torch":
            safe = isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True
            if not safe:
                found.append((node.lineno, "torch.load without weights_only=True"))
        elif owner == "yaml":
            loader = kw.get("Loader", node.args[1] if len(node.args) > 1 else None)
            if not (loader is not None and "SafeLoader" in ast.unparse(loader)):
                found.append((node.lineno, "yaml.load without SafeLoader (use yaml.safe_load)"))
    return found


def _python_files():
    for top in SOURCES:
        yield from sorted((REPO / top).rglob("*.py"))


def test_no_source_unpickles_anything():
    files = list(_python_files())
    assert len(files) > 50, "the source tree was not found"
    found = []
    for path in files:
        text = path.read_text(errors="replace")
        for pattern, what in FORBIDDEN.items():
            for match in re.finditer(pattern, text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(REPO)}:{line}: {what}")
        found += [f"{path.relative_to(REPO)}:{line}: {what}" for line, what in unsafe_calls(text)]
    assert not found, "\n".join(found)


def test_the_check_catches_what_it_forbids():
    for sample in ("import pickle", "from cPickle import loads", "a = np.load(f, allow_pickle=True)"):
        assert any(re.search(p, sample) for p in FORBIDDEN), sample
    for sample in (
        "sd = torch.load(path)",
        "sd = torch.load(str(p), map_location='cpu')",
        "cfg = yaml.load(text)",
    ):
        assert unsafe_calls(sample), sample
    fine = [
        "sd = torch.load(str(p), map_location='cpu', weights_only=True)",
        "cfg = yaml.safe_load(text)",
        "cfg = yaml.load(text, Loader=yaml.SafeLoader)",
        "np.load(f)",
    ]
    for sample in fine:
        assert not any(re.search(p, sample) for p in FORBIDDEN) and not unsafe_calls(sample), sample
