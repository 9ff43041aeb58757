"""python -m gateway api|relay|consumer|migrate|reset"""
from kernel.cli import main
from gateway.handlers import HANDLERS
from gateway.settings import GatewaySettings
from gateway.tls import server_options

main(settings_cls=GatewaySettings, app_factory="gateway.app:create_app", migrations_package="gateway.migrations", handlers=HANDLERS,
     server_options=server_options)
