"""``/api/v1/reports/...``: the finance reports over HTTP, behind the finance token."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web

from sla_engine.reports.whatif import CaseError, evaluate_case
from slamon.reports.entries import sha256_of
from slamon.reports.finalize import build_report
from slamon.reports.gather import ReportError
from slamon.reports.pdf import html_to_pdf
from slamon.reports.render import render_csv_detail, render_csv_summary, render_json
from slamon.reports.statement import build_statement, render_statement_html
from slamon.reports.suggest import render_suggestion, suggest
from slamon.web.auth import Role, require
from slamon.web.bodies import BodyError, read_json

if TYPE_CHECKING:
    from slamon.runtime import Runtime

_PRIVATE = {"Cache-Control": "no-store"}


def _text(body: str, content_type: str) -> web.Response:
    headers = {**_PRIVATE, "X-Content-SHA256": sha256_of(body)}
    return web.Response(text=body, content_type=content_type, headers=headers)


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": message}), content_type="application/json", headers=_PRIVATE
    )


def add_report_routes(app: web.Application, key: web.AppKey[Runtime]) -> None:
    """Register the report endpoints; ``key`` is where the app keeps its Runtime."""

    def runtime(request: web.Request) -> Runtime:
        rt = request.app[key]
        require(request, rt.config, Role.FINANCE)
        return rt

    async def report(request: web.Request) -> web.Response:
        rt = runtime(request)
        kind = request.match_info["kind"]
        period = request.query.get("period")
        if not period:
            raise _bad("period is required, e.g. ?period=2026-10")
        fmt = request.query.get("format", "json")
        if fmt not in ("json", "csv"):
            raise _bad("format must be json or csv")
        try:
            built = await build_report(
                rt.config,
                rt.store,
                kind,
                period,
                datetime.now(UTC),
                contract_id=request.query.get("contract"),
            )
        except ReportError as exc:
            raise _bad(str(exc)) from None
        if fmt == "json":
            return _text(render_json(built), "application/json")
        part = request.query.get("part", "summary")
        if part not in ("summary", "detail"):
            raise _bad("part must be summary or detail")
        body = render_csv_summary(built) if part == "summary" else render_csv_detail(built)
        response = _text(body, "text/csv")
        name = f"{kind}-{period}{'-detail' if part == 'detail' else ''}.csv"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    async def whatif(request: web.Request) -> web.Response:
        runtime(request)
        try:
            data = await read_json(request, decimals=True)
        except BodyError as exc:
            raise _bad(str(exc)) from None
        cases = data if isinstance(data, list) else [data]
        out = []
        try:
            for i, case in enumerate(cases):
                if not isinstance(case, dict):
                    raise _bad(f"case {i}: expected an object")
                result = evaluate_case(case, i)
                out.append({"id": result.id, **result.fields})
        except CaseError as exc:
            raise _bad(str(exc)) from None
        return _text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", "application/json")

    async def suggestion(request: web.Request) -> web.Response:
        rt = runtime(request)
        component = request.query.get("component", "")
        try:
            months = int(request.query.get("months", "6"))
        except ValueError:
            raise _bad("months must be an integer") from None
        try:
            result = await suggest(
                rt.config,
                rt.store,
                component,
                months,
                datetime.now(UTC),
                tz=request.query.get("tz"),
            )
        except ReportError as exc:
            raise _bad(str(exc)) from None
        return _text(render_suggestion(result, "json"), "application/json")

    async def statement(request: web.Request) -> web.Response:
        rt = runtime(request)
        customer = request.query.get("customer", "")
        period = request.query.get("period", "")
        if not customer or not period:
            raise _bad("customer and period are required, e.g. ?customer=C-1001&period=2026-10")
        fmt = request.query.get("format", "pdf")
        if fmt not in ("pdf", "html"):
            raise _bad("format must be pdf or html")
        try:
            built = await build_statement(
                rt.config,
                rt.store,
                customer,
                period,
                datetime.now(UTC),
                language=request.query.get("language", "en"),
            )
        except ReportError as exc:
            raise _bad(str(exc)) from None
        html = render_statement_html(built)
        if fmt == "html":
            response = _text(html, "text/html")
        else:
            # Laying out a PDF takes a second or two: not on the event loop.
            pdf = await asyncio.to_thread(html_to_pdf, html)
            response = web.Response(
                body=pdf,
                content_type="application/pdf",
                headers={**_PRIVATE, "X-Content-SHA256": hashlib.sha256(pdf).hexdigest()},
            )
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{built.file_stem()}.{fmt}"'
        )
        return response

    app.router.add_get("/api/v1/reports/statement", statement)
    app.router.add_get("/api/v1/reports/suggest", suggestion)
    app.router.add_post("/api/v1/reports/whatif", whatif)
    app.router.add_get(r"/api/v1/reports/{kind:credits|availability}", report)
