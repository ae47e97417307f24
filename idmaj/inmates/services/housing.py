"""Registry services: housing (see the package documentation)."""

__all__: list[str] = []
