"""Which replayed frames got no answer, and why: drops the node counted, conversion errors, no answer."""

from __future__ import annotations

from accident_anticipation_ros.bag.reader import ClipLabel
from accident_anticipation_ros.replay_accounting import (
    DROPPED,
    NO_ANSWER,
    MissingFrame,
    clip_finder,
    describe,
    missing_frames,
)


def test_every_unanswered_frame_is_listed_with_its_reason():
    stamps = [10, 20, 30, 40, 50, 60, 70]
    # 20 and 30 unanswered before 40, which says the node dropped one; 50 did not convert; 70 never came.
    answers = {10: 0, 40: 1, 60: 0}
    got = missing_frames(stamps, answers, {4: "conversion error: bad"}, clip_of=lambda s: f"c{s // 35}")
    assert got == [
        MissingFrame("c0", 20, DROPPED),
        MissingFrame("c0", 30, NO_ANSWER),
        MissingFrame("c1", 50, "conversion error: bad"),
        MissingFrame("c2", 70, NO_ANSWER),
    ]
    assert missing_frames(stamps, dict.fromkeys(stamps, 0), {}) == []


def test_decimated_frames_are_not_missing_and_do_not_take_a_counted_drop():
    stamps = [10, 20, 30, 40, 50, 60]
    # 20 and 30 decimated by design (silent); 50 unanswered before 60, which says the node dropped one.
    got = missing_frames(stamps, {10: 0, 40: 0, 60: 1}, {}, silent={1, 2})
    assert got == [MissingFrame("", 50, DROPPED)]
    # A frame foreseen as decimated that the node answered all the same is simply answered.
    assert missing_frames(stamps, dict.fromkeys(stamps, 0), {}, silent={1, 2}) == []


def test_clips_by_stamp_and_the_summary_lines():
    labels = [
        ClipLabel("a", 1, 5.0, 10.0, 3, "", 1_000_000_000, "cam"),
        ClipLabel("b", 0, -1.0, 10.0, 3, "", 5_000_000_000, "cam"),
    ]
    clip_of = clip_finder(labels)
    assert [clip_of(t) for t in (1_000_000_000, 1_200_000_000, 1_300_000_000, 5_100_000_000, 10)] == [
        "a",
        "a",
        "",  # after a's last frame (1.2 s), before b
        "b",
        "",
    ]
    text = describe([MissingFrame("a", 1, DROPPED), MissingFrame("b", 2, "conversion error: x")], 6)
    assert text.splitlines()[0] == "2 of 6 frames without an answer:"
    assert "  1 conversion error" in text and f"  1 {DROPPED}" in text
    assert "clip b stamp 2 ns: conversion error: x" in text
    assert describe([], 6) == "every one of 6 frames answered"
