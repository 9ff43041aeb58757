"""python -m web api|relay|consumer|migrate|reset"""
from kernel.cli import main
from web.handlers import HANDLERS
from web.settings import WebSettings

main(settings_cls=WebSettings, app_factory="web.app:create_app", migrations_package="web.migrations", handlers=HANDLERS)
