"""Registry services: imports (see the package documentation)."""

__all__: list[str] = []
