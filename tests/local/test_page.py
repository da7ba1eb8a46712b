"""The local server's page in a real browser: the system's headless Chromium, driven by
Playwright, against a LocalAutumn serving the page, changed through the SDK.

Skipped where no Chromium is installed (Debian: `apt-get install chromium`); the
browser is never downloaded. With AUTUMN_PAGE_SCREENSHOTS=DIR set, the tests save
the screenshots the docs show into DIR.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from autumn_core import AutumnCore, RetryConfig
from autumn_funcs import balances_create, balances_track, customers_get_or_create
from autumn_local import LocalAutumn

playwright_api = pytest.importorskip(
    "playwright.async_api",
    reason="the page tests drive Chromium with Playwright (pip install playwright)",
)

otel_sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="needs opentelemetry-sdk")

CHROMIUM = next(
    (p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and Path(p).exists()), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium here: install Debian's package (apt-get install chromium)"
)
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GRANT = {
    "customer_id": "cus_page",
    "feature_id": "api_calls",
    "included_grant": 100,
    "reset": {"interval": "month"},
}
SHOTS = os.environ.get("AUTUMN_PAGE_SCREENSHOTS")


class Browser:
    """One page in a fresh Chromium profile, with every console error and page error kept."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    async def open(self, url: str) -> None:
        await self.page.goto(url + "/")
        await self.page.wait_for_function(
            "document.getElementById('live').textContent.startsWith('live')"
        )

    async def wait_text(self, selector: str, text: str) -> None:
        """Until the element shows `text`, refreshed by the page's own polling."""
        await self.page.wait_for_function(
            "([s, t]) => { const e = document.querySelector(s); return !!e && "
            "e.textContent.includes(t); }",
            arg=[selector, text],
            timeout=10_000,
        )

    async def balance(self, customer: str, feature: str, remaining: str) -> tuple[str, str]:
        """Once the page shows `remaining` for the balance: its figures and the width of
        its bar's filled part (the share remaining: drawn, not only written)."""
        balance = f'[data-customer="{customer}"] [data-feature="{feature}"]'
        await self.wait_text(f"{balance} .remaining", remaining)
        figures = await self.page.text_content(f"{balance} .figures")
        width = await self.page.eval_on_selector(f"{balance} .used", "e => e.style.width")
        return figures, width

    async def shot(self, name: str) -> None:
        if SHOTS:
            os.makedirs(SHOTS, exist_ok=True)
            await self.page.screenshot(path=str(Path(SHOTS) / name), full_page=True)


# A second customer with an entity: what a page with more than one thing to show looks like.
ACME = {
    "customers": [{"id": "cus_acme", "name": "Acme Inc.", "email": "billing@acme.test"}],
    "entities": [{"id": "team_blue", "customer_id": "cus_acme", "name": "Blue team"}],
    "balances": [
        {
            "customer_id": "cus_acme",
            "feature_id": "api_calls",
            "included_grant": 5000,
            "reset": {"interval": "month"},
        },
        {
            "customer_id": "cus_acme",
            "entity_id": "team_blue",
            "feature_id": "seats",
            "included_grant": 10,
        },
    ],
}


@pytest.fixture
async def server() -> AsyncIterator[LocalAutumn]:
    async with LocalAutumn(page=True, rate_limits=False, config=ACME) as local:
        yield local


@pytest.fixture
async def core(server: LocalAutumn) -> AsyncIterator[AutumnCore]:
    no_retries = RetryConfig(strategy="none")
    async with AutumnCore(server.secret_key, server_url=server.url, retry_config=no_retries) as c:
        # Traced as a service would be, so its requests carry a traceparent the page shows.
        from autumn_core.otel import instrument

        instrument(c, tracer_provider=otel_sdk.TracerProvider())
        customer = {"customer_id": "cus_page", "name": "Page Customer", "email": "ops@example.com"}
        assert (await customers_get_or_create(c, customer)).ok
        yield c


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Browser]:
    async with playwright_api.async_playwright() as p:
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile for every test
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield Browser(await context.new_page())
        finally:
            await context.close()


async def test_the_page_loads_without_console_errors(server: LocalAutumn, browser: Browser) -> None:
    await browser.open(server.url)
    assert await browser.page.title() == "autumn-local"
    assert browser.errors == []


async def test_it_shows_a_balance_created_through_the_sdk(
    server: LocalAutumn, core: AutumnCore, browser: Browser
) -> None:
    assert (await balances_create(core, GRANT)).ok
    await browser.open(server.url)
    figures, width = await browser.balance("cus_page", "api_calls", "100")
    assert "of 100 left" in figures and "used 0" in figures
    assert width == "100%"
    # Customers and their entities, each entity with its balances.
    await browser.wait_text('[data-customer="cus_acme"] .who', "Acme Inc.")
    seats = '[data-customer="cus_acme"] [data-entity="team_blue"] [data-feature="seats"]'
    await browser.wait_text(f"{seats} .remaining", "10")
    assert browser.errors == []


async def test_it_shows_a_failed_request_with_its_code(
    server: LocalAutumn, core: AutumnCore, browser: Browser
) -> None:
    res = await balances_track(
        core, {"customer_id": "cus_nobody", "feature_id": "api_calls", "value": 1}
    )
    assert not res.ok
    await browser.open(server.url)
    row = "#requests tbody tr:first-child"
    await browser.wait_text(row, "customer_not_found")
    cells = await browser.page.eval_on_selector_all(
        f"{row} td", "tds => tds.map(t => t.textContent)"
    )
    assert cells[1:5] == ["POST", "balances.track", "404", "customer_not_found"]
    assert cells[-1] == "nothing (refused)"
    assert res.error.idempotency_key is not None
    assert await browser.page.get_attribute(f"{row} td:nth-child(7)", "title") == (
        res.error.idempotency_key
    )
    assert browser.errors == []


async def test_it_updates_after_a_track_without_a_reload(
    server: LocalAutumn, core: AutumnCore, browser: Browser
) -> None:
    assert (await balances_create(core, GRANT)).ok
    await browser.open(server.url)
    await browser.balance("cus_page", "api_calls", "100")
    await browser.page.evaluate("window.notReloaded = true")
    track = {"customer_id": "cus_page", "feature_id": "api_calls", "value": 37}
    assert (await balances_track(core, track)).ok
    figures, width = await browser.balance("cus_page", "api_calls", "63")
    assert "used 37" in figures and width == "63%"
    await browser.wait_text("#requests tbody tr:first-child .changed", "value=37")
    acme = {"customer_id": "cus_acme", "feature_id": "api_calls", "value": 1200}
    assert (await balances_track(core, acme)).ok
    _, width = await browser.balance("cus_acme", "api_calls", "3,800")
    assert width == "76%"
    assert await browser.page.evaluate("window.notReloaded") is True
    await browser.shot("local-server-page.png")
    assert browser.errors == []


async def test_faults_and_the_clock_change_from_the_page(
    server: LocalAutumn, core: AutumnCore, browser: Browser
) -> None:
    assert (await balances_create(core, GRANT)).ok
    await browser.open(server.url)
    await browser.page.click('[data-fault="503"]')
    await browser.wait_text("#faults-queued", "503")
    res = await balances_track(core, {"customer_id": "cus_page", "feature_id": "api_calls"})
    assert not res.ok and res.error.status_code == 503  # type: ignore[attr-defined]
    await browser.wait_text("#requests tbody tr:first-child", "service_unavailable")
    before = server.clock.now_ms()
    await browser.page.click("text=+31 days")
    await browser.wait_text("#clock-state", "running")
    assert server.clock.now_ms() - before >= 31 * 86_400_000
    await browser.page.fill("#faults-input", "503=0.25,seed=1")
    await browser.page.click("#faults-form button[type=submit]")
    await browser.wait_text("#faults-spec", "503=0.25")
    assert server.faults.spec.rates == {"503": 0.25}
    await browser.shot("local-server-page-faults.png")
    await browser.page.click("#faults-clear")
    await browser.wait_text("#faults-spec", "off")
    assert browser.errors == []
