"""Diagnose with the model registry's active model, swapped without a restart.

`service.learning.ActiveModel` watches the registry (at most every few seconds) and loads a
newly promoted model; `LiveDiagnoser` wraps it as the diagnoser the job runner needs, keeping
the knowledge base loaded once. Jobs already running finish with the model they started with.
"""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.diagnoser import Diagnoser, LogSource
    from service.diagnosis import Diagnosis
    from service.learning import ActiveModel

log = logging.getLogger(__name__)


class LiveDiagnoser:
    """A `Diagnoser` whose model follows the registry's active version.

    `base` is the diagnoser loaded at start-up: its knowledge base is reused, and it answers
    alone (with whatever model it has, maybe none) when no registry model can be loaded.
    """

    def __init__(self, base: Diagnoser, active: ActiveModel) -> None:
        self.base = base
        self.active = active
        self._current = base

    def current(self) -> Diagnoser:
        """The diagnoser for the active model now (a new one only when the model changed)."""
        from service.diagnoser import Diagnoser

        try:
            model = self.active.current()
        except Exception:  # nothing loadable in the registry: keep serving what we have
            log.warning("cannot load the active model; serving %s", self.model_version())
            return self._current
        if self._current.model is not model:
            self._current = Diagnoser(self.base.kb, model)
            # The new model lives until the next promotion: out of the collector's full
            # passes, as the start-up objects are (`service.api.main`).
            gc.freeze()
        return self._current

    def diagnose_text(self, text: str, source: LogSource | None = None) -> Diagnosis:
        """Diagnose one log with the active model."""
        return self.current().diagnose_text(text, source)

    def model_version(self) -> str | None:
        """The version of the model in use, None when only signatures answer."""
        model = self._current.model
        return model.version if model is not None else None
