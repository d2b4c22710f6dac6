import logging
import time

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware

logger = logging.getLogger("lealtad.requests")


class RequestLogMiddleware:
    """One line per request: method, path, status, duration, who.

    Only the path is logged, never the query string: searches carry document numbers, emails and
    QR tokens there. Bodies and headers (tokens) are never logged either.

    Every response also carries `Server-Timing: app;dur=<ms>, cpu;dur=<ms>`: the same duration,
    the time the application took, which a client (bench/till.py, a browser's network panel)
    can tell apart from the network and the queue in front of the workers; and the CPU time this
    thread spent on it (Python's share: not the database's, nor the waits for a busy CPU).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started, cpu = time.perf_counter(), time.thread_time()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if "Server-Timing" not in response:
            cpu_ms = (time.thread_time() - cpu) * 1000
            response["Server-Timing"] = f"app;dur={elapsed_ms:.1f}, cpu;dur={cpu_ms:.1f}"
        if logger.isEnabledFor(logging.INFO):
            actor = getattr(request, "lealtad_actor", None) or "-"
            logger.info(
                "%s %s %s %.1fms actor=%s",
                request.method,
                request.path,
                response.status_code,
                elapsed_ms,
                actor,
            )
        return response


class MerchantLanguageMiddleware:
    """Screens speak the language the user chose (the language cookie), else the merchant's:
    Portuguese in Brazil, Spanish elsewhere — not the browser's, which at a till is often English.
    The API keeps Accept-Language, as HTTP clients expect, and so does the customer's app (the
    phone is the customer's own)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation

        # The customer's app (/app/) speaks the phone's language (Accept-Language) when it says
        # one; lealtad.app.auth falls back on the customer's country.
        app_with_language = request.path.startswith("/app/") and request.headers.get(
            "Accept-Language"
        )
        if (
            not request.path.startswith("/api/")
            and not app_with_language
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            merchant = (
                getattr(request.user, "merchant", None) if request.user.is_authenticated else None
            )
            from lealtad.core.languages import language_for_country

            language = language_for_country(merchant.country if merchant is not None else None)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


class InputGuardMiddleware:
    """Refuses, before any API endpoint runs, what no endpoint can take: a body over the size limit
    (413), JSON nested too deep (400), and text with control characters (422). See
    lealtad.core.inputs. The screens need no such guard: their forms refuse NUL field by field
    (Django's CharField), which core/tests/test_screens_bad_input.py walks to keep true.

    It runs before the idempotency middleware, which parses the body too, and before sessions, so
    a refused request touches nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils import translation

        if request.path.startswith("/api/"):
            # Before LocaleMiddleware: the refusal speaks the caller's Accept-Language itself.
            with translation.override(translation.get_language_from_request(request)):
                refusal = self._check_api(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    # A multipart upload (A7's invoice photo, up to 8 MB) is not read into memory here: Django's
    # parser streams its files to disk and caps its other fields at DATA_UPLOAD_MAX_MEMORY_SIZE.
    # Only its declared size is bounded, so that the endpoint can answer `image_too_large`.
    MULTIPART_MAX_BYTES = 16 * 1024 * 1024

    # A refused body still on its way is read and dropped (up to this size) before the 413 goes:
    # answering mid-upload and closing makes the client's kernel reset the connection, and a
    # client behind a proxy (HAProxy) then gets "closed without response" instead of the answer.
    # Past this size the connection is closed, as before; sending costs the sender as much.
    DRAIN_MAX_BYTES = 32 * 1024 * 1024

    @classmethod
    def _drain(cls, request) -> None:
        try:
            left = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return
        stream = request.META.get("wsgi.input")
        if stream is None or not 0 < left <= cls.DRAIN_MAX_BYTES:
            return
        while left > 0:
            chunk = stream.read(min(65536, left))
            if not chunk:
                return
            left -= len(chunk)

    @staticmethod
    def _multipart(request) -> bool:
        return request.content_type == "multipart/form-data"

    @classmethod
    def _too_big(cls, request) -> bool:
        from django.conf import settings
        from django.core.exceptions import RequestDataTooBig

        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if cls._multipart(request):
            limit = cls.MULTIPART_MAX_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if limit is not None and declared > limit:
            return True
        if cls._multipart(request):
            return False
        try:
            request.body  # noqa: B018 - reads (and caps) a body sent without a length
        except RequestDataTooBig:
            return True
        return False

    def _check_api(self, request):
        from django.conf import settings
        from django.utils.translation import gettext as _

        from lealtad.api.problems import problem
        from lealtad.core import inputs

        invalid = _("The data sent is not valid")
        if self._too_big(request):
            if not hasattr(request, "_body"):
                self._drain(request)
            return problem(
                413,
                "payload_too_large",
                _("The request is too large"),
                _("The body may have at most %(size)d bytes.")
                % {
                    "size": self.MULTIPART_MAX_BYTES
                    if self._multipart(request)
                    else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                },
            )
        if inputs.has_control(request.path):
            # Ids in the path: what cannot be an id is simply not found (as lealtad.core.ids).
            return problem(404, "not_found", _("Not found"))
        bad = [name for name, value in request.GET.lists() if any(map(inputs.has_control, value))]
        bad += [h for h in ("Idempotency-Key",) if inputs.has_control(request.headers.get(h, ""))]
        if (
            not self._multipart(request)
            and request.method in ("POST", "PUT", "PATCH")
            and request.body
        ):
            try:
                data = inputs.load_json(request.body)
            except inputs.TooDeep:
                return problem(
                    400,
                    "json_too_deep",
                    _("The body is nested too deeply"),
                    _("JSON may be nested at most %(depth)d levels.") % {"depth": inputs.MAX_DEPTH},
                )
            except (ValueError, UnicodeDecodeError):
                data = None  # the endpoint's parser answers malformed_json
            bad += inputs.fields_with_control(data)
        if not bad:
            return None
        message = _("Control characters (such as NUL) are not allowed.")
        return problem(
            422,
            "validation_error",
            invalid,
            "; ".join(f"{name}: {message}" for name in bad),
            errors=[{"field": name, "message": message} for name in bad],
        )


class ApiNoStoreMiddleware:
    """API answers carry customers' names, documents, balances and tokens: no shared cache, proxy
    or browser history may keep them (Cache-Control: no-store) unless an endpoint says otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/") and "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        return response


# --- the screens' middleware, which API requests skip (issue 15) ------------------------------
# The API authenticates by bearer token and answers JSON: it reads no session, no `request.user`,
# no CSRF token and no flash message, and its language is Accept-Language's (LocaleMiddleware,
# which every request keeps). So an API request (`/api/…`) goes straight past these four, which
# changes no answer and saves their work on the hot path. Subclasses, so that the admin's checks
# still find the middleware they require. CSRF stays as Django's own: `check --deploy` looks for
# it by name, and for an API request it costs nothing (ninja's views are CSRF-exempt).

API_PREFIX = "/api/"


def _api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


class WebSessionMiddleware(SessionMiddleware):
    def __call__(self, request):
        return self.get_response(request) if _api(request) else super().__call__(request)


class WebAuthenticationMiddleware(AuthenticationMiddleware):
    def __call__(self, request):
        return self.get_response(request) if _api(request) else super().__call__(request)


class WebMerchantLanguageMiddleware(MerchantLanguageMiddleware):
    def __call__(self, request):
        return self.get_response(request) if _api(request) else super().__call__(request)


class WebMessageMiddleware(MessageMiddleware):
    def __call__(self, request):
        return self.get_response(request) if _api(request) else super().__call__(request)
