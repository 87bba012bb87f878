"""How big the benchmark's dataset is; importable before Django is set up."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    documents: int = 200
    paragraphs: int = 5_000
    commitments: int = 20_000
    status_updates: int = 500_000
    events: int = 2_000
    users: int = 10_000
    actors: int = 250
    themes: int = 20
    # Updates of the one commitment whose page is measured as "a long history".
    long_history: int = 1_000
