// The cashier screen's one script: focus, the amount's quote kept in its place, and Esc to
// close a dialog or leave a form. Everything works without it.
(function () {
  // The points an amount gives are quoted by the server as it is typed (HTMX on the amount field:
  // the very quote the accrual posts, promotions included). That small swap must not run the
  // page's set-up again, which would move the cursor out of the amount.
  function preview() {
    var out = document.getElementById("accrual-quote");
    if (!out || out.dataset.bound) return;
    out.dataset.bound = "1";
    out.addEventListener("htmx:afterSettle", function (e) { e.stopPropagation(); });
  }
  function focusFirst() {
    var target = document.querySelector("[data-focus] [autofocus], #confirm [autofocus], #accrued, .dialog button")
      || (document.querySelector("form.accrue [name=amount]"))
      || document.querySelector("[autofocus]");
    if (target && target.focus) target.focus();
  }
  // A scanner types the customer's QR code as a burst of keys, without pauses, ending in Enter.
  // Wherever the cursor is (the amount, the invoice), a burst that ends in one of our QR codes
  // (customers.actions.QR_PREFIX) goes to the search and switches customer; the field it fell
  // into loses it again. The gap is generous (a busy till lags): the prefix is what tells a QR.
  // Outside the till's pages (no search form, no data-scan-url) nothing changes.
  var QR_PREFIX = "LTQ1.", BURST_GAP_MS = 400, burst = { text: "", last: 0 };
  // The customer app's payment QR (coins.qr.PREFIX) is a signed, 2-minute payload: scanned into
  // the pay form's own field it pays; anywhere else on the till (the search box above all) it is
  // POSTed to open that customer's card with it in the pay form, never put in a logged URL.
  var PAY_PREFIX = "LPQ1:";
  function postPaymentQr(payload) {
    var form = document.getElementById("payment-qr-form");
    form.querySelector("[name=qr]").value = payload;
    form.requestSubmit();
  }
  // Typed or pasted (not a burst) into the search box: the same, on submit.
  document.addEventListener("submit", function (e) {
    var form = e.target, box = form.matches && form.matches("form.search") && form.querySelector("[name=q]");
    if (!box || box.value.trim().indexOf(PAY_PREFIX) !== 0 || !document.getElementById("payment-qr-form")) return;
    e.preventDefault();
    e.stopPropagation();
    var payload = box.value.trim();
    box.value = "";
    postPaymentQr(payload);
  }, true);
  document.addEventListener("keydown", function (e) {
    var now = Date.now();
    if (now - burst.last > BURST_GAP_MS) burst.text = "";
    burst.last = now;
    if (e.key !== "Enter") {
      if (e.key.length === 1) burst.text += e.key;
      return;
    }
    var paid = burst.text.lastIndexOf(PAY_PREFIX);
    if (paid >= 0 && burst.text.length - paid >= 30) {
      var payload = burst.text.slice(paid);
      burst.text = "";
      if (e.target.id === "id_cp-payment_qr") return;  // the pay form's own field: it pays
      if (!document.getElementById("payment-qr-form")) return;
      e.preventDefault();
      e.stopPropagation();
      var into = e.target, typed = typeof into.value === "string" ? into.value : null;
      if (typed !== null && typed.slice(-payload.length) === payload) {
        into.value = typed.slice(0, -payload.length);
        into.dispatchEvent(new Event("input", { bubbles: true }));
      }
      postPaymentQr(payload);
      return;
    }
    var at = burst.text.lastIndexOf(QR_PREFIX), scanned = burst.text.slice(at);
    burst.text = "";
    var search = document.querySelector("form.search[data-scan], [data-scan-url]");
    if (!search || at < 0 || scanned.length < 30) return;
    var box = search.querySelector("[name=q]"), field = e.target;
    e.preventDefault();
    e.stopPropagation();
    var value = field !== box && typeof field.value === "string" ? field.value : null;
    if (value !== null && value.slice(-scanned.length) === scanned) {
      field.value = value.slice(0, -scanned.length);
      field.dispatchEvent(new Event("input", { bubbles: true }));
    }
    if (!box) {  // a till page without the search box (registration, profile)
      location.assign(search.dataset.scanUrl + "?q=" + encodeURIComponent(scanned));
      return;
    }
    box.value = scanned;
    search.requestSubmit();
  }, true);
  // A link marked data-keep="form-id" (the register form's Quick / Complete) carries what was
  // typed in that form, so switching the form's mode loses nothing.
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-keep]");
    var form = link && document.getElementById(link.dataset.keep);
    if (!form) return;
    var url = new URL(link.href, location.href);
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "hidden" || el.disabled) return;
      if (el.type === "checkbox") url.searchParams.set(el.name, el.checked ? "on" : "");
      else if (el.value !== "") url.searchParams.set(el.name, el.value);
    });
    e.preventDefault();
    e.stopPropagation();
    location.assign(url.href);
  }, true);
  // A receipt's "Print" button (CSP allows no inline handler): the print stylesheet shows the
  // receipt alone.
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-print]")) window.print();
  });
  // A secret shown once (a new API key): "Copy" puts the field's text on the clipboard and says
  // so; without the clipboard API (no secure context) the text is selected for Ctrl+C.
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-copy]");
    var field = button && document.getElementById(button.dataset.copy);
    if (!field) return;
    field.focus();
    field.select();
    function done() { button.textContent = button.dataset.copied; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var esc = document.querySelector("[data-esc]");
    if (esc) esc.click();
  });
  // Console forms: a field marked data-when="kind=bonus target=…" shows only when one of its
  // conditions holds (without JavaScript every field shows; the server checks either way).
  function depends() {
    document.querySelectorAll("form[data-depends]").forEach(function (form) {
      function valueOf(name) {
        var el = form.elements[name];
        if (el && el.type === "checkbox") return el.checked ? "on" : "";
        return el ? el.value : "";
      }
      function apply() {
        form.querySelectorAll("[data-when]").forEach(function (box) {
          var show = box.getAttribute("data-when").split(" ").some(function (cond) {
            var kv = cond.split("=");
            return valueOf(kv[0]) === kv[1];
          });
          box.hidden = !show;
        });
      }
      if (!form.dataset.bound) {
        form.addEventListener("change", apply);
        form.dataset.bound = "1";
      }
      apply();
    });
  }
  // I2: F2 goes to the first waiting POS invoice of the panel; the arrows move along it.
  document.addEventListener("keydown", function (e) {
    var items = Array.prototype.slice.call(document.querySelectorAll("[data-pos-item]"));
    if (e.key === "F2") {
      if (items.length) { e.preventDefault(); items[0].focus(); }
      return;
    }
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    var at = items.indexOf(e.target), next = items[at + (e.key === "ArrowDown" ? 1 : -1)];
    if (at >= 0 && next) { e.preventDefault(); next.focus(); }
  });
  function bind() { preview(); depends(); }
  // The cursor moves only when a page arrives (a load, or a boosted swap of the whole body),
  // never after a partial swap such as the document check: by the time that answers, the
  // cashier is typing in the next field.
  document.addEventListener("DOMContentLoaded", function () { bind(); focusFirst(); });
  document.addEventListener("htmx:afterSettle", function (e) {
    bind();
    if (e.detail && e.detail.target === document.body) focusFirst();
  });
})();
