/* Kho số Thanh Hóa: the search box that access points embed in their own sites.
 *
 *   <script src="https://…/widget.js" data-point="KEY" async></script>
 *
 * Plain ES2017 for old public PCs (Chrome 109, Firefox ESR 115), no dependencies, no build step.
 * Everything lives in a Shadow DOM, so the host page's CSS and ours do not meet; nothing here
 * may throw into the host page, and no text from the network reaches the page as HTML except
 * the API's escaped title/snippet, and even those are rebuilt from text and <mark> only. */
(function () {
  "use strict";

  var TEXT = {
    vi: {
      label: "Tìm trong Kho số Thanh Hóa",
      placeholder: "Gõ có dấu hoặc không dấu",
      button: "Tìm",
      searching: "Đang tìm…",
      found: function (n, exact) {
        return "Tìm thấy " + (exact ? "" : "khoảng ") + n + " tài liệu.";
      },
      none: function (q) {
        return "Không tìm thấy tài liệu nào phù hợp với «" + q + "».";
      },
      pages: function (n) {
        return n + " trang khớp";
      },
      didYouMean: "Có phải bạn muốn tìm: ",
      without: function (words) {
        return "Tìm không có «" + words + "»: ";
      },
      all: "Xem tất cả kết quả",
      previous: "← Trang trước",
      next: "Trang sau →",
      pager: "Trang kết quả",
      results: "Kết quả tìm kiếm",
      network: "Không kết nối được với Kho số Thanh Hóa. Vui lòng kiểm tra mạng rồi thử lại.",
      timeout: "Kho số Thanh Hóa không trả lời kịp. Vui lòng thử lại sau ít phút.",
      failed: "Đã có lỗi khi tìm kiếm. Vui lòng thử lại sau.",
      noKey: "Đoạn mã nhúng thiếu mã điểm truy cập (data-point). Vui lòng chép lại đoạn mã do Thư viện tỉnh Thanh Hóa cung cấp.",
      brand: "Kho số Thanh Hóa · Thư viện tỉnh Thanh Hóa",
      locale: "vi-VN"
    },
    en: {
      label: "Search the Thanh Hóa digital collection",
      placeholder: "With or without diacritics",
      button: "Search",
      searching: "Searching…",
      found: function (n, exact) {
        return (exact ? "" : "About ") + n + (n === "1" ? " document" : " documents") + " found.";
      },
      none: function (q) {
        return "No documents match “" + q + "”.";
      },
      pages: function (n) {
        return n + (n === 1 ? " matching page" : " matching pages");
      },
      didYouMean: "Did you mean: ",
      without: function (words) {
        return "Search without “" + words + "”: ";
      },
      all: "See all results",
      previous: "← Previous page",
      next: "Next page →",
      pager: "Result pages",
      results: "Search results",
      network: "Could not reach the Thanh Hóa digital collection. Check the connection and try again.",
      timeout: "The Thanh Hóa digital collection did not answer in time. Try again in a few minutes.",
      failed: "The search failed. Try again later.",
      noKey: "The embed snippet has no access point key (data-point). Copy the snippet from the Thanh Hóa provincial library again.",
      brand: "Kho số Thanh Hóa · Thanh Hóa Provincial Library",
      locale: "en-GB"
    }
  };

  var SCRIPT_NAME = "/widget.js";
  var TIMEOUT_MS = 15000;
  var MAX_QUERY = 200;
  var MAX_PAGE = 20; // as the API allows
  var instances = 0;

  /* Keep in step with templates/widget/frame.html. Lengths in px, never rem: rem would follow
   * the host page's root font size. */
  var STYLE = [
    ":host { all: initial; display: block !important; }",
    ":host([hidden]) { display: none !important; }",
    ".kho { display: block; box-sizing: border-box; max-width: 640px; margin: 0; padding: 12px 14px;",
    "  font: 16px/1.45 'Noto Sans', 'DejaVu Sans', 'Segoe UI', Arial, sans-serif; color: #1d2630;",
    "  background: #fff; border: 1px solid #ddd6cc; border-radius: 6px; text-align: left; }",
    ".kho * { box-sizing: border-box; }",
    "label { display: block; font-weight: 700; color: #8a1c1c; margin: 0 0 6px; }",
    ".row { display: flex; gap: 8px; }",
    "input { flex: 1 1 auto; min-width: 0; margin: 0; padding: 7px 8px; font: inherit; color: #1d2630;",
    "  background: #fff; border: 1px solid #888; border-radius: 4px; }",
    "button { flex: none; margin: 0; padding: 7px 18px; font: inherit; font-weight: 600; color: #fff;",
    "  background: #8a1c1c; border: 0; border-radius: 4px; cursor: pointer; }",
    "button.link { padding: 0; font-weight: 400; font-size: 14px; color: #8a1c1c; background: none;",
    "  text-decoration: underline; }",
    ":focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }",
    "input:disabled, button:disabled { opacity: 0.5; cursor: not-allowed; }",
    ".status { margin: 10px 0 0; color: #5b6673; font-size: 14px; }",
    ".status:empty { display: none; }",
    ".error { margin: 10px 0 0; padding: 8px 10px; color: #9b1111; background: #fdecec;",
    "  border: 1px solid #f3b5b5; border-radius: 4px; font-size: 15px; }",
    ".error:empty { display: none; }",
    "ol { list-style: none; margin: 8px 0 0; padding: 0; }",
    "ol:empty { display: none; }",
    "li { margin: 0; padding: 8px 0; border-top: 1px solid #eee8df; }",
    "a { color: #8a1c1c; }",
    "li a { font-weight: 600; }",
    "p { margin: 4px 0 0; }",
    ".snippet { font-size: 14px; overflow-wrap: anywhere; }",
    ".meta { font-size: 13px; color: #5b6673; }",
    "mark { background: #fff0a8; color: inherit; padding: 0 1px; }",
    ".help { font-size: 14px; }",
    ".help button.link { font-weight: 600; }",
    ".pager { display: flex; gap: 16px; margin-top: 8px; }",
    ".more { margin-top: 10px; font-weight: 600; }",
    ".brand { margin: 10px 0 0; font-size: 12px; color: #5b6673; }",
    "[hidden] { display: none !important; }"
  ].join("\n");

  function ownScript() {
    var current = document.currentScript;
    if (current && current.getAttribute("data-point") !== null && !current.hasAttribute("data-kho-ready")) {
      return current;
    }
    // currentScript is null when the tag was inserted by another script in some old loaders.
    var scripts = document.querySelectorAll("script[data-point]");
    for (var i = scripts.length - 1; i >= 0; i--) {
      var src = scripts[i].getAttribute("src") || "";
      if (src.split("?")[0].slice(-SCRIPT_NAME.length) === SCRIPT_NAME && !scripts[i].hasAttribute("data-kho-ready")) {
        return scripts[i];
      }
    }
    return null;
  }

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    var names = Object.keys(attributes || {});
    for (var i = 0; i < names.length; i++) {
      node.setAttribute(names[i], attributes[names[i]]);
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  /* The API's title_html and snippet are escaped text with <mark> around query words. Parse them
   * in an inert <template> (no scripts run, nothing loads) and copy only text and <mark>. */
  function appendMarked(target, html) {
    var template = document.createElement("template");
    template.innerHTML = typeof html === "string" ? html : "";
    var nodes = template.content.childNodes;
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.nodeType === 1 && node.nodeName === "MARK") {
        target.appendChild(el("mark", null, node.textContent));
      } else {
        target.appendChild(document.createTextNode(node.textContent || ""));
      }
    }
  }

  function number(n, text) {
    try {
      return Number(n).toLocaleString(text.locale);
    } catch (e) {
      return String(n);
    }
  }

  /* Only links to our own site are followed (the API builds them; this makes sure). */
  function ours(url, origin) {
    return typeof url === "string" && url.indexOf(origin + "/") === 0;
  }

  function Widget(script) {
    var lang = (script.getAttribute("data-lang") || "vi").toLowerCase() === "en" ? "en" : "vi";
    this.text = TEXT[lang];
    this.lang = lang;
    this.key = (script.getAttribute("data-point") || "").trim();
    this.api = new URL(script.getAttribute("src") || script.src, document.baseURI).origin;
    this.id = "kho-" + ++instances;
    this.query = "";
    this.page = 1;
    this.pending = null;
    this.build(script);
  }

  Widget.prototype.build = function (script) {
    var t = this.text;
    var host = el("kho-search-widget", { "data-kho": "" });
    var root = host.attachShadow({ mode: "open" });
    root.appendChild(el("style", null, STYLE));
    var box = el("div", { class: "kho", lang: this.lang });
    var form = el("form", { role: "search", novalidate: "" });
    form.appendChild(el("label", { for: this.id + "-q" }, t.label));
    var row = el("div", { class: "row" });
    this.input = el("input", {
      id: this.id + "-q",
      type: "search",
      name: "q",
      maxlength: String(MAX_QUERY),
      autocomplete: "off",
      placeholder: t.placeholder
    });
    this.button = el("button", { type: "submit" }, t.button);
    row.appendChild(this.input);
    row.appendChild(this.button);
    form.appendChild(row);
    box.appendChild(form);
    this.status = el("p", { class: "status", role: "status", "aria-live": "polite" });
    this.error = el("p", { class: "error", role: "alert" });
    this.results = el("ol", { "aria-label": t.results });
    this.pager = el("nav", { class: "pager", "aria-label": t.pager, hidden: "" });
    this.previous = el("button", { type: "button", class: "link" }, t.previous);
    this.next = el("button", { type: "button", class: "link" }, t.next);
    this.pager.appendChild(this.previous);
    this.pager.appendChild(this.next);
    this.more = el("p", { class: "more", hidden: "" });
    this.moreLink = el("a", { href: this.api + "/" }, t.all);
    this.more.appendChild(this.moreLink);
    this.help = el("div", { class: "help" });
    box.appendChild(this.status);
    box.appendChild(this.help);
    box.appendChild(this.error);
    box.appendChild(this.results);
    box.appendChild(this.pager);
    box.appendChild(this.more);
    box.appendChild(el("p", { class: "brand" }, t.brand));
    root.appendChild(box);

    var self = this;
    form.addEventListener("submit", guard(function (event) {
      event.preventDefault();
      self.search(self.input.value, 1);
    }));
    this.previous.addEventListener("click", guard(function () {
      self.search(self.query, self.page - 1, true);
    }));
    this.next.addEventListener("click", guard(function () {
      self.search(self.query, self.page + 1, true);
    }));

    place(script, host);
    if (!this.key) {
      this.refuse(t.noKey);
    } else {
      this.check();
    }
  };

  /* Ask with an empty query once: a wrong key or an unregistered site is told at once, not
   * after the first search. Costs no search and is not counted. */
  Widget.prototype.check = function () {
    var self = this;
    this.call("", 1).then(guard(function (answer) {
      if (answer.error && (answer.status === 401 || answer.status === 403)) {
        self.refuse(answer.error);
      }
    }));
  };

  Widget.prototype.refuse = function (message) {
    this.error.textContent = message;
    this.input.disabled = true;
    this.button.disabled = true;
  };

  /* Resolves to {data} or {error, status}; never rejects. */
  Widget.prototype.call = function (query, page) {
    var self = this;
    var url = this.api + "/api/v1/widget/search?" + new URLSearchParams({
      key: this.key,
      q: query,
      page: String(page)
    }).toString();
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timedOut = false;
    var timer = setTimeout(function () {
      timedOut = true;
      if (controller) {
        controller.abort();
      }
    }, TIMEOUT_MS);
    // A "simple" CORS request (GET, no custom headers, no cookies): no preflight.
    return fetch(url, {
      method: "GET",
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      return response.json().then(
        function (body) {
          if (response.ok) {
            return { data: body };
          }
          var message = body && (self.lang === "en" ? body.message_en || body.message : body.message);
          return { error: typeof message === "string" && message ? message : self.text.failed, status: response.status };
        },
        function () {
          return { error: self.text.failed, status: response.status };
        }
      );
    }).catch(function () {
      return { error: timedOut ? self.text.timeout : self.text.network, status: 0 };
    }).then(function (answer) {
      clearTimeout(timer);
      return answer;
    });
  };

  /* paging: the pager's button may vanish on the new page, so focus goes to the first result. */
  Widget.prototype.search = function (query, page, paging) {
    var self = this;
    var t = this.text;
    query = String(query || "").trim().slice(0, MAX_QUERY);
    if (!query) {
      this.input.focus();
      return;
    }
    var ticket = {};
    this.pending = ticket;
    this.error.textContent = "";
    this.status.textContent = t.searching;
    this.results.setAttribute("aria-busy", "true");
    this.call(query, page).then(guard(function (answer) {
      if (self.pending !== ticket) {
        return; // a newer search was started meanwhile
      }
      self.pending = null;
      self.results.removeAttribute("aria-busy");
      if (answer.error) {
        self.status.textContent = "";
        self.clear();
        self.error.textContent = answer.error;
        if (answer.status === 401 || answer.status === 403) {
          self.refuse(answer.error);
        }
        return;
      }
      self.query = query;
      self.page = page;
      self.show(answer.data || {});
      var first = self.results.querySelector("a[href]");
      if (paging && first) {
        first.focus();
      }
    }));
  };

  Widget.prototype.clear = function () {
    while (this.results.firstChild) {
      this.results.removeChild(this.results.firstChild);
    }
    while (this.help.firstChild) {
      this.help.removeChild(this.help.firstChild);
    }
    this.pager.hidden = true;
    this.more.hidden = true;
  };

  Widget.prototype.show = function (data) {
    var t = this.text;
    var hits = Array.isArray(data.hits) ? data.hits : [];
    var total = Number(data.total) || 0;
    this.clear();
    this.status.textContent = total ? t.found(number(total, t), data.total_exact !== false) : t.none(this.query);
    var spellings = Array.isArray(data.did_you_mean) ? data.did_you_mean : [];
    if (spellings.length) {
      this.offer(t.didYouMean, spellings, "?");
    }
    if (data.shorter && typeof data.shorter.query === "string") {
      this.offer(t.without(String(data.shorter.dropped || "")), [data.shorter.query], "");
    }
    for (var i = 0; i < hits.length; i++) {
      var hit = hits[i] || {};
      var item = el("li");
      var link = el("a", ours(hit.url, this.api) ? { href: hit.url } : null);
      appendMarked(link, hit.title_html);
      item.appendChild(link);
      if (hit.snippet) {
        var snippet = el("p", { class: "snippet" });
        appendMarked(snippet, hit.snippet);
        item.appendChild(snippet);
      }
      var meta = [];
      if (hit.date) {
        meta.push(String(hit.date));
      }
      if (hit.matching_pages > 0) {
        meta.push(t.pages(Number(hit.matching_pages)));
      }
      if (meta.length) {
        item.appendChild(el("p", { class: "meta" }, meta.join(" · ")));
      }
      this.results.appendChild(item);
    }
    var perPage = Number(data.per_page) || hits.length;
    this.previous.hidden = this.page <= 1;
    this.next.hidden = !(this.page * perPage < total && this.page < MAX_PAGE);
    this.pager.hidden = this.previous.hidden && this.next.hidden;
    if (total && ours(data.more_url, this.api)) {
      this.moreLink.setAttribute("href", data.more_url);
      this.more.hidden = false;
    }
  };

  /* A line of queries to search instead, each a button that searches it (text only). */
  Widget.prototype.offer = function (lead, queries, tail) {
    var self = this;
    var line = el("p", null, lead);
    queries.slice(0, 5).forEach(function (text, n) {
      if (n) {
        line.appendChild(document.createTextNode(" · "));
      }
      var button = el("button", { type: "button", class: "link" }, String(text));
      button.addEventListener("click", guard(function () {
        self.input.value = String(text);
        self.search(String(text), 1);
      }));
      line.appendChild(button);
    });
    if (tail) {
      line.appendChild(document.createTextNode(tail));
    }
    this.help.appendChild(line);
  };

  /* Right after the script tag; a tag in <head> puts the box at the end of <body>. */
  function place(script, host) {
    var parent = script.parentNode;
    if (parent && parent !== document.head && parent !== document.documentElement) {
      parent.insertBefore(host, script.nextSibling);
    } else if (document.body) {
      document.body.appendChild(host);
    } else {
      document.addEventListener("DOMContentLoaded", guard(function () {
        document.body.appendChild(host);
      }));
    }
  }

  function guard(fn) {
    return function () {
      try {
        return fn.apply(this, arguments);
      } catch (e) {
        quietly(e);
      }
    };
  }

  function quietly(error) {
    try {
      if (window.console && console.warn) {
        console.warn("Kho số Thanh Hóa widget:", error);
      }
    } catch (e) {
      // nothing more can be done without disturbing the host page
    }
  }

  try {
    var script = ownScript();
    if (script && typeof Element.prototype.attachShadow === "function" && window.fetch) {
      script.setAttribute("data-kho-ready", "");
      new Widget(script); // eslint-disable-line no-new
    }
  } catch (e) {
    quietly(e);
  }
})();
