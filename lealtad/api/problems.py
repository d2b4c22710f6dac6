"""RFC 9457 problem+json responses with a stable machine `code`."""

import json
from http import HTTPStatus

from django.http import HttpResponse


def problem(status: int, code: str, title, detail=None, **extra) -> HttpResponse:
    body = {
        "type": f"urn:lealtad:problem:{code}",
        "title": str(title),
        "status": status,
        "detail": str(detail if detail is not None else title),
        "code": code,
    }
    body.update({key: value for key, value in extra.items() if value is not None})
    return HttpResponse(
        json.dumps(body, default=str),
        status=status,
        content_type="application/problem+json",
    )


# What InputGuardMiddleware (lealtad.core) may answer to any request, whatever the router says.
GUARD_ANSWERS = {
    "400": "Bad Request (malformed_json, json_too_deep)",
    "413": "Payload Too Large (payload_too_large)",
    "422": "Unprocessable Content (validation_error)",
}


def problems_in_schema(schema: dict) -> dict:
    """Error responses are application/problem+json, as the API sends them; ninja writes every
    response as application/json. Every operation lists the input guard's answers too."""
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            listed = {str(status) for status in responses}  # ninja's keys are ints
            for status, description in GUARD_ANSWERS.items():
                if status not in listed:
                    responses[int(status)] = {
                        "description": description,
                        "content": {"application/json": problem},
                    }
            for status, response in responses.items():
                content = response.get("content", {})
                if str(status)[0] in "45" and "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")
    return schema


class ProblemFallbackMiddleware:
    """Every error under /api/ is problem+json (API.md "Errors"), also the ones no endpoint of ours
    writes: ninja's 405 for a method a path lacks ("Method not allowed", text/html) and Django's 404
    page for a path no route matches. Their Allow, Retry-After and WWW-Authenticate headers stay."""

    KEPT = ("Allow", "Retry-After", "WWW-Authenticate")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/problem+json")
        ):
            return response
        from django.utils.translation import gettext as _

        status = response.status_code
        if status == 404:
            fallback = problem(404, "not_found", _("Not found"))
        elif status == 405:
            fallback = problem(
                405,
                "method_not_allowed",
                _("Method not allowed"),
                _("Allowed methods: %(allowed)s.") % {"allowed": response.get("Allow", "")},
            )
        else:
            fallback = problem(status, "http_error", HTTPStatus(status).phrase)
        for header in self.KEPT:
            if header in response:
                fallback[header] = response[header]
        return fallback
