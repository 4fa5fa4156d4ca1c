"""What the figures mean for a manager or a seller: comparisons, ranks and suggestions, as
pure functions of the lookup API's figures."""
