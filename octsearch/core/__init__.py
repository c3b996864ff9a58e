"""The modelling core: OctConv layers, Oct model families with named alpha slots, FLOP counting.

Imports neither ray, optuna nor sqlalchemy, nor the fast paths (:mod:`octsearch.fast` builds on it).
"""
