"""Where the encoder runs: Settings.device, `--device`, and a clear line where no GPU is."""

from __future__ import annotations

import pytest

from retrieval.cli import _settings, build_parser
from retrieval.embedding.encoder import resolve_device
from retrieval.errors import UserError


def test_auto_is_the_cpu_without_a_gpu_and_a_gpu_asked_for_is_a_clear_error(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device(None) == "cpu" and resolve_device("CPU") == "cpu"
    with pytest.raises(UserError, match="sees no GPU"):
        resolve_device("cuda")
    with pytest.raises(UserError, match="unknown device"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda:1") == "cuda:1"


@pytest.mark.parametrize("command", ["build", "serve", "app"])
def test_device_flag_reaches_the_settings(command, monkeypatch):
    monkeypatch.delenv("POLICYQA_DEVICE", raising=False)
    args = build_parser().parse_args([command, "--device", "cpu"])
    assert _settings(args).device == "cpu"
    assert _settings(build_parser().parse_args([command])).device == "auto"


def test_the_int8_encoder_stays_on_the_cpu():
    from retrieval.embedding.encoder import _loaded

    with pytest.raises(UserError, match="CPU option"):
        _loaded("/nonexistent", True, "cuda")
