import logging
import time

logger = logging.getLogger("lealtad.requests")


class RequestLogMiddleware:
    """One line per request: method, path, status, duration, who.

    Only the path is logged, never the query string: searches carry document numbers, emails and
    QR tokens there. Bodies and headers (tokens) are never logged either.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        if logger.isEnabledFor(logging.INFO):
            elapsed_ms = (time.perf_counter() - started) * 1000
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
    The API keeps Accept-Language, as HTTP clients expect."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import translation

        if not request.path.startswith("/api/") and (
            settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        ):
            merchant = (
                getattr(request.user, "merchant", None) if request.user.is_authenticated else None
            )
            from lealtad.core.languages import language_for_country

            language = language_for_country(merchant.country if merchant is not None else None)
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
