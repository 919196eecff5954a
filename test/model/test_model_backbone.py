"""MobileCLIP-S0 (timm ``fastvit_mci0``) weights load into the tsd-s0 trunk."""

from __future__ import annotations

import pytest
import timm
import torch

from accident_anticipation_ros.model.backbone import load_mci_trunk
from accident_anticipation_ros.model.config import get_config
from accident_anticipation_ros.model.errors import CheckpointError
from accident_anticipation_ros.model.student import TSDStudent
from accident_anticipation_ros.model.verify import perturb_


@pytest.fixture(scope="module")
def mci0():
    torch.manual_seed(0)
    teacher = timm.create_model("fastvit_mci0", pretrained=False)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # non-trivial BN statistics, as trained weights have
        for m in teacher.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)
    return teacher.eval()


def assert_loaded_trunk_is(student, state_dict, timm_model) -> tuple:
    """``load_mci_trunk`` fills every trunk weight and the embedding, and the student's stages 1-3 equal
    ``timm_model``'s exactly on a random image; returns (student stages, timm stages)."""
    report = load_mci_trunk(student, state_dict)
    assert report.embed_loaded and report.loaded == len(student.trunk.state_dict())
    x = torch.randn(1, 3, 64, 64)  # the trunk is fully convolutional
    with torch.no_grad():
        ref = timm_model.forward_intermediates(x, indices=[0, 1, 2], intermediates_only=True)
        got = student.trunk(x)
    for a, b in zip(got, ref, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    return got, ref


@pytest.mark.parametrize("prefix", ["", "visual.trunk.", "module.visual.trunk."])
def test_mci0_trunk_loads_into_s0(mci0, prefix):
    student = TSDStudent(get_config("tsd-s0")).eval()
    state_dict = {prefix + k: v for k, v in mci0.state_dict().items()}
    if prefix:
        state_dict["text.token_embedding.weight"] = torch.zeros(3, 4)  # an open_clip tower to ignore
    got, ref = assert_loaded_trunk_is(student, state_dict, mci0)
    with torch.no_grad():
        ref_embed = mci0.stages[3].downsample(ref[2])
        got_embed = student.embed(got[2])
    torch.testing.assert_close(got_embed, ref_embed, rtol=0, atol=0)


def test_mismatched_trunk_is_reported_by_key(mci0):
    nano = TSDStudent(get_config("tsd-nano"))
    with pytest.raises(
        CheckpointError,
        match=r"unexpected .*stages\.0\.blocks\.1\..*mismatches .*student \(32, 1, 1\) vs teacher \(64, 1, 1\)",
    ):
        load_mci_trunk(nano, mci0.state_dict())
    partial = {k: v for k, v in mci0.state_dict().items() if not k.startswith("stages.2.blocks.9.")}
    with pytest.raises(CheckpointError, match=r"missing \(first: \['stages\.2\.blocks\.9\."):
        load_mci_trunk(TSDStudent(get_config("tsd-s0")), partial)


def test_reparameterized_student_refuses_teacher_weights(mci0):
    student = TSDStudent(get_config("tsd-s0")).reparameterize()
    with pytest.raises(CheckpointError, match="reparameterized"):
        load_mci_trunk(student, mci0.state_dict())


def test_loaded_s0_still_reparameterizes_exactly(mci0):
    student = perturb_(TSDStudent(get_config("tsd-s0")), torch.Generator().manual_seed(1)).eval()
    load_mci_trunk(student, mci0.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = student.trunk(x)[-1]
        got = student.reparameterize().trunk(x)[-1]
    assert (got - ref).abs().max() <= 1e-4 * ref.abs().max()


def test_apple_mobileclip_v1_layout_loads_into_s0(mci0, apple_mobileclip_layout):
    """Apple's ml-mobileclip names (``image_encoder.model.*``, converted by timm's filter) load too."""
    with torch.no_grad():
        mci0.head.fc.bias.zero_()  # Apple's CLIP projection has no bias
    state_dict = apple_mobileclip_layout(mci0.state_dict())
    state_dict["text_encoder.embedding_layer.weight"] = torch.zeros(3, 4)  # the text tower is ignored
    state_dict["logit_scale"] = torch.tensor(4.6)
    student = TSDStudent(get_config("tsd-s0")).eval()
    assert_loaded_trunk_is(student, state_dict, mci0)
    vit = {"image_encoder.model.patch_emb.0.weight": torch.zeros(2)}  # MobileCLIP-B: a ViT image tower
    with pytest.raises(CheckpointError, match="out of scope"):
        load_mci_trunk(student, vit)


def test_mci2_trunk_loads_into_s2():
    """MobileCLIP-S2's image tower (timm ``fastvit_mci2``) fills tsd-s2's stem, stages 1-3 and embedding."""
    torch.manual_seed(0)
    mci2 = timm.create_model("fastvit_mci2", pretrained=False).eval()
    student = TSDStudent(get_config("tsd-s2")).eval()
    assert_loaded_trunk_is(student, {f"visual.trunk.{k}": v for k, v in mci2.state_dict().items()}, mci2)
    assert student.num_params() == pytest.approx(51.6e6, rel=0.01)
