"""The frozen teacher: built without weights, features of the expected shapes, checkpoints by path only."""

from __future__ import annotations

import pickle

import pytest
import torch
from safetensors.torch import save_file

from accident_anticipation_ros.training.config import TeacherConfig
from accident_anticipation_ros.training.errors import TeacherError
from accident_anticipation_ros.training.teacher import build_teacher, teacher_norm
from accident_anticipation_ros.training.weights import read_state_dict


@pytest.mark.parametrize("source, model", [("open_clip", "MobileCLIP2-S0"), ("timm", "fastvit_mci0")])
def test_weights_free_mobileclip_teacher_feature_shapes(source, model):
    teacher = build_teacher(TeacherConfig(source=source, model=model, image_size=(64, 96)))
    info = teacher.info
    assert info.stage_dims == (64, 128, 256) and info.embed_dim == 512  # MCi0 widths, MobileCLIP-S0 embedding
    assert info.mean == (0.0, 0.0, 0.0) and info.std == (1.0, 1.0, 1.0)  # MobileCLIP's own normalisation
    out = teacher.encode_frames(torch.randn(2, 3, 64, 96))
    assert [tuple(s.shape) for s in out.stages] == [(2, 64, 16, 24), (2, 128, 8, 12), (2, 256, 4, 6)]
    assert tuple(out.embedding.shape) == (2, 512)
    assert not any(p.requires_grad for p in teacher.parameters()) and not teacher.training
    if source == "open_clip":
        assert tuple(teacher.encode_text(["a car cuts in", "a pedestrian crosses"]).shape) == (2, 512)
    else:
        with pytest.raises(TeacherError, match="no text tower"):
            teacher.encode_text(["a car cuts in"])
    with pytest.raises(ValueError, match=r"expected \(N, 3, 64, 96\)"):
        teacher.encode_frames(torch.randn(1, 3, 64, 64))


def test_open_clip_norm_follows_the_pretrained_config():
    assert teacher_norm(TeacherConfig(source="open_clip", model="MobileCLIP-S1"))[1] == (1.0, 1.0, 1.0)
    mean, _ = teacher_norm(TeacherConfig(source="open_clip", model="MobileCLIP2-S3"))
    assert mean[0] == pytest.approx(0.48145466)  # MobileCLIP2-S3/S4 use OpenAI's statistics
    assert (
        teacher_norm(TeacherConfig(source="timm", model="fastvit_mci0", mean=(0.5,) * 3, std=(0.5,) * 3))[0]
        == (0.5,) * 3
    )


def test_timm_teacher_loads_an_open_clip_checkpoint_by_path(tmp_path):
    import timm

    trunk = timm.create_model("fastvit_mci0", num_classes=512)
    sd = {f"visual.trunk.{k}": v for k, v in trunk.state_dict().items()}
    sd["text.token_embedding.weight"] = torch.zeros(3, 4)  # other towers are ignored for timm
    path = tmp_path / "open_clip_model.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    teacher = build_teacher(TeacherConfig(source="timm", model="fastvit_mci0", checkpoint=str(path)))
    key = "stem.0.conv_kxk.0.conv.weight"
    assert torch.equal(teacher.trunk.state_dict()[key], trunk.state_dict()[key])
    assert teacher.info.image_size == (256, 256)

    del sd["visual.trunk.head.fc.weight"]
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    with pytest.raises(TeacherError, match=r"1 missing \(first: \['head.fc.weight'\]\)"):
        build_teacher(TeacherConfig(source="timm", model="fastvit_mci0", checkpoint=str(path)))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pt_checkpoints_are_read_with_weights_only(tmp_path):
    good = tmp_path / "good.pt"
    torch.save({"state_dict": {"module.w": torch.ones(2)}}, good)
    assert list(read_state_dict(good)) == ["w"]  # unwrapped, DataParallel prefix stripped

    class Payload:
        def __reduce__(self):
            return (print, ("pickle code ran",))

    bad = tmp_path / "bad.pt"
    bad.write_bytes(pickle.dumps({"w": Payload()}))
    with pytest.raises(TeacherError, match="weights_only"):
        read_state_dict(bad)
    with pytest.raises(TeacherError, match="not found"):
        read_state_dict(tmp_path / "absent.safetensors")


def test_train_teacher_checkpoint_round_trip(tiny_teacher):
    from accident_anticipation_ros.training.teacher_clip import load_teacher_clip

    teacher = build_teacher(TeacherConfig(source="aar", checkpoint=str(tiny_teacher)))
    assert teacher.info.stage_dims == (8, 16, 32) and teacher.info.embed_dim == 24
    out = teacher.encode_frames(torch.randn(3, 3, 64, 64))
    assert [tuple(s.shape) for s in out.stages] == [(3, 8, 16, 16), (3, 16, 8, 8), (3, 32, 4, 4)]
    model, _ = load_teacher_clip(tiny_teacher)
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model.encode_image(x), teacher.encode_frames(x).embedding, atol=1e-6)
    assert tuple(teacher.encode_text(["a red car closes in fast"]).shape) == (1, 24)


def test_train_teacher_checkpoint_is_strict(tiny_teacher, tmp_path):
    import shutil

    from safetensors.torch import load_file

    stem = tmp_path / "t"
    shutil.copy(f"{tiny_teacher}.json", f"{stem}.json")
    sd = load_file(f"{tiny_teacher}.safetensors")
    sd.pop("logit_scale")
    save_file(sd, f"{stem}.safetensors")
    with pytest.raises(TeacherError, match="sha256"):  # the JSON records the weights' hash
        build_teacher(TeacherConfig(source="aar", checkpoint=str(stem)))
    import json
    from pathlib import Path

    meta_path = Path(f"{stem}.json")
    meta = json.loads(meta_path.read_text())
    meta.pop("weights_sha256")
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(TeacherError, match=r"1 missing \(first: \['logit_scale'\]\)"):
        build_teacher(TeacherConfig(source="aar", checkpoint=str(stem)))


def _trained_like(name: str, num_classes: int = 512):
    """A random timm MCi tower with non-trivial BN statistics and layer scales, and a bias-free head
    (Apple's CLIP projection has no bias)."""
    import timm

    torch.manual_seed(0)
    model = timm.create_model(name, num_classes=num_classes)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for key, t in model.state_dict().items():
            if key.endswith("running_mean"):
                t.normal_(0, 0.1, generator=gen)
            elif key.endswith("running_var"):
                t.uniform_(0.5, 1.5, generator=gen)
            elif key.endswith("gamma"):  # layer scales (1e-5 at init would hide the blocks)
                t.uniform_(0.05, 0.2, generator=gen)
        model.head.fc.bias.zero_()
    return model.eval()


def _apple_pt(path, image_keys: dict, text: dict | None = None):
    sd = dict(image_keys)
    sd.update(text if text is not None else {"text_encoder.embedding_layer.weight": torch.zeros(5, 4)})
    sd["logit_scale"] = torch.tensor(4.6052)
    torch.save({"state_dict": sd}, path)  # as ml-mobileclip ships them (a .pt, read with weights_only)
    return path


def test_timm_teacher_loads_apple_mobileclip_v1_pt(tmp_path, apple_mobileclip_layout):
    from accident_anticipation_ros.model.backbone import load_mci_trunk
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.student import TSDStudent

    ref = _trained_like("fastvit_mci0")
    path = _apple_pt(tmp_path / "mobileclip_s0.pt", apple_mobileclip_layout(ref.state_dict()))
    cfg = TeacherConfig(source="timm", model="fastvit_mci0", checkpoint=str(path), image_size=(64, 96))
    teacher = build_teacher(cfg)
    assert teacher.info.embed_dim == 512 and teacher.info.stage_dims == (64, 128, 256)
    x = torch.randn(2, 3, 64, 96)
    out = teacher.encode_frames(x)
    with torch.no_grad():
        final, stages = ref.forward_intermediates(x, indices=[0, 1, 2])
        embedding = ref.forward_head(final)
    for got, want in zip(out.stages, stages, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(out.embedding, embedding, rtol=1e-6, atol=1e-6)  # head.fc: a transposed view

    # the trainer's init_from_teacher: the teacher trunk's (converted) weights into tsd-s0's stages 1-3
    student = TSDStudent(get_config("tsd-s0")).eval()
    report = load_mci_trunk(student, teacher.trunk.state_dict())
    assert report.embed_loaded and report.loaded == len(student.trunk.state_dict())
    with torch.no_grad():
        for got, want in zip(student.trunk(x), stages, strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_apple_checkpoints_that_do_not_fit_are_named(tmp_path, apple_mobileclip_layout):
    ref = _trained_like("fastvit_mci0")
    path = _apple_pt(tmp_path / "s0.pt", apple_mobileclip_layout(ref.state_dict()))
    with pytest.raises(TeacherError, match=r"mismatch"):  # an S0 file for an S2 tower
        build_teacher(TeacherConfig(source="timm", model="fastvit_mci2", checkpoint=str(path)))
    vit = {
        "image_encoder.model.patch_emb.0.weight": torch.zeros(2),
        "image_encoder.model.head.proj": torch.zeros(2, 2),
    }
    with pytest.raises(TeacherError, match="MobileCLIP-B's image tower is a ViT"):
        build_teacher(
            TeacherConfig(
                source="timm", model="fastvit_mci0", checkpoint=str(_apple_pt(tmp_path / "b.pt", vit))
            )
        )
    mct = {"text_encoder.transformer.0.token_mixer.layer_scale": torch.zeros(2)}  # S0's RepMixer text block
    from accident_anticipation_ros.training.mobileclip_v1 import to_open_clip

    with pytest.raises(TeacherError, match="'mct' text tower is not in open_clip"):
        to_open_clip({**apple_mobileclip_layout(ref.state_dict()), **mct})


def test_apple_text_tower_maps_onto_open_clip(tmp_path):
    """The ml-mobileclip text transformer's tensors, renamed, give open_clip's TextTransformer (tiny:
    MobileCLIP-S1/S2's 12 x 512 tower is the same module at full size)."""
    from open_clip.model import CLIPTextCfg, _build_text_tower

    from accident_anticipation_ros.training.mobileclip_v1 import _BLOCK, _TOP, text_to_open_clip

    cfg = CLIPTextCfg(context_length=12, width=32, heads=2, layers=2, no_causal_mask=True)
    torch.manual_seed(0)
    ref, fresh = _build_text_tower(16, cfg).eval(), _build_text_tower(16, cfg).eval()
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.05 * torch.randn_like(p))
    # ml-mobileclip names, from mobileclip/text_encoder.py + modules/common/transformer.py
    top, block = {v: k for k, v in _TOP.items()}, {v: k for k, v in _BLOCK.items()}
    apple = {}
    for key, value in ref.state_dict().items():
        if key.startswith("transformer.resblocks."):
            _, _, i, rest = key.split(".", 3)
            apple[f"text_encoder.transformer.{i}.{block[rest]}"] = value
        elif key == "positional_embedding":
            apple["text_encoder." + top[key]] = value[None, None]  # LearnablePositionalEmbedding (1, 1, L, D)
        else:
            apple["text_encoder." + top[key]] = value
    converted = text_to_open_clip(apple)
    fresh.load_state_dict({k.removeprefix("text."): v for k, v in converted.items()}, strict=True)
    tokens = torch.randint(1, 400, (3, 12))
    with torch.no_grad():
        torch.testing.assert_close(fresh(tokens), ref(tokens), rtol=0, atol=0)


def test_open_clip_teacher_keeps_the_checkpoint_batchnorm_statistics(tmp_path):
    """Building the teacher runs a probe forward (the embedding width): in eval mode, so the loaded
    BatchNorm running statistics stay the checkpoint's (a train-mode probe moved them toward a zero image's)."""
    import open_clip

    torch.manual_seed(0)
    with _quiet():
        model = open_clip.create_model("MobileCLIP2-S0", pretrained=None)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    path = tmp_path / "open_clip_model.safetensors"
    save_file(sd, str(path))
    teacher = build_teacher(TeacherConfig(source="open_clip", model="MobileCLIP2-S0", checkpoint=str(path)))
    got = teacher.trunk.state_dict()
    changed = [k for k, v in got.items() if not torch.equal(v, sd[f"visual.trunk.{k}"])]
    assert not changed, changed[:3]


def _quiet():
    from accident_anticipation_ros.training.teacher import _quiet_open_clip

    return _quiet_open_clip()


def _clip_teacher(stem, logit_scale: float):
    """A tiny random ``aar`` teacher whose learned ``exp(logit_scale)`` is ``logit_scale``."""
    import math

    from accident_anticipation_ros.training.teacher_clip import (
        ImageTowerSpec,
        TeacherCLIP,
        TeacherSpec,
        TextTowerSpec,
        save_teacher_clip,
    )

    image = ImageTowerSpec(widths=(8, 16, 32, 32), depths=(1, 1, 1, 1), image_size=(64, 64))
    text = TextTowerSpec(context_length=16, width=32, heads=2, layers=1)
    clip = TeacherCLIP(TeacherSpec(name="t", embed_dim=24, image=image, text=text))
    with torch.no_grad():
        clip.logit_scale.fill_(math.log(logit_scale))
    save_teacher_clip(clip, stem)
    return stem


def test_teacher_info_carries_the_checkpoint_logit_scale(tmp_path):
    """``TeacherInfo.logit_scale`` is ``exp(logit_scale)`` of the weights loaded (open_clip and aar), the
    softmax scale of the teacher's own zero-shot targets; a timm image tower has none."""
    import math

    import open_clip

    with _quiet():
        model = open_clip.create_model("MobileCLIP2-S0", pretrained=None)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    sd["logit_scale"] = torch.tensor(math.log(50.0))
    path = tmp_path / "open_clip_model.safetensors"
    save_file(sd, str(path))
    cfg = TeacherConfig(source="open_clip", model="MobileCLIP2-S0", checkpoint=str(path))
    assert build_teacher(cfg).info.logit_scale == pytest.approx(50.0, rel=1e-5)
    aar = TeacherConfig(source="aar", checkpoint=str(_clip_teacher(tmp_path / "aar", 25.0)))
    assert build_teacher(aar).info.logit_scale == pytest.approx(25.0, rel=1e-5)
    assert build_teacher(TeacherConfig(source="timm", model="fastvit_mci0")).info.logit_scale is None


def test_trainer_contrastive_targets_default_to_the_teacher_logit_scale(synth_root, tmp_path):
    """A config without ``teacher_temperature`` distils the teacher's own distribution (1 / 25 here);
    an explicit 0.07 (what the synthetic demo config sets) stays 0.07. The checkpoint records the one used."""
    from accident_anticipation_ros.training.config import train_config_from_dict
    from accident_anticipation_ros.training.trainer import Trainer

    from .conftest import tiny_config

    stem = _clip_teacher(tmp_path / "teacher", 25.0)
    prompts = ["a red car closes in fast", "an empty road"]
    for value, expected in ((None, 1 / 25.0), (0.07, 0.07)):
        contrastive = {"prompts": prompts, **({"teacher_temperature": value} if value is not None else {})}
        data = tiny_config(synth_root, stem, tmp_path / f"run-{value}", loss={"contrastive": contrastive})
        trainer = Trainer(train_config_from_dict(data))
        assert trainer.loss.teacher_temperature == pytest.approx(expected, rel=1e-5)
        assert trainer._meta()["train"]["teacher_temperature"] == pytest.approx(expected, rel=1e-5)
