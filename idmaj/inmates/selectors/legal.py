"""Registry reads: legal."""

__all__: list[str] = []
