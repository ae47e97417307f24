"""Registry services: legal (see the package documentation)."""

__all__: list[str] = []
