"""bench_node's frame sources (the run itself is smoke-tested in tools/test_bench_node.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from accident_anticipation_ros.bench_node import jpeg_files


def _write_jpeg(path, value: int) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((24, 32, 3), value, np.uint8)
    image[:, :16, 0] = 255 - value  # not grey: the channel order shows
    assert cv2.imwrite(str(path), image)
    return path.read_bytes()


def test_jpeg_files_sends_the_files_bytes_in_name_order_and_repeats_them(tmp_path):
    second = _write_jpeg(tmp_path / "clip_b" / "001.jpg", 200)
    first = _write_jpeg(tmp_path / "clip_a" / "002.jpg", 40)
    data, frames = jpeg_files(tmp_path, 5)
    assert data == [first, second, first, second, first]  # clip_a/002 sorts before clip_b/001
    assert len(frames) == 5 and frames[0].shape == (24, 32, 3)
    bgr = cv2.imdecode(np.frombuffer(first, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(frames[0], cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    np.testing.assert_array_equal(frames[2], frames[0])


def test_jpeg_files_refuses_an_empty_folder_and_a_broken_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .jpg files"):
        jpeg_files(tmp_path, 3)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.raises(ValueError, match="not a readable JPEG"):
        jpeg_files(tmp_path, 3)
