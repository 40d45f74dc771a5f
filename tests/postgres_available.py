"""Exit 0 when the test PostgreSQL server answers (used by `make test`)."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg

URL = os.environ.get(
    "REVMENTOR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


async def _ping() -> bool:
    try:
        conn = await asyncpg.connect(URL.replace("+asyncpg", ""), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(_ping()) else 1)
