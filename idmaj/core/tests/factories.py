import factory

from idmaj.core.constants import ScopeLevel
from idmaj.core.models import Role, RoleAssignment, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def grant(user, role_code: str, *, facility=None, region=None) -> RoleAssignment:
    """Give ``user`` a role at a facility, a region, or nationally (neither given)."""
    level = (
        ScopeLevel.FACILITY if facility else ScopeLevel.REGION if region else ScopeLevel.NATIONAL
    )
    assignment = RoleAssignment.objects.create(
        user=user,
        role=Role.objects.get(code=role_code),
        level=level,
        facility=facility,
        region=region,
    )
    if hasattr(user, "_idmaj_access"):
        del user._idmaj_access
    return assignment
