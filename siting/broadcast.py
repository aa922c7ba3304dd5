"""Broadcasting a function of scalars over numpy arrays, one call per element.

The profile models (:func:`siting.p1812.p1812_loss`, :func:`siting.itm.itm_p2p_loss`) compute
one terrain profile per call; the public API promises that their arguments broadcast over numpy
arrays (docs/DESIGN.md, "Public API contract"). Their scalar arguments (heights, frequency,
percentages, ...) therefore broadcast with numpy rules while the profile stays fixed, each
element computed by the scalar function itself, so the validated numbers are the same.
Imports nothing of siting but :mod:`siting.errors`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from siting.errors import InputError


def broadcast_scalars(function_name: str, scalars: dict[str, object],
                      compute: Callable[..., float | tuple[float, ...]], *, n_outputs: int = 1,
                      check_fixed: Callable[[], object] = lambda: None):
    """``compute(**scalars)`` when every value of ``scalars`` is a scalar; else ``compute`` of
    each element of their numpy broadcast, gathered into an array of the broadcast shape (a
    tuple of ``n_outputs`` arrays when ``compute`` returns a tuple of that many floats).

    ``check_fixed`` raises InputError for a bad argument that is the same for every element
    (the profile), before the first element is computed, so its message names no element.
    Raises InputError naming ``function_name``, each array argument and its shape when the
    shapes do not broadcast, and the element (its index and values) whose call ``compute``
    refuses.
    """
    arrays = {name: np.asarray(value) for name, value in scalars.items()}
    varying = [name for name, a in arrays.items() if a.ndim]
    if not varying:
        return compute(**scalars)
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{name} {arrays[name].shape}" for name in varying)
        raise InputError(f"{function_name}(): the arguments {shapes} do not broadcast together; "
                         f"give scalars or arrays of one shape (or numpy-broadcastable shapes)"
                         ) from None
    check_fixed()
    expanded = {name: np.broadcast_to(a, shape) for name, a in arrays.items()}
    results = np.full((n_outputs, *shape), np.nan)
    for index in np.ndindex(shape):
        values = {name: a[index].item() for name, a in expanded.items()}
        try:
            results[(slice(None), *index)] = compute(**values)
        except InputError as error:
            named = ", ".join(f"{name}={values[name]!r}" for name in varying)
            raise InputError(f"{function_name}(): element {list(index)} ({named}): {error}"
                             ) from None
    return results[0] if n_outputs == 1 else tuple(results)
