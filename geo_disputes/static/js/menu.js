/* On a phone the header's menu starts folded: one line of header, not three (site.css shows its summary there). */
(function () {
  var menu = document.getElementById("site-menu");
  if (menu && window.matchMedia("(max-width: 720px)").matches) menu.removeAttribute("open");
})();

/* Logging out on a shared phone: the field app's kept pages and this user's area pack go (js/offline.js keeps
   them per user; the service worker drops them, as this page is leaving); drafts not yet sent stay, keyed to
   their user, and are sent when that user logs in again. */
(function () {
  document.querySelectorAll("form[action$='/logout/']").forEach(function (form) {
    form.addEventListener("submit", function () {
      var user = window.localStorage ? localStorage.getItem("gd-offline-user") : null;
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage({ type: "forget", user: user });
      }
    });
  });
})();
