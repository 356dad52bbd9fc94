"""Change tracking for the objects a compiled plan is built from.

Layers, losses, optimizers and networks are `Tracked`: setting one of their public attributes
stamps the object with a new number from one global counter. A network compares those stamps
(and its list of layers) before each call, in Network._refresh, the one place that decides
whether its compiled plans still describe it. Private attributes (a leading underscore: buffers,
caches) and a class's `_untracked` names (values handed to the engine on every call, such as the
learning rate) do not count as changes.
"""

generation = 0  # the last stamp handed out


class Tracked:
    _untracked = frozenset()
    _version = 0

    def __setattr__(self, name, value):
        if name[0] != "_" and name not in self._untracked:
            global generation
            generation += 1
            object.__setattr__(self, "_version", generation)
        object.__setattr__(self, name, value)


def stamp(obj):
    """(id, version) of obj: unequal to an earlier stamp once obj is replaced or changed, as long
    as the caller keeps the earlier object alive (so that its id cannot be reused)."""
    return id(obj), getattr(obj, "_version", 0)
