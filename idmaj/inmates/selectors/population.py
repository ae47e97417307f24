"""Registry reads: population."""

__all__: list[str] = []
