"""Role permissions of the billing API, beside accounts.kernel.permissions."""

from accounts.kernel.permissions import RolePermission


class IsPlatform(RolePermission):
    """The messaging platform's machine user, authenticated by its hashed API key."""

    message = "Only the messaging platform may report usage."

    def allows(self, user) -> bool:
        return user.role == user.Role.PLATFORM
