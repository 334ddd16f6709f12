// Starts Swagger UI on the API docs page. A file, not an inline script, so the page's
// Content-Security-Policy can stay script-src 'self'.
(function () {
  "use strict";

  // Swagger UI leaves a parameter's list of codes (a <select>) and its inputs without a
  // name a screen reader can say: name each after its parameter, as it is drawn.
  function nameControls(root) {
    root.querySelectorAll("tr[data-param-name] select, tr[data-param-name] input, tr[data-param-name] textarea")
      .forEach(function (control) {
        if (control.getAttribute("aria-label") || control.labels && control.labels.length) { return; }
        var row = control.closest("tr[data-param-name]");
        control.setAttribute("aria-label", row.getAttribute("data-param-name") + " (" +
          row.getAttribute("data-param-in") + ")");
      });
  }

  window.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    window.ui = SwaggerUIBundle({
      url: root.getAttribute("data-spec"),
      domNode: root,
      // Deep links put a link inside each operation's button (nested controls).
      deepLinking: false,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      // The default validator badge calls a public server: none on an offline network.
      validatorUrl: null,
    });
    new MutationObserver(function () { nameControls(root); }).observe(root, { childList: true, subtree: true });
  });
})();
