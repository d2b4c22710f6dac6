"""A phone for the app's Chromium tests: a Pixel 5 (Playwright's device preset), in Spanish, and
screenshots of it. Used as a fixture: `from lealtad.app.tests.phone import phone`."""

from pathlib import Path

import pytest

from lealtad.cashier.tests.test_browser import ARGS, CHROMIUM


@pytest.fixture
def phone(monkeypatch):
    """A Pixel 5 (Playwright's device preset), in Spanish."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(**p.devices["Pixel 5"], locale="es-CO")
        yield context
        context.close()
        browser.close()


def shot(page, folder: Path, name: str) -> None:
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
