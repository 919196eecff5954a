"""Store an ONNX graph's float32 weights as float16 where that loses nothing.

A checkpoint shipped in float16 exports to a float32 graph whose weights are mostly float16 values
widened to float32 (reparameterization fuses some of them into values float16 cannot hold). Each
float32 initializer that survives the round trip float32 -> float16 -> float32 bit for bit is stored
as float16 and widened back by a ``Cast`` at the top of the graph: the graph computes exactly what
it did, at about half the file size. ONNX Runtime and TensorRT fold those casts when they load the
model, so inference runs on the same float32 weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FP16_SUFFIX = "__fp16"


@dataclass(frozen=True)
class StorageReport:
    """What :func:`store_exact_float16` changed."""

    converted: int  # initializers now stored as float16
    kept: int  # float32 initializers kept (not exactly representable, or too small to matter)
    bytes_before: int
    bytes_after: int


def exact_in_float16(values: np.ndarray) -> bool:
    """True if every value of a float32 array is a float16 value (so float16 storage is lossless)."""
    with np.errstate(over="ignore"):
        half = values.astype(np.float16)
    return bool(np.array_equal(half.astype(np.float32), values))


def store_exact_float16(model, min_elements: int = 64) -> StorageReport:
    """Convert in place the float32 initializers of ``model`` (an ``onnx.ModelProto``) that float16 holds exactly.

    Initializers with fewer than ``min_elements`` values stay float32 (a cast node costs more than
    it saves). Only the main graph is rewritten.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    inputs = {i.name for i in graph.input}  # an initializer that is also an input can be fed: leave it
    taken = {i.name for i in graph.initializer} | {n for node in graph.node for n in node.output}
    casts, converted, kept, before, after = [], 0, 0, 0, 0
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or init.name in inputs:
            continue
        values = numpy_helper.to_array(init)
        before += values.nbytes
        if values.size < min_elements or not exact_in_float16(values):
            kept += 1
            after += values.nbytes
            continue
        name = init.name + FP16_SUFFIX
        if name in taken:
            raise ValueError(f"cannot store {init.name!r} as float16: the name {name!r} is taken")
        init.CopyFrom(numpy_helper.from_array(values.astype(np.float16), name))
        casts.append(helper.make_node("Cast", [name], [name[: -len(FP16_SUFFIX)]], to=TensorProto.FLOAT))
        converted += 1
        after += values.nbytes // 2
    for node in reversed(casts):  # before every consumer: keeps the node list topologically sorted
        graph.node.insert(0, node)
    return StorageReport(converted, kept, before, after)
