// Chart.js with only what the dashboard draws (doughnut, bars, a line), registered once, so the
// dashboard's chunk carries no other chart type.

import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";

Chart.register(
  ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip,
);

const reducedMotion = typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
Chart.defaults.animation = reducedMotion ? false : { duration: 250 };
Chart.defaults.font.family = getComputedStyle(document.documentElement).getPropertyValue("--font") || "system-ui";
Chart.defaults.color = "#57606a";

export { Chart };
