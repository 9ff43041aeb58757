"""python -m consent api|relay|consumer|migrate|reset"""
from kernel.cli import main
from consent.handlers import HANDLERS
from consent.settings import ConsentSettings

main(settings_cls=ConsentSettings, app_factory="consent.app:create_app", migrations_package="consent.migrations", handlers=HANDLERS)
