"""The signed-in user, a client's users and invitations (art. 5.2: access for authorised employees)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from accounts import selectors
from accounts.kernel.permissions import IsClientAdminOrStaff
from accounts.models import Invitation, Provider, User
from accounts.services import onboarding, users

from ..filters import InvitationFilter, UserFilter
from ..serializers import InvitationSerializer, UserSerializer
from .base import ERRORS_READ, Api, client_for, responses


def _client_users(request):
    return selectors.scoped(User.objects.filter(role__in=User.CLIENT_ROLES), user=request.user)


class MeApi(Api):
    queryset = User.objects.none()
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.ModelSerializer):
        client_name = serializers.CharField(
            source="client.legal_name", read_only=True, allow_null=True
        )
        is_provider_staff = serializers.BooleanField(read_only=True)
        is_client_admin = serializers.BooleanField(read_only=True)

        class Meta:
            model = User
            fields = [
                "id",
                "email",
                "full_name",
                "role",
                "client",
                "client_name",
                "is_provider_staff",
                "is_client_admin",
            ]

    @extend_schema(tags=["me"], responses={200: OutputSerializer, 401: ERRORS_READ[401]})
    def get(self, request):
        """Who the credentials belong to: the user, their role and their client."""
        return self.present(request.user, self.OutputSerializer)


class UserListApi(Api):
    queryset = User.objects.none()
    permission_classes = [IsClientAdminOrStaff]
    filterset_class = UserFilter

    @extend_schema(tags=["users"], responses={200: UserSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """A client admin sees its client's users, removed ones included; staff see every client's."""
        return self.paginated(
            _client_users(request).order_by("-is_active", "email"), UserSerializer
        )


class UserDetailApi(Api):
    queryset = User.objects.none()
    permission_classes = [IsClientAdminOrStaff]

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(
            choices=User.Role.choices, help_text="client_admin or client_viewer"
        )

    @extend_schema(tags=["users"], responses={200: UserSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """One user of a client, removed ones included."""
        return self.present(
            selectors.scoped_get(_client_users(request), user=request.user, pk=pk), UserSerializer
        )

    @extend_schema(
        tags=["users"], request=InputSerializer, responses=responses(200, UserSerializer)
    )
    def patch(self, request, pk):
        """Change a user between client admin and client viewer; a client keeps one active admin."""
        user = selectors.scoped_get(_client_users(request), user=request.user, pk=pk)
        data = self.input(request)
        return self.present(
            users.user_change_role(user=user, role=data["role"], acting_user=request.user),
            UserSerializer,
        )

    @extend_schema(tags=["users"], request=None, responses=responses(204, None))
    def delete(self, request, pk):
        """Remove a user: deactivated and kept for the record, never deleted."""
        user = selectors.scoped_get(_client_users(request), user=request.user, pk=pk)
        users.user_remove(user=user, acting_user=request.user)
        return Response(status=204)


class InvitationListApi(Api):
    queryset = Invitation.objects.none()
    permission_classes = [IsClientAdminOrStaff]
    filterset_class = InvitationFilter

    class InputSerializer(serializers.Serializer):
        email = serializers.CharField()
        role = serializers.ChoiceField(
            choices=User.Role.choices,
            required=False,
            help_text="client_admin or client_viewer; for a client's employee",
        )
        client = serializers.IntegerField(
            required=False, help_text="staff only; a client admin's own client by default"
        )
        provider = serializers.SlugRelatedField(
            slug_field="code",
            queryset=Provider.objects.all(),
            required=False,
            help_text="billing staff only: invite a person to register a new company with this provider",
        )

    @extend_schema(tags=["users"], responses={200: InvitationSerializer(many=True), **ERRORS_READ})
    def get(self, request):
        """Invitations sent to join a client (client admins) or to register a company (billing staff)."""
        invitations = Invitation.objects.select_related("provider", "invited_by")
        if request.user.is_provider_staff:  # onboarding invitations have no client yet
            invitations = selectors.provider_scoped(invitations, user=request.user)
        else:
            invitations = selectors.scoped(invitations, user=request.user)
        return self.paginated(invitations, InvitationSerializer)

    @extend_schema(
        tags=["users"], request=InputSerializer, responses=responses(201, InvitationSerializer)
    )
    def post(self, request):
        """A client admin invites an employee; billing staff invite a new company (`provider`). The link goes by email."""
        data = self.input(request)
        if data.get("provider") is not None:
            invitation, _ = onboarding.onboarding_invite(
                provider=data["provider"], email=data["email"], acting_user=request.user
            )
        else:
            client = client_for(request, data.get("client"))
            invitation, _ = users.user_invite(
                client=client,
                email=data["email"],
                role=data.get("role", ""),
                acting_user=request.user,
            )
        return self.present(invitation, InvitationSerializer, status=201)


class InvitationAcceptApi(Api):
    queryset = Invitation.objects.none()
    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="the key from the invitation email")
        full_name = serializers.CharField(max_length=200)
        password = serializers.CharField(write_only=True, style={"input_type": "password"})

    @extend_schema(
        tags=["users"], request=InputSerializer, responses=responses(201, UserSerializer), auth=[]
    )
    def post(self, request):
        """The invited employee sets a password and joins its client with the invited role."""
        data = self.input(request)
        user = users.invitation_accept(
            raw_token=data["token"], full_name=data["full_name"], password=data["password"]
        )
        return self.present(user, UserSerializer, status=201)
