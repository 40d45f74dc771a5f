"""Imports from files (an edge like the CLI: it owns its transactions, calls domain services).

Modules here import the domain lazily where they can: the CLI builds its help from them.
"""

#: Rows per push and transaction, by default and at most. Larger than a push through the API
#: (1,000 records): each transaction costs the command a few milliseconds whatever its size,
#: most of a batch's time when its rows are unchanged.
DEFAULT_BATCH = 2500
MAX_BATCH = 10_000
