// pwreset hosted pages: progressive enhancement only; every page works
// without this script.
(function () {
  "use strict";
  var form = document.getElementById("reset-form");
  if (!form) { return; }
  // The token is in the form; keep it out of the address bar and history.
  if (window.location.search.indexOf("token=") !== -1) {
    window.history.replaceState(null, "", window.location.pathname);
  }
  var token = form.elements.token.value;
  var password = form.elements.new_password;
  var confirm = form.elements.confirm_password;
  var passwordErrors = document.getElementById("new_password-errors");
  var confirmErrors = document.getElementById("confirm_password-errors");
  var timer = null;
  var latest = 0;

  function show(box, messages, ok) {
    box.textContent = "";
    messages.forEach(function (text) {
      var p = document.createElement("p");
      p.textContent = text;
      if (ok) { p.className = "ok"; }
      box.appendChild(p);
    });
  }

  // The server's own policy, asked as the person types (never a weaker copy).
  function check() {
    var value = password.value;
    if (!value) { show(passwordErrors, []); return; }
    var ticket = ++latest;
    show(passwordErrors, [form.dataset.checking], true);
    fetch("/reset-password/check", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token, new_password: value })
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (ticket !== latest || !answer) { return; }
      if (answer.problems.length) {
        password.setAttribute("aria-invalid", "true");
        show(passwordErrors, answer.problems);
      } else {
        password.removeAttribute("aria-invalid");
        show(passwordErrors, [form.dataset.ok], true);
      }
    }).catch(function () { show(passwordErrors, []); });
  }

  function compare() {
    if (confirm.value && confirm.value !== password.value) {
      confirm.setAttribute("aria-invalid", "true");
      show(confirmErrors, [form.dataset.mismatch]);
    } else {
      confirm.removeAttribute("aria-invalid");
      show(confirmErrors, []);
    }
  }

  password.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 300);
    compare();
  });
  confirm.addEventListener("input", compare);
})();
