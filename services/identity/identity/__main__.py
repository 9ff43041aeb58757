"""python -m identity api|relay|consumer|migrate|reset"""
from kernel.cli import main
from identity import maintenance
from identity.handlers import HANDLERS
from identity.settings import IdentitySettings

main(settings_cls=IdentitySettings, app_factory="identity.app:create_app", migrations_package="identity.migrations", handlers=HANDLERS,
     background=[maintenance.run])
