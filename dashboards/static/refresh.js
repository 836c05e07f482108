// Reloads a page whose body carries data-refresh="SECONDS" (auto-refresh without inline script).
"use strict";
(function () {
  var seconds = parseInt(document.body && document.body.getAttribute("data-refresh"), 10);
  if (seconds > 0) {
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
})();
