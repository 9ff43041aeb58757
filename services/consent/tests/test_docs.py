"""The service's API docs work on a network without Internet access: every file the pages load comes from the service."""
import httpx

from kernel.testing import docs_page_files


def test_swagger_ui_and_redoc_load_only_files_the_service_serves(base_url):
    swagger, redoc = docs_page_files(base_url, "/docs"), docs_page_files(base_url, "/redoc")

    assert set(swagger.values()) == {"text/javascript", "text/css", "image/png"}
    assert set(redoc.values()) == {"text/javascript", "image/png"}


def test_the_docs_files_lie_under_no_api_path(base_url):
    paths = httpx.get(f"{base_url}/openapi.json").json()["paths"]

    assert paths and not [path for path in paths if path.startswith(("/docs", "/redoc"))]
