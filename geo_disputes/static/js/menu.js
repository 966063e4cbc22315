/* On a phone the header's menu starts folded: one line of header, not three (site.css shows its summary there). */
(function () {
  var menu = document.getElementById("site-menu");
  if (menu && window.matchMedia("(max-width: 720px)").matches) menu.removeAttribute("open");
})();
