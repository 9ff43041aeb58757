"""Tokens of the citizen portal act as the citizen: role `citizen` for their own individual only, whatever else they claim.

The portal (OIDC client `govstack-portal`) calls the consent BB through the gateway with the signed-in citizen's access
token. Identity issues it for the portal's client id, with the citizen's pairwise `sub` and no roles, so the consent BB
accepts that audience too, and maps such a token to the citizen role: it may read and change only the records of the
individual bound to its `sub`. A staff token issued for the consent BB's audience too (identity's /staff/token with
STAFF_TOKEN_AUDIENCES, or Keycloak's portal client with its audience mappers) keeps its roles. A staff member signed in to
the portal's consoles through identity's own staff login holds a token issued for the portal's client id only: of its
roles only `auditor` counts here, for the auditor console's reads of the audit API; no other role of a token issued
only for the portal acts here, whatever it claims.
"""
from dataclasses import replace

from kernel.auth import Caller, TokenVerifier

CITIZEN = "citizen"
AUDITOR = "auditor"  # reads audit data and changes nothing (routes/audit.py)


class CitizenTokenVerifier:
    """The kernel's TokenVerifier, with the portal's user tokens turned into citizen callers."""

    def __init__(self, verifier: TokenVerifier, *, citizen_clients: list[str], own_audiences: list[str]):
        self.verifier = verifier
        self.citizen_clients = frozenset(citizen_clients)
        # A citizen client listed in OIDC_AUDIENCE too is still not the consent BB's own audience.
        self.own_audiences = frozenset(own_audiences) - self.citizen_clients
        self.http = verifier.http  # closed by the kernel's lifespan
        for client in citizen_clients:
            if client not in verifier.audiences:
                verifier.audiences = [*verifier.audiences, client]

    def verify(self, token: str) -> Caller:
        return as_citizen(self.verifier.verify(token), citizen_clients=self.citizen_clients, own_audiences=self.own_audiences)


def _audiences(caller: Caller) -> set[str]:
    aud = caller.claims.get("aud")
    return {aud} if isinstance(aud, str) else set(aud or ())


def as_citizen(caller: Caller, *, citizen_clients: frozenset[str], own_audiences: frozenset[str]) -> Caller:
    """A user token of a citizen client without roles, or any token issued only for such a client, acts as the citizen;
    one that holds the auditor role acts as an auditor only."""
    for_us = bool(_audiences(caller) & own_audiences)
    if for_us and (caller.client_id not in citizen_clients or caller.roles):
        return caller
    if not caller.subject or caller.subject == caller.client_id:
        # The portal's own client-credentials token: no individual behind it, so no rights here.
        return replace(caller, roles=frozenset(), scopes=frozenset())
    if caller.client_id in citizen_clients and AUDITOR in caller.roles:
        # A staff auditor in the portal's console: identity issues the consoles' staff tokens for the portal's client id
        # alone, so the auditor role would otherwise be lost here. Their other roles (admin included) stay ignored.
        return replace(caller, roles=frozenset({AUDITOR}), scopes=frozenset())
    return replace(caller, roles=frozenset({CITIZEN}), scopes=frozenset())
