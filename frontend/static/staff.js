/* The staff workspace's scripts: resumable uploads with progress, live job progress, bulk import
   with rows shown as they are done, confirmations. Every page works without them (plain forms). */
(function () {
  "use strict";

  function csrf() {
    var m = document.cookie.match(/(?:^|; )kho_csrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  /* One request through XMLHttpRequest (fetch cannot report upload progress). Resolves with
     {status, body}; rejects only when the network fails. */
  function send(method, url, body, opts) {
    opts = opts || {};
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      if (opts.json) xhr.setRequestHeader("Content-Type", "application/json");
      if (opts.accept) xhr.setRequestHeader("Accept", opts.accept);
      if (opts.onUpload) xhr.upload.onprogress = opts.onUpload;
      if (opts.onText) xhr.onprogress = function () { opts.onText(xhr.responseText); };
      xhr.onload = function () {
        var parsed = null;
        try { parsed = JSON.parse(xhr.responseText); } catch (e) { parsed = null; }
        if (opts.onText) opts.onText(xhr.responseText);
        resolve({ status: xhr.status, body: parsed, text: xhr.responseText });
      };
      xhr.onerror = function () { reject(new Error("network")); };
      xhr.ontimeout = function () { reject(new Error("timeout")); };
      xhr.send(opts.json ? JSON.stringify(body) : body);
    });
  }

  function message(response, fallback) {
    return (response.body && response.body.message) || fallback;
  }

  function megabytes(n) { return (n / 1048576).toLocaleString("vi-VN", { maximumFractionDigits: 1 }) + " MB"; }

  /* --- resumable uploads --------------------------------------------------------------------- */

  function uploadFile(form, file, list) {
    var item = form.getAttribute("data-item");
    var li = el("li");
    var name = el("div", { "class": "name" }, file.name + " (" + megabytes(file.size) + ")");
    var bar = el("progress", { max: "100", value: "0" });
    var note = el("div", { "class": "note" }, "Đang chuẩn bị…");
    li.appendChild(name); li.appendChild(bar); li.appendChild(note);
    list.appendChild(li);
    var memory = "kho-upload:" + item + ":" + file.name + ":" + file.size + ":" + file.lastModified;

    function fail(text) { note.textContent = text; note.className = "field-error"; bar.hidden = true; }

    async function call(method, url, body, opts) {
      // Network failures and server errors are retried with a growing wait: a dropped link
      // resumes at the chunk it was sending.
      for (var attempt = 0; ; attempt++) {
        try {
          var response = await send(method, url, body, opts);
          if (response.status < 500 && response.status !== 0) return response;
        } catch (e) { /* retried below */ }
        if (attempt >= 8) throw new Error("gave up");
        var wait = Math.min(30, 2 << attempt);
        note.textContent = "Mất kết nối; tự gửi tiếp sau " + wait + " giây…";
        await sleep(wait * 1000);
      }
    }

    async function begin() {
      var known = localStorage.getItem(memory);
      if (known) {
        var seen = await call("GET", "/api/v1/uploads/" + known);
        if (seen.status === 200 && !seen.body.complete) {
          note.textContent = "Gửi tiếp từ " + megabytes(seen.body.received) + "…";
          return seen.body;
        }
      }
      var started = await call("POST", "/api/v1/items/" + item + "/uploads",
        { filename: file.name, size: file.size }, { json: true });
      if (started.status !== 201) throw new Error(message(started, "Không bắt đầu tải lên được."));
      localStorage.setItem(memory, String(started.body.id));
      return started.body;
    }

    async function complete(upload, link) {
      var done = await call("POST", "/api/v1/uploads/" + upload.id + "/complete",
        { link_duplicate: link }, { json: true });
      if (done.status === 409 && done.body && done.body.error === "duplicate_file") {
        note.textContent = done.body.message + " ";
        var button = el("button", { type: "button", "class": "secondary" }, "Liên kết tệp có sẵn");
        button.addEventListener("click", function () {
          button.remove();
          complete(upload, true).catch(function (e) { fail(e.message); });
        });
        note.appendChild(button);
        return;
      }
      if (done.status !== 202) { localStorage.removeItem(memory); throw new Error(message(done, "Tệp không được nhận.")); }
      localStorage.removeItem(memory);
      bar.value = 100;
      note.textContent = done.body.duplicate
        ? "Tệp này đã có trong kho: đã liên kết, không lưu lần hai. Công việc #" + done.body.job_id + "."
        : "Đã nhận tệp. Đang xử lý (công việc #" + done.body.job_id + ")…";
      Jobs.watch();
    }

    async function run() {
      var upload = await begin();
      var index = upload.chunks_done;
      var count = Math.max(1, Math.ceil(file.size / upload.chunk_size));
      while (index < count) {
        var start = index * upload.chunk_size;
        var chunk = file.slice(start, Math.min(file.size, start + upload.chunk_size));
        var sent = await call("PUT", "/api/v1/uploads/" + upload.id + "/chunks/" + index, chunk, {
          onUpload: function (e) { bar.value = Math.floor(100 * (start + e.loaded) / file.size); },
        });
        if (sent.status === 409) {  // the server has a different idea of where we are
          var seen = await call("GET", "/api/v1/uploads/" + upload.id);
          if (seen.status !== 200) throw new Error(message(seen, "Không tiếp tục được."));
          index = seen.body.chunks_done;
          continue;
        }
        if (sent.status !== 200) throw new Error(message(sent, "Không gửi được phần " + (index + 1) + "."));
        index = sent.body.chunks_done;
        bar.value = Math.floor(100 * Math.min(file.size, index * upload.chunk_size) / file.size);
        note.textContent = "Đã gửi " + megabytes(Math.min(file.size, index * upload.chunk_size)) + " / " + megabytes(file.size);
      }
      note.textContent = "Đang kiểm tra và lưu tệp…";
      await complete(upload, false);
    }

    return run().catch(function (e) {
      fail(e.message === "gave up" ? "Mất kết nối quá lâu. Chọn lại đúng tệp này để gửi tiếp từ chỗ đã dừng." : e.message);
    });
  }

  document.querySelectorAll("form.uploader").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var list = form.querySelector(".upload-list");
    var drop = form.querySelector(".drop");
    function start(files) {
      Array.prototype.reduce.call(files, function (chain, file) {
        return chain.then(function () { return uploadFile(form, file, list); });
      }, Promise.resolve());
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (input.files.length) start(input.files);
      input.value = "";
    });
    drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (e) { e.preventDefault(); drop.classList.remove("over"); start(e.dataTransfer.files); });
  });

  /* --- live job progress --------------------------------------------------------------------- */

  var Jobs = (function () {
    var table = document.querySelector("table.jobs");
    var timer = null;
    if (!table) return { watch: function () {} };
    var item = table.getAttribute("data-item");

    function row(job) {
      var tr = table.querySelector("tr[data-job='" + job.id + "']");
      if (!tr && item) {
        var none = table.querySelector("tr.none");
        if (none) none.remove();
        tr = el("tr", { "data-job": job.id });
        tr.appendChild(el("td", {}, "#" + job.id));
        tr.appendChild(el("td", {}, job.kind === "rerun" ? "Xử lý lại" : "Tiếp nhận tệp"));
        var cell = el("td");
        cell.appendChild(el("span", { "class": "status job-label" }));
        cell.appendChild(el("progress", { max: "1", value: "0" }));
        tr.appendChild(cell);
        tr.appendChild(el("td", { "class": "job-error" }));
        table.tBodies[0].insertBefore(tr, table.tBodies[0].firstChild);
      }
      return tr;
    }

    function show(job) {
      var tr = row(job);
      if (!tr) return;
      var before = tr.getAttribute("data-state");
      tr.setAttribute("data-state", job.state);
      var label = tr.querySelector(".job-label");
      label.textContent = job.label;
      label.className = "status status-" + job.state + " job-label";
      var bar = tr.querySelector("progress");
      bar.hidden = job.state === "done" || job.state === "failed";
      bar.max = job.progress_total || 1;
      bar.value = job.progress_total ? job.progress_done : 0;
      var error = tr.querySelector(".job-error");
      if (job.state !== "failed" && error.firstChild) error.textContent = "";
      if (job.state === "failed" && !error.textContent) error.textContent = job.error || "";
      // A job first seen already finished (an upload quicker than one poll) has changed too.
      if (before !== job.state && (job.state === "done" || job.state === "failed") && item) {
        var notice = document.querySelector(".jobs-changed");
        if (!notice) {
          notice = el("p", { "class": "notice jobs-changed", role: "status" });
          var link = el("a", { href: location.pathname + "#trang" }, "Tải lại trang");
          notice.appendChild(document.createTextNode("Xử lý đã có kết quả mới. "));
          notice.appendChild(link);
          notice.appendChild(document.createTextNode(" để xem các trang."));
          table.parentNode.insertBefore(notice, table);
        }
      }
    }

    function busy() {
      return table.querySelector("tr[data-state=queued], tr[data-state=running]") !== null;
    }

    async function poll() {
      timer = null;
      var url = "/api/v1/jobs?limit=100" + (item ? "&item_id=" + item : "");
      try {
        var response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok) (await response.json()).forEach(function (job) {
          if (item || table.querySelector("tr[data-job='" + job.id + "']")) show(job);
        });
      } catch (e) { /* next round */ }
      if (busy() || watching > 0) { watching = Math.max(0, watching - 1); timer = setTimeout(poll, 2000); }
    }

    var watching = 0;
    function watch() { watching = 5; if (!timer) timer = setTimeout(poll, 500); }
    if (busy()) timer = setTimeout(poll, 2000);
    return { watch: watch };
  })();

  /* --- bulk import with live rows ------------------------------------------------------------ */

  var LABELS = { created: "Đã tạo", duplicate: "Trùng, bỏ qua", failed: "Lỗi" };
  document.querySelectorAll("form.bulk-import").forEach(function (form) {
    var status = form.querySelector(".import-status");
    var bar = form.querySelector("progress.send");
    var result = document.querySelector(".import-result");
    var body = result.querySelector("tbody");
    var counts = result.querySelector(".counts");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      if (!form.querySelector("#archive").files.length) data.delete("archive");
      body.textContent = ""; counts.textContent = ""; result.hidden = true;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      bar.hidden = false; bar.removeAttribute("value");
      status.textContent = "Đang gửi tệp…";
      var used = 0, total = 0, done = 0;
      send("POST", "/api/v1/imports", data, {
        accept: "application/x-ndjson",
        onUpload: function (e) {
          if (e.lengthComputable) { bar.max = e.total; bar.value = e.loaded; status.textContent = "Đang gửi tệp… " + Math.floor(100 * e.loaded / e.total) + "%"; }
        },
        onText: function (text) {
          var end = text.lastIndexOf("\n");
          if (end < used) return;
          text.slice(used, end).split("\n").forEach(function (line) {
            if (!line.trim()) return;
            var msg; try { msg = JSON.parse(line); } catch (e) { return; }
            if (msg.total != null) { total = msg.total; result.hidden = false; bar.max = Math.max(1, total); bar.value = 0; }
            if (msg.row) {
              var r = msg.row, tr = el("tr", { "class": "row-" + r.status });
              tr.appendChild(el("td", {}, String(r.row)));
              tr.appendChild(el("td", {}, LABELS[r.status] || r.status));
              tr.appendChild(el("td", {}, r.title));
              var cell = el("td");
              if (r.item_id) cell.appendChild(el("a", { href: "/staff/tai-lieu/" + r.item_id }, "số " + r.item_id));
              tr.appendChild(cell);
              tr.appendChild(el("td", { "class": "reason" }, r.reason));
              body.appendChild(tr);
              done += 1; bar.value = done;
              status.textContent = "Đã xử lý " + done + "/" + total + " dòng…";
            }
            if (msg.done) {
              counts.textContent = msg.done.created + " tạo mới · " + msg.done.duplicate + " trùng, bỏ qua · " + msg.done.failed + " lỗi";
              status.textContent = "Xong. Các tệp đang được xử lý ở «Công việc xử lý».";
              bar.hidden = true;
            }
          });
          used = end + 1;
        },
      }).then(function (response) {
        button.disabled = false;
        if (response.status !== 200) { bar.hidden = true; status.textContent = ""; status.className = "import-status error"; status.textContent = message(response, "Không nhập được."); }
        else status.className = "import-status";
      }, function () {
        button.disabled = false; bar.hidden = true;
        status.textContent = "Mất kết nối. Bảng kê có thể nhập lại: các dòng đã nhập sẽ không bị tạo lần hai.";
      });
    });
  });

  /* --- confirmations ------------------------------------------------------------------------- */

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  /* --- print (the yearly report): the browser's own print, to paper or to PDF ---------------- */

  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();

/* --- copy buttons (access point snippets, a new password): staff_admin pages ------------------ */
(function () {
  "use strict";

  function copyBySelecting(field) {
    field.focus();
    field.select();
    try { field.setSelectionRange(0, field.value.length); } catch (e) { /* not a text field */ }
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  function el(tag, attrs, text) {  // as in the block above: each block stands alone
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text != null) node.textContent = text;
    return node;
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) return;
    var status = button.parentNode.querySelector(".copy-status");
    var timer = null;
    function say(text) {
      if (!status) return;
      status.textContent = text;
      clearTimeout(timer);
      timer = setTimeout(function () { status.textContent = ""; }, 4000);
    }
    function fallback() {
      // Without the clipboard API (a page served over plain http) the text is selected and
      // copied the old way; if even that is refused, it stays selected for Ctrl+C.
      say(copyBySelecting(field) ? "Đã sao chép" : "Đã chọn sẵn: nhấn Ctrl+C để sao chép");
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () { say("Đã sao chép"); }, fallback);
      } else {
        fallback();
      }
    });
    field.addEventListener("focus", function () { field.select(); });
  });
  /* The place picker: as one types (with or without diacritics) the gazetteer's matches appear
     with where they lie and what they became; choosing one writes its label, which the server
     reads back to that place. Several places are separated by ";". Without the script the
     field is a plain text box the server resolves (and asks when a name is ambiguous). */
  document.querySelectorAll("[data-place-picker]").forEach(function (box) {
    var input = box.querySelector("input");
    var list = box.querySelector("ul");
    var multiple = box.hasAttribute("data-multiple");
    var levels = (box.getAttribute("data-levels") || "").split(/\s+/).filter(Boolean);
    var timer = null, shown = [], active = -1, asked = 0;

    function current() {
      if (!multiple) return input.value.trim();
      var parts = input.value.split(";");
      return parts[parts.length - 1].trim();
    }
    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; }
    function choose(match) {
      if (multiple) {
        var parts = input.value.split(";").map(function (p) { return p.trim(); }).filter(Boolean);
        parts.pop();
        parts.push(match.label);
        input.value = parts.join("; ") + "; ";
      } else {
        input.value = match.label;
      }
      close();
      input.focus();
    }
    function mark(n) {
      var items = list.querySelectorAll("li");
      items.forEach(function (li, i) { li.setAttribute("aria-selected", i === n ? "true" : "false"); });
      active = n;
      if (items[n]) input.setAttribute("aria-activedescendant", items[n].id);
    }
    function show(matches) {
      list.textContent = "";
      shown = matches;
      matches.forEach(function (m, i) {
        var li = el("li", { role: "option", id: list.id + "-" + i, "aria-selected": "false" });
        li.appendChild(el("strong", {}, m.label));
        li.appendChild(el("span", { class: "place-where" }, m.hierarchy));
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(m); });
        list.appendChild(li);
      });
      if (!matches.length) list.appendChild(el("li", { class: "muted" }, "Không thấy địa danh này"));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    function ask() {
      var q = current();
      if (q.length < 2) { close(); return; }
      var url = "/api/v1/places?limit=12&q=" + encodeURIComponent(q);
      levels.forEach(function (lv) { url += "&level=" + encodeURIComponent(lv); });
      var mine = ++asked;
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (matches) { if (mine === asked) show(matches); })
        .catch(close);
    }
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 120); });
    input.addEventListener("keydown", function (e) {
      if (list.hidden || !shown.length) return;
      if (e.key === "ArrowDown") { e.preventDefault(); mark(Math.min(active + 1, shown.length - 1)); }
      else if (e.key === "ArrowUp") { e.preventDefault(); mark(Math.max(active - 1, 0)); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(shown[active]); }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  });
})();
