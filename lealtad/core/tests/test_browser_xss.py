"""Issue 16: every field a person types holds a script payload (lealtad/core/tests/xss_world.py)
and every screen of the product (lealtad/core/tests/screens.py, from the URL configuration) is
opened in Chromium by whoever may open it: no payload runs, no dialog opens, no payload's markup
became an element (so escaping is proven, not only the Content-Security-Policy), and no screen
causes a policy violation, a console error or a failed load of its own."""

import time

from django.test import Client

from lealtad.cashier.tests.test_browser import BROWSER, browser  # noqa: F401 - the fixture
from lealtad.core.tests import screens, xss_world

pytestmark = BROWSER

# What the page holds that a payload would have made, had it not been escaped.
PROBE = """() => {
  const bad = [];
  if (window.__xss !== undefined) bad.push("a payload ran");
  for (const el of document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload]'))
    bad.push("element " + el.outerHTML.slice(0, 80));
  for (const s of document.querySelectorAll("script"))
    if (s.textContent.includes("__xss")) bad.push("script " + s.outerHTML.slice(0, 80));
  for (const el of document.querySelectorAll("[href], [src], [action], [formaction]"))
    for (const name of ["href", "src", "action", "formaction"]) {
      const v = el.getAttribute(name);
      if (v && /^\\s*javascript:/i.test(v)) bad.push(name + " " + v);
    }
  const text = document.body ? document.body.innerText : "";
  return {bad, shown: text.includes("window.__xss=1"), ready: !!document.body};
}"""
# Every policy violation goes to the console, where the test collects it.
REPORT_VIOLATIONS = (
    "document.addEventListener('securitypolicyviolation', e =>"
    " console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
)
# Screens that must show a payload as text (the walk reaches the data; a probe that found
# nothing there would prove nothing).
MUST_SHOW = [
    "/cashier/c/{customer_id}/",
    "/console/customers/{customer_id}/",
    "/console/prizes/",
    "/console/promotions/",
    "/console/gifts/",
    "/console/staff/",
    "/console/branches/",
    "/console/ratings/{rating_id}/",
    "/console/claims/",
    "/console/approvals/",
    "/console/api-keys/",
    "/app/",
    "/app/ratings/{rating_id}/",
    "/app/claims/",
    "/admin/customers/customer/",
    "/admin/network/merchant/",
    "/admin/notifications/outgoingemail/",
]


# The forms of a page that take typed text: each is filled with payloads (every text field, the
# browser's own checks off, so the server's validators answer) and sent, and the answer probed:
# a refused value comes back in the form, an accepted one is stored and shown.
# A form is named by its method, action and fields: one on many screens (the till's search) is
# sent once.
FORMS = """() => [...document.forms].map((form, i) => [i, [...form.elements].filter(e =>
  (e.tagName === "TEXTAREA" || (e.tagName === "INPUT" &&
    ["text", "search", "email", "url", "tel", ""].includes(e.getAttribute("type") || "")))
  && !e.disabled && !e.readOnly && e.offsetParent !== null).map(e => e.name)])
  .filter(([i, names]) => names.length)
  .map(([i, names]) => [i, [document.forms[i].method, document.forms[i].action,
    ...names].join(" ")])"""
FILL_AND_SEND = """([index, payloads]) => {
  const form = document.forms[index];
  let n = 0;
  for (const e of form.elements)
    if ((e.tagName === "TEXTAREA" || (e.tagName === "INPUT" &&
        ["text", "search", "email", "url", "tel", ""].includes(e.getAttribute("type") || "")))
        && !e.disabled && !e.readOnly && e.offsetParent !== null)
      e.value = payloads[n++ % payloads.length];
  form.noValidate = true;
  form.requestSubmit();
}"""
# Forms not sent, and why.
NOT_SENT = {
    "/app/privacy/close/": "closes the walking customer's account",
}


def _contexts(browser, base, world):  # noqa: F811
    """One browser context per kind of visitor, signed in by its cookie."""
    from lealtad.app.auth import COOKIE
    from lealtad.app.testing import sign_in

    cookies = {}
    for who, user in (("admin", world.shop.admin), ("cashier", world.cashier)):
        client = Client()
        client.force_login(user)
        cookies[who] = [("sessionid", client.cookies["sessionid"].value)]
    client = Client()
    sign_in(client, world.customer)
    cookies["customer"] = [(COOKIE, client.cookies[COOKIE].value)]
    client = Client()
    client.force_login(world.operator)
    cookies["operator"] = [("sessionid", client.cookies["sessionid"].value)]
    cookies["anyone"] = []
    contexts = {}
    for who, pairs in cookies.items():
        context = browser.new_context()
        context.add_cookies([{"name": n, "value": v, "url": base} for n, v in pairs])
        page = context.new_page()
        page.problems, page.dialogs = [], []
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("dialog", lambda d, page=page: (page.dialogs.append(d.message), d.dismiss()))
        page.on(
            "console",
            lambda m, page=page: (
                m.type == "error"
                and not m.text.startswith("Failed to load resource")
                and page.problems.append(f"{page.url}: {m.text}")
            ),
        )
        page.on("pageerror", lambda e, page=page: page.problems.append(f"{page.url}: {e}"))
        page.on(
            "response",
            lambda r, page=page: (
                r.status >= 400
                and r.request.resource_type != "document"
                and not r.url.endswith("/favicon.ico")
                and page.problems.append(f"{page.url}: {r.status} {r.url}")
            ),
        )
        contexts[who] = page
    return contexts


def _park(page):
    """Leaves a screen for a blank page, so that its polling (the till's POS invoices every
    1.5 s, the app's payment QR) stops while the next screen loads in another context. On
    SQLite the test server's threads share the in-memory database's one connection, and two
    requests at once break it ("bad parameter or other API misuse"), a 500 of the test's own."""
    page.goto("about:blank")


def _settled_probe(page):
    """PROBE once the answer is on the page: a redirect followed, htmx's swap done."""
    from playwright.sync_api import Error

    for _attempt in range(10):
        try:
            page.wait_for_load_state("domcontentloaded")
            page.wait_for_function(
                "() => document.body && document.readyState !== 'loading'"
                " && !document.querySelector('.htmx-request, .htmx-settling')"
            )
            result = page.evaluate(PROBE)
            if result["ready"]:
                return result["bad"]
        except Error as exc:  # a navigation (the redirect after a POST) replaced the page
            if "destroyed" not in str(exc):
                raise
    raise AssertionError(f"{page.url} never settled")


def _html_screens(world):
    """The walked screens that answer a GET with a page (not a redirect, a 405 or a download)."""
    clients = {"anyone": Client()}
    for who, user in (("admin", world.shop.admin), ("cashier", world.cashier)):
        clients[who] = Client()
        clients[who].force_login(user)
    from lealtad.app.testing import sign_in

    clients["customer"] = Client()
    sign_in(clients["customer"], world.customer)
    found = []
    for _route, url, who in screens.walk(world.ids):
        response = clients[who].get(url)
        assert response.status_code < 500, (url, response.status_code)
        kind = response.get("Content-Type", "")
        if response.status_code == 200 and kind.startswith("text/html"):
            found.append((url, who))
    return found + [(url, "operator") for url in screens.admin_screens()]


def test_the_probe_sees_a_payload_that_was_not_escaped(browser):  # noqa: F811
    """Without escaping (and without a policy) the probe finds each payload's work."""
    page = browser.new_page()
    page.set_content(f"<p>{xss_world.IMG}</p><a href='{xss_world.JS_URL}'>x</a>")
    page.wait_for_function("() => window.__xss === 1")
    assert len(page.evaluate(PROBE)["bad"]) == 3
    page.set_content(f"<p>{xss_world.SVG}</p>")
    assert page.evaluate(PROBE)["bad"] != []


def test_no_payload_typed_anywhere_runs_on_any_screen(browser, live_server, settings, tmp_path):  # noqa: F811
    started = time.monotonic()
    from lealtad.network.models import User

    world = xss_world.build(settings, tmp_path)
    world.operator = User.objects.create_superuser("op", "op@example.com", "op-secret-1")
    built = time.monotonic()
    world.ids["token"] = world.rate_token
    pages = _contexts(browser, live_server.url, world)
    walked = _html_screens(world)
    assert len(walked) > 80, walked
    shown, holes, forms_of = set(), [], {}
    for url, who in walked:
        page = pages[who]
        response = page.goto(live_server.url + url, wait_until="domcontentloaded")
        assert response.status == 200, (url, who, response.status)
        result = page.evaluate(PROBE)
        forms_of[url] = page.evaluate(FORMS)
        holes += [f"{url}: {bad}" for bad in result["bad"]]
        if result["shown"]:
            shown.add(url)
        _park(page)
    sent, walked_at = set(), time.monotonic()
    for url, who in walked:
        if url in NOT_SENT or who == "operator":  # the admin's forms are Django's own
            continue
        page = pages[who]
        for index, name in forms_of[url]:
            if (who, name) in sent:
                continue
            page.goto(live_server.url + url, wait_until="domcontentloaded")
            if [index, name] not in page.evaluate(FORMS):  # a form sent before changed the page
                continue
            sent.add((who, name))
            with page.expect_response(lambda r: r.request.method != "GET" or "?" in r.url):
                page.evaluate(FILL_AND_SEND, [index, list(xss_world.PAYLOADS)])
            holes += [f"{url} form {index} sent: {bad}" for bad in _settled_probe(page)]
            _park(page)
    problems = [p for page in pages.values() for p in page.problems]
    dialogs = [d for page in pages.values() for d in page.dialogs]
    print(f"\n{len(walked)} screens walked, {len(shown)} show a payload as text;")
    times = (built - started, walked_at - built, time.monotonic() - walked_at)
    print("world {:.1f} s, walk {:.1f} s, forms {:.1f} s".format(*times))
    print(f"{len(sent)} forms sent with payloads in every text field;")
    print(f"fields holding a payload: {len(world.stored)}; refused: {world.refused}")
    assert holes == []
    assert dialogs == []
    assert problems == []
    must = {path.format(**world.ids) for path in MUST_SHOW}
    assert must - shown == set()
