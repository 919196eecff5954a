"""The stream pipeline on plain image fields (bytes, no ROS): conversion, stamps, session, message fields."""

from __future__ import annotations

import dataclasses
import math
import time
from types import SimpleNamespace

import numpy as np
import pytest

from accident_anticipation_ros.conversions import encode_compressed_fields, encode_image_fields
from accident_anticipation_ros.pipeline import (
    DROP_BAD_FRAME,
    DROP_DECIMATED,
    DROP_NON_FINITE,
    RiskFields,
    StreamPipeline,
    handle_batch,
)
from accident_anticipation_ros.stamps import NS_PER_S, ns_to_seconds, split_ns, to_seconds

T0_NS = 1_700_000_000 * NS_PER_S + 950_000_000  # the next frame at 10 fps crosses a second boundary
FRAME_NS = NS_PER_S // 10


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    """An untrained but real tsd-test student exported to ONNX, run by ONNX Runtime."""
    torch = pytest.importorskip("torch")
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.model.student import TSDStudent
    from accident_anticipation_ros.runtime.factory import create_backend

    torch.manual_seed(0)
    model = TSDStudent(get_config("tsd-test")).eval()
    path = tmp_path_factory.mktemp("pipeline") / "tiny.onnx"
    export_onnx(model, path, fps=10.0, mean=(0.45, 0.45, 0.45), std=(0.25, 0.25, 0.25), frames=2)
    engine = create_backend(path, "onnxruntime", threads=1)
    yield engine
    engine.close()


def make_pipeline(backend, camera: str = "cam_front") -> StreamPipeline:
    from accident_anticipation_ros.runtime.session import StreamSession

    return StreamPipeline(StreamSession(backend), camera)


def _header(stamp_ns: int) -> SimpleNamespace:
    sec, nanosec = split_ns(stamp_ns)
    return SimpleNamespace(stamp=SimpleNamespace(sec=sec, nanosec=nanosec), frame_id="cam_optical")


def image_msg(rgb: np.ndarray, stamp_ns: int, encoding: str = "bgr8") -> SimpleNamespace:
    """The fields of a sensor_msgs/Image, ``data`` as bytes."""
    fields = encode_image_fields(rgb, encoding)
    return SimpleNamespace(header=_header(stamp_ns), **{**fields, "data": fields["data"].tobytes()})


def compressed_msg(rgb: np.ndarray, stamp_ns: int, fmt: str = "png") -> SimpleNamespace:
    fields = encode_compressed_fields(rgb, fmt)
    return SimpleNamespace(header=_header(stamp_ns), format=fields["format"], data=fields["data"].tobytes())


def frames(n: int, seed: int = 0, h: int = 48, w: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def without_latency(risk: RiskFields) -> dict:
    return {k: v for k, v in risk.as_dict().items() if k != "latency_ms"}


class NanOnCalls:
    """Fault injection: the real backend, with a NaN risk logit on the given step calls (1-based)."""

    def __init__(self, inner, calls: set[int]) -> None:
        self.inner, self.calls, self.count = inner, calls, 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def step(self, image, state):
        out, state = self.inner.step(image, state)
        self.count += 1
        return (dataclasses.replace(out, risk_logit=math.nan) if self.count in self.calls else out), state


def test_two_pipelines_fed_the_same_frames_agree_and_equal_the_bare_session(backend):
    from accident_anticipation_ros.runtime.session import StreamSession

    a, b = make_pipeline(backend), make_pipeline(backend)
    bare = StreamSession(backend)
    for i, rgb in enumerate(frames(6)):
        msg = image_msg(rgb, T0_NS + i * FRAME_NS)
        out_a, out_b = a.handle_msg(msg), b.handle_msg(msg)
        assert out_a.published and out_a.drop == "" and out_a.error == ""
        np.testing.assert_array_equal(out_a.rgb, rgb)  # bgr8 bytes back to the RGB frame
        assert without_latency(out_a.risk) == without_latency(out_b.risk)
        np.testing.assert_array_equal(out_a.result.risk_map, out_b.result.risk_map)
        ref = bare.step(rgb, ns_to_seconds(T0_NS + i * FRAME_NS), "bgr8")
        assert out_a.result.probability == ref.probability
        assert out_a.risk.reset_reason == ("first_frame" if i == 0 else "")
        assert out_a.risk.frames_since_reset == i + 1


def test_risk_fields_are_the_accident_risk_message_but_its_header(backend):
    """Every field of msg/AccidentRisk.msg is set, and a rosbags message built from them round-trips."""
    from accident_anticipation_ros.bag.types import ACCIDENT_RISK, get_package_typestore

    store = get_package_typestore()
    Risk = store.types[ACCIDENT_RISK]
    _, message_fields = store.fielddefs[ACCIDENT_RISK]  # parsed from msg/AccidentRisk.msg
    assert [f.name for f in dataclasses.fields(RiskFields)] == [name for name, _ in message_fields[1:]]
    assert message_fields[0][0] == "header"

    pipeline = make_pipeline(backend, camera="cam_left")
    received = time.monotonic() - 0.25
    out = pipeline.handle_msg(image_msg(frames(1)[0], T0_NS), received=received, dropped=3)
    risk = out.risk
    assert risk.camera == "cam_left" and risk.frames_dropped == 3
    assert risk.latency_ms >= 250.0 and risk.latency_ms >= out.result.step_ms
    header = store.types["std_msgs/msg/Header"](
        stamp=store.types["builtin_interfaces/msg/Time"](*split_ns(out.stamp_ns)), frame_id="cam_optical"
    )
    cdr = store.serialize_cdr(Risk(header=header, **risk.as_dict()), ACCIDENT_RISK)
    back = store.deserialize_cdr(cdr, ACCIDENT_RISK)
    for name, value in risk.as_dict().items():
        if isinstance(value, float):  # float32 in the message
            assert getattr(back, name) == pytest.approx(value, rel=1e-6, nan_ok=True), name
        else:
            assert getattr(back, name) == value, name


def test_stamps_round_trip_and_drive_the_reset_rules(backend):
    pipeline = make_pipeline(backend)
    f = frames(3)
    first = pipeline.handle_msg(image_msg(f[0], T0_NS))
    across = pipeline.handle_msg(image_msg(f[1], T0_NS + FRAME_NS))  # 0.95 s -> 1.05 s of the next second
    gap = pipeline.handle_msg(image_msg(f[2], T0_NS + FRAME_NS + 6 * FRAME_NS))  # 0.6 s > max_gap 0.5 s
    for out, ns in ((first, T0_NS), (across, T0_NS + FRAME_NS)):
        assert out.stamp_ns == ns
        assert out.result.stamp == to_seconds(_header(ns).stamp) == ns_to_seconds(ns)
    assert split_ns(across.stamp_ns) == (1_700_000_001, 50_000_000)
    assert [o.risk.reset_reason for o in (first, across, gap)] == ["first_frame", "", "gap"]


def test_a_bad_frame_is_a_counted_drop_that_leaves_the_session_alone(backend):
    f = frames(2)
    pipeline, reference = make_pipeline(backend), make_pipeline(backend)
    pipeline.handle_msg(image_msg(f[0], T0_NS))
    short = image_msg(f[1], T0_NS + FRAME_NS)
    short.data = short.data[:-1]
    bad_ones = [
        (short, "Image.data has"),
        (SimpleNamespace(**{**vars(short), "encoding": "bayer_xyz8"}), "bayer_xyz8"),
        # A due stamp: a frame the frame-rate alignment skips is never converted, so never "bad".
        (
            SimpleNamespace(header=_header(T0_NS + FRAME_NS), format="jpeg", data=b"\xff\xd8\xffnot a jpeg"),
            "jpeg",
        ),
    ]
    for msg, words in bad_ones:
        out = pipeline.handle_msg(msg)
        assert out.drop == DROP_BAD_FRAME == "bad_frames" and words in out.error, out.error
        assert not out.published and out.rgb is None and out.result is None
    assert pipeline.session.stats.frames == 1  # the session never saw them

    after = pipeline.handle_msg(image_msg(f[1], T0_NS + 2 * FRAME_NS))
    reference.handle_msg(image_msg(f[0], T0_NS))
    expected = reference.handle_msg(image_msg(f[1], T0_NS + 2 * FRAME_NS))
    assert after.risk.reset_reason == "" and after.risk.frames_since_reset == 2
    assert without_latency(after.risk) == without_latency(expected.risk)


def test_a_non_finite_output_is_dropped_and_resets_the_next_frame(backend):
    from accident_anticipation_ros.runtime.session import StreamSession

    pipeline = StreamPipeline(StreamSession(NanOnCalls(backend, {2})), "cam_front")
    outs = [pipeline.handle_msg(image_msg(rgb, T0_NS + i * FRAME_NS)) for i, rgb in enumerate(frames(3))]
    assert [o.drop for o in outs] == ["", DROP_NON_FINITE, ""] and DROP_NON_FINITE == "non_finite"
    assert outs[1].risk is None and not outs[1].result.valid and outs[1].rgb is not None
    assert outs[2].risk.state_reset and outs[2].risk.reset_reason == "non_finite_output"


def test_compressed_format_is_the_encoding(backend):
    pipeline = make_pipeline(backend)
    rgb = frames(1)[0]
    png = pipeline.handle_msg(compressed_msg(rgb, T0_NS, "png"))
    np.testing.assert_array_equal(png.rgb, rgb)  # lossless
    jpeg = pipeline.handle_msg(compressed_msg(rgb, T0_NS + FRAME_NS, "jpeg"))
    raw = pipeline.handle_msg(image_msg(rgb, T0_NS + 2 * FRAME_NS, "rgb8"))
    assert [o.risk.reset_reason for o in (png, jpeg, raw)] == [
        "first_frame",
        "encoding_change",
        "encoding_change",
    ]


def test_a_30_fps_stream_publishes_the_stepped_frames_only_and_never_converts_the_others(backend):
    """Into the 10 fps model: frames 0, 3, 6, ... are published with their own stamps; the others are
    'decimated' drops, not converted (a broken image there is not even seen), their drops carried over."""
    pipeline = make_pipeline(backend)
    clip = frames(9, seed=3)
    stamps = [T0_NS + round(i * NS_PER_S / 30) for i in range(9)]
    msgs = [image_msg(rgb, ns) for rgb, ns in zip(clip, stamps, strict=True)]
    msgs[4].data = b"broken"  # a frame that is skipped anyway
    outs = [pipeline.handle_msg(m, dropped=1) for m in msgs]
    assert [o.drop for o in outs] == [
        "",
        DROP_DECIMATED,
        DROP_DECIMATED,
    ] * 3 and DROP_DECIMATED == "decimated"
    assert [o.stamp_ns for o in outs if o.published] == stamps[::3]
    assert all(o.rgb is None and not o.result.stepped and o.error == "" for o in outs if not o.published)
    assert [o.risk.frames_since_reset for o in outs if o.published] == [1, 2, 3]
    # frames_dropped: the drops handed in with the two decimated frames count towards the next message.
    assert [o.risk.frames_dropped for o in outs if o.published] == [1, 3, 3]
    assert pipeline.session.stats.frames == 3 and pipeline.session.stats.decimated == 6

    from accident_anticipation_ros.runtime.session import SessionConfig, StreamSession

    every = StreamPipeline(StreamSession(backend, SessionConfig(align_to_model_fps=False)), "cam_front")
    msgs[4] = image_msg(clip[4], stamps[4])
    assert all(every.handle_msg(m).published for m in msgs)  # the switch off: one message per frame


def test_handle_batch_gives_each_camera_what_handle_msg_gives(backend):
    """Three cameras in rounds (one at 30 fps, one with a bad frame, dropped counts handed in) through
    one model call per round equal three pipelines fed one message at a time."""
    bad = SimpleNamespace(
        header=_header(T0_NS + 3 * FRAME_NS), height=2, width=2, encoding="rgb8", step=1, data=b""
    )
    streams = {
        "a": [image_msg(f, T0_NS + i * NS_PER_S // 30) for i, f in enumerate(frames(12, seed=1))],
        "b": [image_msg(f, T0_NS + i * FRAME_NS) for i, f in enumerate(frames(6, seed=2))],
        "c": [image_msg(f, T0_NS + i * FRAME_NS) for i, f in enumerate(frames(5, seed=3))],
    }
    streams["b"][3] = bad
    dropped = {"a": 0, "b": 2, "c": 1}
    alone = {c: make_pipeline(backend, c) for c in streams}
    together = {c: make_pipeline(backend, c) for c in streams}
    expected = {c: [alone[c].handle_msg(m, 0.0, dropped[c]) for m in msgs] for c, msgs in streams.items()}
    got = {c: [] for c in streams}
    rows = []
    for i in range(max(len(m) for m in streams.values())):
        cams = [c for c in streams if i < len(streams[c])]
        batch = handle_batch([(together[c], streams[c][i], 0.0, dropped[c]) for c in cams])
        rows.append((batch.rows, batch.batched))
        for c, out in zip(cams, batch.outputs, strict=True):
            got[c].append(out)
    for c in streams:
        assert [o.drop for o in got[c]] == [o.drop for o in expected[c]]
        for o, e in zip(got[c], expected[c], strict=True):
            assert (o.risk is None) == (e.risk is None)
            if o.risk is not None:
                a, b = without_latency(o.risk), without_latency(e.risk)
                floats = [k for k, v in b.items() if isinstance(v, float)]
                assert {k: a[k] for k in b if k not in floats} == {k: b[k] for k in b if k not in floats}
                np.testing.assert_allclose(
                    [a[k] for k in floats], [b[k] for k in floats], rtol=1e-5, atol=1e-6
                )
    assert [o.drop for o in got["b"]][3] == DROP_BAD_FRAME
    assert rows[0] == (3, True) and any(r == (2, True) for r in rows)


def test_jpeg_frames_are_decoded_at_twice_the_model_input_and_answered_like_full_size(backend):
    from accident_anticipation_ros.pipeline import decode_min_size
    from accident_anticipation_ros.runtime.session import StreamSession

    h, w = backend.info.input_height, backend.info.input_width
    rgb = np.kron(
        np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8), np.ones((8, 8, 1), np.uint8)
    )
    msgs = [compressed_msg(np.roll(rgb, 8 * i, axis=1), T0_NS + i * FRAME_NS, "jpeg") for i in range(4)]
    small, full = (
        make_pipeline(backend),
        StreamPipeline(StreamSession(backend), "cam_front", reduced_jpeg=False),
    )
    assert small.decode_min_size == decode_min_size(small.session.preprocessor) == (2 * h, 2 * w)
    assert full.decode_min_size is None
    for msg in msgs:
        a, b = small.handle_msg(msg), full.handle_msg(msg)
        assert a.rgb.shape[:2] == (2 * h, 2 * w) and b.rgb.shape[:2] == (8 * h, 8 * w)  # 1/4 of 8x
        assert a.published and b.published
        assert abs(a.risk.probability - b.risk.probability) < 0.05
