"""Which user claims an authorization request asks for, and their values from a person's attributes."""
from kernel import safejson

SUPPORTED_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")
SCOPE_CLAIMS = {
    "profile": ("name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "gender", "birthdate",
                "picture", "locale", "zoneinfo"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "address": ("address",),
}
DEFAULT_LOCALES = ("lo", "en")


class InvalidClaimsRequest(ValueError):
    pass


def parse_scope(scope: str | None) -> list[str]:
    names = (scope or "").split()
    if "openid" not in names:
        raise InvalidClaimsRequest("scope must contain openid")
    unknown = [name for name in names if name not in SUPPORTED_SCOPES]
    if unknown:
        raise InvalidClaimsRequest("unsupported scope")
    return list(dict.fromkeys(names))


def requested(scopes: list[str], claims_param: str | None, allowed: list[str]) -> list[dict]:
    """[{name, essential}] from the scopes and the `claims` parameter, limited to what the client may ask for."""
    wanted: dict[str, bool] = {}
    for scope in scopes:
        for name in SCOPE_CLAIMS.get(scope, ()):
            wanted.setdefault(name, False)
    if claims_param:
        try:
            parsed = safejson.loads(claims_param)  # deep nesting is a ValueError too
        except ValueError:
            raise InvalidClaimsRequest("claims must be a JSON object")
        if not isinstance(parsed, dict):
            raise InvalidClaimsRequest("claims must be a JSON object")
        for part in ("userinfo", "id_token"):
            for name, spec in (parsed.get(part) or {}).items() if isinstance(parsed.get(part), dict) else ():
                essential = isinstance(spec, dict) and spec.get("essential") is True
                wanted[name] = wanted.get(name, False) or essential
    return [{"name": name, "essential": essential} for name, essential in wanted.items() if name in allowed]


def for_id_token(claims_param: str | None, allowed: list[str]) -> list[str]:
    """Names the `claims` parameter asks to have in the id_token itself (OIDC Core 5.5); call after requested() validated it."""
    parsed = safejson.loads(claims_param) if claims_param else {}
    id_token = parsed.get("id_token") if isinstance(parsed, dict) else None
    return [name for name in id_token if name in allowed] if isinstance(id_token, dict) else []


def _localised(value, locales: list[str]):
    """A value held per language ({"lo": ..., "en": ...}) in the first preferred language that has one."""
    if not isinstance(value, dict) or not value or not all(isinstance(k, str) and len(k) <= 3 for k in value):
        return value
    for locale in [*locales, *DEFAULT_LOCALES]:
        if locale in value:
            return value[locale]
    return next(iter(value.values()))


def values(attributes: dict, names: list[str], claims_locales: str | None) -> dict:
    """Claim values for the consented names; with several claims_locales, also name#lo, name#en etc."""
    locales = (claims_locales or "").split()
    out = {}
    for name in names:
        value = attributes.get(name)
        if value is None:
            continue
        out[name] = _localised(value, locales)
        if len(locales) > 1 and isinstance(value, dict) and name != "address":
            for locale in locales:
                if locale in value:
                    out[f"{name}#{locale}"] = value[locale]
    return out
