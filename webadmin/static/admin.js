// Saved-message uploads straight to S3: when the form says data-direct,
// the file is PUT to a presigned URL and the form then posts only the
// object's key. Without JavaScript the form posts the file itself.
(function () {
  "use strict";
  function direct(form, replace) {
    form.addEventListener("submit", async function (ev) {
      var input = form.querySelector("input[type=file]");
      if (!input || !input.files.length) return; // a text message posts as is
      ev.preventDefault();
      var status = form.querySelector(".upload-status");
      var say = function (t) { if (status) status.textContent = t; };
      var file = input.files[0];
      try {
        say("Uploading " + file.name + "…");
        var t = await fetch("/admin/messages/ticket", { method: "POST", credentials: "same-origin" });
        var ticket = await t.json();
        if (!t.ok) throw new Error(ticket.error || "The upload could not start.");
        var put = await fetch(ticket.url, { method: "PUT", body: file });
        if (!put.ok) throw new Error("The media store refused the file (" + put.status + ").");
        var f = document.createElement("form");
        f.method = "post";
        f.action = "/admin/messages/staged";
        var add = function (k, v) { var i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i); };
        add("name", form.elements.name.value);
        add("text", form.elements.text ? form.elements.text.value : "");
        add("key", ticket.key);
        add("filename", file.name);
        if (replace) add("replace", "1");
        document.body.appendChild(f);
        f.submit();
      } catch (e) {
        say(e.message);
      }
    });
  }
  document.querySelectorAll("form[data-direct]").forEach(function (f) { direct(f, f.classList.contains("replace")); });
})();

// Forms that delete or unlink ask first.
document.querySelectorAll("form[data-confirm]").forEach(function (f) {
  f.addEventListener("submit", function (ev) {
    if (!window.confirm(f.getAttribute("data-confirm"))) ev.preventDefault();
  });
});
