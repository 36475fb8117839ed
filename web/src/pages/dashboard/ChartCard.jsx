// One chart: a Chart.js canvas with an accessible name (role="img", aria-label summarizing the
// figures) and the same numbers as a table in a <details> for screen readers and keyboard users.
// `rows` is [{label, value}]; the chart is created once and updated in place.

import { useEffect, useRef } from "preact/hooks";
import { Chart } from "./chartSetup.js";

const COUNT = (n) => n.toLocaleString("en-US");

/** Chart.js configuration of each kind of chart this dashboard draws. */
function config(kind, rows, colors) {
  const labels = rows.map((r) => r.label);
  const data = rows.map((r) => r.value);
  const integerTicks = { beginAtZero: true, ticks: { precision: 0 } };
  switch (kind) {
    case "doughnut":
      return {
        type: "doughnut",
        data: { labels, datasets: [{ data, backgroundColor: colors, borderWidth: 1 }] },
        options: { plugins: { legend: { position: "right" } } },
      };
    case "hbar":
      return {
        type: "bar",
        data: { labels, datasets: [{ data, backgroundColor: colors || "#1f5fbf", borderRadius: 3 }] },
        options: { indexAxis: "y", scales: { x: integerTicks }, plugins: { legend: { display: false } } },
      };
    default:
      return {
        type: "line",
        data: {
          labels,
          datasets: [{ data, borderColor: "#1f5fbf", backgroundColor: "#1f5fbf", pointRadius: 2, tension: 0.2 }],
        },
        options: { scales: { y: integerTicks, x: { ticks: { maxTicksLimit: 8 } } }, plugins: { legend: { display: false } } },
      };
  }
}

export default function ChartCard({ testId, title, kind, rows, colors, labelHeader = "", valueHeader = "Leads", height = 240 }) {
  const canvas = useRef(null);
  const chart = useRef(null);

  useEffect(() => {
    const c = config(kind, rows, colors);
    if (!chart.current) {
      chart.current = new Chart(canvas.current, {
        ...c,
        options: { ...c.options, responsive: true, maintainAspectRatio: false },
      });
      return;
    }
    chart.current.data.labels = c.data.labels;
    chart.current.data.datasets[0].data = c.data.datasets[0].data;
    if (colors) chart.current.data.datasets[0].backgroundColor = colors;
    chart.current.update();
  }, [kind, rows, colors]);
  useEffect(() => () => chart.current?.destroy(), []);

  const total = rows.reduce((sum, r) => sum + r.value, 0);
  const summary =
    rows.length === 0 ? "no data" : rows.slice(0, 6).map((r) => `${r.label} ${COUNT(r.value)}`).join(", ") + (rows.length > 6 ? ", …" : "");
  return (
    <figure class="card chart-card">
      <figcaption><h2>{title}</h2></figcaption>
      <div class="chart-card__canvas" style={{ height: `${height}px` }}>
        <canvas ref={canvas} data-testid={testId} role="img" aria-label={`${title}: ${summary}`} />
      </div>
      <details class="chart-card__numbers">
        <summary>Numbers ({COUNT(total)} in all)</summary>
        <table class="table" data-testid={`${testId}-table`}>
          <thead>
            <tr><th scope="col">{labelHeader || title}</th><th scope="col" class="num">{valueHeader}</th></tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key ?? r.label} data-key={r.key ?? r.label}>
                <th scope="row">{r.label}</th>
                <td class="num">{COUNT(r.value)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
