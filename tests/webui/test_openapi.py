"""The OpenAPI document: it describes every API route, and the API keeps its promises under
Schemathesis's generated requests (valid and invalid): never a 500, statuses, content types
and bodies as documented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import Engine

from doorstep.accounts import create_token
from doorstep.db.engine import session_scope
from tests.webui.conftest import end_jobs, make_site
from webui.openapi import openapi_document

MAX_EXAMPLES = 25
"""Generated requests per operation: enough to hit every branch of this small API, and the
whole test stays within a few seconds."""


@pytest.fixture(scope="module")
def fuzz_site(
    tmp_path_factory: pytest.TempPathFactory, web_cache_dir: Path, site_template: Path
) -> Iterator[tuple[Flask, dict[str, str]]]:
    """The small site, and a bearer token for an admin and for agent A."""
    app, engine = make_site(
        tmp_path_factory.mktemp("fuzz"), web_cache_dir, site_template, RATELIMIT_ENABLED=False
    )
    with session_scope(engine) as session:
        tokens = {
            "admin": create_token(session, "admin", actor="test"),
            "agent": create_token(session, "agent_a", actor="test"),
        }
    yield app, tokens
    end_jobs(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_site: tuple[Flask, dict[str, str]]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_site[0])


OPERATIONS = [
    (method.upper(), path, mode)
    for path, operations in openapi_document()["paths"].items()
    for method, spec in operations.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # invalid input needs some input to spoil
    if mode is GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")
]


@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS)
def test_api_keeps_its_promises(
    api_schema: schemathesis.BaseSchema,
    fuzz_site: tuple[Flask, dict[str, str]],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    """No generated request, valid or invalid, gets a 500 or an undocumented answer (agent
    operations as agent A, the rest as an admin)."""
    tokens = fuzz_site[1]
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {tokens['agent' if path.startswith('/me/') else 'admin']}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        # Valid data may still name a region or visit that does not exist (404): not a
        # refusal of valid data, so that one check does not apply.
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()


def test_every_api_route_is_documented(app: Flask, engine: Engine) -> None:
    """Each /api/v1 route of the app has its path and method in the document, and back."""
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {
        (method.upper(), "/api/v1" + path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    routed = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert routed == documented
