"""Routing: a pipeline of small named rules that picks the recipient of a request from the directory."""

from hub.routing.model import Decision, RoutingFacts
from hub.routing.pipeline import Router

__all__ = ["Decision", "Router", "RoutingFacts"]
