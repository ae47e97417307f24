"""Registry reads: records."""

__all__: list[str] = []
