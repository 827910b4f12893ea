"""The sub-processor register (art. 21.9, 21.10) and announced changes with client objections
(GDPR art. 28(2)). Clients see their provider's current list; compliance officers keep it."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from accounts.api.views.base import ERRORS_READ, Api, responses
from accounts.kernel.permissions import IsClientAdmin, IsComplianceOfficer
from accounts.models import Provider
from dataprocessing import selectors
from dataprocessing.models import SubProcessor, SubProcessorChange, SubProcessorObjection
from dataprocessing.services import sub_processors as services

from ..filters import SubProcessorChangeFilter, SubProcessorFilter
from ..serializers import (
    SubProcessorChangeSerializer,
    SubProcessorObjectionSerializer,
    SubProcessorSerializer,
)

TAG = ["sub-processors"]
_PROVIDER = serializers.SlugRelatedField(
    slug_field="code", queryset=Provider.objects.all(), help_text="provider code, e.g. cm-cn"
)


class _SubProcessorInput(serializers.Serializer):
    name = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=SubProcessor.Kind.choices)
    country = serializers.CharField(allow_blank=True, help_text="ISO 3166-1 alpha-2")
    services = serializers.CharField(allow_blank=True, help_text="services performed (art. 21.9.2)")
    agreement_date = serializers.DateField(help_text="date of the written agreement (art. 21.9.2)")
    agreement_document = serializers.FileField(required=False)
    in_eea = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="derived from the country when left out",
    )
    safeguard = serializers.ChoiceField(
        choices=SubProcessor.Safeguard.choices,
        required=False,
        allow_blank=True,
        help_text="required outside the EEA (art. 21.10)",
    )
    active_to = serializers.DateField(required=False, allow_null=True)

    def validate(self, attrs):
        # active_from is never set directly: only an announced change's notice sets it (GDPR
        # art. 28(2), art. 21.9); the service's error, naming the field, answers.
        if "active_from" in self.initial_data:
            raise services.active_from_refused()
        return attrs


class SubProcessorListApi(Api):
    queryset = SubProcessor.objects.none()
    filterset_class = SubProcessorFilter
    write_permission_classes = [IsComplianceOfficer]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class InputSerializer(_SubProcessorInput):
        provider = _PROVIDER

    @extend_schema(tags=TAG, responses={200: SubProcessorSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """A client's users see the current sub-processors of their provider; staff the whole register."""
        return self.paginated(
            selectors.sub_processor_list(user=request.user), SubProcessorSerializer
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(201, SubProcessorSerializer)
    )
    def post(self, request):
        """Enter a sub-processor; one outside the EEA without a safeguard is refused (art. 21.10)."""
        data = self.input(request)
        sub_processor = services.sub_processor_register(acting_user=request.user, **data)
        return self.present(sub_processor, SubProcessorSerializer, status=201)


class SubProcessorDetailApi(Api):
    queryset = SubProcessor.objects.none()
    write_permission_classes = [IsComplianceOfficer]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class InputSerializer(_SubProcessorInput):
        pass

    @extend_schema(tags=TAG, responses={200: SubProcessorSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One sub-processor: what it does, where, and its safeguard (art. 21.10)."""
        return self.present(
            selectors.sub_processor_get(user=request.user, pk=pk), SubProcessorSerializer
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, SubProcessorSerializer)
    )
    def patch(self, request, pk):
        """Correct a register entry (e.g. end it with `active_to`); history keeps the old values."""
        sub_processor = selectors.sub_processor_get(user=request.user, pk=pk)
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sub_processor = services.sub_processor_update(
            sub_processor=sub_processor, acting_user=request.user, **data
        )
        return self.present(sub_processor, SubProcessorSerializer)


# --- Announced changes (GDPR art. 28(2)) ---------------------------------------------------
class SubProcessorChangeListApi(Api):
    queryset = SubProcessorChange.objects.none()
    filterset_class = SubProcessorChangeFilter
    write_permission_classes = [IsComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        provider = _PROVIDER
        kind = serializers.ChoiceField(choices=SubProcessorChange.Kind.choices)
        sub_processor = serializers.IntegerField(help_text="the register entry to add")
        replaces = serializers.IntegerField(
            required=False, allow_null=True, help_text="for a replacement: the entry it replaces"
        )
        description = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=TAG, responses={200: SubProcessorChangeSerializer(many=True), **ERRORS_READ}
    )
    def get(self, request):
        """Changes of the caller's provider (all providers for staff), newest first."""
        return self.paginated(
            selectors.sub_processor_change_list(user=request.user), SubProcessorChangeSerializer
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(201, SubProcessorChangeSerializer)
    )
    def post(self, request):
        """Announce an addition or replacement; every client's admins are told, a notice period ahead."""
        data = self.input(request)
        replaces = data.get("replaces")
        change = services.sub_processor_change_announce(
            provider=data["provider"],
            kind=data["kind"],
            sub_processor=selectors.sub_processor_get(user=request.user, pk=data["sub_processor"]),
            replaces=selectors.sub_processor_get(user=request.user, pk=replaces)
            if replaces
            else None,
            description=data["description"],
            acting_user=request.user,
        )
        return Response(
            SubProcessorChangeSerializer(change, context={"request": request}).data, status=201
        )


class _ChangeApi(Api):
    queryset = SubProcessorChange.objects.none()

    def change(self, request, pk):
        return selectors.sub_processor_change_get(user=request.user, pk=pk)

    def present_change(self, request, change, status: int = 200):
        change = self.change(request, change.pk)
        return Response(
            SubProcessorChangeSerializer(change, context={"request": request}).data, status=status
        )


class SubProcessorChangeDetailApi(_ChangeApi):
    @extend_schema(tags=TAG, responses={200: SubProcessorChangeSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One announced sub-processor change, with its effective date and objections (art. 21.9)."""
        return self.present_change(request, self.change(request, pk))


class SubProcessorChangeObjectApi(_ChangeApi):
    permission_classes = [IsClientAdmin]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(allow_blank=True, help_text="recorded for staff to resolve")

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(201, SubProcessorObjectionSerializer)
    )
    def post(self, request, pk):
        """A client admin objects before the change takes effect (GDPR art. 28(2), art. 21.9)."""
        change = self.change(request, pk)
        data = self.input(request)
        objection = services.sub_processor_object(
            change=change,
            client=request.user.client,
            acting_user=request.user,
            reason=data["reason"],
        )
        return self.present(objection, SubProcessorObjectionSerializer, status=201)


class SubProcessorChangeWithdrawApi(_ChangeApi):
    permission_classes = [IsComplianceOfficer]

    @extend_schema(tags=TAG, request=None, responses=responses(200, SubProcessorChangeSerializer))
    def post(self, request, pk):
        """Withdraw an announced change before it takes effect."""
        change = services.sub_processor_change_withdraw(
            change=self.change(request, pk), acting_user=request.user
        )
        return self.present_change(request, change)


class SubProcessorObjectionResolveApi(Api):
    queryset = SubProcessorObjection.objects.none()
    permission_classes = [IsComplianceOfficer]

    class InputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(
            choices=SubProcessorObjection.Decision.choices,
            help_text="upheld or rejected (art. 21.9, GDPR art. 28(2))",
        )
        resolution = serializers.CharField(
            allow_blank=True, help_text="the answer; the client reads it in the portal and is told"
        )

    @extend_schema(
        tags=TAG, request=InputSerializer, responses=responses(200, SubProcessorObjectionSerializer)
    )
    def post(self, request, pk):
        """Decide a client's objection (upheld or rejected) and answer it (art. 21.9)."""
        objection = selectors.sub_processor_objection_get(user=request.user, pk=pk)
        data = self.input(request)
        objection = services.sub_processor_objection_resolve(
            objection=objection,
            acting_user=request.user,
            resolution=data["resolution"],
            decision=data["decision"],
        )
        return self.present(objection, SubProcessorObjectionSerializer)
