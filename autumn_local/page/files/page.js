// The local server's page: polls /_local/state every second and redraws what changed.
// Plain DOM, no framework, nothing loaded from elsewhere; text is set with textContent,
// so names and ids from requests are never read as HTML.
"use strict";

const POLL_MS = 1000;
const CHANGE_HEADERS = { "Content-Type": "application/json", "X-Autumn-Local": "page" };
let lastRequestId = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function number(value) {
  if (value === null || value === undefined) return "–";
  return typeof value === "number" ? value.toLocaleString("en-US") : String(value);
}

function when(ms) {
  if (!ms) return "never";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function day(ms) {
  // A reset to the minute, in UTC as the clock shows: short enough to read beside the bar.
  return ms ? when(ms).slice(0, 16) : "never";
}

function balanceRow(b) {
  const bar = el("div", { class: "bar" + (b.unlimited ? " unlimited" : ""), role: "img" });
  const used = el("div", { class: "used" });
  const granted = Number(b.granted) || 0;
  const remaining = Math.max(0, Number(b.remaining) || 0);
  // The bar is what is left of the grant; its empty part, what was used.
  const share = b.unlimited ? 1 : granted > 0 ? Math.min(1, remaining / granted) : 0;
  if (!b.unlimited) used.style.width = (share * 100).toFixed(1) + "%";
  bar.append(used);
  bar.setAttribute(
    "aria-label",
    b.unlimited ? "unlimited" : `${number(remaining)} of ${number(granted)} remaining`
  );
  const figures = el("span", { class: "figures" });
  // Two short lines beside the bar: what is left, then what was used and when it resets.
  if (b.unlimited) {
    figures.append(el("span", {}, el("b", { text: "unlimited" })));
  } else {
    figures.append(
      el("span", {}, el("b", { class: "remaining", text: number(b.remaining) }), ` of ${number(b.granted)} left`)
    );
  }
  figures.append(
    el("span", { class: "detail", text: `used ${number(b.usage)} · resets ${day(b.next_reset_at)}` })
  );
  return el(
    "div",
    { class: "balance", "data-feature": b.feature_id },
    el("span", { class: "feature", text: b.feature_id, title: b.feature_id }),
    bar,
    figures
  );
}

function balanceList(balances) {
  if (!balances.length) return el("p", { class: "note", text: "no balances" });
  return el("div", { class: "balances" }, ...balances.map(balanceRow));
}

function customerCard(c) {
  const who = [c.name, c.email].filter(Boolean).join(" · ");
  const card = el(
    "article",
    { class: "customer", "data-customer": c.id || "" },
    el(
      "header",
      {},
      el("h3", { class: "mono", text: c.id || "(created without an id)" }),
      el("span", { class: "who", text: who })
    ),
    balanceList(c.balances)
  );
  for (const e of c.entities) {
    card.append(
      el(
        "div",
        { class: "entity", "data-entity": e.id },
        el(
          "h3",
          {},
          "entity ",
          el("span", { class: "mono", text: e.id }),
          e.name ? ` · ${e.name}` : "",
          el("span", { class: "note", text: " (as entities.get answers: its own balances and the customer's)" })
        ),
        balanceList(e.balances)
      )
    );
  }
  return card;
}

function statusCell(r) {
  if (r.status === null) return el("td", { class: "status-none", text: "no answer" });
  return el("td", { class: r.status < 400 ? "status-ok" : "status-bad", text: String(r.status) });
}

function keyCell(key, traceId) {
  // The key, shortened (hover for all of it), and under it the trace the request
  // continues, when its client sent a traceparent (the SDK does, once instrumented).
  const cell = el("td", { class: "mono key", title: key });
  cell.append(el("span", { text: key.length > 14 ? key.slice(0, 12) + "…" : key }));
  if (traceId) {
    cell.append(el("span", { class: "trace", text: "trace " + traceId.slice(0, 8) + "…", title: traceId }));
  }
  return cell;
}

function requestRow(r) {
  const key = r.idempotency_key || "";
  const target = [r.customer_id, r.entity_id, r.feature_id].filter(Boolean).join(" · ");
  const row = el(
    "tr",
    { "data-request": String(r.id), class: r.id > lastRequestId && lastRequestId ? "fresh" : "" },
    el("td", { class: "mono", text: when(r.at_ms).slice(11, 19) }),
    el("td", { text: r.method }),
    el("td", { class: "mono", text: r.route }),
    statusCell(r),
    el("td", { class: "mono code", text: r.code || "", title: r.message || "" }),
    el("td", { class: "mono", text: target }),
    keyCell(key, r.trace_id),
    el("td", { class: "changed", text: r.changed })
  );
  return row;
}

function render(state) {
  const customers = document.getElementById("customers");
  customers.replaceChildren(...state.customers.map(customerCard));
  if (!state.customers.length) {
    customers.append(el("p", { class: "note", text: "No customers yet: create a balance through the API." }));
  }
  const shown = state.customers.length;
  document.getElementById("customers-note").textContent =
    state.customers_total > shown ? `The ${shown} newest of ${state.customers_total} customers.` : "";

  document.querySelector("#requests tbody").replaceChildren(...state.requests.map(requestRow));
  lastRequestId = state.last_request_id;

  document.getElementById("clock-now").textContent = when(state.clock.now_ms);
  document.getElementById("clock-state").textContent = state.clock.frozen ? "frozen" : "running";

  const faults = state.faults;
  document.getElementById("faults-spec").textContent = faults.spec;
  document.getElementById("faults-queued").textContent = faults.queued.join(", ") || "none";
  const counts = Object.entries(faults.counts).map(([k, v]) => `${k}: ${v}`);
  document.getElementById("faults-counts").textContent = counts.join(", ") || "none";
  const next = document.getElementById("faults-next");
  if (!next.childElementCount) {
    for (const kind of faults.kinds) {
      const button = el("button", { type: "button", text: `next: ${kind}`, "data-fault": kind });
      button.addEventListener("click", () => change("faults", { inject_next: [kind] }));
      next.append(button);
    }
  }
}

async function refresh() {
  const live = document.getElementById("live");
  try {
    const response = await fetch("/_local/state", { cache: "no-store" });
    if (!response.ok) throw new Error(`status ${response.status}`);
    render(await response.json());
    live.textContent = "live · updated " + new Date().toLocaleTimeString();
    live.classList.remove("down");
  } catch (error) {
    live.textContent = "server not answering";
    live.classList.add("down");
  }
}

async function change(what, body) {
  const problem = document.getElementById("page-error");
  const response = await fetch(`/_local/${what}`, {
    method: "POST",
    headers: CHANGE_HEADERS,
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) {
    problem.textContent = answer.message;
    return;
  }
  problem.textContent = "";
  render(answer);
}

function wire() {
  document.getElementById("server-url").textContent = window.location.origin;
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () =>
      change("clock", { advance_ms: Number(button.dataset.advance) })
    );
  }
  document.getElementById("clock-freeze").addEventListener("click", () => change("clock", { freeze: true }));
  document.getElementById("clock-resume").addEventListener("click", () => change("clock", { resume: true }));
  document.getElementById("faults-form").addEventListener("submit", (event) => {
    event.preventDefault();
    change("faults", { spec: document.getElementById("faults-input").value || "off" });
  });
  document.getElementById("faults-clear").addEventListener("click", () => change("faults", { clear: true }));
  refresh();
  setInterval(refresh, POLL_MS);
}

document.addEventListener("DOMContentLoaded", wire);
