// The wallet's payment code, kept live as the Alipay app keeps it: a new code every
// minute, "used" or "expired" as soon as the sandbox says so, and the password prompt
// opened when a cashier's scan waits for the buyer (10003).
(function () {
  "use strict";
  var box = document.getElementById("paycode");
  if (!box) return;
  var user = box.dataset.user;
  var base = "/wallet/" + encodeURIComponent(user);
  var known = (box.dataset.waiting || "").split(" ").filter(Boolean);
  var overlay = box.querySelector(".overlay");
  var state = document.getElementById("code-state");

  function group(code) { return code.replace(/(\d{4})(?=\d)/g, "$1 "); }

  function show(c) {
    box.dataset.code = c.code;
    box.dataset.status = c.status;
    box.querySelector(".barcode").src = c.barcode;
    box.querySelector(".qr").src = c.qr;
    document.getElementById("code-digits").textContent = group(c.code);
    overlay.hidden = true;
    state.textContent = "Valid until " + c.expires_at;
  }

  function mark(status) {
    box.dataset.status = status;
    document.getElementById("overlay-text").textContent =
      status === "used" ? "Used — the cashier has scanned this code" : "Expired";
    state.textContent = status === "used" ? "Used" : "Expired";
    overlay.hidden = false;
  }

  function fresh() {
    return fetch(base + "/codes", { method: "POST", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) { if (c) show(c); });
  }

  function poll() {
    fetch(base + "/codes/" + encodeURIComponent(box.dataset.code), { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) return;
        var added = s.waiting.filter(function (w) { return known.indexOf(w.trade_no) < 0; });
        if (added.length) { window.location.href = added[0].pay_url; return; }
        document.getElementById("balance").textContent = "¥" + s.balance;
        if (s.status !== "valid" && box.dataset.status === "valid") mark(s.status);
      })
      .catch(function () {});
  }

  document.getElementById("new-code").addEventListener("click", fresh);
  setInterval(poll, 1500);
  setInterval(fresh, 60000);
})();
