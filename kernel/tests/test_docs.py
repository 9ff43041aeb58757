"""The API docs pages of every building block (build_app's /docs and /redoc) load nothing from outside the service."""
import sys

import httpx
import pytest
from fastapi import APIRouter

from kernel.app import build_app
from kernel.auth import require
from kernel.settings import ServiceSettings
from kernel.testing import docs_page_files, serve

ASSETS = "/docs/assets"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A service as build_app makes it, with an API path that needs a token and a database of its own (SQLite)."""
    root = tmp_path_factory.mktemp("docs")
    package = root / "docs_test_migrations"
    (package / "versions").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "env.py").write_text("from sqlalchemy import MetaData\n\nfrom kernel.migrations import run\n\nrun(MetaData())\n")
    sys.path.insert(0, str(root))
    router = APIRouter()

    @router.get("/things", dependencies=[require(roles=("reader",))])
    def things() -> list[str]:
        return []

    yield build_app(ServiceSettings(service_name="docs-test", data_dir=root, environment="test"), title="Docs test",
                    version="1.0.0", api_router=router, migrations_package="docs_test_migrations")
    sys.path.remove(str(root))


@pytest.fixture(scope="module")
def url(app):
    with serve(app) as url:
        yield url


def test_swagger_ui_loads_its_files_from_the_service(url):
    files = docs_page_files(url, "/docs")

    assert files == {f"{ASSETS}/swagger-ui-bundle.js": "text/javascript", f"{ASSETS}/swagger-ui.css": "text/css",
                     f"{ASSETS}/favicon.png": "image/png"}


def test_redoc_loads_its_files_from_the_service_and_no_web_fonts(url):
    files = docs_page_files(url, "/redoc")

    assert files == {f"{ASSETS}/redoc.standalone.js": "text/javascript", f"{ASSETS}/favicon.png": "image/png"}


def test_pages_keep_the_openapi_document_and_the_oauth2_redirect_page(url):
    swagger, redoc = httpx.get(f"{url}/docs").text, httpx.get(f"{url}/redoc").text
    redirect = httpx.get(f"{url}/docs/oauth2-redirect")
    document = httpx.get(f"{url}/openapi.json").json()

    assert "url: '/openapi.json'" in swagger and "'/docs/oauth2-redirect'" in swagger
    assert '<redoc spec-url="/openapi.json">' in redoc
    assert redirect.status_code == 200 and "oauth2" in redirect.text.lower()
    assert not [path for path in document["paths"] if path.startswith(("/docs", "/redoc"))]  # nor are their files


def test_files_need_no_token_while_the_api_still_does(url):
    assert httpx.get(f"{url}{ASSETS}/swagger-ui.css").status_code == 200
    assert httpx.get(f"{url}/things").status_code == 401


def test_unknown_file_is_not_found(url):
    assert httpx.get(f"{url}{ASSETS}/nothing.js").status_code == 404


def test_behind_a_path_prefix_the_pages_name_their_files_under_it(app):
    """A proxy serving the service under /consent, which it strips (root_path): the browser asks for the prefixed address."""
    with serve(app, root_path="/consent") as url:
        swagger, redoc = httpx.get(f"{url}/docs").text, httpx.get(f"{url}/redoc").text
        file = httpx.get(f"{url}{ASSETS}/swagger-ui-bundle.js")  # as the proxy forwards it

    assert f'src="/consent{ASSETS}/swagger-ui-bundle.js"' in swagger and f'href="/consent{ASSETS}/swagger-ui.css"' in swagger
    assert "url: '/consent/openapi.json'" in swagger and f'src="/consent{ASSETS}/redoc.standalone.js"' in redoc
    assert file.status_code == 200
