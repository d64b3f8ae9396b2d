/* Mastodon share page: the form is a plain GET to this page; this script reads
   ?instance=...&text=... and builds https://<instance>/share?text=... */
(function () {
  "use strict";
  var HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{1,5})?$/;

  function hostOf(value) {
    var v = (value || "").trim().toLowerCase();
    v = v.replace(/^[a-z]+:\/\//, "");
    if (v.indexOf("@") !== -1) v = v.slice(v.lastIndexOf("@") + 1);
    v = v.split("/")[0];
    return HOST.test(v) ? v : null;
  }

  var params = new URLSearchParams(window.location.search);
  var form = document.getElementById("mastodon-share-form");
  var instanceField = document.getElementById("mastodon-share-instance");
  var textField = document.getElementById("mastodon-share-text");
  var result = document.getElementById("mastodon-share-result");
  var link = document.getElementById("mastodon-share-link");
  var error = document.getElementById("mastodon-share-error");
  if (!form) return;

  var text = params.get("text") || "";
  if (text) textField.value = text;
  var instance = params.get("instance");
  if (!instance) {
    try {
      instance = window.localStorage.getItem("mastodon-share-instance") || "";
    } catch (e) {
      instance = "";
    }
    instanceField.value = instance;
    return;
  }
  instanceField.value = instance;
  var host = hostOf(instance);
  if (!host) {
    error.textContent = "That does not look like a server name, for example mastodon.social.";
    return;
  }
  try {
    window.localStorage.setItem("mastodon-share-instance", host);
  } catch (e) {
    /* private mode: nothing to remember */
  }
  link.href = "https://" + host + "/share?text=" + encodeURIComponent(textField.value);
  link.textContent = "Open the new post on " + host;
  result.hidden = false;
  link.focus();
})();
