"""Rendering: Jinja2 templates with the request's language catalogue, and the language choice itself."""
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

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


def switch_url(request: Request, lang: str) -> str:
    params = dict(request.query_params)
    params["lang"] = "en" if lang == "lo" else "lo"
    return f"{request.url.path}?{urlencode(params)}"


def render(request: Request, name: str, *, status: int = 200, user=None, **context) -> HTMLResponse:
    lang = language(request)
    html = templates.get_template(name).render(lang=lang, t=i18n.CATALOGS[lang], switch_url=switch_url(request, lang), user=user, **context)
    response = HTMLResponse(html, status_code=status, headers=_HEADERS)
    if i18n.pick(request.query_params.get("lang")):
        # A ?lang= choice is kept in a cookie, so English is one click away and then sticks.
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response
