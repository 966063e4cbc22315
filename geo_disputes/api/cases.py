"""Cases API: GeoJSON list + intake, detail, and workflow transitions.

GET/POST /api/cases/ · GET /api/cases/<reference>/ · POST /api/cases/<reference>/transitions/ ·
POST /api/cases/<reference>/recusals/ (回避)
Visibility always goes through services.cases.access.visible_cases; out-of-scope detail is a 404.
"""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from geo_disputes.models import Case
from geo_disputes.services.cases.access import (
    can_act,
    kept_from,
    may_recuse,
    refusal,
    visible_cases,
)
from geo_disputes.services.cases.case_queries import case_collection, filter_cases
from geo_disputes.services.cases.intake import IntakeError, open_case
from geo_disputes.services.cases.near_identical import check_near_identical
from geo_disputes.services.cases.recusal import RecusalError, record_recusal
from geo_disputes.services.cases.workflow import StaleEditError, WorkflowError, perform, refusal_text
from geo_disputes.services.geojson import MAX_PAGE_SIZE, Page

from . import params
from .case_input import case_filter, intake_request
from .idempotency import idempotent
from .paging import with_paging
from .representations import case_dict, receipt_dict


class CaseListView(APIView):
    def get(self, request: Request) -> HttpResponse:
        query = request.query_params
        flt = case_filter(query)
        qs = filter_cases(visible_cases(request.user), flt, request.user)
        page = Page(
            params.positive_int(query, "page", 1, 10**6), params.positive_int(query, "page_size", 500, MAX_PAGE_SIZE)
        )
        exact = params.choice(query, "count", ("limited", "exact"), "limited") == "exact"
        text, count = case_collection(request.user, qs, page, exact=exact)
        return HttpResponse(with_paging(text, count, page, request), content_type="application/geo+json")

    def post(self, request: Request) -> Response:
        if not can_act(request.user, None):
            raise PermissionDenied("your role cannot register cases / 当前角色不能登记事项")
        return idempotent(request, lambda: _register(request), lambda body: _replayed_case(request, body))


class CaseDetailView(APIView):
    def get(self, request: Request, reference: str) -> Response:
        personal = params.choice(request.query_params, "personal", ("1", "0"), "1") == "1"
        return Response(case_dict(_visible_case(request, reference), request.user, history=True, personal=personal))


class CaseTransitionView(APIView):
    def post(self, request: Request, reference: str) -> Response:
        case = _visible_case(request, reference)
        if not can_act(request.user, case):
            raise PermissionDenied("your role cannot act on this case / 当前角色无权办理此事项")
        data = dict(request.data) if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"action": "expected a JSON object with an action"})
        action = data.pop("action", None)
        if not isinstance(action, str) or not action:
            raise ValidationError({"action": "required"})
        refused = refusal(request.user, case, action)
        if refused:
            raise PermissionDenied(refused)
        version = data.pop("version", None)
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise ValidationError({"version": "must be an integer"})
        return idempotent(
            request,
            lambda: _transition(request, case, action, version, data),
            lambda body: _replayed_case(request, body),
        )


def _replayed_case(request: Request, body: dict) -> dict:
    """A replayed answer (intake, a transition) as the caller may read the case now: a receipt once they may not
    (they recused themselves since, say) — the replay never shows what opening the case would refuse."""
    case = Case.objects.filter(reference=body.get("reference")).first()
    if case is None:
        return body
    if kept_from(request.user, case) or not visible_cases(request.user).filter(pk=case.pk).exists():
        return receipt_dict(case)
    return body


def _register(request: Request) -> Response:
    """Intake, and a warning naming a near-identical case registered minutes before (if the caller may see it)."""
    try:
        case = open_case(intake_request(request.data), actor=request.user)
    except IntakeError as exc:
        raise ValidationError({exc.field: exc.message}) from None
    if kept_from(request.user, case):
        return Response(receipt_dict(case), status=status.HTTP_201_CREATED)  # the accused side gets a receipt
    body = case_dict(case, request.user)
    body["warnings"] = [match.as_warning() for match in check_near_identical(case, request.user)]
    return Response(body, status=status.HTTP_201_CREATED)


def _transition(request: Request, case: Case, action: str, version: int | None, data: dict) -> Response:
    if version is None:
        version = case.version  # clients that do not track versions act on what is current
    try:
        case = perform(case, action, request.user, version, data)
    except WorkflowError as exc:
        raise ValidationError({exc.field or "action": refusal_text(exc)}) from None
    except StaleEditError as exc:
        return Response({"detail": str(exc), "version": Case.objects.get(pk=case.pk).version}, status=409)
    return Response(case_dict(case, request.user, history=True))


class CaseRecusalView(APIView):
    def post(self, request: Request, reference: str) -> Response:
        case = _visible_case(request, reference)
        data = request.data if isinstance(request.data, dict) else None
        if data is None:
            raise ValidationError({"user": "expected a JSON object {user, ground, reason}"})
        unknown = sorted(set(data) - {"user", "ground", "reason"})
        if unknown:
            raise ValidationError({unknown[0]: "unknown field; fields: user, ground, reason"})
        texts = {k: data.get(k, "") for k in ("user", "ground", "reason")}
        for key, value in texts.items():
            if not isinstance(value, str):
                raise ValidationError({key: "must be text / 应为文本"})
        if not may_recuse(request.user, case, texts["user"]):
            raise PermissionDenied(
                "本人可申请回避;决定他人回避须由承办层级或上级作出 / you may recuse yourself; "
                "recusing others is decided by the holder's tier or above"
            )
        try:
            recusal = record_recusal(case, request.user, texts["user"], texts["ground"], texts["reason"])
        except RecusalError as exc:
            raise ValidationError({exc.field: exc.message}) from None
        return Response(
            {"case": case.reference, "user": recusal.username, "ground": recusal.ground, "at": recusal.at.isoformat()},
            status=status.HTTP_201_CREATED,
        )


def _visible_case(request: Request, reference: str) -> Case:
    case = visible_cases(request.user).select_related("unit", "routing_rule").filter(reference=reference).first()
    if case is None:
        raise NotFound(f"no case {reference!r} in your scope / 无此事项或不在您的辖区")
    return case
