"""The citizen portal is named the same on its own pages and on the Identity BB's sign-in pages, in both languages."""
from identity.fixtures import PORTAL_CLIENT_NAME, PORTAL_CLIENT_NAMES
from web.i18n import CATALOGS


def test_the_demo_portal_client_is_named_as_the_portal_names_itself():
    assert PORTAL_CLIENT_NAME == CATALOGS["en"]["site_title"]
    assert PORTAL_CLIENT_NAMES["lo"] == CATALOGS["lo"]["site_title"]
