"""evaluate-bag on recordings with known outputs, the report, and bad bags."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer

from accident_anticipation_ros.bag.types import ACCIDENT_LABEL, ACCIDENT_RISK, get_package_typestore
from accident_anticipation_ros.bag.writer import DEFAULT_LABEL_TOPIC
from accident_anticipation_ros.evaluate_bag import evaluate_bags
from accident_anticipation_ros.metrics import METRIC_LABELS, evaluate
from accident_anticipation_ros.stamps import frame_stamps_ns, split_ns
from accident_anticipation_ros.tools.evaluate_bag import main

FPS = 10.0


def write_recording(
    path,
    scores: list[np.ndarray],
    labels: list[int],
    toas: list[float],
    drop=(),
    causes=None,
    named=None,
    ood=(),
):
    """A recording as replay writes it: AccidentLabel per clip, AccidentRisk per (kept) frame.

    ``causes``: each clip's cause label; ``named``: each clip's per-frame AccidentRisk.cause;
    ``ood``: the ``(clip, frame)`` pairs flagged out of domain.
    """
    store = get_package_typestore()
    Label, Risk = store.types[ACCIDENT_LABEL], store.types[ACCIDENT_RISK]
    Time, Header = store.types["builtin_interfaces/msg/Time"], store.types["std_msgs/msg/Header"]
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        lab = writer.add_connection(DEFAULT_LABEL_TOPIC, ACCIDENT_LABEL, typestore=store)
        risk = writer.add_connection("/accident_anticipation/cam/risk", ACCIDENT_RISK, typestore=store)
        start = 1_700_000_000 * 10**9
        for k, (s, y, toa) in enumerate(zip(scores, labels, toas, strict=True)):
            stamps = frame_stamps_ns(start, FPS, len(s))
            toa_ns = int(start + toa / FPS * 1e9) if y else 0
            msg = Label(
                header=Header(stamp=Time(*split_ns(start)), frame_id="cam"),
                clip_id=f"c{k}",
                label=y,
                time_of_accident=Time(*split_ns(toa_ns)),
                fps=FPS,
                num_frames=len(s),
                caption="",
                cause=causes[k] if causes else "",
            )
            writer.write(lab, start - 10**8, store.serialize_cdr(msg, ACCIDENT_LABEL))
            for i, (t, p) in enumerate(zip(stamps, s, strict=True)):
                if (k, i) in drop:
                    continue
                r = Risk(
                    header=Header(stamp=Time(*split_ns(int(t))), frame_id="cam"),
                    camera="cam",
                    probability=float(p),
                    probability_smoothed=float(p),
                    level=0,
                    alert=False,
                    time_to_accident=float("nan"),
                    frames_since_reset=i + 1,
                    state_reset=i == 0,
                    reset_reason="first_frame" if i == 0 else "",
                    latency_ms=10.0 + i,
                    frames_dropped=0,
                    cause=named[k][i] if named else "",
                    cause_confidence=0.9 if named and named[k][i] else float("nan"),
                    out_of_domain=(k, i) in ood,
                    domain_score=30.0 if (k, i) in ood else 10.0,
                )
                writer.write(risk, int(t), store.serialize_cdr(r, ACCIDENT_RISK))
            start += (len(s) + 30) * 10**8


def test_known_outputs_give_the_known_numbers(tmp_path):
    # Clip 0 (accident at frame 8) rises to 0.9 at frame 4; clip 1 (normal) peaks at 0.5. Thresholds
    # above 0.5 flag only clip 0 (precision 1 at recall 1): AP max-precision = 1. The corrected variant
    # takes the max time per recall level: at threshold <= 0.1 clip 0 is flagged at frame 0, 8 frames =
    # 0.8 s before the accident, so the toa-based mTTA is 0.8 s and mTTA (1 - 0/8) * T/fps = 1.0 s.
    # The UString protocol takes one point of its single recall level: precision .5 or 1.
    s0 = np.array([0.1, 0.1, 0.2, 0.3, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0])
    s1 = np.array([0.1, 0.2, 0.5, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    write_recording(tmp_path / "rec", [s0, s1], [1, 0], [8.0, -1])
    ev = evaluate_bags([tmp_path / "rec"])
    direct = evaluate([s0, s1], np.array([1, 0]), np.array([8.0, -1.0]), FPS)
    for key, value in direct.items():
        assert ev.metrics[key] == pytest.approx(value)
    assert ev.metrics["ap_maxprec"] == pytest.approx(1.0) and ev.metrics["ap"] in (0.5, 1.0)
    assert ev.metrics["video_ap"] == pytest.approx(1.0)
    assert ev.metrics["mtta_toa"] == pytest.approx(0.8)
    assert ev.metrics["mtta_maxprec"] == pytest.approx(1.0) and 0.5 <= ev.metrics["mtta"] <= 1.0
    assert ev.latency_p50_ms == pytest.approx(14.5) and ev.dropped == 0


def test_dropped_frames_hold_the_last_value_and_are_counted(tmp_path):
    s0 = np.array([0.1, 0.1, 0.2, 0.3, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0])
    s1 = np.full(10, 0.2)
    write_recording(tmp_path / "rec", [s0, s1], [1, 0], [8.0, -1], drop={(0, 4), (0, 5)})
    ev = evaluate_bags([tmp_path / "rec"])
    assert ev.dropped == 2
    held = np.array([0.1, 0.1, 0.2, 0.3, 0.3, 0.3, 0.9, 0.9, 1.0, 1.0])
    assert ev.metrics == pytest.approx(evaluate([held, s1], np.array([1, 0]), np.array([8.0, -1.0]), FPS))


def test_cause_accuracy_over_the_last_second_and_out_of_domain_share(tmp_path):
    # 20 frames at 10 fps, accident at frame 15: the last second before it is frames 5..14. The node
    # named a cause on frames 8..14 (7 frames, level above LOW), the right one on 8..12.
    s = np.linspace(0.1, 0.9, 20)
    said = [""] * 8 + ["cut_in"] * 5 + ["junction"] * 2 + ["cut_in"] * 5  # after toa: not scored
    ood = {(0, 0), (0, 1), (1, 3)}
    write_recording(
        tmp_path / "rec", [s, s], [1, 0], [15.0, -1], causes=["cut_in", "cut_in"], named=[said, said], ood=ood
    )
    summary = evaluate_bags([tmp_path / "rec"]).summary()
    assert summary["cause_accuracy"] == pytest.approx(5 / 7)
    assert (
        summary["cause_frames"] == 7 and summary["cause_window_frames"] == 10
    )  # the safe clip is not scored
    assert summary["out_of_domain_fraction"] == pytest.approx(3 / 40)
    write_recording(tmp_path / "unlabelled", [s], [1], [15.0], named=[said])
    summary = evaluate_bags([tmp_path / "unlabelled"]).summary()
    assert np.isnan(summary["cause_accuracy"]) and summary["cause_frames"] == 0


def test_cli_writes_the_report(tmp_path, capsys):
    s0 = np.linspace(0, 1, 10)
    write_recording(tmp_path / "rec", [s0, np.full(10, 0.1)], [1, 0], [9.0, -1])
    assert main([str(tmp_path / "rec"), "--json", "--out", str(tmp_path / "report")]) == 0
    got = json.loads(capsys.readouterr().out)
    assert {*METRIC_LABELS, "clips", "dropped_frames"} <= set(got)
    assert (tmp_path / "report" / "pr_curve.png").stat().st_size > 1000
    assert len(list((tmp_path / "report" / "curves").glob("*.png"))) == 2
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert f"| AP (UString protocol) | {got['ap']:.4f} |" in summary
    assert f"| AP max-precision (corrected) | {got['ap_maxprec']:.4f} |" in summary


def test_missing_topic_and_truncated_bag_are_clear_errors(tmp_path, capsys, eval_bag):
    # The evaluation bag itself has labels but no AccidentRisk.
    assert main([str(eval_bag), "--out", str(tmp_path / "r")]) == 1
    assert "no accident_anticipation_ros/msg/AccidentRisk topic" in capsys.readouterr().err
    write_recording(tmp_path / "rec", [np.linspace(0, 1, 10)], [1], [9.0])
    mcap = next((tmp_path / "rec").glob("*.mcap"))
    data = mcap.read_bytes()
    mcap.write_bytes(data[: len(data) // 2])
    assert main([str(tmp_path / "rec"), "--out", str(tmp_path / "r2")]) == 1
    err = capsys.readouterr().err
    assert "rec" in err and ("truncated" in err or "corrupt" in err or "cannot" in err), err
    assert main([str(tmp_path / "nothing")]) == 1
    assert "does not exist" in capsys.readouterr().err
    write_recording(tmp_path / "good", [np.linspace(0, 1, 10)], [1], [9.0])
    (tmp_path / "file").write_text("")
    assert main([str(tmp_path / "good"), "--out", str(tmp_path / "file" / "r")]) == 1  # unwritable report
    assert capsys.readouterr().err.startswith("evaluate-bag: error: ")


def test_missing_frames_fail_at_max_missing_0_and_pass_above(tmp_path, capsys):
    """A recording with one risk message removed: reported with its clip, exit 1 at the default 0."""
    s0 = np.linspace(0, 1, 10)
    write_recording(tmp_path / "rec", [s0, np.full(10, 0.1)], [1, 0], [9.0, -1], drop={(1, 3)})
    assert main([str(tmp_path / "rec"), "--out", str(tmp_path / "r0")]) == 1
    captured = capsys.readouterr()
    assert "missing frames: 1 of 20 (5.00 %) have no AccidentRisk, in clips c1 (1)" in captured.out
    assert (
        captured.err.startswith("evaluate-bag: error: missing frames: 1 of 20")
        and "--max-missing 0" in captured.err
    )
    assert (tmp_path / "r0" / "summary.md").is_file()  # the report is written all the same
    assert (
        main([str(tmp_path / "rec"), "--out", str(tmp_path / "r1"), "--max-missing", "0.05", "--json"]) == 0
    )
    got = json.loads(capsys.readouterr().out)
    assert (
        got["missing_frames"] == 1 and got["missing_by_clip"] == {"c1": 1} and got["missing_fraction"] == 0.05
    )
    assert main([str(tmp_path / "rec"), "--out", str(tmp_path / "r2"), "--max-missing", "0.04"]) == 1
    capsys.readouterr()
    assert main([str(tmp_path / "rec"), "--max-missing", "2"]) == 2
    assert "--max-missing must be a fraction" in capsys.readouterr().err
