"""Clip-consistent augmentation: one draw per clip, every frame transformed alike, boxes moved with
the pixels, reproducible, off in paper_exact, refused where the teacher targets would not match."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from accident_anticipation_ros.training.augment import (
    ClipAugment,
    augment_boxes,
    augment_frames,
    sample_clip_augment,
)
from accident_anticipation_ros.training.config import AugmentConfig, train_config_from_dict
from accident_anticipation_ros.training.errors import TrainConfigError


def _clip(T: int = 5, H: int = 32, W: int = 48, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (T, H, W, 3), dtype=torch.uint8, generator=g)


def test_every_frame_of_a_clip_gets_the_same_transform():
    frame = _clip(1)[0]
    clip = frame.expand(6, *frame.shape).clone()  # six copies of one frame
    cfg = AugmentConfig(enabled=True, hflip=0.5, crop_scale=(0.3, 0.9))
    rng = np.random.default_rng(3)
    for _ in range(5):
        aug = sample_clip_augment(cfg, (32, 48), rng)
        out = augment_frames(clip, aug)
        assert out.shape == clip.shape and out.dtype == torch.uint8
        assert all(torch.equal(out[0], out[t]) for t in range(1, 6))  # one crop, flip and colour for all
        assert not torch.equal(out[0], frame)
    # and a frame's result does not depend on its position in the clip (the crop, flip, brightness and
    # saturation are pixel maps; the contrast pivots on the clip's mean grey, the same for every frame)
    moving = _clip(4)
    aug = sample_clip_augment(cfg, (32, 48), np.random.default_rng(4))
    out = augment_frames(moving, aug)
    rev = augment_frames(moving.flip(0), aug).flip(0)
    assert torch.equal(out, rev)


def test_flip_and_crop_are_the_expected_pixel_maps():
    clip = _clip()
    flip = ClipAugment((0, 0, 32, 48), True, 1.0, 1.0, 1.0)
    assert torch.equal(augment_frames(clip, flip), clip.flip(2))
    crop = ClipAugment((8, 12, 16, 24), False, 1.0, 1.0, 1.0)  # exactly half the frame: a 2x upsample
    want = torch.nn.functional.interpolate(
        clip[:, 8:24, 12:36].permute(0, 3, 1, 2).float(), size=(32, 48), mode="bilinear", align_corners=False
    )
    got = augment_frames(clip, crop).permute(0, 3, 1, 2).float()
    assert (got - want).abs().max() <= 0.5 + 1e-4  # rounded to uint8
    identity = ClipAugment((0, 0, 32, 48), False, 1.0, 1.0, 1.0)
    assert torch.equal(augment_frames(clip, identity), clip)
    darker = augment_frames(clip, ClipAugment((0, 0, 32, 48), False, 0.5, 1.0, 1.0)).float()
    assert (darker - clip.float() * 0.5).abs().max() <= 0.5 + 1e-4


def test_boxes_move_with_the_pixels():
    boxes = np.array([[12, 8, 24, 16], [np.nan] * 4, [0, 0, 4, 4]], np.float32)
    aug = ClipAugment((8, 12, 16, 24), True, 1.0, 1.0, 1.0)  # crop x 12..36, y 8..24, scale 2, then flip
    out = augment_boxes(boxes, aug, (32, 48))
    np.testing.assert_allclose(out[0], [48 - 24, 0, 48, 16])  # x 0..24 after the crop, flipped
    assert np.isnan(out[1]).all() and np.isnan(out[2]).all()  # no box; a box the crop cut away


def test_load_batch_augments_reproducibly_and_keeps_the_windows(make_config):
    from accident_anticipation_ros.training.data import load_batch
    from accident_anticipation_ros.training.trainer import Trainer

    cfg = make_config(loss={"spatial": {"enabled": False}, "temporal": {"enabled": False},
                            "contrastive": {"enabled": False}})  # fmt: skip
    trainer = Trainer(train_config_from_dict(cfg))
    store = trainer.train_store
    args = dict(window=8, seed=0, epoch=1, batch_no=2)
    plain = load_batch(store, [0, 1], **args)
    on = AugmentConfig(enabled=True)
    a, b = load_batch(store, [0, 1], **args, augment=on), load_batch(store, [0, 1], **args, augment=on)
    assert a.starts == plain.starts and torch.equal(a.targets.valid, plain.targets.valid)
    assert torch.equal(a.frames, b.frames) and not torch.equal(a.frames, plain.frames)
    other = load_batch(store, [0, 1], **{**args, "epoch": 2}, augment=on)
    assert not torch.equal(other.frames[0], a.frames[0]) or other.starts != a.starts


def test_augment_config_rules(make_config):
    on = {"augment": {"enabled": True}}
    # cached teacher targets are of the unaugmented frames
    with pytest.raises(TrainConfigError, match="cache.teacher: false"):
        train_config_from_dict(make_config(data=on))
    cfg = train_config_from_dict(make_config(data=on, cache={"teacher": False}))
    assert cfg.data.augment.enabled
    with pytest.raises(TrainConfigError, match="not supported with train.stateful"):
        train_config_from_dict(
            make_config(data=on, cache={"teacher": False}, train={"stateful": {"enabled": True}})
        )
    exact = train_config_from_dict({**make_config(data=on, cache={"teacher": False}), "paper_exact": True})
    assert not exact.data.augment.enabled  # the paper does not say it augments
    with pytest.raises(TrainConfigError, match="crop_scale"):
        train_config_from_dict(make_config(data={"augment": {"crop_scale": [0.0, 1.0]}}))


def test_an_augmented_run_with_the_online_teacher_trains(make_config):
    from accident_anticipation_ros.training.trainer import Trainer

    cfg = make_config(data={"augment": {"enabled": True}}, cache={"teacher": False}, train={"max_steps": 1})
    trainer = Trainer(train_config_from_dict(cfg))
    assert trainer.online_teacher and trainer.fit()["steps"] == 1
