"""YAML read as plain data: no anchors or aliases.

A model's ``model.yaml`` comes from whoever wrote the model. The safe loader builds no
objects, but it still expands ``&anchor``/``*alias`` references, so a 1 KB file can become
gigabytes of nested lists once loaded (and again when stored as JSON). Files modelyard writes
never use them; a file that does is refused before it is loaded.
"""

from __future__ import annotations

from typing import Any

import yaml

from modelyard.errors import InvalidArgument

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_plain(text: str | bytes, *, where: str, field: str) -> Any:
    """The document in ``text``; ``InvalidArgument`` naming ``field`` for invalid YAML or for
    an anchor or alias anywhere in it."""
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise InvalidArgument(
                    f"{where} uses a YAML anchor or alias (& or *); a model file is plain "
                    "data, written without them",
                    field=field,
                )
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise InvalidArgument(f"{where} is not valid YAML: {exc}", field=field) from None
