"""python -m messaging api|relay|consumer|migrate|reset"""
from kernel.cli import main
from messaging.handlers import HANDLERS
from messaging.settings import MessagingSettings

main(settings_cls=MessagingSettings, app_factory="messaging.app:create_app", migrations_package="messaging.migrations", handlers=HANDLERS)
