"""Citizen portal and staff consoles: server-rendered pages calling the building blocks through the gateway."""
