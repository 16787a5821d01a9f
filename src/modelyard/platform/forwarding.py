"""``Forward``: a method of a composed object, offered flat on the object that holds it.

``log_metric = Forward("tracking", TrackingClient.log_metric)`` in a class body makes
``obj.log_metric(...)`` call ``obj.tracking.log_metric(...)``, typed with the method's own
signature (mypy reads it through the ``ParamSpec``). On the class the attribute is a function
wrapping the method (``functools.wraps``): ``help()`` and ``inspect.signature`` show its
signature and docstring, and ``Holder.log_metric(obj, ...)`` forwards as ``obj.log_metric(...)``
does. It holds no state: every call reads the holder's current attribute.

What composition does not give: a subclass of the holder that overrides ``log_batch`` is not
called by the held object's own ``log_param`` (the held object calls its own method).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

D = TypeVar("D")
P = ParamSpec("P")
R = TypeVar("R")


class Forward(Generic[D, P, R]):
    """The method ``method`` of the object in attribute ``holder``, bound on access."""

    def __init__(self, holder: str, method: Callable[Concatenate[D, P], R]) -> None:
        self.holder = holder
        self.method = method
        self.name = method.__name__
        self.__doc__ = method.__doc__
        self.unbound = self._unbound()

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name  # an alias (``get_model_version = get_version``) forwards to itself
        self.unbound = self._unbound()

    def _unbound(self) -> Callable[Concatenate[D, P], R]:
        holder, name = self.holder, self.name

        @functools.wraps(self.method)
        def forwarded(obj: Any, /, *args: Any, **kwargs: Any) -> R:
            found: Callable[..., R] = getattr(getattr(obj, holder), name)
            return found(*args, **kwargs)

        return cast(Callable[Concatenate[D, P], R], forwarded)

    @overload
    def __get__(
        self, obj: None, owner: type[Any] | None = None
    ) -> Callable[Concatenate[D, P], R]: ...

    @overload
    def __get__(self, obj: object, owner: type[Any] | None = None) -> Callable[P, R]: ...

    def __get__(self, obj: object, owner: type[Any] | None = None) -> Callable[..., R]:
        if obj is None:
            return self.unbound
        return cast(Callable[P, R], getattr(getattr(obj, self.holder), self.name))
