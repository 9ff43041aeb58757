"""Rendering: Jinja2 templates with the request's language catalogue, and the language choice itself."""
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.routing import Match

from web import catalogue, i18n

templates = Environment(loader=PackageLoader("web", "templates"), autoescape=select_autoescape(["html"]))
templates.globals["text"] = i18n.text
templates.globals["sections"] = catalogue.sections  # the wizard's field groups
templates.globals["shown_value"] = catalogue.shown_value
LANG_COOKIE = "lang"
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin"}


def language(request: Request) -> str:
    """?lang= wins (and render() remembers it in a cookie), then the lang cookie, then Lao."""
    return i18n.pick(request.query_params.get("lang")) or i18n.pick(request.cookies.get(LANG_COOKIE)) or i18n.DEFAULT


def _is_page(request: Request, path: str) -> bool:
    """Whether a GET of this local path reaches one of the portal's routes."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return False
    scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)


def _nearest_page(request: Request, path: str) -> str:
    """The path itself when it is a page, else the nearest page up it: /drafts/1/submit -> /drafts/1."""
    while path:
        if _is_page(request, path):
            return path
        path = path.rsplit("/", 1)[0]
    return "/"


def page_of(request: Request) -> str:
    """The GET page showing what this request shows: itself (with its query) for a GET; for a form post (a page rendered
    in answer to it, such as a validation error), the page of the post's path, so links never lead to a POST-only URL."""
    if request.method in ("GET", "HEAD"):
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return _nearest_page(request, request.url.path)


def _ours(request: Request, url) -> bool:
    origins = {f"{request.url.scheme}://{request.url.netloc}"}
    public = urlsplit(request.app.state.settings.public_url)
    origins.add(f"{public.scheme}://{public.netloc}")
    return f"{url.scheme}://{url.netloc}" in origins


def form_page(request: Request) -> str:
    """Where to come back to after a new sign-in: a GET's own URL; for a post, the page the form was on (the Referer when it
    is one of our pages), else the nearest page up the post's path. Always a local path: no open redirect."""
    if request.method in ("GET", "HEAD"):
        return page_of(request)
    referer = urlsplit(request.headers.get("referer", ""))
    if not _ours(request, referer):
        return _nearest_page(request, request.url.path)
    if _is_page(request, referer.path):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return _nearest_page(request, referer.path)  # the form was on a page rendered in answer to a post


def same_origin_post(request: Request) -> bool:
    """A post the browser says comes from one of our pages (Origin), not a form on another site."""
    origin = request.headers.get("origin")
    return bool(origin) and _ours(request, urlsplit(origin))


def switch_url(request: Request, lang: str) -> str:
    path, _, query = page_of(request).partition("?")
    params = dict(parse_qsl(query))
    params["lang"] = "en" if lang == "lo" else "lo"
    return f"{path}?{urlencode(params)}"


def render(request: Request, name: str, *, status: int = 200, user=None, **context) -> HTMLResponse:
    lang = language(request)
    html = templates.get_template(name).render(lang=lang, t=i18n.CATALOGS[lang], switch_url=switch_url(request, lang), user=user, **context)
    response = HTMLResponse(html, status_code=status, headers=_HEADERS)
    if i18n.pick(request.query_params.get("lang")):
        # A ?lang= choice is kept in a cookie, so English is one click away and then sticks.
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response
