"""OpenTelemetry: the tracer provider, its exporter, and a server span per HTTP request.

Spans come from three layers: :class:`TelemetryMiddleware` opens one per HTTP request, the
GraphQL executor one per operation (``graphql.operation``), and :mod:`rapport.db.database` one
per SQL statement (``db SELECT`` …), each a child of the one before through the current context.
With ``RAPPORT_OTEL_EXPORTER=none`` (the default) no provider is installed and every span is the
API's no-op span, which costs next to nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import rapport
from rapport.settings import OtelExporter, Settings

__all__ = ["SERVICE_NAME", "TelemetryMiddleware", "setup", "tracing"]

SERVICE_NAME = "rapport"
log = logging.getLogger(__name__)
_tracer = trace.get_tracer("rapport.http")
_tracing = False  # see tracing()


def setup(settings: Settings, *, exporter: SpanExporter | None = None) -> TracerProvider | None:
    """Install the tracer provider the settings ask for; returns it (None when tracing is off).

    ``exporter`` adds one more exporter, exported synchronously (tests pass an in-memory one).
    OpenTelemetry allows one global provider per process, so a second call adds its exporters to
    the provider already installed instead of replacing it.
    """
    processors = list(_processors(settings))
    if exporter is not None:
        processors.append(SimpleSpanProcessor(exporter))
    if not processors:
        return None
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(
            resource=Resource.create(
                {"service.name": SERVICE_NAME, "service.version": rapport.__version__}
            )
        )
        trace.set_tracer_provider(provider)
    for processor in processors:
        provider.add_span_processor(processor)
    global _tracing
    _tracing = True
    log.info("tracing enabled (%s exporter)", settings.otel_exporter.value)
    return provider


def tracing() -> bool:
    """Whether a tracer provider is installed, so that spans are recorded and worth making.

    Without one (``RAPPORT_OTEL_EXPORTER=none`` and no test exporter), the callers skip their
    span work altogether: even the API's no-op spans cost a context attach and detach, the
    attribute dictionaries and the header carrier, about 5 % of a small read's CPU.
    """
    # A flag, not a look-up per call (get_tracer_provider reads os.environ each time): setup()
    # is the one place that installs a provider, and an installed provider stays installed.
    return _tracing


def _processors(settings: Settings) -> Iterable[SpanProcessor]:
    if settings.otel_exporter is OtelExporter.CONSOLE:
        yield BatchSpanProcessor(ConsoleSpanExporter())
    elif settings.otel_exporter is OtelExporter.OTLP:
        # Imported here: the OTLP exporter pulls in protobuf, which a default setup never needs.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        yield BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_endpoint))


class TelemetryMiddleware:
    """ASGI middleware: one ``SERVER`` span per HTTP request, named ``METHOD /route``.

    The span continues a trace the caller started (W3C ``traceparent``) and records the method,
    the route template (not the raw path, so spans group by endpoint) and the status code.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing():
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        carrier = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        status_code = 500
        with _tracer.start_as_current_span(
            method,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:

            async def send_with_status(message: Message) -> None:
                nonlocal status_code
                if message["type"] == "http.response.start":
                    status_code = int(message["status"])
                await send(message)

            try:
                await self.app(scope, receive, send_with_status)
            finally:
                if span.is_recording():
                    route = _route(scope)
                    # No route matched (a 404): the method alone, so random paths do not
                    # become span names (OpenTelemetry HTTP semantic conventions).
                    span.update_name(f"{method} {route}" if route else method)
                    if route:
                        span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status_code)
                    if status_code >= 500:
                        span.set_status(Status(StatusCode.ERROR))


def _route(scope: Scope) -> str | None:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None
