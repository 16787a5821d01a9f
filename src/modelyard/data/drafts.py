"""Checking a version a client wants to register, beyond its manifest: sizes, tags, profile."""

from __future__ import annotations

from modelyard.data.entities import NewVersion
from modelyard.errors import InvalidArgument
from modelyard.platform.checks import check_tags

MAX_INT = 2**63 - 1


def check_draft(draft: NewVersion) -> None:
    """What a remote client sends is checked like what the SDK builds: sizes, tags, profile."""
    from modelyard.data.profiling import Profile
    from modelyard.data.schema import Schema

    if draft.num_rows is not None and not 0 <= draft.num_rows <= MAX_INT:
        raise InvalidArgument("num_rows must be between 0 and 2**63-1", field="num_rows")
    if any(e.size > MAX_INT for e in draft.manifest):
        raise InvalidArgument("a file size must be below 2**63", field="manifest.size")
    check_tags(draft.tags)
    if draft.created_by is not None and len(draft.created_by) > 256:
        raise InvalidArgument("created_by is longer than 256 characters", field="created_by")
    if draft.format == "files" and (draft.profile or draft.schema):
        raise InvalidArgument("a files dataset has no profile or schema", field="profile")
    for field, parse in (("profile", Profile.from_dict), ("schema", Schema.from_dict)):
        value = getattr(draft, field)
        if value is None:
            continue
        try:
            parse(value)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidArgument(f"{field} is not a valid {field}: {exc!r}", field=field) from exc
