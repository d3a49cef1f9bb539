"""Open311 GeoReport v2 over the petitions service: other systems (a city portal, a hotline)
send petitions in and follow them (``/open311/v2/...``, JSON and XML)."""
