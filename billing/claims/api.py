"""The claims register's API (art. 13): `loss-claims` both ways, with the deadlines of 13.6 and,
for claims against the provider, the liability cap of 13.4; payouts with an Idempotency-Key."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from accounts.api.views.base import (
    CLIENT_PARAM,
    ERRORS_READ,
    KEY_HEADER,
    Api,
    client_for,
    responses,
)
from accounts.kernel.fields import AmountField, MomentField
from accounts.kernel.idempotency import idempotent, require_key
from accounts.kernel.permissions import IsBillingStaff, IsClientAdminOrStaff, IsClientUserOrStaff
from billing.models import ClaimPayout, LossClaim

from . import selectors, services


class LiabilityCapSerializer(serializers.Serializer):
    currency = serializers.CharField()
    on = serializers.DateField()
    stated = serializers.BooleanField(
        help_text="false: the cap is unknown (see reason), never zero"
    )
    reason = serializers.CharField()
    months = serializers.IntegerField()
    invoiced = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    average_monthly = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    ceiling_eur = serializers.DecimalField(max_digits=20, decimal_places=2)
    ceiling = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    rate = serializers.CharField()
    cap = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    paid_out = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)
    remaining = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True)


class ClaimPayoutSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClaimPayout
        fields = ["id", "amount", "currency", "paid_on", "recorded_at"]


class LossClaimSerializer(serializers.ModelSerializer):
    payouts = ClaimPayoutSerializer(many=True, read_only=True)

    class Meta:
        model = LossClaim
        fields = [
            "id",
            "client",
            "against",
            "description",
            "arose_at",
            "reported_at",
            "report_deadline",
            "late",
            "remedy_deadline",
            "amount_claimed",
            "currency",
            "exclusions",
            "exceptions",
            "status",
            "remedied_at",
            "remedy_note",
            "payouts",
        ]


class LossClaimDetailSerializer(LossClaimSerializer):
    liability_cap = serializers.SerializerMethodField(
        help_text="art. 13.4; null for claims against the client"
    )

    class Meta(LossClaimSerializer.Meta):
        fields = [*LossClaimSerializer.Meta.fields, "liability_cap"]

    def get_liability_cap(self, obj) -> dict | None:
        cap = selectors.claim_liability_cap(claim=obj)
        return LiabilityCapSerializer(cap).data if cap is not None else None


class LossClaimListApi(Api):
    queryset = LossClaim.objects.none()
    write_permission_classes = [IsClientAdminOrStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField(
            required=False, help_text="staff: the client; a client admin: its own"
        )
        against = serializers.ChoiceField(choices=LossClaim.Against.choices, default="provider")
        description = serializers.CharField(allow_blank=True)
        arose_at = MomentField()
        reported_at = MomentField(
            required=False, allow_null=True, help_text="staff: when the written report was received"
        )
        amount_claimed = AmountField(required=False, allow_null=True)
        currency = serializers.CharField(required=False, allow_blank=True, max_length=3)
        exclusions = serializers.ListField(child=serializers.CharField(), required=False)
        exceptions = serializers.ListField(child=serializers.CharField(), required=False)

    @extend_schema(
        tags=["loss-claims"],
        parameters=[CLIENT_PARAM],
        responses={200: LossClaimSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Claims both ways, newest report first."""
        raw = request.query_params.get("client")
        client = client_for(request, int(raw)) if raw and raw.isdigit() else None
        claims = selectors.loss_claim_list(user=request.user, client=client).prefetch_related(
            "payouts"
        )
        return self.paginated(claims, LossClaimSerializer)

    @extend_schema(
        tags=["loss-claims"],
        request=InputSerializer,
        responses=responses(201, LossClaimDetailSerializer),
    )
    def post(self, request):
        """Report a loss in writing (art. 13.6): late after 10 working days, then no right to
        compensation; the other party has 10 working days to remedy it."""
        data = dict(self.input(request))
        client = client_for(request, data.pop("client", None))
        claim = services.loss_claim_report(client=client, acting_user=request.user, **data)
        return self.present(
            selectors.loss_claim_get(user=request.user, pk=claim.pk),
            LossClaimDetailSerializer,
            status=201,
        )


class LossClaimDetailApi(Api):
    queryset = LossClaim.objects.none()
    permission_classes = [IsClientUserOrStaff]

    @extend_schema(tags=["loss-claims"], responses={200: LossClaimDetailSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One loss claim (art. 13.6): its report and remedy deadlines, whether it was reported
        late, the liability cap left (art. 13.4) and the payouts made."""
        return self.present(
            selectors.loss_claim_get(user=request.user, pk=pk), LossClaimDetailSerializer
        )


class LossClaimRemedyApi(Api):
    queryset = LossClaim.objects.none()
    permission_classes = [IsClientAdminOrStaff]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(allow_blank=True)

    @extend_schema(
        tags=["loss-claims"],
        request=InputSerializer,
        responses=responses(200, LossClaimDetailSerializer),
    )
    def post(self, request, pk):
        """The other party records that it remedied the loss (art. 13.6)."""
        claim = selectors.loss_claim_get(user=request.user, pk=pk)
        services.loss_claim_remedy(
            claim=claim, note=self.input(request)["note"], acting_user=request.user
        )
        return self.present(
            selectors.loss_claim_get(user=request.user, pk=pk), LossClaimDetailSerializer
        )


class LossClaimAssessApi(Api):
    queryset = LossClaim.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        exclusions = serializers.ListField(child=serializers.CharField(), help_text="art. 13.3")
        exceptions = serializers.ListField(child=serializers.CharField(), help_text="art. 13.5")

    @extend_schema(
        tags=["loss-claims"],
        request=InputSerializer,
        responses=responses(200, LossClaimDetailSerializer),
    )
    def post(self, request, pk):
        """Record the exclusions of art. 13.3 and the exceptions of art. 13.5 that apply."""
        claim = selectors.loss_claim_get(user=request.user, pk=pk)
        services.loss_claim_assess(claim=claim, acting_user=request.user, **self.input(request))
        return self.present(
            selectors.loss_claim_get(user=request.user, pk=pk), LossClaimDetailSerializer
        )


class LossClaimPayoutApi(Api):
    queryset = LossClaim.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        amount = AmountField()
        currency = serializers.CharField(max_length=3)
        paid_on = serializers.DateField()

    @extend_schema(
        tags=["loss-claims"],
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, ClaimPayoutSerializer),
    )
    def post(self, request, pk):
        """Record compensation paid on the claim, within the cap of art. 13.4. Requires
        Idempotency-Key."""

        # another client's claim is 404 before the key is asked for
        claim = selectors.loss_claim_get(user=request.user, pk=pk)

        def handler():
            key = require_key(request)
            payout = services.claim_payout_record(
                claim=claim,
                acting_user=request.user,
                idempotency_key=f"api:{key}",
                **self.input(request),
            )
            return self.present(payout, ClaimPayoutSerializer, status=201)

        return idempotent(request, handler)
