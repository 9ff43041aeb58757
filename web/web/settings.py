"""Settings of the web portal (environment variables; see the README's table)."""
from pydantic import model_validator

from kernel.settings import ServiceSettings

# DEV-ONLY private key of the OIDC client govstack-portal; identity's demo fixture registers its public half.
# Never use it outside local development: production sets PORTAL_CLIENT_JWK to its own key.
DEV_PORTAL_CLIENT_JWK = '{"n": "t3tfiY99HW0O3nvcDDvXACosxmM75lIOSyiw9826ORLFod6bHI2vgy3RziFpdUveq0q3VMViDvYvXYejLbRBJIeR3p1dXpUG3ubKqJDsspgf3c51nPF9dLIcp-5vEJVFb3pRRHBIzWmKBDRfrKSQ9Wqt7vnEc8HXDjnYUxc0EWAlMx75aJImNOFsTpBEqLWHZ6_6M2Sy1frXK3wYR3NbqG9nE4XdGLVNzZuN1DNXYOKKfuH_h1ztrJusUjhNnR2WwxT_m3nH9lKKjaAJZ3V27lGXfbcy_StmjteaTvzyLkWbAUrqw80WYp1GpRe6p1H8VvyZgW83avK2g6jtxN_DeQ", "e": "AQAB", "d": "ERNtEIUXYIv0CI4v7D6Mc6I5MQxuuHB2DpYepC1UEbg2xuoL9wQTq8pxnnS7FxTEyB3Hwp6tEdXlEhgLvnbqYh8w2u470I_fiBKkFTyJntRsEM1EYmMSKTBjXNiiowE1aVrRoeQuTlmuY9ZI-i0FpaV0QwuhNiG55UPKZ28_JAetHiF-lbt8hha9iADZ6mHMN8C6g9riS3iT0IiZEkp6jCF7oj3cDU282kVjCu-l0ElRDqxaEDZ_2VeXa484k4Sm15sofJLN2WkS0BvM--vOE7PfbBXE_2gkV8z1YIzXr93EV_jv0MfXiwOT5uTIEw2IgA4SMxV_zMh1wkrUZ_ZXlQ", "p": "-0sbBUiDLOEN_4bwo1Fhr3o96xrZa5bPSVVfdPw_gBppyHojG3oxBHIJegF8b6nlR8HeNpIuD1BuxT0xzT3ROpqK9xCwsdC-Wb45Jag_aTC6OB37ddEl5sFovGSOs5GgiqfCz0QYXx788uGnI-p-27PGQ9Aonf9oc4gq83QQNAU", "q": "uusgjyliRJH8gsYIleeDwDClQ7cZU9g07vH-5WJJB2v7KEUFhfroIdx_6_TvWPWDHf3wem9qHCkY9xv3RTERDxNlRaz4ZIK9Yz4piFpvEA8qrgreHxCrrajiKwIVVk6ZXaG-bbau4O2Dz30bfb1QOVL38_7KWE8f1sRbkAeEP-U", "dp": "Wyx610Xh4gydqZJqCLdkO-icQorxS6nh93d0NNu4pl_u9X_q8PM6iaReb9fOMC1yNMDQQPh0obXLGuEDCrZdDWg49z8k_L8B8UmlLlaG-0FkryuhqrOBjuGpgIDzjY9Osj__3HeWaBy0JeNdYxiXglsNmlkSA5FBcnl7K-12W4k", "dq": "Kjj6vdwHSp3_gDrjrZkCdeOHMWim2_2211Lq1T4CaR7HOS1-NembjiqU6uQFPP8YgyndrIqGWZ4e-ZLjpEmVJOaotbiA05OE3GoqT5a-B86lQXNLAZFudmfzzutFjp1qn2_t6DKgBkcgwznrf9fHy2smf4NKifA1rPnmBP7trNE", "qi": "fWASWi2mPNdBIqQBIyymPci_mYgjCnQEQ4ACOOwATJ1GnxDRj27LPds1DxBpV88D5GuAVTxOfX6s7v_aEi_rzyBEnG9Ap0dCxuL_hjbeuqrCuHU1EEu5lcznZIlIBYMuLK7uSL8zcgsdZgBfzlJbrk8pRUWbqxxy_9BPET95WYc", "kid": "govstack-portal-dev-1", "use": "sig", "alg": "RS256", "kty": "RSA"}'


class WebSettings(ServiceSettings):
    service_name: str = "web"
    port: int = 8080
    identity_url: str = "http://localhost:8001"  # the Identity BB as browsers and this server reach it (its issuer)
    # Where browsers reach the Identity BB when its issuer URL is an internal host name (compose: http://localhost:8001).
    identity_browser_url: str = ""
    # Staff sign-in: empty means the Identity BB's staff login; compose sets its Keycloak realm (found through discovery),
    # and STAFF_ISSUER_BROWSER_URL where browsers reach it when the issuer is an internal host name.
    staff_issuer_url: str = ""
    staff_issuer_browser_url: str = ""
    portal_client_id: str = "govstack-portal"
    portal_client_jwk: str = DEV_PORTAL_CLIENT_JWK  # JWK JSON of the private key for private_key_jwt
    im_client: str = "LA/GOV/LA-DGC/web-portal"  # Information-Mediator-Client of the portal at the gateway
    im_provider: str = "LA/GOV/LA-DGC"  # the government member whose building blocks the portal calls
    session_seconds: int = 3600
    default_language: str = "lo"

    @model_validator(mode="after")
    def _refuse_dev_key_in_production(self):
        if self.environment == "production" and self.portal_client_jwk == DEV_PORTAL_CLIENT_JWK:
            raise ValueError("PORTAL_CLIENT_JWK must be set to the portal's own key in production")
        return self

    @property
    def cookie_secure(self) -> bool:
        return self.public_url.startswith("https")
