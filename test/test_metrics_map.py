"""Risk-map cells and top-cell accuracy on hand-made boxes and maps."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.metrics_map import box_cells, box_to_input, top_cell_accuracy, top_cell_hits


def test_box_cells_marks_every_cell_the_box_overlaps():
    # a 96x96 input, 3x3 cells of 32 px: a box over x 20..40, y 70..90 covers columns 0-1 of row 2
    cells = box_cells(np.array([20.0, 70.0, 40.0, 90.0]), (3, 3), (96, 96))
    want = np.zeros((3, 3), bool)
    want[2, 0] = want[2, 1] = True
    assert np.array_equal(cells, want)
    # touching a border (x1 = 32, exclusive) is not overlapping the next cell
    assert box_cells(np.array([0.0, 0.0, 32.0, 32.0]), (3, 3), (96, 96)).sum() == 1
    # NaN: no box, no cell; batched boxes keep their leading shape
    many = box_cells(np.array([[np.nan] * 4, [0.0, 0.0, 96.0, 96.0]]), (3, 3), (96, 96))
    assert many.shape == (2, 3, 3) and not many[0].any() and many[1].all()


def test_box_cells_of_a_non_square_grid_and_input():
    cells = box_cells(np.array([60.0, 10.0, 70.0, 20.0]), (2, 4), (64, 128))  # cells 32 x 32
    assert np.argwhere(cells).tolist() == [[0, 1], [0, 2]]


def test_box_to_input_letterbox_scales_and_shifts_like_the_preprocessing():
    # 128 wide x 64 high into 96x96: scale 0.75, content 48 high at rows 24..72
    out = box_to_input(
        np.array([[0.0, 0.0, 128.0, 64.0], [64.0, 32.0, 96.0, 48.0]]), (64, 128), (96, 96), "letterbox"
    )
    assert out[0] == pytest.approx([0.0, 24.0, 96.0, 72.0])
    assert out[1] == pytest.approx([48.0, 48.0, 72.0, 60.0])
    stretched = box_to_input(np.array([64.0, 32.0, 96.0, 48.0]), (64, 128), (96, 96), "stretch")
    assert stretched == pytest.approx([48.0, 48.0, 72.0, 72.0])
    # center_crop keeps the middle 64x64 of the frame: a box on its left edge is cropped away
    gone = box_to_input(np.array([0.0, 0.0, 20.0, 20.0]), (64, 128), (96, 96), "center_crop")
    assert np.isnan(gone).all()


def test_top_cell_hits_scores_the_last_second_before_toa_with_a_visible_object():
    T, fps, toa = 30, 10.0, 25.0
    maps = np.zeros((T, 3, 3))
    cells = np.zeros((T, 3, 3), bool)
    cells[:, 1, 2] = True  # the object sits in cell (1, 2)
    maps[:, 0, 0] = 1.0  # the map points elsewhere ...
    maps[20:23, 1, 2] = 2.0  # ... except on frames 20-22
    cells[24] = False  # frame 24: the object is out of view
    hits, chance = top_cell_hits(maps, cells, toa, fps)
    assert len(hits) == 9  # the last second is frames 15..24 (15 <= t < 25), without frame 24
    assert hits.sum() == 3 and chance == pytest.approx(1 / 9)


def test_top_cell_accuracy_over_clips_ignores_safe_clips_and_reports_chance():
    maps = [np.random.default_rng(0).normal(size=(20, 3, 3)) for _ in range(3)]
    cells = [np.zeros((20, 3, 3), bool) for _ in range(3)]
    for m, c in zip(maps, cells, strict=True):
        c[:, 0, :2] = True  # two of nine cells hold the object
        m[:, 0, 1] = 10.0  # a perfect map
    result = top_cell_accuracy(maps, cells, [12.0, -1.0, 19.5], 10.0)
    assert result["top_cell_accuracy"] == 1.0
    assert result["frames"] == 10 + 10  # clip 0: frames 2..11; clip 2: 9.5 <= t < 19.5
    assert result["chance"] == pytest.approx(2 / 9) and result["uniform"] == pytest.approx(1 / 9)
    none = top_cell_accuracy(maps[1:2], cells[1:2], [-1.0], 10.0)
    assert np.isnan(none["top_cell_accuracy"]) and none["frames"] == 0
    with pytest.raises(ValueError, match="must both be"):
        top_cell_hits(maps[0], cells[0][:, :2], 5.0, 10.0)
