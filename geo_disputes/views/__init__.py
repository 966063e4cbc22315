"""HTML pages (thin: parse, call one service, render). The JSON API lives in geo_disputes.api."""
