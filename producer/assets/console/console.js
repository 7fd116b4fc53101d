// The console's own script: the overview's chart, following a running job,
// "copy as curl" in the playground, and confirmations. No inline scripts: the
// pages' Content-Security-Policy allows only this origin's files.
(function () {
  "use strict";

  let chart = null;

  function seriesFrom(element) {
    try {
      const rows = JSON.parse(element.dataset.series || "[]");
      return [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])];
    } catch (_) {
      return [[], [], []];
    }
  }

  function drawChart() {
    const box = document.getElementById("throughput");
    const stats = document.getElementById("stats");
    if (!box || !stats || typeof uPlot === "undefined") return;
    const data = seriesFrom(stats);
    if (chart) {
      chart.setData(data);
      return;
    }
    chart = new uPlot(
      {
        width: Math.max(box.clientWidth, 200),
        height: 180,
        series: [
          {},
          { label: "succeeded", stroke: "#1a7f37", fill: "rgba(26,127,55,0.12)", width: 2 },
          { label: "failed", stroke: "#cf222e", width: 2 },
        ],
        axes: [{}, { label: "jobs / min" }],
      },
      data,
      box
    );
    window.addEventListener("resize", () => chart.setSize({ width: Math.max(box.clientWidth, 200), height: 180 }));
  }

  function followRunningJob() {
    if (document.querySelector("[data-reload-while]")) {
      setTimeout(() => window.location.reload(), 1500);
    }
  }

  function shellQuote(text) {
    return "'" + text.replace(/'/g, "'\\''") + "'";
  }

  function curlFor(form) {
    const input = {};
    let whole = null;
    form.querySelectorAll("[data-kind]").forEach((field) => {
      const value = field.value.trim();
      if (!value) return;
      const name = field.name.replace(/^f\./, "");
      switch (field.dataset.kind) {
        case "integer":
        case "number":
          input[name] = Number(value);
          break;
        case "json":
          try { whole = JSON.parse(value); } catch (_) { whole = value; }
          break;
        default:
          input[name] = value;
      }
    });
    const body = { model: form.querySelector("#model").value, input: whole || input };
    return [
      "curl -X POST " + window.location.origin + "/v1/jobs",
      '  -H "Authorization: Bearer $DE_API_KEY"',
      "  -H 'Content-Type: application/json'",
      "  -d " + shellQuote(JSON.stringify(body)),
    ].join(" \\\n");
  }

  function wireCurl() {
    const button = document.getElementById("copy-curl");
    if (!button) return;
    button.addEventListener("click", () => {
      const form = document.getElementById("playground");
      const out = document.getElementById("curl");
      const text = curlFor(form);
      out.textContent = text;
      out.hidden = false;
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(
          () => (button.textContent = "Copied"),
          () => (button.textContent = "Copy as curl (select the text below)")
        );
      }
    });
  }

  function wireConfirmations() {
    document.querySelectorAll("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    drawChart();
    followRunningJob();
    wireCurl();
    wireConfirmations();
  });
  document.addEventListener("htmx:afterSwap", drawChart);
  document.addEventListener("htmx:sseMessage", drawChart);
})();
