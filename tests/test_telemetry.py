"""OpenTelemetry: exporters from settings, and the span tree of one GraphQL request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rapport import telemetry
from rapport.auth.tokens import issue_token
from rapport.db.catalog import migrate
from rapport.db.database import Database
from rapport.metadata.tenants import create_tenant
from rapport.settings import OtelExporter, Settings
from tests.live_server import LiveServer, server_settings


@pytest.fixture(scope="module", autouse=True)
async def catalog(database: Database) -> Database:
    """The module's database with the catalog schema migrated."""
    await migrate(database)
    return database


def test_no_exporter_installs_nothing() -> None:
    settings = server_settings(None)
    assert settings.otel_exporter is OtelExporter.NONE
    assert telemetry.setup(settings) is None


@pytest.mark.parametrize(
    ("exporter", "class_name"),
    [(OtelExporter.CONSOLE, "ConsoleSpanExporter"), (OtelExporter.OTLP, "OTLPSpanExporter")],
)
def test_exporters_follow_the_settings(exporter: OtelExporter, class_name: str) -> None:
    settings = replace(
        server_settings(None), otel_exporter=exporter, otel_endpoint="http://127.0.0.1:9/v1"
    )
    (processor,) = telemetry._processors(settings)
    assert isinstance(processor, BatchSpanProcessor)
    assert type(processor.span_exporter).__name__ == class_name
    processor.shutdown()


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = telemetry.setup(server_settings(None), exporter=exporter)
    assert isinstance(provider, TracerProvider)
    assert trace.get_tracer_provider() is provider
    assert provider.resource.attributes["service.name"] == "rapport"
    yield exporter
    exporter.shutdown()  # later tests in this process record nothing more


async def test_one_request_yields_http_operation_and_sql_spans(
    spans: InMemorySpanExporter, database_url: str, database: Database
) -> None:
    # given
    settings: Settings = server_settings(database_url)
    await create_tenant(database, "traced", actor="test")
    token = issue_token(settings, tenant="traced", subject="t", roles=["admin"])
    with LiveServer(settings) as server:
        spans.clear()
        # when
        response = httpx.post(
            server.url + "/graphql",
            json={"query": "{ tasks { totalCount } }"},
            headers={
                "Authorization": f"Bearer {token}",
                "traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01",
            },
        )
        assert response.status_code == 200, response.text
        finished = _spans_of_trace(spans, TRACE_ID)
    # then
    (http,) = [s for s in finished if s.kind is trace.SpanKind.SERVER]
    assert http.name == "POST /graphql"
    assert http.attributes is not None
    assert http.attributes["http.request.method"] == "POST"
    assert http.attributes["http.route"] == "/graphql"
    assert http.attributes["http.response.status_code"] == 200
    assert http.context is not None and http.parent is not None
    # the caller's trace continues
    assert format(http.context.trace_id, "032x") == TRACE_ID
    operations = [s for s in finished if s.name.startswith("graphql.operation")]
    assert len(operations) == 1
    (operation,) = operations
    assert _parent(operation) == http.context.span_id
    statements = [s for s in finished if s.name.startswith("db ")]
    assert statements
    ancestry = {http.context.span_id, *(o.context.span_id for o in operations if o.context)}
    for statement in statements:
        assert _parent(statement) in ancestry
        assert statement.context is not None
        assert statement.context.trace_id == http.context.trace_id


TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


def _spans_of_trace(spans: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    """The finished spans of one trace, once its server span has ended.

    The server ends its span after the response has reached the client, and the readiness probe
    of LiveServer may end its own span late: wait (bounded) for this trace's server span, and
    keep only this trace's spans.
    """
    deadline = time.monotonic() + 5
    while True:
        found = [
            s
            for s in spans.get_finished_spans()
            if s.context is not None and format(s.context.trace_id, "032x") == trace_id
        ]
        if any(s.kind is trace.SpanKind.SERVER for s in found) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_every_endpoint_gets_a_server_span(
    spans: InMemorySpanExporter, database_url: str
) -> None:
    with LiveServer(server_settings(database_url)) as server:
        spans.clear()
        httpx.get(server.url + "/healthz")
        httpx.post(server.url + "/graphql/admin", json={"query": "{ tenant { slug } }"})
        httpx.get(server.url + "/nowhere")
        # A server span ends after the response is sent, so the client may read the response
        # before the span is exported: wait briefly for all three.
        deadline = time.monotonic() + 5
        while True:
            finished = [s for s in spans.get_finished_spans() if s.kind is trace.SpanKind.SERVER]
            if len(finished) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    by_name = {s.name: s for s in finished}
    assert set(by_name) == {"GET /healthz", "POST /graphql/admin", "GET"}
    statuses = {
        name: (s.attributes or {}).get("http.response.status_code") for name, s in by_name.items()
    }
    assert statuses == {"GET /healthz": 200, "POST /graphql/admin": 401, "GET": 404}
    assert "http.route" not in (by_name["GET"].attributes or {})
