"""A gateway that loses the portal's answers (the portal acts; we never hear back), for the settling tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.bitrix.portal import PortalGateway
from service.core.bitrix import TransientError

LOST = TransientError("TIMEOUT", "no answer in time", None, "batch")


class AnswerLoss:
    """Installed on a real gateway: the next `deletes` delete requests and the next `rereads` settling
    re-reads reach the portal (which acts), and their answers are lost."""

    def __init__(self, gateway: PortalGateway) -> None:
        self.deletes = 0
        self.rereads = 0
        delete, entry_ids = gateway.delete, gateway.entry_ids

        def lossy_delete(items: Sequence[tuple[int, int]]) -> Any:
            answers = delete(items)
            if self.deletes:
                self.deletes -= 1
                raise LOST
            return answers

        def lossy_reread(task_ids: Sequence[int]) -> Any:
            answers = entry_ids(task_ids)
            if self.rereads:
                self.rereads -= 1
                raise LOST
            return answers

        gateway.delete = lossy_delete  # type: ignore[method-assign]
        gateway.entry_ids = lossy_reread  # type: ignore[method-assign]
