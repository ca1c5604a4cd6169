"""Admin of the orders app (the repair-order back office grows here)."""
