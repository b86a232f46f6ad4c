"""The logger the pure cores report through: a ROS node's get_logger() or a logging.Logger both fit."""

from __future__ import annotations

from typing import Any, Protocol


class Log(Protocol):
    def info(self, message: str) -> Any: ...

    def warning(self, message: str) -> Any: ...

    def error(self, message: str) -> Any: ...
