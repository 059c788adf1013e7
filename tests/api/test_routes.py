"""The API's routes, pinned: a renamed command class or router cannot move or drop a URL
that clients (towns' scripts, the utilities' gateways, the workbench) already call.
Adding a route means adding it here, on purpose."""

from __future__ import annotations

from api.app import create_app

ROUTES = [
    "GET /.well-known/liandong-signing-keys.json",
    "GET /accountability",
    "GET /dashboard",
    "GET /ledger/export.xlsx",
    "GET /ledger/template.xlsx",
    "POST /ledger/import",
    "GET /approval-lock",
    "GET /asyncapi.json",
    "GET /audit",
    "GET /audit/export.{fmt}",
    "GET /audit/head",
    "POST /cases",
    "POST /cases/{case_id}/add-uscc",
    "POST /cases/{case_id}/answer-supervision-notice",
    "POST /cases/{case_id}/arbitrate-dispute",
    "POST /cases/{case_id}/cancel-task",
    "POST /cases/{case_id}/classify",
    "POST /cases/{case_id}/close-incident",
    "POST /cases/{case_id}/concur-classification",
    "POST /cases/{case_id}/confirm-park-entry",
    "POST /cases/{case_id}/correct-record",
    "POST /cases/{case_id}/decide-objection",
    "POST /cases/{case_id}/deny-approval",
    "POST /cases/{case_id}/extend-deadline",
    "POST /cases/{case_id}/grant-permit",
    "POST /cases/{case_id}/issue-supervision-notice",
    "POST /cases/{case_id}/launch-joint-enforcement",
    "POST /cases/{case_id}/order-suspension",
    "POST /cases/{case_id}/raise-dispute",
    "POST /cases/{case_id}/record-assistance",
    "POST /cases/{case_id}/record-follow-up",
    "POST /cases/{case_id}/record-incident",
    "POST /cases/{case_id}/record-objection",
    "POST /cases/{case_id}/record-problem",
    "POST /cases/{case_id}/record-sewer-work",
    "POST /cases/{case_id}/remind-task",
    "POST /cases/{case_id}/reopen-case",
    "POST /cases/{case_id}/report-consumption",
    "POST /cases/{case_id}/report-hazard-removed",
    "POST /cases/{case_id}/report-reconnection",
    "POST /cases/{case_id}/report-refusal-to-stop",
    "POST /cases/{case_id}/report-unauthorized-resumption",
    "POST /cases/{case_id}/request-acceptance",
    "POST /cases/{case_id}/request-licence-revocation",
    "POST /cases/{case_id}/request-utility-order",
    "POST /cases/{case_id}/revoke-licence",
    "POST /cases/{case_id}/serve-enterprise-notice",
    "POST /cases/{case_id}/set-relocation-destination",
    "POST /cases/{case_id}/sign-acceptance",
    "POST /cases/{case_id}/strike-off",
    "POST /cases/{case_id}/support-joint-enforcement",
    "POST /cases/{case_id}/verify-closure",
    "POST /cases/{case_id}/verify-consumption-flag",
    "POST /cases/{case_id}/verify-old-site",
    "POST /cases/{case_id}/withdraw-listing",
    "GET /control-areas",
    "POST /control-areas",
    "POST /control-areas/removals",
    "GET /enterprises",
    "GET /enterprises/{case_id}",
    "GET /enterprises/{case_id}/timeline",
    "GET /evidence/{sha256}",
    "GET /evidence/{sha256}/about",
    "GET /evidence/{sha256}/thumbnail",
    "POST /evidence",
    "GET /health",
    "GET /reports/{period}",
    "GET /reports/{period}.{fmt}",
    "GET /enterprises/{case_id}/documents",
    "GET /enterprises/{case_id}/documents/{version}.pdf",
    "GET /inbox",
    "GET /inbox/stream",
    "GET /metrics",
    "POST /orders/{case_id}/{order_no}/acknowledge",
    "POST /orders/{case_id}/{order_no}/cancel",
    "POST /orders/{case_id}/{order_no}/execute",
    "POST /orders/{case_id}/{order_no}/refuse",
    "GET /patrols",
    "POST /patrols",
    "POST /registration-refusals",
    "GET /subscriptions",
    "POST /subscriptions",
    "DELETE /subscriptions/{subscription_id}",
    "GET /subscriptions/{subscription_id}",
    "GET /subscriptions/{subscription_id}/deliveries",
    "POST /subscriptions/{subscription_id}/pause",
    "POST /subscriptions/{subscription_id}/replay",
    "POST /subscriptions/{subscription_id}/resume",
    "GET /towns",
    "GET /utilities/orders",
    "POST /utilities/receipts",
    "GET /webhooks/public-key",
]


def test_the_routes_are_the_ones_clients_were_promised() -> None:
    paths = create_app(None).openapi()["paths"]
    served = sorted(f"{method.upper()} {path}" for path in paths for method in paths[path])
    assert served == sorted(ROUTES)


# Documents served as they are (not reads of the domain), and what is not typed yet.
NOT_MODELS = {
    "/asyncapi.json": "the AsyncAPI document",
    "/.well-known/liandong-signing-keys.json": "a JWK Set (RFC 7517)",
    "/metrics": "Prometheus text",
    "/inbox/stream": "Server-Sent Events",
    "/audit/export.{fmt}": "JSON Lines or CSV",
    "/ledger/export.xlsx": "an Excel workbook",
    "/ledger/template.xlsx": "an Excel workbook",
    "/evidence/{sha256}": "the evidence file itself",
    "/evidence/{sha256}/thumbnail": "a JPEG",
    "/reports/{period}.{fmt}": "an Excel workbook or a PDF",
    "/enterprises/{case_id}/documents/{version}.pdf": "a PDF",
}


def test_every_read_route_answers_a_typed_model_the_openapi_document_describes() -> None:
    paths = create_app(None).openapi()["paths"]
    untyped = []
    for path, operations in paths.items():
        if "get" not in operations or path in NOT_MODELS:
            continue
        content = operations["get"]["responses"]["200"].get("content", {})
        schema = content.get("application/json", {}).get("schema", {})
        typed = "$ref" in schema or "$ref" in schema.get("items", {}) or "anyOf" in schema
        if not typed:
            untyped.append(path)
    assert untyped == []
