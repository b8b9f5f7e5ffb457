// NetPulse operator UI: keeps pages live without page reloads.
//
// The server renders everything; this script only listens to /events (server-sent events) and,
// on each `changed` event, fetches the fragment named by the page's <main data-fragment="…">
// (/fragment/overview, /fragment/monitors/<id>) and swaps it in.
// Without JavaScript the pages fall back to a <noscript> meta refresh.
"use strict";
(function () {
  var root = document.querySelector("main[data-fragment]");
  var indicator = document.getElementById("live");
  if (!root || !indicator || !window.EventSource || !window.fetch) return;
  var fragment = root.getAttribute("data-fragment");

  var inFlight = false;
  var again = false;

  function show(state, text) {
    indicator.hidden = false;
    indicator.className = "live " + state;
    indicator.textContent = text;
  }

  function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetch(fragment, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { window.location.assign("/login"); return null; }
        if (r.status === 404) { window.location.reload(); return null; }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) { if (html !== null) root.innerHTML = html; })
      .catch(function () { show("reconnecting", "reconnecting…"); })
      .then(function () {
        inFlight = false;
        if (again) { again = false; refresh(); }
      });
  }

  var opened = false;
  function connect() {
    var es = new EventSource("/events");
    show("reconnecting", "connecting…");
    es.addEventListener("open", function () {
      show("ok", "live");
      // Changes may have been missed while disconnected.
      if (opened) refresh();
      opened = true;
    });
    es.addEventListener("changed", refresh);
    es.addEventListener("error", function () {
      show("reconnecting", "reconnecting…");
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. a 401): check the session, then retry.
        es.close();
        setTimeout(function () { refresh(); connect(); }, 5000);
      }
    });
  }
  connect();

  // Relative times ("12 s ago") are rendered by the server; keep them roughly current.
  setInterval(function () { if (!document.hidden) refresh(); }, 30000);
})();
