// genver UI: the theme switch and keyboard navigation. No inline script anywhere (CSP).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("theme-select");
    if (select) {
      select.addEventListener("change", function () {
        document.documentElement.setAttribute("data-theme", select.value);
        document.cookie = "genver_theme=" + encodeURIComponent(select.value) + "; path=/; max-age=31536000; SameSite=Strict";
      });
    }
    document.addEventListener("keydown", function (event) {
      // j / k: the next newer / older trace (not while typing in a field)
      var typing = event.target.closest && event.target.closest("input, textarea, select");
      if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
      var link = null;
      if (event.key === "j") { link = document.getElementById("newer-trace"); }
      else if (event.key === "k") { link = document.getElementById("older-trace"); }
      if (link) { window.location.href = link.href; }
    });
    var tree = document.getElementById("span-tree");
    if (tree) {
      var selected = tree.querySelector('[aria-selected="true"]');
      if (selected) { selected.scrollIntoView({ block: "center" }); }
      tree.addEventListener("keydown", function (event) {
        var row = event.target.closest('[role="treeitem"]');
        if (!row) { return; }
        var rows = Array.prototype.slice.call(tree.querySelectorAll('[role="treeitem"]'));
        var i = rows.indexOf(row);
        var next = null;
        if (event.key === "ArrowDown") { next = rows[i + 1]; }
        else if (event.key === "ArrowUp") { next = rows[i - 1]; }
        else if (event.key === "ArrowRight") {
          var expand = row.querySelector("[data-expand]");
          if (expand) { expand.click(); }
        } else if (event.key === "Enter") {
          var link = row.querySelector("a.name");
          if (link) { link.click(); }
        } else { return; }
        event.preventDefault();
        if (next) { row.tabIndex = -1; next.tabIndex = 0; next.focus(); }
      });
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    // an expanded row's toggle turns into a plain marker: its children are now in the tree
    var row = event.detail && event.detail.requestConfig && event.detail.requestConfig.elt;
    if (row && row.matches && row.matches("[data-expand]")) {
      var li = row.closest("li");
      if (li) { li.setAttribute("aria-expanded", "true"); }
      row.replaceWith(Object.assign(document.createElement("span"), { className: "toggle", textContent: "▾" }));
    }
  });
})();
