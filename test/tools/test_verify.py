"""``accident-anticipation verify``: the three parity checks of the tiny student, and a failing tolerance."""

from __future__ import annotations

import json

from accident_anticipation_ros.model.verify import KEYS
from accident_anticipation_ros.tools.verify import main


def test_verify_json_on_tsd_test(capsys):
    assert main(["--json", "--configs", "tsd-test", "--frames", "32"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True
    detail = result["configs"]["tsd-test"]
    for key in KEYS:
        assert 0.0 <= result[key] <= 1e-4
        assert detail[key] == result[key]
    assert detail["frames"] == 32 and detail["params"] > detail["params_deploy"] > 0


def test_verify_fails_on_a_tolerance_it_cannot_meet(capsys):
    assert main(["--configs", "tsd-test", "--frames", "2", "--tolerance", "1e-12"]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_no_frames_is_a_usage_error(capsys):
    assert main(["--frames", "0"]) == 2
    assert capsys.readouterr().err == "accident-anticipation verify: error: --frames must be >= 1\n"
