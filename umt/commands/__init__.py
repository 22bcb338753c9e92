"""``umt``'s sub-commands, one module per area (``umt.translation.cli`` holds the MT ones); ``umt.cli``
composes them into one parser and runs them."""
