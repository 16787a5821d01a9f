"""The one SQLAlchemy ``MetaData`` every domain declares its tables on.

Holds no tables itself: each domain's ``tables`` module adds its own, so the store stays
ignorant of domains. Alembic migrations in ``modelyard.store.migrations`` create them.
"""

from __future__ import annotations

import sqlalchemy as sa

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
