"""Nothing the package loads is ever unpickled: a source check over every module, script and launch file.

Unpickling runs code from the file; checkpoints are safetensors + JSON, models ONNX or a verified
TensorRT plan (runtime/trt_cache.py), bags CDR, drives JSON + npz without object arrays.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("accident_anticipation_ros", "launch", "benchmarks", "scripts", "test/scripts")

FORBIDDEN = {
    r"\bimport\s+(pickle|cPickle|_pickle|dill|joblib|shelve|marshal)\b": "a pickle-family module",
    r"\bfrom\s+(pickle|cPickle|_pickle|dill|joblib|shelve|marshal)\s+import\b": "a pickle-family module",
    r"\btorch\.load\((?![^)]*weights_only\s*=\s*True)": "torch.load without weights_only=True",
    r"allow_pickle\s*=\s*True": "np.load(..., allow_pickle=True)",
    r"\byaml\.load\((?![^)]*SafeLoader)": "yaml.load without SafeLoader (use yaml.safe_load)",
    r"\bpd\.read_pickle\(|\.read_pickle\(": "pandas read_pickle",
}


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
    assert not found, "\n".join(found)


def test_the_check_catches_what_it_forbids():
    samples = [
        "import pickle",
        "from cPickle import loads",
        "sd = torch.load(path)",
        "sd = torch.load(path, map_location='cpu')",
        "a = np.load(f, allow_pickle=True)",
        "cfg = yaml.load(text)",
    ]
    for sample in samples:
        assert any(re.search(p, sample) for p in FORBIDDEN), sample
    for fine in ("sd = torch.load(path, weights_only=True)", "cfg = yaml.safe_load(text)", "np.load(f)"):
        assert not any(re.search(p, fine) for p in FORBIDDEN), fine
