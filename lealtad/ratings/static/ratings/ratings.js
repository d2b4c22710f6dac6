// The rating page's keys: 1–9 choose that score and 0 chooses 10, outside the text boxes (the
// arrows already move between the radio buttons).
document.addEventListener("keydown", function (event) {
  var target = event.target;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" && target.type !== "radio" || target.tagName === "SELECT")) return;
  if (!/^[0-9]$/.test(event.key)) return;
  var row = document.querySelector("[data-scores]");
  if (!row) return;
  var value = event.key === "0" ? "10" : event.key;
  var radio = row.querySelector('input[value="' + value + '"]');
  if (!radio) return;
  event.preventDefault();
  radio.checked = true;
  radio.focus();
});
