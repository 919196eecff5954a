"""The model contract: written once, what the shipped model declares, metadata round trip, hashing."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from accident_anticipation_ros import contract
from accident_anticipation_ros.contract import (
    METADATA_KEYS,
    OPTIONAL_METADATA_KEYS,
    WHITENED,
    CauseBank,
    ContractError,
    DomainStats,
    FloatArray,
    ModelMetadata,
    ModelSemantics,
    decode_metadata,
    encode_metadata,
    encode_semantics,
    file_sha256,
    semantics_from_json,
    semantics_sha256,
    semantics_to_json,
    verified_semantics,
)
from accident_anticipation_ros.runtime.onnx_signature import read_signature

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "tsd-nano.onnx"
META = ModelMetadata(
    model_name="tsd-x",
    model_hash="ab" * 32,
    config={"name": "tsd-x", "image_size": [64, 96]},
    input_height=64,
    input_width=96,
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
    fps=10.0,
)
# A contract string in quotes: an output name only the contract has, a state prefix, a metadata key.
CONTRACT_STRING = re.compile(r"""["'](risk_logit|risk_map)["']|["']state_(in|out)\.|["']aar\.""")


def test_contract_strings_are_spelled_only_in_the_contract_module():
    sources = sorted((ROOT / "accident_anticipation_ros").rglob("*.py")) + sorted(
        (ROOT / "training").rglob("*.py")
    )
    assert len(sources) > 50  # the scan sees the tree
    home = ROOT / "accident_anticipation_ros" / "contract.py"
    # training/losses.py names its loss terms after the YAML config fields (``loss.risk_map``): a
    # training idea that shares a word with the graph output, not the ONNX contract.
    other_ideas = {ROOT / "training" / "losses.py"}
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sources
        if path != home and path not in other_ideas
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if CONTRACT_STRING.search(line)
    ]
    assert found == []
    assert CONTRACT_STRING.search(home.read_text())  # the pattern does match the contract's own spelling


def test_the_shipped_model_declares_the_contract():
    """The file in models/ is the oracle: its names and keys, spelled out, are what the contract says."""
    sig = read_signature(SHIPPED)
    keys = [
        "format",
        "model_name",
        "model_hash",
        "config",
        "input_height",
        "input_width",
        "mean",
        "std",
        "fps",
    ]
    optional = ["semantics", "semantics_sha256"]
    assert set(METADATA_KEYS + OPTIONAL_METADATA_KEYS) == {f"aar.{key}" for key in keys + optional}
    # a flag written only when set: the shipped map is trained; a letterboxed model has no aar.preprocess
    flags = [contract.META_RISK_MAP_TRAINED]
    assert set(sig.metadata) == set(METADATA_KEYS + OPTIONAL_METADATA_KEYS) | set(flags)
    assert sig.metadata[contract.META_RISK_MAP_TRAINED] == "true"
    assert sig.metadata["aar.format"] == contract.FORMAT_VERSION == "1"
    meta = decode_metadata(sig.metadata)
    assert encode_metadata(meta) == sig.metadata  # the encoding reproduces the file byte for byte
    layers = json.loads(sig.metadata["aar.config"])["rwkv_layers"]
    names = contract.state_names(layers)
    assert names[:5] == [f"layer0.{field}" for field in ("att_x", "att_aa", "att_bb", "att_pp", "ffn_x")]
    assert list(sig.inputs) == ["image"] + [f"state_in.{n}" for n in names]
    assert list(sig.outputs) == ["risk_logit", "tta", "risk_map", "embedding"] + [
        f"state_out.{n}" for n in names
    ]
    assert [contract.IMAGE, *contract.OUTPUTS] == list(sig.inputs)[:1] + list(sig.outputs)[:4]
    dtype, shape = sig.inputs["image"]
    assert (dtype, shape[1:]) == ("float32", contract.image_shape(meta.input_height, meta.input_width)[1:])
    assert shape[0] == contract.BATCH_DIM  # one row per camera: the shipped export has the batch axis
    for name, rank in contract.OUTPUT_RANKS.items():
        assert len(sig.outputs[name][1]) == rank and sig.outputs[name][1][0] == contract.BATCH_DIM, name


def test_metadata_round_trip_and_encoding():
    encoded = encode_metadata(META)
    assert list(encoded) == list(METADATA_KEYS)
    assert encoded["aar.mean"] == "[0.485, 0.456, 0.406]" and encoded["aar.fps"] == "10.0"
    assert encoded["aar.input_height"] == "64" and json.loads(encoded["aar.config"]) == META.config
    assert decode_metadata(encoded) == META


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("aar.format", "2", r"unsupported aar\.format '2'"),
        ("aar.std", "[1, 0, 1]", "std > 0"),
        ("aar.mean", "[0.5]", "3 numbers each"),
        ("aar.input_width", "wide", "malformed"),
        ("aar.fps", "0", "must be > 0"),
        ("aar.config", '"tsd"', "must be a JSON object"),
    ],
)
def test_decode_rejects_bad_values(key, value, match):
    with pytest.raises(ContractError, match=match):
        decode_metadata(dict(encode_metadata(META), **{key: value}))


def test_risk_map_trained_is_optional_and_false_when_absent():
    import dataclasses

    assert META.risk_map_trained is False and "aar.risk_map_trained" not in encode_metadata(META)
    trained = dataclasses.replace(META, risk_map_trained=True)
    encoded = encode_metadata(trained)
    assert encoded["aar.risk_map_trained"] == "true" and decode_metadata(encoded) == trained
    assert decode_metadata(dict(encoded, **{"aar.risk_map_trained": "false"})) == META
    with pytest.raises(ContractError, match="must be 'true' or 'false'"):
        decode_metadata(dict(encoded, **{"aar.risk_map_trained": "yes"}))


def test_preprocess_is_optional_and_letterbox_when_absent():
    """``aar.preprocess``: how the training fitted frames; absent (a model exported before it existed,
    or a letterboxed one: never written) means letterbox, so existing files stay byte for byte."""
    assert META.preprocess == "letterbox" and "aar.preprocess" not in encode_metadata(META)
    for mode in ("center_crop", "stretch"):
        cropped = dataclasses.replace(META, preprocess=mode)
        encoded = encode_metadata(cropped)
        assert encoded["aar.preprocess"] == mode and decode_metadata(encoded) == cropped
    with pytest.raises(
        ContractError, match=r"aar.preprocess must be one of \['letterbox', 'center_crop', 'stretch'\]"
    ):
        decode_metadata(dict(encode_metadata(META), **{"aar.preprocess": "zoom"}))
    with pytest.raises(ContractError, match="aar.preprocess must be one of"):
        encode_metadata(dataclasses.replace(META, preprocess="zoom"))


def test_decode_names_missing_keys():
    props = {k: v for k, v in encode_metadata(META).items() if k not in ("aar.fps", "aar.std")}
    with pytest.raises(ContractError, match=r"missing \['aar\.std', 'aar\.fps'\]"):
        decode_metadata(props)


def _array(values: list, shape: tuple[int, ...]) -> FloatArray:
    import array

    return FloatArray(shape, array.array("f", values).tobytes())


SEMANTICS = ModelSemantics(
    training_domain="synthetic (test)",
    causes=CauseBank(("a", "b"), _array([1, 0, 0, 0, 1, 0], (2, 3)), 14.5, "hand-made", WHITENED),
    domain=DomainStats(
        "embedding", _array([0, 1, 2], (3,)), _array([1, 0, 0, 0, 2, 0, 0, 0, 3], (3, 3)), 4.5, 99.0, 0.1, 30
    ),
)


def test_semantics_round_trip_and_bind_to_the_model_hash():
    meta = dataclasses.replace(META, semantics=SEMANTICS)
    encoded = encode_metadata(meta)
    assert list(encoded) == list(METADATA_KEYS + OPTIONAL_METADATA_KEYS)
    text = encoded["aar.semantics"]
    assert (
        text
        == encode_semantics(SEMANTICS)
        == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    )
    expected = hashlib.sha256(f"{META.model_hash}\n{text}".encode()).hexdigest()
    assert encoded["aar.semantics_sha256"] == expected == semantics_sha256(META.model_hash, text)
    assert decode_metadata(encoded) == meta
    assert semantics_from_json(semantics_to_json(SEMANTICS)) == SEMANTICS
    assert (
        verified_semantics(json.loads(text), expected, META.model_hash) == SEMANTICS
    )  # a checkpoint's object
    assert decode_metadata(encode_metadata(META)).semantics is None  # optional


def test_edited_semantics_or_semantics_of_another_model_are_refused():
    encoded = encode_metadata(dataclasses.replace(META, semantics=SEMANTICS))
    edited = dict(encoded, **{"aar.semantics": encoded["aar.semantics"].replace('"a"', '"x"')})
    with pytest.raises(
        ContractError, match=r"aar\.semantics does not match aar\.semantics_sha256 .*refusing"
    ):
        decode_metadata(edited)
    other = dict(encoded, **{"aar.model_hash": "cd" * 32})
    with pytest.raises(ContractError, match="belong to another model"):
        decode_metadata(other)
    half = {k: v for k, v in encoded.items() if k != "aar.semantics_sha256"}
    with pytest.raises(ContractError, match="not both"):
        decode_metadata(half)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda o: o["causes"].update(names=["a", "a"]), "duplicates"),
        (lambda o: o["causes"].update(names=["a"]), r"must be \(1, D\)"),
        (lambda o: o["causes"].update(space="pixels"), "causes.space"),
        (lambda o: o["causes"]["vectors"].update(shape=[2, 4]), "needs 32 bytes, got 24"),
        (lambda o: o["domain"].update(feature="risk"), "domain.feature"),
        (lambda o: o["domain"].update(threshold=float("inf")), "finite number"),
        (lambda o: o["domain"].update(percentile=0), r"percentile in \(0, 100\]"),
        (lambda o: o.pop("domain"), "need domain statistics"),
        (lambda o: o["domain"]["mean"].update(float32_base64="!!"), "not a float32 array"),
    ],
)
def test_malformed_semantics_are_named(edit, match):
    obj = semantics_to_json(SEMANTICS)
    edit(obj)
    with pytest.raises(ContractError, match=match):
        semantics_from_json(obj)


def test_file_sha256_is_the_sha256_of_the_bytes_in_order(tmp_path):
    first, second = tmp_path / "a.onnx", tmp_path / "a.onnx.data"
    first.write_bytes(b"graph" * 300_000)  # more than one read block
    second.write_bytes(b"weights")
    assert file_sha256(first) == hashlib.sha256(first.read_bytes()).hexdigest()
    both = file_sha256(first, (second,))
    assert both == hashlib.sha256(first.read_bytes() + second.read_bytes()).hexdigest()
    raw = bytearray(second.read_bytes())
    raw[0] ^= 1
    second.write_bytes(bytes(raw))
    assert file_sha256(first, (second,)) != both


def test_the_shipped_model_hash_is_its_weights_file():
    assert read_signature(SHIPPED).metadata["aar.model_hash"] == file_sha256(
        SHIPPED.with_suffix(".safetensors")
    )


def test_contract_imports_only_the_standard_library():
    code = "import sys; import accident_anticipation_ros.contract; print(sorted(m for m in ('numpy', 'torch', 'onnx', 'onnxruntime') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
