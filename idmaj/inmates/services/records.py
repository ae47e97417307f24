"""Registry services: records (see the package documentation)."""

__all__: list[str] = []
