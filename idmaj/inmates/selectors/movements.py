"""Registry reads: movements."""

__all__: list[str] = []
