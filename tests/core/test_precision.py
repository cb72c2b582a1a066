"""On a GPU, "auto" precision keeps fp32 for small models (measured faster there) and mixed precision for large."""

from __future__ import annotations

import torch

from desktop_app.core.device import DeviceChoice
from desktop_app.core.events import EventLog
from desktop_app.core.training import _precision_for_size


def test_auto_precision_follows_the_model_size_on_a_gpu():
    gpu = DeviceChoice(torch.device("cuda"), "bf16", "GPU")
    log = EventLog()
    small = _precision_for_size(gpu, "auto", 22_700_000, log)
    assert small.precision == "fp32" and small.autocast_dtype is None
    assert "faster in full precision" in log.of("status")[0].message
    assert _precision_for_size(gpu, "auto", 125_000_000, log).precision == "bf16"
    assert _precision_for_size(gpu, "bf16", 22_700_000, log).precision == "bf16"  # what the user asked for stays
    cpu = DeviceChoice(torch.device("cpu"), "fp32", "CPU")
    assert _precision_for_size(cpu, "auto", 22_700_000, log) is cpu
