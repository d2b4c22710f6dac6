// Downloads with a progress bar: the page knows how many rows to expect, the stream is read as
// it comes and its lines counted, then saved. Without this script the link downloads as usual.
(function () {
  if (window.lealtadExports) return;
  window.lealtadExports = true;
  function fill(template, done, total) {
    return template.replace("%(done)s", done.toLocaleString()).replace("%(total)s", total.toLocaleString());
  }
  function filename(response, fallback) {
    var found = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
    return found ? found[1] : fallback;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-export]");
    if (!link || !window.fetch || !window.ReadableStream || !window.TextDecoder) return;
    event.preventDefault();
    if (link.getAttribute("aria-disabled") === "true") return;
    var box = document.getElementById(link.dataset.progress);
    var bar = box.querySelector(".progress"), span = bar.querySelector("span");
    var note = box.querySelector("[aria-live]");
    var total = parseInt(link.dataset.total, 10) || 0, rows = -1, chunks = [];
    function show(percent) {
      span.style.width = percent + "%";
      bar.setAttribute("aria-valuenow", percent);
    }
    box.hidden = false;
    link.setAttribute("aria-disabled", "true");
    show(0);
    note.textContent = fill(box.dataset.rows, 0, total);
    fetch(link.href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok || !response.body) throw new Error("HTTP " + response.status);
      var reader = response.body.getReader(), decoder = new TextDecoder();
      function pump() {
        return reader.read().then(function (step) {
          if (step.done) return;
          chunks.push(step.value);
          var text = decoder.decode(step.value, { stream: true });
          for (var i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) rows++;
          // A cell may hold a line break, so the count can pass the total: never beyond 99 %.
          show(total ? Math.min(99, Math.floor(Math.max(rows, 0) * 100 / total)) : 0);
          note.textContent = fill(box.dataset.rows, Math.max(rows, 0), total);
          return pump();
        });
      }
      return pump().then(function () {
        var url = URL.createObjectURL(new Blob(chunks, { type: "text/csv;charset=utf-8" }));
        var save = document.createElement("a");
        save.href = url;
        save.download = filename(response, "export.csv");
        document.body.appendChild(save);
        save.click();
        save.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
        show(100);
        note.textContent = fill(box.dataset.saved, Math.max(rows, 0), total);
      });
    }).catch(function () {
      note.textContent = box.dataset.failed;
    }).then(function () {
      link.removeAttribute("aria-disabled");
    });
  });
})();
