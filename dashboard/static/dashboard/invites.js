/* guildstats invites page: joins and leaves per day (uPlot bars-as-lines, no build step). */
(function () {
  "use strict";
  var box = document.getElementById("growth-chart");
  var days = JSON.parse(document.getElementById("growth-data").textContent).days;
  var xs = days.map(function (d) { return Date.parse(d.day + "T00:00:00Z") / 1000; });
  var data = [xs, days.map(function (d) { return d.joins; }), days.map(function (d) { return d.leaves; })];
  box.dataset.days = String(days.length);
  new uPlot({
    width: Math.max(box.clientWidth, 200), height: 200,
    series: [{}, { label: "Joins", stroke: "#3ba55d", width: 2 }, { label: "Leaves", stroke: "#ed4245", width: 2 }],
    scales: { x: { time: true } }, axes: [{}, { size: 50 }]
  }, data, box);
})();
