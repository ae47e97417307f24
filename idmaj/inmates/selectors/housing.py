"""Registry reads: housing."""

__all__: list[str] = []
