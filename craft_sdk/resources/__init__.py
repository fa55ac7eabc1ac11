"""The API's resources: call builders plus their sync and async shells."""

from .projects import AsyncProjects, Projects

__all__ = ["AsyncProjects", "Projects"]
