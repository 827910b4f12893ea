"""Role permissions of the billing API, beside accounts.api.permissions."""

from accounts.api.permissions import _RolePermission


class IsPlatform(_RolePermission):
    """The messaging platform's machine user, authenticated by its hashed API key."""

    message = "Only the messaging platform may report usage."

    def allows(self, user) -> bool:
        return user.role == user.Role.PLATFORM
