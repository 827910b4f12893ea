"""The base of every API view: thin, role-checked, one view per resource or action.

A view reads through `accounts.selectors` (so another client's id is 404), writes through one
function of a noun module of `accounts.services`, and lets `accounts.kernel.api_errors` turn domain errors into the
one error shape.
"""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from accounts import selectors
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.permissions import IsClientUserOrStaff

from ..serializers import ErrorsSerializer

_ERROR = OpenApiResponse(ErrorsSerializer, description="the one error shape")
ERRORS_READ = {401: _ERROR, 403: _ERROR, 404: _ERROR}
ERRORS_WRITE = {400: _ERROR, 401: _ERROR, 403: _ERROR, 404: _ERROR, 409: _ERROR}

# `?client=` (read by client_from_query) and the `Idempotency-Key` header of money-moving POSTs.
CLIENT_PARAM = OpenApiParameter(
    "client", int, description="the client's id (staff; a client user's own client by default)"
)
KEY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)


def client_for(request, client_id):
    """The client an input names, or the caller's own; another client's id is 404."""
    client_id = client_id or request.user.client_id
    if client_id is None:
        raise ValidationFailed({"client": [gettext("Name the client this is for.")]})
    return selectors.client_get(user=request.user, pk=client_id)


def client_from_query(request):
    """The client named by `?client=` (staff) or the caller's own; another client's id is 404."""
    raw = request.query_params.get("client")
    if raw is not None and not raw.isdigit():
        raise ValidationFailed({"client": [gettext("client must be a client id.")]})
    return client_for(request, int(raw) if raw else None)


def responses(ok_status: int, serializer, errors=None) -> dict:
    return {ok_status: serializer, **(ERRORS_WRITE if errors is None else errors)}


# The base of every endpoint. `queryset` is only there to name the model for the schema; reads
# go through the selectors, so it is always empty. Nested `InputSerializer` / `OutputSerializer`
# classes get component names from their view (`ClientRejectApi.InputSerializer` is
# `ClientReject` in the schema), so names never collide.
# These are notes for developers, so they are a comment: drf-spectacular shows a view's
# docstring (inherited ones too) as the operation's description to the API's users.
class Api(GenericAPIView):
    permission_classes = [IsClientUserOrStaff]
    # Who may write (POST, PATCH, DELETE) where that differs from who may read.
    write_permission_classes: list | None = None

    def handle_exception(self, exc):
        """A refusal always answers JSON, even to `?format=csv` or a PDF request: the error
        body is the API's error object, never an empty file."""
        response = super().handle_exception(exc)
        renderer = getattr(self.request, "accepted_renderer", None)
        if renderer is not None and renderer.format not in ("json", "api"):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def get_permissions(self):
        if self.write_permission_classes is not None and self.request.method not in SAFE_METHODS:
            return [permission() for permission in self.write_permission_classes]
        return super().get_permissions()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        stem = cls.__name__.removesuffix("Api")
        for attr, suffix in (("InputSerializer", ""), ("OutputSerializer", "Result")):
            serializer = cls.__dict__.get(attr)
            if serializer is not None and serializer.__qualname__ == f"{cls.__qualname__}.{attr}":
                serializer.__name__ = f"{stem}{suffix}"

    def input(self, request, **context):
        serializer = self.InputSerializer(
            data=request.data, context={"request": request, **context}
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def paginated(self, queryset, serializer_class):
        queryset = self.filter_queryset(queryset)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(
            serializer_class(page, many=True, context={"request": self.request}).data
        )

    @staticmethod
    def present(obj, serializer_class, status: int = 200) -> Response:
        return Response(serializer_class(obj).data, status=status)
