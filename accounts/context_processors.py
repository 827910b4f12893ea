def portal(request):
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    client = getattr(user, "client", None) if signed_in else None

    def premium_offered() -> bool:
        """Premium services (CX Part V) are in the navigation only where a provider the user
        belongs to or serves offers them (the profile's `offers_premium_services`); asked only
        when a page's navigation reads it."""
        from .selectors import providers_visible_to

        if not signed_in:
            return False
        return providers_visible_to(user).filter(offers_premium_services=True).exists()

    return {"current_client": client, "premium_offered": premium_offered}
