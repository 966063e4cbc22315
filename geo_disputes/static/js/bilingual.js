/*
 * The half of a service's "中文 / English" message in the page's language — the pages' one_language filter
 * (geo_disputes/templatetags/bilingual.py) for scripts: segments split on "; ", each cut once at its first " / "
 * when Chinese stands before it and none after; a segment of English words (no Chinese, a lower-case word) after
 * such a pair continues its English half. One copy for the map pages (layers.js) and the case pages (case_map.js).
 */
(function () {
  "use strict";
  var CJK = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/;

  /* `english`: which half; by default the page's <html lang>. */
  window.GDOneLanguage = function (message, english) {
    if (english === undefined) english = /^en/i.test(document.documentElement.lang || "");
    var pieces = [];
    String(message)
      .split("; ")
      .forEach(function (part) {
        var at = part.indexOf(" / ");
        var last = pieces[pieces.length - 1];
        if (at >= 0 && CJK.test(part.slice(0, at)) && !CJK.test(part.slice(at + 3))) {
          pieces.push({ zh: part.slice(0, at), en: part.slice(at + 3) });
        } else if (last && typeof last === "object" && !CJK.test(part) && /[a-z]{2,}/.test(part)) {
          last.en += "; " + part;
        } else {
          pieces.push(part);
        }
      });
    return pieces
      .map(function (piece) {
        return typeof piece === "object" ? (english ? piece.en : piece.zh) : piece;
      })
      .join("; ");
  };
})();
