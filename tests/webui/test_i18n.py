"""The UI's two languages."""

from __future__ import annotations

import re
from pathlib import Path

from webui.i18n import CATALOGUES, translate

STATIC = Path(__file__).resolve().parents[2] / "webui" / "static"
TEMPLATES = Path(__file__).resolve().parents[2] / "webui" / "templates"


def test_both_languages_have_every_phrase() -> None:
    """English and Simplified Chinese have the same keys and the same placeholders."""
    assert set(CATALOGUES["en"]) == set(CATALOGUES["zh"])
    for key, english in CATALOGUES["en"].items():
        placeholders = set(re.findall(r"\{(\w+)\}", english))
        assert placeholders == set(re.findall(r"\{(\w+)\}", CATALOGUES["zh"][key])), key


def test_every_phrase_the_pages_use_exists() -> None:
    """Each t("key") in the templates and scripts is in the catalogue (outcome and kind keys
    are built from codes, checked against the codes themselves)."""
    used: set[str] = set()
    for path in [*TEMPLATES.glob("*.html"), *STATIC.glob("*.js")]:
        used |= set(re.findall(r"""\bt\(\s*['"](\w+)['"]""", path.read_text(encoding="utf-8")))
    from doorstep.outcomes import OUTCOMES

    used |= {f"outcome_{code}" for code in OUTCOMES} | {"appointment", "flexible"}
    prefixes = {key for key in used if key.endswith("_")}  # e.g. t('outcome_' ~ code)
    assert used - prefixes - set(CATALOGUES["en"]) == set()


def test_translate_fills_placeholders_and_falls_back() -> None:
    """Placeholders are filled; an unknown language falls back to English."""
    assert translate("zh", "pending", n=2) == "2 条结果等待发送。"
    assert translate("fr", "sign_in") == "Sign in"
