"""Personal-data breaches (art. 21.11): staff log them and notify each affected client within 48
hours of awareness; a client sees its own notices (`breach-notices`), never who else was affected."""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts.api.views.base import ERRORS_READ, Api, responses
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.fields import MomentField
from accounts.kernel.permissions import IsComplianceOfficer, IsProviderStaff
from accounts.models import Provider
from accounts.selectors import clients_visible_to
from dataprocessing import selectors
from dataprocessing.models import Breach, BreachNotification
from dataprocessing.services import breaches as services

from ..filters import BreachFilter, BreachNoticeFilter
from ..serializers import BreachNoticeSerializer, BreachSerializer, BreachUpdateSerializer

TAG = ["breaches"]


class BreachListApi(Api):
    queryset = Breach.objects.none()
    filterset_class = BreachFilter
    permission_classes = [IsProviderStaff]
    write_permission_classes = [IsComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        provider = serializers.SlugRelatedField(slug_field="code", queryset=Provider.objects.all())
        detected_at = MomentField()
        aware_at = MomentField(
            required=False,
            allow_null=True,
            help_text="the 48-hour clock starts here; detection by default",
        )
        description = serializers.CharField(allow_blank=True)
        data_types = serializers.CharField(allow_blank=True, help_text="types of personal data")
        approx_subjects = serializers.IntegerField(help_text="approximate number of data subjects")
        measures = serializers.CharField(allow_blank=True, help_text="measures taken or proposed")
        affected_clients = serializers.ListField(
            child=serializers.IntegerField(), help_text="client ids"
        )

    @extend_schema(tags=TAG, responses={200: BreachSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """Logged personal-data breaches with their notices and the 48-hour deadline (art. 21.11). Staff only."""
        breaches = selectors.breach_list(user=request.user).prefetch_related(
            "notifications__client", "updates__created_by"
        )
        return self.paginated(breaches, BreachSerializer)

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(201, BreachSerializer))
    def post(self, request):
        """Log a breach; each affected client is due its notice within 48 hours (art. 21.11)."""
        data = dict(self.input(request))
        ids = data.pop("affected_clients")
        clients = list(clients_visible_to(request.user).filter(pk__in=ids))
        if len(clients) != len(set(ids)):
            raise ValidationFailed({"affected_clients": [gettext("Unknown client id.")]})
        breach = services.breach_log(acting_user=request.user, affected_clients=clients, **data)
        return self.present(
            selectors.breach_get(user=request.user, pk=breach.pk), BreachSerializer, status=201
        )


class _BreachApi(Api):
    queryset = Breach.objects.none()
    permission_classes = [IsComplianceOfficer]

    def breach(self, request, pk) -> Breach:
        return selectors.breach_get(user=request.user, pk=pk)

    def answer(self, request, pk):
        return self.present(self.breach(request, pk), BreachSerializer)


class BreachDetailApi(_BreachApi):
    permission_classes = [IsProviderStaff]

    @extend_schema(tags=TAG, responses={200: BreachSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One breach: what happened, which clients were notified and when (art. 21.11). Staff only."""
        return self.answer(request, pk)


class BreachNotifyApi(_BreachApi):
    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField(help_text="the affected client to notify")
        message = serializers.CharField(allow_blank=True, help_text="sent to the client's admins")

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, BreachSerializer))
    def post(self, request, pk):
        """Send one affected client its notice from the portal and record it (art. 21.11(a))."""
        breach = self.breach(request, pk)
        data = self.input(request)
        notification = selectors.breach_notification_get(
            user=request.user, breach=breach, client_id=data["client"]
        )
        services.breach_notify_client(
            notification=notification, message=data["message"], acting_user=request.user
        )
        return self.answer(request, pk)


class BreachUpdateApi(_BreachApi):
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(allow_blank=True)

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(201, BreachUpdateSerializer)
    )
    def post(self, request, pk):
        """Add a follow-up as information becomes available; notified clients receive it (art. 21.11)."""
        update = services.breach_add_update(
            breach=self.breach(request, pk),
            text=self.input(request)["text"],
            acting_user=request.user,
        )
        return self.present(update, BreachUpdateSerializer, status=201)


class BreachRootCauseApi(_BreachApi):
    class InputSerializer(serializers.Serializer):
        root_cause = serializers.CharField(allow_blank=True)

    @extend_schema(tags=TAG, request=InputSerializer, responses=responses(200, BreachSerializer))
    def post(self, request, pk):
        """Record the root cause found by the investigation (art. 21.11)."""
        services.breach_set_root_cause(
            breach=self.breach(request, pk),
            root_cause=self.input(request)["root_cause"],
            acting_user=request.user,
        )
        return self.answer(request, pk)


class BreachCloseApi(_BreachApi):
    @extend_schema(tags=TAG, request=None, responses=responses(200, BreachSerializer))
    def post(self, request, pk):
        """Close once every client is notified and the root cause is recorded (art. 21.11)."""
        services.breach_close(breach=self.breach(request, pk), acting_user=request.user)
        return self.answer(request, pk)


# --- A client's notices --------------------------------------------------------------------
class BreachNoticeListApi(Api):
    queryset = BreachNotification.objects.none()
    filterset_class = BreachNoticeFilter

    @extend_schema(
        tags=["breach-notices"], responses={200: BreachNoticeSerializer(many=True), **ERRORS_READ}
    )
    def get(self, request):
        """A client's notices once sent; staff see every client's, sent or not."""
        notices = selectors.breach_notification_list(user=request.user).prefetch_related(
            "breach__updates__created_by"
        )
        return self.paginated(
            notices.order_by("-breach__detected_at", "-pk"), BreachNoticeSerializer
        )


class BreachNoticeDetailApi(Api):
    queryset = BreachNotification.objects.none()

    @extend_schema(tags=["breach-notices"], responses={200: BreachNoticeSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One breach notice sent to a client, with its follow-ups (art. 21.11)."""
        notice = selectors.breach_notification_get(user=request.user, pk=pk)
        return self.present(notice, BreachNoticeSerializer)
