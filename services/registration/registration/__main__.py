"""python -m registration api|relay|consumer|migrate|reset"""
from kernel.cli import main
from registration.handlers import HANDLERS
from registration.settings import RegistrationSettings

main(settings_cls=RegistrationSettings, app_factory="registration.app:create_app", migrations_package="registration.migrations", handlers=HANDLERS)
