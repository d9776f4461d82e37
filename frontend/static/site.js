/* Improvements only: every page works without this file. Plain ES2017 for Chrome 109 and
   Firefox ESR 115; no libraries. */
(function () {
  "use strict";

  // --- results update while typing (the search page) -----------------------------------
  var form = document.querySelector("form[data-live]");
  var results = document.getElementById("results");
  if (form && results && window.fetch && window.DOMParser) {
    var timer = null;
    var latest = 0;
    var input = form.querySelector("input[name=q]");
    var refresh = function () {
      var params = new URLSearchParams(new FormData(form));
      var url = form.action + "?" + params.toString();
      var ticket = ++latest;
      fetch(url, { headers: { Accept: "text/html" } })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          if (ticket !== latest) return; // an older answer arriving late
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("results");
          if (fresh) {
            results.innerHTML = fresh.innerHTML; // our own page, escaped by the server
            history.replaceState(null, "", url);
            document.title = doc.title;
          }
        })
        .catch(function () { /* the form still submits normally */ });
    };
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 450);
    });
  }

  // --- the page viewer (the item page) ---------------------------------------------------
  var viewer = document.querySelector(".viewer[data-item]");
  if (!viewer || !window.fetch) return;
  var item = viewer.getAttribute("data-item");
  var total = parseInt(viewer.getAttribute("data-pages"), 10);
  var current = parseInt(viewer.getAttribute("data-number"), 10);
  var w = viewer.getAttribute("data-w");
  var img = document.getElementById("page-img");
  var full = document.getElementById("full-img");
  var text = document.getElementById("page-text");
  var textNumber = document.getElementById("text-number");
  var numberInput = document.getElementById("trang");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var strip = viewer.querySelector(".strip");
  var zoom = 1;
  var onPage = function () {};

  var setLink = function (link, n) {
    var ok = n >= 1 && n <= total;
    link.setAttribute("href", "?trang=" + n);
    if (ok) { link.removeAttribute("aria-disabled"); link.removeAttribute("tabindex"); }
    else { link.setAttribute("aria-disabled", "true"); link.setAttribute("tabindex", "-1"); }
  };
  var drawStrip = function () {
    var from = Math.max(1, Math.min(current - 3, total - 6));
    strip.textContent = "";
    for (var n = from; n <= Math.min(total, from + 6); n++) {
      var el;
      if (n === current) { el = document.createElement("span"); el.setAttribute("aria-current", "page"); }
      else { el = document.createElement("a"); el.href = "?trang=" + n; }
      el.textContent = String(n);
      strip.appendChild(el);
    }
  };
  var show = function (n) {
    if (!(n >= 1 && n <= total) || n === current) return;
    var url = "/tai-lieu/" + item + "/trang/" + n + (w ? "?w=" + encodeURIComponent(w) : "");
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (page) {
        current = page.number;
        var src = "/tai-lieu/" + item + "/trang/" + current + "/anh";
        img.src = src;
        full.href = src;
        if (page.width && page.height) { img.width = page.width; img.height = page.height; }
        img.alt = viewer.getAttribute("data-image-label") + " " + current;
        if (page.text && page.text.trim()) { text.textContent = page.text; }
        else {
          var empty = document.createElement("em");
          empty.textContent = viewer.getAttribute("data-no-text");
          text.textContent = "";
          text.appendChild(empty);
        }
        onPage(current);
        textNumber.textContent = String(current);
        numberInput.value = String(current);
        setLink(prev, current - 1);
        setLink(next, current + 1);
        drawStrip();
        history.replaceState(null, "", "?trang=" + current);
      })
      .catch(function () { window.location.search = "?trang=" + n; });
  };
  var target = function (link) {
    var m = /trang=(\d+)/.exec(link.getAttribute("href") || "");
    return m ? parseInt(m[1], 10) : NaN;
  };
  viewer.addEventListener("click", function (event) {
    var link = event.target.closest("a");
    if (!link || !viewer.contains(link) || link.id === "full-img") return;
    event.preventDefault();
    if (link.getAttribute("aria-disabled") !== "true") show(target(link));
  });
  viewer.querySelector("form.goto").addEventListener("submit", function (event) {
    event.preventDefault();
    show(parseInt(numberInput.value, 10));
  });
  viewer.addEventListener("keydown", function (event) {
    if (event.target === numberInput) return;
    if (event.key === "ArrowLeft") show(current - 1);
    if (event.key === "ArrowRight") show(current + 1);
  });
  // Deep zoom: the first "+" loads OpenSeadragon (not before: old PCs on slow links read most
  // pages without it) and opens the page's IIIF image service, tiles and all. Without the
  // library, or if it fails, "+" enlarges the page image as before.
  var zoomBar = viewer.querySelector(".zoom");
  zoomBar.hidden = false;
  var scroller = viewer.querySelector(".scroller");
  var deep = null;
  var loading = false;
  var service = function (n) { return "/iiif/3/" + item + "-" + n + "/info.json"; };
  var applyZoom = function () { img.style.width = (zoom * 100) + "%"; img.style.maxWidth = zoom > 1 ? "none" : ""; };
  var startDeepZoom = function () {
    if (deep || loading || !viewer.hasAttribute("data-deep-zoom")) return false;
    loading = true;
    // OpenSeadragon injects a <style> unless one marked as its own is there: our CSP forbids
    // inline styles, so an empty one stands in, and site.css holds its rule.
    var marker = document.createElement("style");
    marker.setAttribute("data-openseadragon-mobile-css", "true");
    document.head.appendChild(marker);
    var script = document.createElement("script");
    script.src = viewer.getAttribute("data-deep-zoom");
    script.onload = function () {
      if (!window.OpenSeadragon) { loading = false; return; }
      var box = document.createElement("div");
      box.className = "deep-zoom";
      box.setAttribute("role", "img");
      box.setAttribute("aria-label", img.alt);
      scroller.hidden = true;
      scroller.parentNode.insertBefore(box, scroller);
      deep = window.OpenSeadragon({
        element: box,
        tileSources: service(current),
        prefixUrl: script.src.replace(/[^/]*$/, "images/"),
        drawer: "canvas",
        showNavigator: true,
        showRotationControl: true,
        crossOriginPolicy: false,
        gestureSettingsMouse: { clickToZoom: false }
      });
      deep.addOnceHandler("open", function () { deep.viewport.zoomBy(1.5); });
      viewer.setAttribute("data-zoomed", "deep");
    };
    script.onerror = function () { loading = false; };
    document.head.appendChild(script);
    return true;
  };
  onPage = function (n) { if (deep) deep.open(service(n)); };
  document.getElementById("zoom-in").addEventListener("click", function () {
    if (deep) { deep.viewport.zoomBy(1.5); return; }
    if (startDeepZoom()) return;
    zoom = Math.min(4, zoom * 1.5); applyZoom();
  });
  document.getElementById("zoom-out").addEventListener("click", function () {
    if (deep) { deep.viewport.zoomBy(1 / 1.5); return; }
    zoom = Math.max(1, zoom / 1.5); applyZoom();
  });
})();
