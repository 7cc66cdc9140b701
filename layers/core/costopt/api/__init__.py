"""HTTP routes, one Powertools Router per function; handlers include them."""
