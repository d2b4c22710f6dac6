// The claim form: the branch list shows only the chosen merchant's branches. Without this script
// every branch is listed and the server refuses a branch of another merchant.
(function () {
  "use strict";
  function setUp() {
    var form = document.querySelector("[data-claim-form]");
    if (!form) return;
    var merchant = form.querySelector("#id_merchant");
    var branch = form.querySelector("#id_branch");
    if (!merchant || !branch) return;
    var owners = JSON.parse(branch.getAttribute("data-merchants") || "{}");
    var all = Array.prototype.slice.call(branch.options).map(function (o) {
      return { value: o.value, label: o.text };
    });
    function refresh() {
      var chosen = branch.value;
      var mine = all.filter(function (o) { return o.value === "" || owners[o.value] === merchant.value; });
      branch.innerHTML = "";
      mine.forEach(function (o) {
        var option = new Option(o.label, o.value);
        option.selected = o.value === chosen;
        branch.add(option);
      });
      if (mine.length === 2) branch.selectedIndex = 1; // one branch: chosen for the customer
    }
    merchant.addEventListener("change", refresh);
    refresh();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
