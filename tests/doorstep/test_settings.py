"""Settings from the environment: every one read, checked, and handed on to a child process."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorstep.settings import Settings


def test_a_child_process_sees_exactly_its_parents_settings(tmp_path: Path) -> None:
    """`environ()` round-trips through `from_env()`, secrets and all."""
    settings = Settings(
        cache_dir=tmp_path / "cache",
        time_limit=7.5,
        timezone="Asia/Shanghai",
        database_url="postgresql://u:secret@db:5432/doorstep",
        policy="cn+acme",
        policy_dir=tmp_path / "policies",
        geocoder_url="https://nominatim.example.com",
        dask_scheduler="tcp://scheduler:8786",
        batch_split_above=400,
        secret_key="s3cret",
        tile_url="https://tiles.example.com/{z}/{x}/{y}.png",
        nav_link_template="https://uri.amap.com/marker?position={lon},{lat}",
        session_hours=8,
        trusted_proxies=1,
        retention_days=180,
        audit_retention_days=400,
    )
    assert Settings.from_env(settings.environ()) == settings
    assert Settings.from_env(Settings(cache_dir=tmp_path).environ()) == Settings(cache_dir=tmp_path)


@pytest.mark.parametrize(
    ("variables", "words"),
    [
        ({"DOORSTEP_TRUSTED_PROXIES": "-1"}, "TRUSTED_PROXIES must be the number of proxies"),
        ({"DOORSTEP_TRUSTED_PROXIES": "one"}, "TRUSTED_PROXIES='one' is not a whole number"),
        ({"DOORSTEP_RETENTION_DAYS": "30"}, "RETENTION_DAYS must be at least 62"),
        (
            {"DOORSTEP_RETENTION_DAYS": "400", "DOORSTEP_AUDIT_RETENTION_DAYS": "100"},
            "AUDIT_RETENTION_DAYS \\(100\\) must be at least DOORSTEP_RETENTION_DAYS \\(400\\)",
        ),
    ],
)
def test_bad_values_name_the_variable(variables: dict[str, str], words: str) -> None:
    """A bad value is refused with a message naming the variable and what it needs."""
    with pytest.raises(ValueError, match=words):
        Settings.from_env(variables)
