"""Imports from files (an edge like the CLI: it owns its transactions, calls domain services).

Modules here import the domain lazily where they can: the CLI builds its help from them.
"""
