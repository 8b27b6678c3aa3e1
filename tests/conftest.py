"""Hypothesis draws the same cases on every run: CI's verdict then depends on the commit, not
on the draw (`HYPOTHESIS_PROFILE=explore make test` draws new ones, to look for new faults)."""

import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
