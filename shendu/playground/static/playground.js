// shendu playground: the page. The network trains on the server (shendu); this file draws the
// frames it streams and sends the controls. Settings live in the URL hash with TensorFlow
// Playground's names. Nothing is loaded from anywhere but this server.
"use strict";

const CHOICES = {
  learningRate: [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
  activation: ["relu", "tanh", "sigmoid", "linear"],
  regularization: ["none", "L1", "L2"],
  regularizationRate: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10],
  problem: ["classification", "regression"],
};
const DATASETS = { classification: ["circle", "xor", "gauss", "spiral"], regression: ["reg-plane", "reg-gauss"] };
const FEATURES = [["x", "X₁"], ["y", "X₂"], ["xSquared", "X₁²"], ["ySquared", "X₂²"], ["xTimesY", "X₁X₂"],
                  ["sinX", "sin(X₁)"], ["sinY", "sin(X₂)"]];
const MAX_LAYERS = 6, MAX_NEURONS = 8, DOMAIN = 6;

let session = null, source = null, state = null, points = { train: [], test: [] }, lastFrame = null;
let playing = false;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- colours
function colour(v) {            // v in [-1, 1]: orange (-1) → near-white (0) → blue (+1), as TensorFlow Playground
  const lo = [245, 147, 34], mid = [232, 234, 235], hi = [8, 119, 189];
  const t = Math.max(-1, Math.min(1, v));
  const [a, b, f] = t < 0 ? [mid, lo, -t] : [mid, hi, t];
  return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * f));
}

function paintGrid(canvas, values, density) {   // values: ints −100…100, row 0 at the top
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(density, density);
  for (let i = 0; i < density * density; i++) {
    const [r, g, b] = colour(values[i] / 100);
    img.data.set([r, g, b, 255], 4 * i);
  }
  const tmp = document.createElement("canvas");
  tmp.width = tmp.height = density;
  tmp.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}

function drawPoints(canvas, pts, stroke) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  for (const [x, y, label] of pts) {
    const [r, g, b] = colour(label);
    ctx.beginPath();
    ctx.arc((x + DOMAIN) / (2 * DOMAIN) * w, (DOMAIN - y) / (2 * DOMAIN) * h, 3, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = stroke;
    ctx.stroke();
  }
}

// ---------------------------------------------------------------- server calls
function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

async function post(url, body) {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
                                      body: JSON.stringify(body || {}) });
  const data = await response.json().catch(() => ({ error: `playground: the server answered ${response.status}` }));
  if (!response.ok) throw new Error(data.error || `playground: the server answered ${response.status}`);
  return data;
}

async function control(action, settings) {
  if (!session) return;
  try {
    const described = await post(`/api/sessions/${session}/control`, { action, settings });
    showError("");
    accept(described);
  } catch (err) {
    showError(err.message);
  }
}

async function start(hash) {
  if (source) source.close();
  if (session) navigator.sendBeacon(`/api/sessions/${session}/close`, "{}");
  let described;
  try {
    described = await post("/api/sessions", { hash });
    showError("");
  } catch (err) {
    showError(err.message);                         // a malformed link: say why, then start from the defaults
    described = await post("/api/sessions", { hash: "" });
  }
  session = described.id;
  accept(described);
  source = new EventSource(`/api/sessions/${session}/events`);
  source.onmessage = (event) => render(JSON.parse(event.data));
}

function accept(described) {                         // the server's view of the settings and the data
  const shapeChanged = !state || state.networkShape.join() !== described.state.networkShape.join()
                       || state.features.join() !== described.state.features.join();
  state = described.state;
  points = { train: described.train, test: described.test };
  if (location.hash.slice(1) !== described.hash) history.replaceState(null, "", "#" + described.hash);
  syncControls();
  if (shapeChanged) buildNetwork();
  playing = described.playing;
  $("play").textContent = playing ? "❚❚" : "▶";
  drawDatasetIcons();
}

// ---------------------------------------------------------------- controls
function fillSelect(name) {
  const select = $(name);
  for (const value of CHOICES[name]) {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = String(value);
    select.appendChild(option);
  }
  select.addEventListener("change", () => control(null, { [name]: select.value }));
}

function syncControls() {
  for (const name of Object.keys(CHOICES)) {
    const select = $(name), value = String(state[name]);
    if (![...select.options].some((o) => o.value === value)) {
      const option = document.createElement("option");     // a value from a link that the menu lacks
      option.value = option.textContent = value;
      select.appendChild(option);
    }
    select.value = value;
  }
  for (const name of ["percTrainData", "noise", "batchSize"]) {
    $(name).value = state[name];
    $(`${name}-value`).textContent = state[name];
  }
  $("layer-count").textContent = state.networkShape.length;
}

function slider(name) {
  $(name).addEventListener("input", () => { $(`${name}-value`).textContent = $(name).value; });
  $(name).addEventListener("change", () => control(null, { [name]: Number($(name).value) }));
}

function drawDatasetIcons() {
  const box = $("datasets");
  box.textContent = "";
  for (const name of DATASETS[state.problem]) {
    const button = document.createElement("button");
    button.dataset.testid = `dataset-${name}`;
    button.title = name;
    const key = state.problem === "classification" ? "dataset" : "regDataset";
    if (state[key] === name) button.classList.add("selected");
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 66;
    button.appendChild(canvas);
    button.addEventListener("click", () => control(null, { [key]: name }));
    box.appendChild(button);
    drawThumbnail(canvas.getContext("2d"), name, state[key] === name ? points.train : null);
  }
}

function thumbnailPoints(name) {            // a schematic of each dataset (the real points when selected)
  const pts = [];
  for (let i = 0; i < 120; i++) {
    const u = ((i * 37) % 120) / 120, v = ((i * 71) % 113) / 113, a = u * 2 * Math.PI;
    if (name === "circle") { const r = i % 2 ? 0.5 + 2 * v : 3.5 + 1.5 * v; pts.push([r * Math.sin(a), r * Math.cos(a), i % 2 ? 1 : -1]); }
    else if (name === "xor") { const x = 10 * u - 5, y = 10 * v - 5; pts.push([x, y, x * y >= 0 ? 1 : -1]); }
    else if (name === "gauss") { const s = i % 2 ? 2 : -2; pts.push([s + 1.6 * Math.sin(7 * a) * v, s + 1.6 * Math.cos(5 * a) * v, s > 0 ? 1 : -1]); }
    else if (name === "spiral") { const r = 5 * u, t = 1.75 * u * 2 * Math.PI + (i % 2 ? 0 : Math.PI); pts.push([r * Math.sin(t), r * Math.cos(t), i % 2 ? 1 : -1]); }
    else if (name === "reg-plane") { const x = 12 * u - 6, y = 12 * v - 6; pts.push([x, y, (x + y) / 10]); }
    else { const x = 12 * u - 6, y = 12 * v - 6; pts.push([x, y, Math.sin(x) * Math.cos(y)]); }
  }
  return pts;
}

function drawThumbnail(ctx, name, real) {
  ctx.fillStyle = "#f3f3f3";
  ctx.fillRect(0, 0, 66, 66);
  for (const [x, y, label] of real || thumbnailPoints(name)) {
    const [r, g, b] = colour(label);
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect((x + DOMAIN) / (2 * DOMAIN) * 66 - 1, (DOMAIN - y) / (2 * DOMAIN) * 66 - 1, 2, 2);
  }
  ctx.fillStyle = "#333";
  ctx.font = "10px sans-serif";
  ctx.fillText(name, 3, 63);
}

// ---------------------------------------------------------------- the network drawing
let nodeCanvases = [];   // per layer (inputs first): canvases; inputs have one per *enabled* feature

function nodePosition(layer, index, layers) {
  const width = $("network").clientWidth || 600;
  const x = 90 + layer * Math.max(70, (width - 140) / Math.max(1, layers - 1));
  return [x, 40 + index * 50];
}

function buildNetwork() {
  const net = $("network");
  for (const el of [...net.querySelectorAll(".node, .layer-controls")]) el.remove();
  const widths = [state.features.length, ...state.networkShape, 1];
  const layers = widths.length;
  nodeCanvases = [];
  // input features: all seven listed; the enabled ones are the network's inputs
  let enabled = 0;
  const inputCanvases = [];
  FEATURES.forEach(([name, label], row) => {
    const on = state[name];
    const node = document.createElement("div");
    node.className = "node" + (on ? "" : " off");
    node.dataset.testid = `feature-${name}`;
    const [x, y] = nodePosition(0, row, layers);
    node.style.left = `${x}px`;
    node.style.top = `${y}px`;
    const text = document.createElement("span");
    text.className = "label";
    text.textContent = label;
    node.appendChild(text);
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 30;
    node.appendChild(canvas);
    node.addEventListener("click", () => control(null, { [name]: !state[name] }));
    net.appendChild(node);
    if (on) { inputCanvases.push({ canvas, row, index: enabled++ }); }
  });
  nodeCanvases.push(inputCanvases);
  for (let l = 1; l < layers; l++) {
    const list = [];
    for (let i = 0; i < widths[l]; i++) {
      const node = document.createElement("div");
      node.className = "node";
      const [x, y] = nodePosition(l, i, layers);
      node.style.left = `${x}px`;
      node.style.top = `${y}px`;
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 30;
      node.appendChild(canvas);
      net.appendChild(node);
      list.push({ canvas, row: i, index: i });
    }
    nodeCanvases.push(list);
    if (l < layers - 1) {                            // neurons + / − for each hidden layer
      const controls = document.createElement("div");
      controls.className = "layer-controls";
      const [x] = nodePosition(l, 0, layers);
      controls.style.left = `${x - 20}px`;
      const plus = document.createElement("button"), minus = document.createElement("button");
      plus.textContent = "+";
      minus.textContent = "−";
      plus.dataset.testid = `add-neuron-${l}`;
      minus.dataset.testid = `remove-neuron-${l}`;
      const count = document.createElement("span");
      count.textContent = `${widths[l]}`;
      plus.addEventListener("click", () => changeNeurons(l - 1, +1));
      minus.addEventListener("click", () => changeNeurons(l - 1, -1));
      controls.append(plus, minus, count);
      net.appendChild(controls);
    }
  }
  net.style.height = `${60 + 50 * Math.max(FEATURES.length, ...widths)}px`;
  if (lastFrame) render(lastFrame);
}

function changeNeurons(layer, delta) {
  const shape = state.networkShape.slice();
  shape[layer] = Math.max(1, Math.min(MAX_NEURONS, shape[layer] + delta));
  control(null, { networkShape: shape.join(",") });
}

function changeLayers(delta) {
  const shape = state.networkShape.slice();
  if (delta > 0 && shape.length < MAX_LAYERS) shape.push(2);
  if (delta < 0 && shape.length > 0) shape.pop();
  control(null, { networkShape: shape.join(",") });
}

function drawLinks(frame) {
  const svg = $("links");
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const layers = frame.weights.length + 1;
  frame.weights.forEach((matrix, l) => {
    matrix.forEach((row, dest) => {
      row.forEach((w, src) => {
        const from = nodeCanvases[l][src], to = nodeCanvases[l + 1][dest];
        if (!from || !to) return;
        const [x1, y1] = nodePosition(l, from.row, layers), [x2, y2] = nodePosition(l + 1, to.row, layers);
        const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
        const mx = (x1 + x2 + 30) / 2;
        path.setAttribute("d", `M${x1 + 30},${y1 + 15} C${mx},${y1 + 15} ${mx},${y2 + 15} ${x2},${y2 + 15}`);
        const [r, g, b] = colour(Math.max(-1, Math.min(1, w)));
        path.setAttribute("stroke", `rgb(${r},${g},${b})`);
        path.setAttribute("stroke-width", String(Math.min(8, 0.5 + 3 * Math.abs(w))));
        path.setAttribute("fill", "none");
        const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        title.textContent = `weight ${w}`;
        path.appendChild(title);
        svg.appendChild(path);
      });
    });
  });
}

// ---------------------------------------------------------------- frames
function fmtLoss(v) { return v === null || v === undefined ? "—" : v.toFixed(3); }

function render(frame) {
  lastFrame = frame;
  $("epoch").textContent = String(frame.epoch).padStart(6, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  $("loss-train").textContent = fmtLoss(frame.lossTrain);
  $("loss-test").textContent = fmtLoss(frame.lossTest);
  playing = frame.playing;
  $("play").textContent = playing ? "❚❚" : "▶";
  const heat = $("heatmap");
  paintGrid(heat, frame.heatmap.values, frame.heatmap.density);
  drawPoints(heat, points.train, "white");
  if ($("showTestData").checked) drawPoints(heat, points.test, "black");
  const layers = frame.neurons.layers;
  layers.forEach((grids, l) => {
    (nodeCanvases[l] || []).forEach((node) => {
      if (grids[node.index]) paintGrid(node.canvas, grids[node.index], frame.neurons.density);
    });
  });
  drawLinks(frame);
  drawChart(frame.history);
}

function drawChart(history) {
  const canvas = $("chart"), ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  if (!history.length) return;
  const values = history.flatMap(([, a, b]) => [a, b]).filter((v) => v !== null);
  const top = Math.max(...values, 1e-9), last = history[history.length - 1][0], first = history[0][0];
  [[1, "#777"], [2, "#000"]].forEach(([k, stroke]) => {
    ctx.beginPath();
    history.forEach((entry, i) => {
      if (entry[k] === null) return;
      const x = last === first ? w : (entry[0] - first) / (last - first) * w;
      const y = h - entry[k] / top * (h - 2) - 1;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.strokeStyle = stroke;
    ctx.stroke();
  });
}

// ---------------------------------------------------------------- wiring
function init() {
  Object.keys(CHOICES).forEach(fillSelect);
  ["percTrainData", "noise", "batchSize"].forEach(slider);
  $("play").addEventListener("click", () => control(playing ? "pause" : "play"));
  $("step").addEventListener("click", () => control("step"));
  $("reset").addEventListener("click", () => control("reset"));
  $("regenerate").addEventListener("click", () => control("regenerate"));
  $("add-layer").addEventListener("click", () => changeLayers(+1));
  $("remove-layer").addEventListener("click", () => changeLayers(-1));
  $("showTestData").addEventListener("change", () => lastFrame && render(lastFrame));
  window.addEventListener("hashchange", () => {
    if (state && location.hash.slice(1) !== "" && session) start(location.hash.slice(1));
  });
  window.addEventListener("pagehide", () => {
    if (session) navigator.sendBeacon(`/api/sessions/${session}/close`, "{}");
  });
  start(location.hash.slice(1));
}

init();
