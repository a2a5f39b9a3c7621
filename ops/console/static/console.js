// tgwebhook console: live refresh without a reload (polls the JSON API), bulk progress,
// select-all. Served from /console/static (the CSP allows no inline script).
"use strict";

const REFRESH_MS = 5000;
const PROGRESS_MS = 1500;

function text(value, unit) {
  if (value === null || value === undefined) return "—";
  if (unit === "s") return Number(value.toPrecision(3)) + " s";
  if (unit === "/s") return Number(value.toPrecision(3)) + "/s";
  return String(value);
}

function utc(seconds) {
  return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function setField(card, name, value) {
  const node = card.querySelector(`[data-field="${name}"]`);
  if (node) node.textContent = value;
}

function showCard(card, bot) {
  card.dataset.status = bot.status;
  const status = card.querySelector('[data-field="status"]');
  status.textContent = bot.status;
  status.className = "status status-" + bot.status;
  setField(card, "ingest-rate", text(bot.ingest_rate, "/s"));
  setField(card, "ack-p99", text(bot.ack_p99, "s"));
  setField(card, "lag-p99", text(bot.lag_p99, "s"));
  setField(card, "queue-depth", text(bot.queue_depth));
  setField(card, "oldest-age", text(bot.oldest_age, "s"));
  setField(card, "dead-letters", text(bot.dead_letters));
  setField(card, "pending", text(bot.pending));
  setField(card, "error-class", bot.error_class);
  setField(card, "error-advice", bot.error_advice);
  setField(card, "firing", bot.firing.length ? bot.firing.join(", ") : "none");
  for (const [field, svg] of bot.charts) {
    const figure = card.querySelector(`.chart[data-chart="${field}"]`);
    const old = figure && figure.querySelector("svg");
    if (!old) continue;
    // The renderer's SVG is escaped server-side; parsed as SVG, never as HTML with scripts.
    const parsed = new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
    if (parsed.nodeName === "svg") old.replaceWith(document.importNode(parsed, true));
  }
}

async function refreshOverview() {
  try {
    const answer = await fetch("/api/overview", { headers: { Accept: "application/json" } });
    if (!answer.ok) throw new Error("HTTP " + answer.status);
    const snapshot = await answer.json();
    for (const bot of snapshot.cards) {
      const card = document.querySelector(`.bot-card[data-bot="${CSS.escape(bot.bot)}"]`);
      if (card) showCard(card, bot);
    }
    const overall = document.getElementById("overall-status");
    overall.textContent = snapshot.status;
    overall.dataset.status = snapshot.status;
    overall.className = "status status-" + snapshot.status;
    const stamp = document.getElementById("last-updated");
    stamp.dataset.at = snapshot.at;
    stamp.textContent = utc(snapshot.at);
    stamp.classList.remove("stale");
  } catch (error) {
    document.getElementById("last-updated").classList.add("stale");
  }
}

async function followProgress(node) {
  const answer = await fetch("/api/audit/" + encodeURIComponent(node.dataset.audit));
  if (!answer.ok) return;
  const entry = await answer.json();
  node.dataset.state = entry.state;
  node.querySelector('[data-field="done"]').textContent = entry.done;
  node.querySelector('[data-field="matched"]').textContent = entry.matched;
  node.querySelector('[data-field="state"]').textContent = entry.state;
  node.querySelector("progress").value = entry.done;
  if (entry.state === "running") setTimeout(() => followProgress(node), PROGRESS_MS);
}

function start() {
  if (document.getElementById("last-updated")) setInterval(refreshOverview, REFRESH_MS);
  for (const node of document.querySelectorAll('.progress[data-state="running"]')) {
    setTimeout(() => followProgress(node), PROGRESS_MS);
  }
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll("input.select-row")) box.checked = all.checked;
    });
  }
}

document.addEventListener("DOMContentLoaded", start);
