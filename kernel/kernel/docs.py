"""The API docs pages (/docs with Swagger UI, /redoc with ReDoc) served whole by the service itself.

FastAPI's own pages load their scripts, style sheet and icon from cdn.jsdelivr.net (and ReDoc its fonts from Google),
so on a network without Internet access, such as the government data centre, they are blank. These are the same pages at
the same addresses, with the files taken from the fastapi-offline package (Swagger UI 5, which reads the OpenAPI 3.1
documents FastAPI writes, and ReDoc 2) and served under /docs/assets: public like the pages, and under /docs, where no
API path of any building block lies.
"""
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
_ASSETS = ("fastapi_offline", "static")  # swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png


def install_docs(app: FastAPI) -> None:
    """Add /docs, its OAuth2 redirect page and /redoc to an app built with docs_url=None and redoc_url=None, as FastAPI's
    own setup would (the same routes, outside the OpenAPI document, the proxy's root_path honoured), and mount their files."""
    if not app.openapi_url:
        return  # no document, no docs (as in FastAPI)
    app.mount(ASSETS_URL, StaticFiles(packages=[_ASSETS]), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
        return get_swagger_ui_html(
            openapi_url=root + app.openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=root + oauth2_redirect_url if oauth2_redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + app.openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    if app.swagger_ui_oauth2_redirect_url:
        app.add_route(app.swagger_ui_oauth2_redirect_url, swagger_ui_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
