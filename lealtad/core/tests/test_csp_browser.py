"""Every screen works under the Content-Security-Policy in Chromium, against a real production
`lealtad serve` on PostgreSQL: no policy violation, no console error, and the pieces that used
inline code (language picker, goal bars, export downloads, chart legends) still work."""

import json
import subprocess

import pytest

from lealtad.cashier.tests.test_browser import ARGS, BROWSER, CHROMIUM
from lealtad.core.tests.test_serve_production import (  # noqa: F401 - fixtures
    LEALTAD,
    ROOT,
    production_env,
    serve,
)

pytestmark = [m for m in BROWSER if m.name != "django_db"]

PAGES = [
    "/cashier/",
    "/cashier/register/",
    "/cashier/password/",
    "/console/",
    "/console/dashboard/",
    "/console/customers/",
    "/console/customers/new/",
    "/console/program/",
    "/console/staff/",
    "/console/branches/",
    "/console/prizes/",
    "/console/promotions/",
    "/console/gifts/",
    "/console/goals/",
    "/console/categories/",
    "/console/rules/",
    "/console/approvals/",
    "/console/exports/",
]


@pytest.fixture
def site(serve, production_env):  # noqa: F811 - the fixtures imported above
    merchant = ["--name", "CSP", "--country", "CO", "--admin", "csp"]
    out = subprocess.run(
        [*LEALTAD, "create-merchant", *merchant, "--admin-password", "csp-secret-1"],
        env=production_env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # The browser speaks plain HTTP to the server while it believes it is behind TLS: the
    # origin it sends is http://, which a real proxy would have made https://.
    origins = ",".join(f"http://127.0.0.1:{port}" for port in range(8130, 8140))
    server = serve("--no-mail", CSRF_TRUSTED_ORIGINS=origins)
    server.wait_ready()
    return server.base, json.loads(out.stdout)


@pytest.fixture
def page(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # Behind the TLS proxy: the server keeps SECURE_SSL_REDIRECT on.
        context = browser.new_context(extra_http_headers={"X-Forwarded-Proto": "https"})
        page = context.new_page()
        page.problems = []
        # A failed load is reported by URL below (the console's message has none).
        page.on(
            "console",
            lambda m: (
                m.type in ("error", "warning")
                and not m.text.startswith("Failed to load resource")
                and page.problems.append(m.text)
            ),
        )
        # favicon.ico: the browser asks for it on its own; not a page's resource.
        page.on(
            "response",
            lambda r: (
                r.status >= 400
                and not r.url.endswith("/favicon.ico")
                and page.problems.append(f"{r.status} {r.url}")
            ),
        )
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e =>"
            " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
        )
        yield page
        browser.close()


def _sign_in(page, base):
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", "csp")
    page.fill("input[name=password]", "csp-secret-1")
    page.click("main button.primary")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_every_screen_runs_under_the_policy_without_violations(site, page):
    base, _merchant = site
    for path in ("/", "/login/", "/admin/login/", "/api/v1/docs"):
        page.goto(base + path, wait_until="networkidle")
    page.wait_for_selector("#swagger-ui .opblock")  # the API docs rendered
    _sign_in(page, base)
    for path in PAGES:
        response = page.goto(base + path, wait_until="networkidle")
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
    # The language picker submits on change without an inline handler.
    page.goto(f"{base}/cashier/")
    page.select_option("#language", "en")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    cookie = next(c for c in page.context.cookies() if c["name"] == "django_language")
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")
    assert page.problems == []
