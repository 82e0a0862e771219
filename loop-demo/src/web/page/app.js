// The live sequence diagram: rows from the server's event stream (/events), buttons posting to
// /actions/{name}. No library, no build step.
"use strict";

const PARTIES = ["user", "loopd", "client_lnd", "proxy", "proxy_lnd", "swap_server", "server_lnd"];
const rows = document.getElementById("rows");
const detail = document.getElementById("detail");
const message = document.getElementById("message");
const connection = document.getElementById("connection");
let lastSeq = 0;
let section = null;
let sectionCount = 0;

/** The horizontal centre of a party's lifeline, in percent of the lane. */
function centre(party) {
  return ((PARTIES.indexOf(party) + 0.5) / PARTIES.length) * 100;
}

function text(tag, className, content) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (content !== undefined) element.textContent = content;
  return element;
}

function startSection(event) {
  sectionCount += 1;
  section = { index: sectionCount, start: event };
  const heading = text("li", "section", event.label);
  heading.dataset.section = String(sectionCount);
  rows.appendChild(heading);
}

function lane(event) {
  const lane = text("span", "lane");
  for (const party of PARTIES) {
    const line = text("span", "lifeline");
    line.style.left = centre(party) + "%";
    lane.appendChild(line);
  }
  if (event.from === event.to) {
    const note = text("span", "note", event.label);
    note.style.left = centre(event.from) + "%";
    lane.appendChild(note);
  } else {
    const [a, b] = [centre(event.from), centre(event.to)];
    const arrow = text("span", "arrow " + (b > a ? "right" : "left"));
    arrow.style.left = Math.min(a, b) + "%";
    arrow.style.width = Math.abs(b - a) + "%";
    arrow.appendChild(text("span", "label", event.label));
    lane.appendChild(arrow);
  }
  return lane;
}

function addRow(event) {
  if (section === null) startSection({ label: "Before any button", seq: 0 });
  const item = text("li", "row");
  item.dataset.section = String(section.index);
  item.dataset.kind = event.kind;
  item.dataset.at = String(event.at_ms);
  item.dataset.seq = String(event.seq);
  const button = text("button", "open kind-" + event.kind);
  button.type = "button";
  button.setAttribute("aria-label", `${event.at_ms.toFixed(1)} ms, ${event.from} to ${event.to}: ${event.label}`);
  button.appendChild(text("span", "time", event.at_ms.toFixed(1) + " ms"));
  button.appendChild(lane(event));
  button.addEventListener("click", () => show(event, button));
  item.appendChild(button);
  // Rows of one section are ordered by when they happened (a request is reported when answered).
  let before = null;
  for (let node = rows.lastElementChild; node; node = node.previousElementSibling) {
    if (node.dataset.section !== String(section.index) || node.classList.contains("section")) break;
    if (Number(node.dataset.at) <= event.at_ms) break;
    before = node;
  }
  rows.insertBefore(item, before);
  document.getElementById("empty").hidden = true;
}

function show(event, button) {
  for (const open of rows.querySelectorAll("[aria-pressed=true]")) open.setAttribute("aria-pressed", "false");
  button.setAttribute("aria-pressed", "true");
  detail.replaceChildren(text("h2", "", event.label));
  const meta = text("p", "meta", `${event.at_ms.toFixed(1)} ms · ${event.from} → ${event.to} · reported by ${event.source}`);
  detail.appendChild(meta);
  const sections = (event.detail && event.detail.sections) || [];
  if (sections.length === 0) detail.appendChild(text("p", "", "Nothing else crossed the wire."));
  for (const part of sections) {
    detail.appendChild(text("h3", "", part.title));
    const list = text("dl", "facts");
    for (const fact of part.facts) {
      const name = text("dt", "", fact.name);
      const value = text("dd", fact.secret ? "secret" : "");
      if (fact.secret) value.appendChild(text("span", "secret-badge", "secret"));
      value.appendChild(document.createTextNode(fact.value));
      list.append(name, value);
    }
    detail.appendChild(list);
  }
}

function sat(value) {
  return Number(value).toLocaleString("en") + " sat";
}

function status(state) {
  for (const button of document.querySelectorAll("[data-action]")) button.disabled = state.busy;
  document.getElementById("proxy-lnd").textContent = state.proxy_lnd_online
    ? "Take the proxy's lnd offline" : "Bring the proxy's lnd back online";
  document.getElementById("token").textContent = state.token_id ? state.token_id.slice(0, 8) + "…" : "none";
  document.body.dataset.busy = String(state.busy);
}

function receive(event) {
  if (event.seq <= lastSeq) return; // already shown (a reconnect replays the history)
  lastSeq = event.seq;
  if (event.kind === "balances") {
    document.getElementById("balance-client").textContent = sat(event.detail.client);
    document.getElementById("balance-proxy").textContent = sat(event.detail.proxy);
    document.getElementById("balance-server").textContent = sat(event.detail.server);
  } else if (event.kind === "status") {
    status(event.detail);
  } else if (event.kind === "action") {
    startSection(event);
  } else {
    addRow(event);
  }
}

function connect() {
  const source = new EventSource("/events");
  source.onopen = () => {
    connection.dataset.state = "live";
    connection.textContent = "live: rows appear as the programs report them";
  };
  source.onmessage = (message) => receive(JSON.parse(message.data));
  source.addEventListener("lagged", (message) => {
    addRow({ seq: lastSeq, at_ms: 0, kind: "error", from: "user", to: "user", source: "the page",
      label: `this page missed ${message.data} events`, detail: null });
  });
  source.onerror = () => {
    connection.dataset.state = "reconnecting";
    connection.textContent = "connection lost, reconnecting…";
  };
}

for (const button of document.querySelectorAll("[data-action]")) {
  button.addEventListener("click", async () => {
    message.textContent = "";
    const response = await fetch("/actions/" + button.dataset.action, { method: "POST" });
    if (!response.ok) {
      const body = await response.json().catch(() => ({ error: response.statusText }));
      message.textContent = `${button.textContent}: ${body.error}`;
    }
  });
}
fetch("/status").then((response) => response.json()).then(status).catch(() => {});
connect();
