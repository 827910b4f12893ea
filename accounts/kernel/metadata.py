"""What OPTIONS answers for every API endpoint."""

from typing import TYPE_CHECKING, Any

from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request

if TYPE_CHECKING:  # rest_framework.views imports this module through its settings
    from rest_framework.views import APIView


class PlainMetadata(SimpleMetadata):
    """The endpoint's name, description, media types and allowed methods; the request body's
    fields are in the OpenAPI schema at /api/schema/, not guessed from serializers here."""

    def determine_metadata(self, request: Request, view: "APIView") -> dict[str, Any]:
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "allowed_methods": list(view.allowed_methods),
        }
