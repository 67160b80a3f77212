"""TwinAI Defense: an IoT botnet defense in two folds.

Fold 1 (prevention) spots scanning early enough to block the scanner; fold 2
(detection) spots DDoS floods. Both read the same flow table, built from real
captures by :mod:`twinai.flows`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
