/* Copy-link control for share links. Without this script the control stays a plain
   link to the post (its address can be copied from the browser's link menu). */
(function () {
  "use strict";
  function fallbackCopy(text) {
    var field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.style.position = "absolute";
    field.style.left = "-9999px";
    document.body.appendChild(field);
    field.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(field);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return fallbackCopy(text);
      });
    }
    return fallbackCopy(text);
  }
  function setup(link) {
    var status = link.parentNode.querySelector(".share-links__status");
    link.textContent = link.getAttribute("data-copy-label") || "Copy link";
    link.setAttribute("role", "button");
    link.addEventListener("click", function (event) {
      event.preventDefault();
      copy(link.href).then(
        function () {
          if (status) status.textContent = "Link copied";
          link.setAttribute("data-copied", "true");
        },
        function () {
          if (status) status.textContent = "Copy failed: " + link.href;
        }
      );
    });
  }
  var links = document.querySelectorAll("a[data-copy-link]");
  for (var i = 0; i < links.length; i++) setup(links[i]);
})();
