"""What `doctor` needs of application mode, from settings and a database alone: the installed portals,
a gateway on each (its OAuth token, its rate bucket) and its event bindings as `event.get` lists them."""

from __future__ import annotations

from sqlalchemy import Engine

from service.assembly.application import PortalChoiceError, application_on, client_on
from service.bitrix.client import BitrixClient
from service.bitrix.portal import PortalGateway
from service.plumbing.settings import Settings
from service.store.portals import UNINSTALLED, PortalRecord


class DoctorPortals:
    """`checkup.InstalledPortals` on this deployment's portals table."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._settings = settings
        self._engine = engine
        self._app = application_on(settings, engine)

    def chosen(self, key: str | None) -> list[PortalRecord]:
        if key:
            record = self._app.portals.find(key)
            if record is None:
                raise PortalChoiceError(f"no installed portal {key!r}")
            if record.status == UNINSTALLED:
                raise PortalChoiceError(f"portal {record.domain} is uninstalled")
            return [record]
        installed = [record for record in self._app.portals.all() if record.status != UNINSTALLED]
        if not installed:
            raise PortalChoiceError("no portal has installed b24rules yet")
        return installed

    def gateway(self, member_id: str) -> PortalGateway:
        return PortalGateway(self._client(member_id))

    def missing_bindings(self, member_id: str) -> list[str]:
        return self._app.subscriber.missing(self._client(member_id))

    def _client(self, member_id: str) -> BitrixClient:
        record = self._app.portals.get(member_id)
        endpoint = record.client_endpoint if record else ""
        return client_on(self._settings, self._engine, self._app, endpoint, member_id, None)
