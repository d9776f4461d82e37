/* Shared public PCs at an access point: after a while without a click, key or scroll the page
   ends the session (a new reader cookie) and goes back to the home page, so the next citizen
   starts their own visit. Plain ES2017; the "Kết thúc phiên" button works without this file. */
(function () {
  "use strict";
  var minutes = Number(document.body.getAttribute("data-idle-minutes"));
  var form = document.getElementById("end-session");
  var warning = document.getElementById("idle-warning");
  if (!minutes || !form) return;
  var WARN_MS = 30 * 1000;
  var warnTimer = null;
  var endTimer = null;
  var restart = function () {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    if (warning) warning.hidden = true;
    var idle = minutes * 60 * 1000;
    warnTimer = setTimeout(function () { if (warning) warning.hidden = false; },
                           Math.max(0, idle - WARN_MS));
    endTimer = setTimeout(function () {
      var idleInput = document.createElement("input");
      idleInput.type = "hidden";
      idleInput.name = "ly-do";
      idleInput.value = "khong-thao-tac";
      form.appendChild(idleInput);
      form.submit();
    }, idle);
  };
  ["click", "keydown", "scroll", "mousemove", "touchstart"].forEach(function (name) {
    window.addEventListener(name, restart, { passive: true });
  });
  restart();
})();
