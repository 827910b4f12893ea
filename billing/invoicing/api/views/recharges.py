"""Recharges (art. 7.3, 21.5.2, 21.6, 21.7.2, 29.4): sums charged besides usage, read-only here;
they are recorded by the services of their sources."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema

from accounts.api.views.base import CLIENT_PARAM, ERRORS_READ, Api
from billing.invoicing import selectors
from billing.models import Recharge

from ..serializers import RechargeSerializer
from ._common import optional_client, status_param

STATUS_PARAM = OpenApiParameter(
    "status",
    OpenApiTypes.STR,
    enum=Recharge.Status.values,
    description="pending: waiting for the next invoice; invoiced",
)


class RechargeListApi(Api):
    queryset = Recharge.objects.none()

    @extend_schema(
        tags=["recharges"],
        parameters=[CLIENT_PARAM, STATUS_PARAM],
        responses={200: RechargeSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """What the client is charged besides its usage, newest first: credit used from a
        charged-back top-up and the chargeback fee (art. 29.4), assistance with data-subject
        requests (21.5.2) and impact assessments (21.6), audit time (21.7.2), activation costs
        (7.3); each names its source and the invoice that bills it (none while pending)."""
        return self.paginated(
            selectors.recharge_list(
                user=request.user,
                client=optional_client(request),
                status=status_param(request, Recharge.Status.values),
            ),
            RechargeSerializer,
        )
