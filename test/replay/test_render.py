"""render: overlay images of a recording into a video."""

from __future__ import annotations

import cv2

from accident_anticipation_ros.replay import replay_offline
from accident_anticipation_ros.tools.render import main


def test_render_one_clip_to_gif_and_all_to_mp4(eval_bag, nano_onnx, tmp_path, capsys):
    replay_offline(eval_bag, tmp_path / "rec", nano_onnx, overlay=True)
    assert main([str(tmp_path / "rec"), "--out", str(tmp_path / "c0.gif"), "--clip", "clip0"]) == 0
    assert "20 frames at 10 fps" in capsys.readouterr().out
    from PIL import Image

    assert Image.open(tmp_path / "c0.gif").n_frames == 20
    assert main([str(tmp_path / "rec"), "--out", str(tmp_path / "all.mp4")]) == 0
    cap = cv2.VideoCapture(str(tmp_path / "all.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 80


def test_render_errors(eval_bag, nano_onnx, tmp_path, capsys):
    assert main([str(eval_bag), "--out", str(tmp_path / "x.gif")]) == 1
    assert "overlay topic" in capsys.readouterr().err
    replay_offline(eval_bag, tmp_path / "rec", nano_onnx, overlay=True)
    assert main([str(tmp_path / "rec"), "--out", str(tmp_path / "x.gif"), "--clip", "nope"]) == 1
    assert "no clip 'nope'" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main([str(tmp_path / "rec"), "--out", str(tmp_path / "file" / "x.gif")]) == 1  # unwritable
    assert capsys.readouterr().err.startswith("render: error: ")
