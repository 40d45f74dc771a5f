"""Property-based API testing with schemathesis: every operation of the app's own OpenAPI
document, all default checks, with an admin token, against a real server on this database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.live_server import live_server

ROOT = Path(__file__).resolve().parents[3]
MAX_EXAMPLES = os.environ.get("REVMENTOR_SCHEMATHESIS_EXAMPLES", "40")
SEED = os.environ.get("REVMENTOR_SCHEMATHESIS_SEED", "20261125")


async def test_the_api_conforms_to_its_openapi_document(settings, factory) -> None:
    admin = await factory.admin(email="fuzz.admin@example.com")
    # A few records so generated requests reach real objects, not only 404s.
    await factory.program(managers=[await factory.employee()])
    with live_server(settings.database_url) as base:
        result = subprocess.run(  # noqa: ASYNC221 - the whole point is to block on the run
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(ROOT / "schemathesis.toml"),
                "run",
                f"{base}/openapi.json",
                "--header",
                f"Authorization: Bearer {admin.token}",
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--workers",
                "1",
                "--request-timeout",
                "20",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=ROOT,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    summary = output.split("Test cases:")[-1]
    assert "passed" in summary, output[-4000:]
    assert "failed" not in summary, output[-4000:]
