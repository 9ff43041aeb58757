"""python -m consent api|relay|consumer|migrate|reset (the consumer process also runs the webhook delivery loop)"""
from kernel.cli import main
from consent import webhook_delivery
from consent.handlers import HANDLERS
from consent.settings import ConsentSettings

main(settings_cls=ConsentSettings, app_factory="consent.app:create_app", migrations_package="consent.migrations", handlers=HANDLERS,
     background=[webhook_delivery.run])
