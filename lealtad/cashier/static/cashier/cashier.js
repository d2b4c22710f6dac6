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
    var target = document.querySelector("#confirm [autofocus], #accrued, .dialog button")
      || (document.querySelector("form.accrue [name=amount]"))
      || document.querySelector("[autofocus]");
    if (target && target.focus) target.focus();
  }
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
  function init() { preview(); focusFirst(); depends(); }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:load", function (e) { if (e.target === document.body) init(); });
  document.addEventListener("htmx:afterSettle", init);
})();
