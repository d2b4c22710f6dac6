# Only what differs from Django's "es": everything else (dates) falls back to it.
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3
