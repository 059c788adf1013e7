"""The composition root: the one place that wires adapters to the domain."""

from __future__ import annotations

from dataclasses import dataclass

from api.settings import Settings
from domain.application import Clock, Liandong, utc_now
from domain.units import UnitsRegistry, default_registry


@dataclass
class Services:
    settings: Settings
    app: Liandong

    def close(self) -> None:
        self.app.close()


def bootstrap(settings: Settings | None = None, *, clock: Clock = utc_now) -> Services:
    settings = settings or Settings()
    units = (
        UnitsRegistry.from_file(settings.units_file) if settings.units_file else default_registry()
    )
    app = Liandong(env=settings.event_store_env(), units=units, clock=clock)
    return Services(settings=settings, app=app)
