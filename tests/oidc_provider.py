"""A real OpenID Connect provider (npm `oidc-provider`, tests/oidc/provider.mjs) for SSO tests.

The provider runs under Node.js on a free local port. Its packages are installed by
``npm ci --prefix tests/oidc`` (``.ci/run`` does it); nothing here installs anything.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from tests.live_server import free_port, stop

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
PROVIDER_SCRIPT = OIDC_DIR / "provider.mjs"
API_AUDIENCE = "https://revmentor.test/api"
DEFAULT_REDIRECT_URI = "http://testserver/auth/callback"


@dataclass(frozen=True)
class OidcProvider:
    """Where the provider listens and the clients it knows (see ``tests/oidc/provider.mjs``)."""

    issuer: str
    redirect_uri: str
    web_client_id: str = "revmentor-web"
    web_client_secret: str = "revmentor-web-secret"
    hris_client_id: str = "revmentor-hris"
    hris_client_secret: str = "revmentor-hris-secret"
    api_audience: str = API_AUDIENCE

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


@contextmanager
def running_oidc_provider(redirect_uri: str = DEFAULT_REDIRECT_URI) -> Iterator[OidcProvider]:
    """Start the provider, wait for its discovery document, yield it, stop it."""
    node = shutil.which("node")
    if node is None:
        # Like the PostgreSQL leg: optional on a laptop without Node.js, required in CI.
        message = "Node.js is needed for the OpenID provider tests: install node (v20 or later)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(
            "tests/oidc/node_modules is missing: run `make test` (or `npm ci --prefix tests/oidc`)",
        )
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    command = [node, str(PROVIDER_SCRIPT), "--port", str(port), "--issuer", issuer]
    command += ["--redirect-uri", redirect_uri]
    process = subprocess.Popen(
        command,
        cwd=OIDC_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    provider = OidcProvider(issuer=issuer, redirect_uri=redirect_uri)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(provider.discovery_url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"OpenID provider did not start:\n{stderr[-4000:]}")
            time.sleep(0.1)
        yield provider
    finally:
        stop(process)
        if process.stderr:
            process.stderr.close()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """One OpenID provider per test session (per xdist worker)."""
    with running_oidc_provider() as provider:
        yield provider


_FORM_ACTION = re.compile(r'<form[^>]*\baction="([^"]+)"')


def sign_in(client: httpx.Client, url: str, *, login: str, stop_at: str) -> httpx.URL:
    """Drive the provider's dev login and consent pages from ``url`` (an authorization request).

    Follows redirects and submits the forms until a redirect points at ``stop_at`` (the client's
    redirect URI, or any URL prefix), and returns that URL without requesting it.
    """
    response = client.get(url)
    for _ in range(10):
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(stop_at):
                return httpx.URL(target)
            response = client.get(target)
            continue
        response.raise_for_status()
        match = _FORM_ACTION.search(response.text)
        if match is None:
            raise AssertionError(f"no form on the provider's page:\n{response.text[:2000]}")
        action = urljoin(str(response.url), html.unescape(match.group(1)))
        if 'name="login"' in response.text:
            form = {"prompt": "login", "login": login, "password": "any"}
        else:
            form = {"prompt": "consent"}
        response = client.post(action, data=form)
    raise AssertionError(f"the sign-in did not reach {stop_at}")


def authorize(
    provider: OidcProvider, discovery: dict[str, Any], *, login: str, state: str, nonce: str
) -> tuple[httpx.URL, str]:
    """Sign ``login`` in through the browser flow; the redirect to the client and the verifier."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    url = httpx.URL(
        discovery["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": provider.web_client_id,
            "redirect_uri": provider.redirect_uri,
            "scope": "openid email profile groups",
            "state": state,
            "nonce": nonce,
            "code_challenge": base64.urlsafe_b64encode(digest).decode().rstrip("="),
            "code_challenge_method": "S256",
        },
    )
    with httpx.Client(timeout=5) as browser:
        callback = sign_in(browser, str(url), login=login, stop_at=provider.redirect_uri)
    return callback, verifier


def exchange(
    provider: OidcProvider, discovery: dict[str, Any], code: str, **extra: str
) -> httpx.Response:
    return httpx.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": provider.redirect_uri,
            **extra,
        },
        auth=(provider.web_client_id, provider.web_client_secret),
        timeout=5,
    )
