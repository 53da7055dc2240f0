"""Money: credit tiers and amounts, currencies' minor units, rounding once at the end."""
