"""Shared fixtures: small nets and a fresh run directory per test."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Report how many bad inputs the hypothesis suite (tests/test_bad_inputs.py) tried."""
    tried = rejected = properties = 0
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if name == "bad_inputs":
                    properties += 1
                    tried += value[0]
                    rejected += value[1]
    if properties:
        terminalreporter.write_line(
            f"hypothesis bad-input suite: {tried} inputs tried in {properties} properties, "
            f"{rejected} rejected with a clear error, {tried - rejected} accepted and ran cleanly"
        )
