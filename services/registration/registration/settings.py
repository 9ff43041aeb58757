"""Settings of the registration service (environment variables; see the README's table)."""
import math
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

from pydantic import field_validator, model_validator
from pydantic_settings import NoDecode

from kernel.settings import ServiceSettings, _split_csv

# DEV-ONLY private key of the service account registration-bb (role `verifier` at the Identity BB, to ask the Consent BB
# about applicants' consent); its public half is DEV_SERVICE_PUBLIC_JWK. Production sets SERVICE_PRIVATE_JWK.
DEV_SERVICE_PRIVATE_JWK = '{"n": "5VaOpkexe_JAoaV4QnsCcZvvgpuzGXQYV7VX5Yaulc3F4_uwR4O1gbMkZbxBAkj0V490GXKN8evc2JBalt-rugGhNPmMXC_MmiZXTxhgcN1nR4Fnf-q0HI17lRW0f4lUHbVlr-7TlOIKPAyFeb2jh4OFPnP8e9ExaAtpxWHNRrFysLm5tnkVbR3cDODi2OwUtsW0qeKTidW6JEJHj7JVzFIMTeb2reVaKzzpAKwzFLWQ5xja-juGtWtfdAtndzTMUDos0yjQDTjoRv8JozwyHj0JShc55ZYAy26snQftzyDP2QnW_oNAAzjJEqMt3dhlIQZglJFv_Mm_O00gyBiXXw", "e": "AQAB", "d": "M2ty1Gliq-2m_BdDnXRDGgHic6BBScWz54ZrTLUj08atRe6amY44Vfo6gOzyjnaZAkDRwRrkJIfDnnLPPOCteij_YgdJpym4cB-El-FZTjT2ARxMfmu7MmOuf8C8FZRO3dJcGFQt8EW2Ebyk-KTCU5HzgAs1YvWGZFOaxXymL-EQowlUo89ESfJq8LKGsstnmByJXfaImmOFUgT9jgEsX4pKzwD8DblP0bgqBeABYC-m5As8S5eHfFpFDxLpY6g2Ip8yVfzfqMAMDn4AREpmdrxhic8ji_dIN6kVrbR0zhLWmX8Qi9Sk9Nc-MYKONwz-nx_fpQKWGYZkFO91uHcB0Q", "p": "-wQi4u3qiI-3ROVAaPx3WEMMh5qb0OqnqudFMeOCS6BsThU9ZhzyiJBFCqc-9ARWaM56h51KUuNoX5V3QNv99vnixfk_wh_2eaIefUhHfqOuZhm76rr-zTZceh5D3MCrna2b_AFISG75eFz8DgmFNvD_VtM-MgKnC7N5JYClNG0", "q": "6eQ8Y6NzDnbFvAAfdWm2YDFyjlX6F96PLN0gfmWUqb7J7mxOFJQPic70vLBunkopBl9QpvCUdp5gfyG5Ukp8u_21o3WbmhyDZwnjq8eWm9Wo8KTmCPiTKAhQF4wBGs25PCEWFQ8MwAL6g9AWJIFf8GgnHb2F68cde0Tdlk1To3s", "dp": "lysKh3eYgt1qFYeqno9MoE7gwNmPdOWcTAQzW7QTx8-46d1IuLI-LZgUvDG0a-gg0cVnbTyAgiKJvOaahuj1rUMYGvncN-Bf4yiLDA_3XoDcioh87wPmZ1eRocmQPOWbdL4U7lMnYNfUTXRSJ3H8U_YXEAbvsdZ_G0DeeINc-pE", "dq": "Kf218dWIdJJSUbxb6YJ_Ian-_RrmeZ6VaeKRUN__3rHIIywCoKMsXvtu6OlsErMRxnkaS75piRpKDMkLMoD4_-8-ywf0VajE1pzp6Q8-NOAZIosYWYf3M3q6ll-mWx-QIAF4q3M2QMrIGx4iu48WoFyymR5LitcGrfjhJ3jeiT0", "qi": "LNTNgG9MUOC3qlLXK1g5rjhCLHfjAsUYUyi9wFmY067zE_0U_HgKHyZAQnv_JDs38qjnEbPYomIx0TPkd2PFwuNP8a28OvghYHTAwxK0WLGH_By7NdKc7nrGgpy3-9VpTgrZLOSjHSULRRI3I-Bo0atSg3BB35CprcRgXvIMMH8", "kid": "registration-bb-dev-1", "use": "sig", "alg": "RS256", "kty": "RSA"}'
DEV_SERVICE_PUBLIC_JWK = {"n": "5VaOpkexe_JAoaV4QnsCcZvvgpuzGXQYV7VX5Yaulc3F4_uwR4O1gbMkZbxBAkj0V490GXKN8evc2JBalt-rugGhNPmMXC_MmiZXTxhgcN1nR4Fnf-q0HI17lRW0f4lUHbVlr-7TlOIKPAyFeb2jh4OFPnP8e9ExaAtpxWHNRrFysLm5tnkVbR3cDODi2OwUtsW0qeKTidW6JEJHj7JVzFIMTeb2reVaKzzpAKwzFLWQ5xja-juGtWtfdAtndzTMUDos0yjQDTjoRv8JozwyHj0JShc55ZYAy26snQftzyDP2QnW_oNAAzjJEqMt3dhlIQZglJFv_Mm_O00gyBiXXw", "e": "AQAB", "kid": "registration-bb-dev-1", "use": "sig", "alg": "RS256", "kty": "RSA"}
# DEV-ONLY key that signs the certificates of approved registrations; production sets CERTIFICATE_PRIVATE_JWK.
DEV_CERTIFICATE_PRIVATE_JWK = '{"crv": "P-256", "x": "-0CkteJczrDMug-LYoDBzQqh0_b6jwjS33vjc01JB94", "y": "DHMeX4buUY52Wp7qy13mZfA1U56Ep3fKfZKvlNFPVxE", "d": "BA0XFA3QFgaJKMczwZX5kZ0V5bIsFT4LKD_dgU38XVU", "kid": "registration-certificates-dev-1", "use": "sig", "alg": "ES256", "kty": "EC"}'


class RegistrationSettings(ServiceSettings):
    service_name: str = "registration"
    port: int = 8002
    # Its own tokens, and those of the citizen portal's users (issued for the portal's OIDC client and forwarded by the
    # gateway): citizens act as themselves, staff with the roles their token carries.
    oidc_audience: Annotated[list[str], NoDecode] = ["registration", "govstack-portal"]
    # Uploads live in the database; only documents uploaded before that are read from files here (and then moved into
    # the database). Empty: <data_dir>/registration-documents.
    documents_dir: Path | None = None
    max_document_bytes: int = 10 * 1024 * 1024  # the ceiling; a service's document types may set lower limits
    # Uploads not yet tied to a service's document type must be one of these (sniffed, not declared).
    default_document_types: list[str] = ["application/pdf", "image/png", "image/jpeg"]
    # Clients upload first and name the upload in a draft or an application afterwards: an upload nothing lists is
    # deleted once it is this old, by the purge the API process runs every UPLOAD_PURGE_INTERVAL_SECONDS.
    upload_orphan_hours: float = 24.0
    upload_purge_interval_seconds: float = 3600.0
    admin_roles: list[str] = ["admin"]
    registry_readers: list[str] = ["registry.read"]  # roles or scopes that may read the registry

    # require_signed_in_citizen: the issuers whose person tokens count as citizens (empty: every OIDC_ISSUERS issuer),
    # and the roles that mark a token as staff (besides ADMIN_ROLES and the e-service's own processing roles).
    citizen_issuers: Annotated[list[str], NoDecode] = []
    staff_roles: Annotated[list[str], NoDecode] = ["designer", "operator", "auditor"]

    # require_consent: the Consent BB is asked through the gateway, as the application registration-bb, with our own
    # service token (client credentials, private_key_jwt, from <identity_url>/oauth/token).
    identity_url: str = "http://localhost:8001"
    service_client_id: str = "registration-bb"
    service_private_jwk: str = DEV_SERVICE_PRIVATE_JWK  # the private JWK as JSON
    consent_audience: str = "consent"
    gateway_client: str = "LA/GOV/LA-DGC/registration-bb"  # Information-Mediator-Client: INSTANCE/CLASS/MEMBER/APPLICATION
    consent_gateway_path: str = "/r1/LA/GOV/LA-DGC/consent-bb/consent"
    consent_timeout_seconds: float = 5.0

    # Certificates of approved registrations are JWS-signed with this key (P-256); /certificates/keys publishes its public half.
    certificate_private_jwk: str = DEV_CERTIFICATE_PRIVATE_JWK

    _split_lists = field_validator("citizen_issuers", "staff_roles", mode="before")(_split_csv)

    @field_validator("upload_orphan_hours", "upload_purge_interval_seconds")
    @classmethod
    def _positive(cls, value: float, info) -> float:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{info.field_name.upper()} must be a positive number")
        return value

    @field_validator("upload_orphan_hours")
    @classmethod
    def _a_cutoff_the_purge_can_compute(cls, value: float) -> float:
        try:
            datetime.now(timezone.utc) - timedelta(hours=value)
        except OverflowError:
            raise ValueError("UPLOAD_ORPHAN_HOURS is too large") from None
        return value

    @field_validator("upload_purge_interval_seconds")
    @classmethod
    def _an_interval_the_purge_can_wait(cls, value: float) -> float:
        if value > threading.TIMEOUT_MAX:
            raise ValueError("UPLOAD_PURGE_INTERVAL_SECONDS is too large")
        return value

    @model_validator(mode="after")
    def _documents_under_data_dir(self):
        if self.documents_dir is None:
            self.documents_dir = self.data_dir / "registration-documents"
        return self

    @model_validator(mode="after")
    def _no_development_keys_in_production(self):
        if self.environment == "production" and self.service_private_jwk == DEV_SERVICE_PRIVATE_JWK:
            raise ValueError("SERVICE_PRIVATE_JWK must be set in production (the default is a development key)")
        if self.environment == "production" and self.certificate_private_jwk == DEV_CERTIFICATE_PRIVATE_JWK:
            raise ValueError("CERTIFICATE_PRIVATE_JWK must be set in production (the default is a development key)")
        return self
