// A little help, never needed: every page works without JavaScript.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to the error summary, so a screen reader announces what went wrong.
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
    // Links in the summary move focus to their field, not only the scroll position.
    document.querySelectorAll(".error-summary a[href^='#']").forEach(function (a) {
      a.addEventListener("click", function (e) {
        var target = document.getElementById(a.getAttribute("href").slice(1));
        if (!target) { return; }
        e.preventDefault();
        var control = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
        (control || target).focus();
        target.scrollIntoView({ block: "center" });
      });
    });
  });
})();
