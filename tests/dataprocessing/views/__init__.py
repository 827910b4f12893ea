from django.urls import reverse


def url(name, *args):
    """The path of a data-processing page."""
    return reverse(f"dataprocessing:{name}", args=args)
