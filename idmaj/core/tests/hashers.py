from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with test-sized costs: same algorithm and hash format, a fraction of the time."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1
