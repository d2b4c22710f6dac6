// Small behaviours the Content-Security-Policy keeps out of the templates (no inline handlers).
// A <select data-submit-on-change> sends its form when the choice changes (the language picker).
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("select[data-submit-on-change]") && field.form) {
    field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
  }
});
