"""Static files as `make run` serves them: WhiteNoise's compressed, content-hashed copies.

Vendored bundles (Chart.js, Leaflet plugins) name source maps we do not ship; Django's manifest storage
would refuse to finish `collectstatic` over a reference to a missing map. CSS `url()` and `@import`
references are still rewritten to hashed names; `sourceMappingURL` comments are left as they are (a browser
asks for the map only with its developer tools open, and then gets a 404).
"""

from __future__ import annotations

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns: tuple) -> tuple:
    kept = []
    for extension, rules in patterns:
        rules = tuple(r for r in rules if "sourceMappingURL" not in (r if isinstance(r, str) else r[0]))
        if rules:
            kept.append((extension, rules))
    return tuple(kept)


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(HashedFilesMixin.patterns)
