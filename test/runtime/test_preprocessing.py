"""Preprocessing: output shape, normalisation values, letterbox padding, crop and stretch geometry."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.runtime.preprocessing import Preprocessor, resize_plan

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _pre(h=64, w=128, mode="letterbox"):
    return Preprocessor((h, w, MEAN, STD), mode)


def _normalised(rgb):
    return (np.asarray(rgb, np.float64) / 255.0 - MEAN) / STD


@pytest.mark.parametrize("mode", ["letterbox", "center_crop", "stretch"])
@pytest.mark.parametrize("size", [(480, 640), (720, 1280), (30, 50), (64, 128), (200, 100)])
def test_shape_dtype_and_constant_colour(mode, size):
    colour = (200, 30, 90)
    frame = np.empty((*size, 3), np.uint8)
    frame[...] = colour
    out = _pre(mode=mode)(frame)
    assert out.shape == (1, 3, 64, 128) and out.dtype == np.float32 and out.flags.c_contiguous
    plan = _pre(mode=mode).plan(*size)
    top, left, ch, cw = plan.content
    content = out[0, :, top : top + ch, left : left + cw]
    np.testing.assert_allclose(
        content.reshape(3, -1).T, np.broadcast_to(_normalised(colour), (ch * cw, 3)), atol=1e-5
    )


def test_normalisation_values():
    frame = np.zeros((64, 128, 3), np.uint8)
    frame[:, :64] = (0, 0, 0)
    frame[:, 64:] = (255, 255, 255)
    out = _pre(mode="stretch")(frame)
    np.testing.assert_allclose(out[0, :, 10, 10], _normalised((0, 0, 0)), atol=1e-6)
    np.testing.assert_allclose(out[0, :, 10, 100], _normalised((255, 255, 255)), atol=1e-6)
    # channel order is RGB as given (no BGR swap)
    red = np.zeros((64, 128, 3), np.uint8)
    red[..., 0] = 255
    px = _pre(mode="stretch")(red)[0, :, 0, 0]
    np.testing.assert_allclose(px, _normalised((255, 0, 0)), atol=1e-6)


def test_letterbox_pads_with_the_mean_colour():
    # 4:3 frame into a 1:2 input: content 64x85, centred, padding left and right
    frame = np.full((480, 640, 3), 255, np.uint8)
    pre = _pre(mode="letterbox")
    out = pre(frame)
    plan = pre.plan(480, 640)
    assert plan.content == (0, 21, 64, 85)
    assert np.all(out[0, :, :, :21] == 0.0) and np.all(out[0, :, :, 21 + 85 :] == 0.0)  # mean colour -> 0
    np.testing.assert_allclose(out[0, :, 32, 60], _normalised((255, 255, 255)), atol=1e-6)
    # a tall frame is padded left and right, a very wide one top and bottom
    tall = resize_plan(400, 100, 64, 128, "letterbox")
    assert tall.content == (0, 56, 64, 16)
    wide = resize_plan(100, 800, 64, 128, "letterbox")
    assert wide.content == (24, 0, 16, 128)


def test_padding_is_rewritten_when_the_frame_size_changes():
    pre = _pre(mode="letterbox")
    pre(np.full((64, 128, 3), 255, np.uint8))  # fills the whole input
    out = pre(np.full((480, 640, 3), 255, np.uint8))  # now needs padding
    assert np.all(out[0, :, :, :21] == 0.0)


def test_center_crop_keeps_the_middle():
    frame = np.zeros((100, 400, 3), np.uint8)
    frame[:, :100] = (255, 0, 0)  # left quarter red
    frame[:, 100:300] = (0, 255, 0)  # middle half green
    frame[:, 300:] = (0, 0, 255)  # right quarter blue
    plan = resize_plan(100, 400, 64, 128, "center_crop")
    assert plan.crop == (0, 100, 100, 200) and plan.content == (0, 0, 64, 128)
    out = _pre(mode="center_crop")(frame)
    np.testing.assert_allclose(
        out[0].reshape(3, -1).T, np.broadcast_to(_normalised((0, 255, 0)), (64 * 128, 3)), atol=1e-5
    )


def test_stretch_uses_the_whole_frame_and_area_averaging():
    # a 2x2 checkerboard of 0/255 shrunk by 2 with INTER_AREA averages to 127.5 (128 in uint8) everywhere
    frame = np.zeros((128, 256, 3), np.uint8)
    frame[::2, ::2] = 255
    frame[1::2, 1::2] = 255
    out = _pre(mode="stretch")(frame)
    np.testing.assert_allclose(out[0].reshape(3, -1).T.mean(0), _normalised((128,) * 3), atol=1e-5)
    assert np.ptp(out[0, 0]) < 1e-5


def test_input_to_source_mapping():
    plan = resize_plan(480, 640, 64, 128, "letterbox")
    top, left, ch, cw = plan.content
    assert plan.input_to_source(top, left) == (0.0, 0.0)
    y, x = plan.input_to_source(top + ch, left + cw)
    assert (y, x) == pytest.approx((480, 640))
    crop = resize_plan(100, 400, 64, 128, "center_crop")
    assert crop.input_to_source(0, 0) == (0, 100)


@pytest.mark.parametrize("mode", ["letterbox", "center_crop", "stretch"])
def test_views_with_odd_strides_are_accepted(mode):
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    view = bgr[:, ::2, ::-1]  # channel-reversed, every second column
    expected = _pre(mode=mode)(np.ascontiguousarray(view)).copy()
    np.testing.assert_array_equal(_pre(mode=mode)(view), expected)


def test_output_buffer_is_reused():
    pre = _pre()
    a = pre(np.zeros((64, 128, 3), np.uint8))
    b = pre(np.full((64, 128, 3), 255, np.uint8))
    assert a is b


@pytest.mark.parametrize(
    "frame, match",
    [
        (np.zeros((64, 128), np.uint8), r"\(H, W, 3\) uint8 RGB frame, got uint8 \(64, 128\)"),
        (np.zeros((64, 128, 4), np.uint8), "got uint8 \\(64, 128, 4\\)"),
        (np.zeros((64, 128, 3), np.float32), "got float32"),
        (np.zeros((0, 128, 3), np.uint8), "empty frame"),
        ([[1, 2, 3]], "got list"),
    ],
)
def test_bad_frames_are_refused(frame, match):
    with pytest.raises(ValueError, match=match):
        _pre()(frame)


def test_bad_settings():
    with pytest.raises(ValueError, match="unknown preprocessing mode 'zoom'"):
        _pre(mode="zoom")
    with pytest.raises(ValueError, match="std must be > 0"):
        Preprocessor((64, 64, MEAN, (0.2, 0.0, 0.2)))


def test_from_model_info(step_onnx):
    from accident_anticipation_ros.runtime.onnx_contract import read_model_info

    info = read_model_info(step_onnx)
    pre = Preprocessor(info, mode="center_crop")
    assert pre(np.zeros((480, 640, 3), np.uint8)).shape == (1, 3, info.input_height, info.input_width)
    np.testing.assert_allclose(pre.mean, info.mean)
