"""The lowest layer: what every part of the tracker needs and that knows nothing of them.

Roles (who may see and change what), the cache of rendered pages with its Redis backend, and
time as a reader lives it (their zone, their today, how dates and times are shown). `core`
imports neither `commitments` nor `tracker`; `commitments` may import `core`; `tracker` may
import both (docs/development.md, "Layers"; tests/test_layers.py checks it).
"""
