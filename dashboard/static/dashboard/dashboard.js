/* guildstats dashboard: the activity chart (uPlot), granularity switch, live updates over the
   guild's WebSocket with a polling fallback. No build step. */
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("page-config").textContent);
  var chartData = JSON.parse(document.getElementById("chart-data").textContent);
  var chartBox = document.getElementById("activity-chart");
  var state = document.getElementById("live-state");
  var plot = null;
  var POLL_MS = window.GUILDSTATS_POLL_MS || 10000;  // tests shorten it
  var METRICS = [
    ["totalMessages", "Messages", "#5865f2"],
    ["totalVoiceMinutes", "Voice minutes", "#3ba55d"],
    ["totalReactions", "Reactions", "#faa61a"]
  ];

  function number(v) { return v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US"); }
  function change(v) {
    if (v === null || v === undefined) return "—";
    if (v === 0) return "±0%";
    return (v > 0 ? "+" : "-") + Math.abs(v).toFixed(1) + "%";
  }

  /* Points after now are not drawn (the period runs to the end of today), points outside
     collection coverage ("covered": false) are gaps, and the current, incomplete point is
     drawn on its own dashed segment. */
  function columns(activity, nowIso) {
    var now = Date.parse(nowIso) / 1000;
    var points = activity.dataPoints;
    var xs = [], current = -1, gaps = 0;
    points.forEach(function (p, i) {
      var t = Date.parse(p.timestamp) / 1000;
      xs.push(t);
      if (t <= now) current = i;
    });
    var data = [xs];
    METRICS.forEach(function (m) {
      var done = [], live = [];
      points.forEach(function (p, i) {
        var v = p.covered === false || i > current ? null : p[m[0]];
        done.push(i === current ? null : v);
        live.push(i === current || i === current - 1 ? v : null);
      });
      data.push(done, live);
    });
    points.forEach(function (p) { if (p.covered === false) gaps++; });
    chartBox.dataset.points = String(points.length);
    chartBox.dataset.current = String(current);
    chartBox.dataset.gaps = String(gaps);
    chartBox.dataset.granularity = activity.granularity;
    chartBox.dataset.currentMessages = current >= 0 ? String(points[current].totalMessages) : "";
    return data;
  }

  function draw(activity, nowIso) {
    var data = columns(activity, nowIso);
    var series = [{}];
    METRICS.forEach(function (m) {
      series.push({ label: m[1], stroke: m[2], width: 2, spanGaps: false });
      series.push({ label: m[1] + " (so far)", stroke: m[2], width: 2, dash: [6, 4], spanGaps: false });
    });
    var width = Math.max(chartBox.clientWidth, 200);
    if (plot) { plot.destroy(); }
    chartBox.innerHTML = "";
    plot = new uPlot({
      width: width, height: 240, series: series, legend: { show: false },
      scales: { x: { time: true } },
      axes: [{}, { size: 50 }]
    }, data, chartBox);
    var legend = document.createElement("div");
    legend.className = "legend";
    METRICS.forEach(function (m) {
      var item = document.createElement("span");
      item.innerHTML = '<i style="background:' + m[2] + '"></i>' + m[1];
      legend.appendChild(item);
    });
    chartBox.appendChild(legend);
  }

  function updateCards(cards) {
    cards.forEach(function (card) {
      var box = document.querySelector('[data-card="' + card.key + '"]');
      if (!box) return;
      var value = box.querySelector(".value");
      value.textContent = number(card.value);
      value.dataset.value = String(card.value);
      var delta = box.querySelector(".change");
      delta.textContent = change(card.change);
      delta.dataset.change = card.change === null ? "" : String(card.change);
      delta.className = "change" + (card.tone ? " " + card.tone : "");
    });
  }

  var inFlight = false, again = false;
  function refresh() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    var url = config.liveUrl + "?period=" + encodeURIComponent(config.period) +
      "&granularity=" + encodeURIComponent(config.granularity);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (body) {
        updateCards(body.cards);
        draw(body.activity, body.now);
        document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
      })
      .catch(function () {})
      .then(function () { inFlight = false; if (again) { again = false; refresh(); } });
  }

  /* the granularity switch redraws in place (and keeps the URL shareable) */
  document.querySelectorAll("#granularities a").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      config.granularity = link.dataset.granularity;
      document.querySelectorAll("#granularities a").forEach(function (a) {
        a.classList.toggle("on", a === link);
        if (a === link) a.setAttribute("aria-current", "true"); else a.removeAttribute("aria-current");
      });
      history.replaceState(null, "", link.getAttribute("href"));
      refresh();
    });
  });

  /* live: a push means "your guild changed"; fetch now and once more 1.2 s later (pushes are
     at most one per second, so a change inside that second is seen by the second fetch).
     A socket that opens may have missed the push of the last second (sent before it joined),
     so it fetches 1.2 s after opening too, and at once after a reconnect (changes while down).
     While the socket is down, poll every 10 s and try to reconnect. */
  var pollTimer = null, retry = 1000, opened = false, pinger = null;
  function setState(s) { state.dataset.state = s; state.title = "live updates: " + s; }
  function startPolling() { if (!pollTimer) pollTimer = setInterval(refresh, POLL_MS); }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }
  function connect() {
    // embedded mode: the worker is another process and pushes cannot cross over, so poll often
    if (config.pollOnly) { POLL_MS = window.GUILDSTATS_POLL_MS || 2000; setState("polling"); startPolling(); return; }
    if (!("WebSocket" in window)) { setState("polling"); startPolling(); return; }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try { socket = new WebSocket(scheme + location.host + config.socketPath); }
    catch (e) { setState("polling"); startPolling(); return; }
    setState("connecting");
    socket.onopen = function () {
      retry = 1000; stopPolling(); setState("live");
      if (opened) refresh();
      opened = true;
      setTimeout(refresh, 1200);
      // the server pushes only to guilds a socket pinged for in the last 15 minutes
      pinger = setInterval(function () {
        if (socket.readyState === 1) socket.send(JSON.stringify({ type: "ping" }));  // not while closing
      }, window.GUILDSTATS_PING_MS || 60000);
    };
    socket.onmessage = function (message) {
      var body = {};
      try { body = JSON.parse(message.data); } catch (e) { return; }
      if (body.type === "changed") { refresh(); setTimeout(refresh, 1200); }
    };
    socket.onclose = function () {
      if (pinger) { clearInterval(pinger); pinger = null; }
      setState("polling");
      startPolling();
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  window.guildstatsDashboard = { refresh: refresh };

  draw(chartData.activity, chartData.now);
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () { if (plot) plot.setSize({ width: Math.max(chartBox.clientWidth, 200), height: 240 }); }, 150);
  });
  connect();
})();
