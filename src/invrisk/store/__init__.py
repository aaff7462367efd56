"""Persistence (layer 5): the SQL trading journal (:mod:`invrisk.store.journal`)."""

from __future__ import annotations

from invrisk.store.journal import Journal, ReconcileReport, Recovery, reconcile_orders

__all__ = ["Journal", "ReconcileReport", "Recovery", "reconcile_orders"]
