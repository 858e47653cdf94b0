"""The diagnoser of `panicdx diagnose --data-dir DIR`: the registry's active model.

The same model the service of that data directory serves (`service.learning.ActiveModel`),
so a model promoted with `panicdx model promote` is used by the command line too; the
built-in model when no version was promoted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.diagnoser import Diagnoser


class NoDataDir(ValueError):
    """The data directory does not exist (a typo must not create an empty installation)."""


def registry_diagnoser(data_dir: Path) -> Diagnoser:
    """A Diagnoser with the knowledge base and the active model of `data_dir`'s registry.

    Raises NoDataDir for a missing directory when the database lives in it, and whatever
    `service.learning.active_model_loader` raises for a model that cannot be loaded.
    """
    from knowledge_base.loader import load_knowledge_base
    from service.db.migrate import upgrade_database
    from service.diagnoser import Diagnoser
    from service.learning import active_model_loader
    from service.settings import get_settings

    settings = get_settings(data_dir)
    if settings.database_url is None and not data_dir.is_dir():
        raise NoDataDir(f"no service data directory at {data_dir}")
    upgrade_database(settings)  # as every --data-dir command does: an older schema is upgraded
    return Diagnoser(load_knowledge_base(), active_model_loader(settings))
