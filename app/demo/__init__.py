"""The demo organisation Northwind Labs (``revmentor demo``, loaded by ``make run`` into an
empty database): 200 people, two programs open for enrolment and one running."""

from app.demo.loader import load_demo
from app.demo.organisation import ADMIN_EMAIL, ORGANISATION

__all__ = ["ADMIN_EMAIL", "ORGANISATION", "load_demo"]
