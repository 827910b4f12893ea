def portal(request):
    user = getattr(request, "user", None)
    client = getattr(user, "client", None) if user is not None and user.is_authenticated else None
    return {"current_client": client}
