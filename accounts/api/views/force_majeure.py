"""Force majeure (art. 14.2, 15.5(b)): staff log a situation and notify each affected client within
10 working days; a client sees its notices (`force-majeure-notices`) and the termination right."""

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts import selectors
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.fields import MomentField
from accounts.kernel.permissions import IsProviderStaff
from accounts.models import ForceMajeure, ForceMajeureNotice, Provider
from accounts.services import force_majeure as services

from .base import ERRORS_READ, Api, responses

TAG = ["force-majeure"]


class _NoticeSerializer(serializers.ModelSerializer):
    countdown = serializers.SerializerMethodField()

    class Meta:
        model = ForceMajeureNotice
        fields = ["id", "client", "deadline", "notified_at", "message", "countdown"]

    def get_countdown(self, obj) -> dict | None:
        return selectors.force_majeure_countdown(obj)


class ForceMajeureSerializer(serializers.ModelSerializer):
    provider: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    termination_right_open = serializers.SerializerMethodField(
        help_text="art. 15.5(b): it has lasted longer than 20 working days"
    )
    notices = _NoticeSerializer(many=True, read_only=True)

    class Meta:
        model = ForceMajeure
        fields = [
            "id",
            "provider",
            "started_at",
            "description",
            "services_affected",
            "ended_at",
            "termination_right_from",
            "termination_right_open",
            "notices",
        ]

    def get_termination_right_open(self, obj) -> bool:
        return obj.termination_right_open(timezone.now())


class ForceMajeureNoticeSerializer(serializers.ModelSerializer):
    started_at = serializers.DateTimeField(source="situation.started_at")
    ended_at = serializers.DateTimeField(source="situation.ended_at")
    services_affected = serializers.CharField(source="situation.services_affected")
    termination_right_from = serializers.DateTimeField(source="situation.termination_right_from")
    termination_right_open = serializers.SerializerMethodField()

    class Meta:
        model = ForceMajeureNotice
        fields = [
            "id",
            "client",
            "notified_at",
            "message",
            "started_at",
            "ended_at",
            "services_affected",
            "termination_right_from",
            "termination_right_open",
        ]

    def get_termination_right_open(self, obj) -> bool:
        return obj.situation.termination_right_open(timezone.now())


class ForceMajeureListApi(Api):
    queryset = ForceMajeure.objects.none()
    permission_classes = [IsProviderStaff]

    class InputSerializer(serializers.Serializer):
        provider = serializers.SlugRelatedField(slug_field="code", queryset=Provider.objects.all())
        started_at = MomentField(help_text="when the situation of force majeure arose")
        description = serializers.CharField(allow_blank=True)
        services_affected = serializers.CharField(allow_blank=True)
        affected_clients = serializers.ListField(
            child=serializers.IntegerField(), help_text="client ids"
        )

    @extend_schema(tags=TAG, responses={200: ForceMajeureSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """Force-majeure situations (art. 14): staff see their providers' situations, a client's
        users those it was notified of, each with its notice deadline and termination right."""
        situations = selectors.force_majeure_list(user=request.user).prefetch_related(
            "notices__situation__provider"
        )
        return self.paginated(situations, ForceMajeureSerializer)

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(201, ForceMajeureSerializer)
    )
    def post(self, request):
        """Log force majeure; each affected client is due its notice within 10 working days
        following the day it arose (art. 14.2)."""
        data = dict(self.input(request))
        ids = data.pop("affected_clients")
        clients = list(selectors.clients_visible_to(request.user).filter(pk__in=ids))
        if len(clients) != len(set(ids)):
            raise ValidationFailed({"affected_clients": [gettext("Unknown client id.")]})
        situation = services.force_majeure_log(
            acting_user=request.user, affected_clients=clients, **data
        )
        return self.present(
            selectors.force_majeure_get(user=request.user, pk=situation.pk),
            ForceMajeureSerializer,
            status=201,
        )


class ForceMajeureDetailApi(Api):
    queryset = ForceMajeure.objects.none()
    permission_classes = [IsProviderStaff]

    @extend_schema(tags=TAG, responses={200: ForceMajeureSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One force-majeure situation with its notices and the day the right to terminate
        under art. 15.5(b) opens."""
        return self.present(
            selectors.force_majeure_get(user=request.user, pk=pk), ForceMajeureSerializer
        )


class ForceMajeureNotifyApi(Api):
    queryset = ForceMajeure.objects.none()
    permission_classes = [IsProviderStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField(help_text="the affected client to notify")
        message = serializers.CharField(allow_blank=True, help_text="sent to the client's admins")

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, ForceMajeureSerializer)
    )
    def post(self, request, pk):
        """Make the force majeure known to one affected client and record it (art. 14.2)."""
        situation = selectors.force_majeure_get(user=request.user, pk=pk)
        data = self.input(request)
        notice = selectors.force_majeure_notice_get(
            user=request.user, situation=situation, client_id=data["client"]
        )
        services.force_majeure_notify_client(
            notice=notice, message=data["message"], acting_user=request.user
        )
        return self.present(
            selectors.force_majeure_get(user=request.user, pk=pk), ForceMajeureSerializer
        )


class ForceMajeureEndApi(Api):
    queryset = ForceMajeure.objects.none()
    permission_classes = [IsProviderStaff]

    class InputSerializer(serializers.Serializer):
        ended_at = MomentField(required=False, allow_null=True, help_text="now by default")

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, ForceMajeureSerializer)
    )
    def post(self, request, pk):
        """Record the end of the situation (art. 15.5(b) counts how long it lasted)."""
        situation = selectors.force_majeure_get(user=request.user, pk=pk)
        services.force_majeure_end(
            situation=situation,
            ended_at=self.input(request).get("ended_at"),
            acting_user=request.user,
        )
        return self.present(
            selectors.force_majeure_get(user=request.user, pk=pk), ForceMajeureSerializer
        )


class ForceMajeureNoticeListApi(Api):
    queryset = ForceMajeureNotice.objects.none()

    @extend_schema(
        tags=["force-majeure-notices"],
        responses={200: ForceMajeureNoticeSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """A client's force-majeure notices once sent, with the right of art. 15.5(b)."""
        notices = selectors.force_majeure_notice_list(user=request.user).order_by("-pk")
        return self.paginated(notices, ForceMajeureNoticeSerializer)


class ForceMajeureNoticeDetailApi(Api):
    queryset = ForceMajeureNotice.objects.none()

    @extend_schema(
        tags=["force-majeure-notices"],
        responses={200: ForceMajeureNoticeSerializer, **ERRORS_READ},
    )
    def get(self, request, pk):
        """One force-majeure notice to a client (art. 14.2): its deadline and when it was sent."""
        notice = selectors.force_majeure_notice_get(user=request.user, pk=pk)
        return self.present(notice, ForceMajeureNoticeSerializer)
