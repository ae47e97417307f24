"""Registry services: movements (see the package documentation)."""

__all__: list[str] = []
