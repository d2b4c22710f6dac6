"""OpenAPI links (3.1 `responses.<status>.links`): from what a create answers to the operations
that read or act on it, so that an integrator's client generator (and Schemathesis's stateful run,
lealtad/api/tests/test_schemathesis.py) knows that `POST /customers`' `id` is the `customer_id` of
`GET /customers/{customer_id}`. django-ninja writes none; they are derived from the paths:

- a POST to P whose success answer has an `id` links to every operation under `P/{x}` with
  `x = $response.body#/id` (and P's own path parameters passed on from the request);
- the value movements that answer a ledger transaction's id (an accrual, a redemption, a reversal)
  link to `GET /transactions/{transaction_id}` and its reversal;
- a merchant-side answer naming a `customer_id` or `transaction_id` links to their reads.
"""

import re

PARAM = re.compile(r"{(\w+)}")
# Creates whose `id` is a ledger transaction's.
TRANSACTION_IDS = ("/accruals", "/redemptions", "/transactions/{transaction_id}/reversal")
# A field of a merchant-side answer → the path of the operations it names (the prefix is added).
REFERENCES = {
    "customer_id": "/customers/{customer_id}",
    "transaction_id": "/transactions/{transaction_id}",
}


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _answer_fields(schema: dict, response: dict) -> set:
    content = response.get("content", {}).get("application/json")
    if not content:
        return set()
    return set(_resolve(schema, content["schema"]).get("properties", {}))


def _targets(paths: dict, path: str):
    """(operationId, the new parameter) for every operation under `path/{x}` that needs no other
    parameter than `path`'s and `x`."""
    for child, operations in paths.items():
        if not child.startswith(path + "/{"):
            continue
        new = PARAM.match(child, len(path) + 1)
        rest = child[new.end() :]
        if rest and (not rest.startswith("/") or PARAM.search(rest)):
            continue
        for operation in operations.values():
            yield operation["operationId"], new.group(1)


def _link(operation_id: str, parameters: dict) -> dict:
    return {"operationId": operation_id, "parameters": parameters}


def links_in_schema(schema: dict, prefix: str = "/api/v1") -> dict:
    paths = schema.get("paths", {})
    ids = {
        path: {method: operation["operationId"] for method, operation in operations.items()}
        for path, operations in paths.items()
    }
    for path, operations in paths.items():
        operation = operations.get("post")
        if operation is None:
            continue
        for status, response in operation.get("responses", {}).items():
            if str(status)[0] != "2":
                continue
            fields = _answer_fields(schema, response)
            passed_on = {name: f"$request.path.{name}" for name in PARAM.findall(path)}
            links = {}
            if "id" in fields:
                for operation_id, name in _targets(paths, path):
                    links[operation_id] = _link(
                        operation_id, {**passed_on, name: "$response.body#/id"}
                    )
            merchant_side = not path.startswith(
                (f"{prefix}/me", f"{prefix}/partner", f"{prefix}/auth")
            )
            if path.removeprefix(prefix) in TRANSACTION_IDS and "id" in fields:
                base = f"{prefix}/transactions/{{transaction_id}}"
                for target in (base, f"{base}/reversal"):
                    for operation_id in ids.get(target, {}).values():
                        links[operation_id] = _link(
                            operation_id, {"transaction_id": "$response.body#/id"}
                        )
            elif merchant_side:
                for field, target in REFERENCES.items():
                    if field not in fields:
                        continue
                    operation_id = ids.get(prefix + target, {}).get("get")
                    if operation_id and operation_id not in links:
                        links[operation_id] = _link(
                            operation_id, {field: f"$response.body#/{field}"}
                        )
            if links:
                response["links"] = {
                    operation_id.removeprefix("lealtad_api_"): link
                    for operation_id, link in links.items()
                }
    return schema
