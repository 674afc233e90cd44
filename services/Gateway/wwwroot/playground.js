// LlmMesh playground: plain browser JavaScript, no build step and no request beyond this gateway.
// Generation streams from the OpenAI-compatible /v1/completions; everything else calls the mesh's
// RPCs as JSON under /api (server-streaming RPCs arrive as server-sent events).
"use strict";

const $ = (id) => document.getElementById(id);
const apiKeyStorage = "llmmesh-api-key";

/** An HTTP error with the message the gateway gave. */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers() {
  const h = { "content-type": "application/json" };
  const key = sessionStorage.getItem(apiKeyStorage);
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

async function post(path, body, signal) {
  const response = await fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body ?? {}), signal });
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    message = body.error?.message ?? message;
  } catch { /* not JSON */ }
  if (response.status === 401) $("api-key-box").hidden = false;
  return new ApiError(response.status, message);
}

async function call(path, body, signal) {
  return (await post(path, body, signal)).json();
}

/** Server-sent events of a POST: calls onEvent(name, data) for each; "error" events throw. */
async function stream(path, body, signal, onEvent) {
  const response = await post(path, body, signal);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
      }
      if (data.length === 0) continue;
      const text = data.join("\n");
      if (text === "[DONE]") return;
      const parsed = JSON.parse(text);
      if (name === "error" || parsed.error) throw new ApiError(0, parsed.error?.message ?? "the stream failed");
      onEvent(parsed);
    }
  }
}

function showError(box, error) {
  if (error?.name === "AbortError") return;
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

function numberOf(id) {
  const value = $(id).value.trim();
  return value === "" ? undefined : Number(value);
}

function selectedModel() {
  return $("model").value || undefined;
}

// ---- Tabs (WAI-ARIA tabs: arrow keys, Home and End move between them) ----

const tabs = [...document.querySelectorAll('[role="tab"]')];

function selectTab(tab, focus) {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
    $(other.getAttribute("aria-controls")).hidden = !selected;
  }
  if (focus) tab.focus();
  if (tab.id === "tab-train") refreshTraining();
}

for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab, false));
  tab.addEventListener("keydown", (event) => {
    const index = tabs.indexOf(tab);
    const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length], true);
  });
}

// ---- Models and status ----

/** The picker: the mesh's default model (value "") and every named model of the store. */
async function loadModels() {
  const picker = $("model");
  try {
    const info = await call("/api/generator/model-info", {});
    const options = [new Option(`default: ${info.model} (${info.bundleVersion})`, "")];
    try {
      const { models } = await call("/api/models/list-models", {});
      for (const m of models) {
        // The name (its stable or newest version), then each version, newest first.
        const group = document.createElement("optgroup");
        group.label = m.name;
        group.append(new Option(`${m.name} (${m.defaultVersion})`, m.name),
          ...[...m.versions].reverse().map((v) => new Option(`${m.name}@${v.version}`, `${m.name}@${v.version}`)));
        options.push(group);
      }
    } catch { /* the trainer hosts the list: without it, the default model only */ }
    const current = picker.value;
    picker.replaceChildren(...options);
    if ([...picker.options].some((o) => o.value === current)) picker.value = current;
    $("status").textContent = `Serving ${info.model} ${info.bundleVersion}`;
  } catch (error) {
    $("status").textContent = error.status === 503
      ? "No model yet: the first training run is under way (see the Train tab)."
      : `Models unavailable: ${error.message}`;
    setTimeout(loadModels, 5000);
  }
}

$("api-key-save").addEventListener("click", () => {
  sessionStorage.setItem(apiKeyStorage, $("api-key").value.trim());
  $("api-key-box").hidden = true;
  loadModels();
});

// ---- Generate ----

let generation = null;

function completionRequest() {
  const request = {
    model: selectedModel(),
    prompt: $("prompt").value,
    stream: true,
    max_tokens: numberOf("max-tokens"),
    temperature: numberOf("temperature"),
    top_p: numberOf("top-p"),
    top_k: numberOf("top-k"),
    min_p: numberOf("min-p"),
    repetition_penalty: numberOf("repetition-penalty"),
    variation: numberOf("variation"),
    latent_temperature: numberOf("latent-temperature"),
    lm_weight: numberOf("lm-weight"),
    n: numberOf("samples"),
    best_of: numberOf("best-of"),
    seed: numberOf("seed"),
  };
  if ($("latent-source").value) request.latent_source = $("latent-source").value;
  const stops = $("stop").value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (stops.length > 0) request.stop = stops;
  return request;
}

function sampleItem(index) {
  const item = document.createElement("li");
  item.className = "sample";
  item.innerHTML = `<p class="text" data-testid="sample-text"></p>
    <div class="meta"><span class="finish"></span>
      <span class="probability" data-testid="probability" hidden></span>
      <button type="button" class="nearest-button" hidden>Nearest real sentences</button></div>
    <ol class="neighbors" hidden></ol>`;
  item.setAttribute("aria-label", `Sample ${index + 1}`);
  return item;
}

$("generate-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  generation?.abort();
  const controller = new AbortController();
  generation = controller;
  const output = $("output");
  const error = $("generate-error");
  error.hidden = true;
  output.replaceChildren();
  $("generate").disabled = true;
  $("generate-stop").disabled = false;
  const items = new Map();
  const itemFor = (index) => {
    if (!items.has(index)) {
      const item = sampleItem(index);
      items.set(index, item);
      output.append(item);
    }
    return items.get(index);
  };
  const model = selectedModel();
  // Samples keep their order, whichever finishes first.
  for (let index = 0; index < (numberOf("samples") ?? 1); index++) itemFor(index);
  try {
    await stream("/v1/completions", completionRequest(), controller.signal, (chunk) => {
      for (const choice of chunk.choices ?? []) {
        const item = itemFor(choice.index);
        item.querySelector(".text").textContent += choice.text ?? "";
        if (choice.finish_reason) {
          // A sample the model ended at once would otherwise look like nothing happened.
          const empty = item.querySelector(".text").textContent.trim().length === 0;
          item.querySelector(".finish").textContent = `finished: ${choice.finish_reason}${empty ? " (empty sample: nothing to score)" : ""}`;
          item.dataset.finished = "true";
        }
      }
    });
    await Promise.all([...items.values()].map((item) => scoreSample(item, model)));
  } catch (failure) {
    showError(error, failure);
  } finally {
    if (generation === controller) generation = null;
    $("generate").disabled = false;
    $("generate-stop").disabled = true;
  }
});

$("generate-stop").addEventListener("click", () => generation?.abort());

/** The discriminator's probability that the finished sample is real, and the nearest-sentences button. */
async function scoreSample(item, model) {
  const text = item.querySelector(".text").textContent.trim();
  if (text.length === 0) return;
  const probability = item.querySelector(".probability");
  try {
    const scored = await call("/api/discriminator/score-batch", { inputs: [{ text }], model });
    const p = scored.results[0].probability;
    probability.textContent = `P(real) ${p.toFixed(3)}`;
    probability.title = "The discriminator's calibrated probability that this is a real sentence";
  } catch (failure) {
    probability.textContent = `P(real) unavailable: ${failure.message}`;
  }
  probability.hidden = false;
  const button = item.querySelector(".nearest-button");
  button.hidden = false;
  button.addEventListener("click", () => showNearest(item, text, model), { once: true });
}

async function showNearest(item, text, model) {
  const list = item.querySelector(".neighbors");
  list.hidden = false;
  list.setAttribute("aria-label", "Nearest training sentences");
  try {
    const found = await call("/api/encoder/nearest", { text, k: 5, model });
    list.replaceChildren(...found.neighbors.map((n) => {
      const li = document.createElement("li");
      li.textContent = `${n.text} `;
      const distance = document.createElement("span");
      distance.className = "distance";
      distance.textContent = `distance ${n.distance.toFixed(3)}`;
      li.append(distance);
      return li;
    }));
  } catch (failure) {
    list.replaceChildren(Object.assign(document.createElement("li"), { textContent: failure.message }));
  }
}

// ---- Interpolate ----

let interpolation = null;

$("interpolate-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  interpolation?.abort();
  const controller = new AbortController();
  interpolation = controller;
  const path = $("interpolation");
  const error = $("interpolate-error");
  error.hidden = true;
  const steps = numberOf("steps") ?? 8;
  // One placeholder per step: steps arrive as each is decoded, not necessarily in order.
  path.replaceChildren(...Array.from({ length: steps }, (_, index) => {
    const li = document.createElement("li");
    li.className = "step pending";
    li.dataset.index = String(index);
    li.innerHTML = `<button type="button" class="use-step" disabled><span class="t"></span><span class="text">…</span></button>`;
    return li;
  }));
  $("interpolate").disabled = true;
  $("interpolate-stop").disabled = false;
  try {
    await stream("/api/generator/interpolate", {
      start: $("interpolate-start").value,
      end: $("interpolate-end").value,
      steps,
      method: $("method").value,
      temperature: numberOf("interpolate-temperature") ?? 0,
      maxTokens: numberOf("interpolate-max-tokens"),
      model: selectedModel() ?? "",
    }, controller.signal, (message) => {
      if (!message.step) return;
      const li = path.children[message.step.index];
      if (!li) return;
      li.classList.remove("pending");
      li.dataset.done = "true";
      const button = li.querySelector("button");
      button.disabled = false;
      button.querySelector(".t").textContent = `t = ${message.step.t.toFixed(2)}`;
      button.querySelector(".text").textContent = message.step.text;
      button.setAttribute("aria-label", `Use step ${message.step.index + 1} as a prompt: ${message.step.text}`);
    });
  } catch (failure) {
    showError(error, failure);
  } finally {
    if (interpolation === controller) interpolation = null;
    $("interpolate").disabled = false;
    $("interpolate-stop").disabled = true;
  }
});

$("interpolate-stop").addEventListener("click", () => interpolation?.abort());

$("interpolation").addEventListener("click", (event) => {
  const button = event.target.closest("button.use-step");
  if (!button || button.disabled) return;
  $("prompt").value = button.querySelector(".text").textContent;
  selectTab($("tab-generate"), true);
  $("prompt").focus();
});

// ---- Train ----

const series = [
  { key: "loss", label: "reconstruction loss (nats/token)", color: "#1d4ed8" },
  { key: "kl", label: "KL (nats/sentence)", color: "#b45309" },
  { key: "nll", label: "held-out NLL (nats/token)", color: "#047857" },
];
let chartPoints = [];
let watching = null;
let activeRun = null;

function drawChart() {
  const width = 640;
  const height = 220;
  const pad = 36;
  const box = $("loss-chart");
  box.dataset.points = String(chartPoints.length);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("aria-hidden", "true");
  const steps = chartPoints.map((p) => p.step);
  const minStep = Math.min(...steps, 0);
  const maxStep = Math.max(...steps, 1);
  const x = (step) => pad + ((step - minStep) / Math.max(1, maxStep - minStep)) * (width - 2 * pad);
  const axis = document.createElementNS(svg.namespaceURI, "path");
  axis.setAttribute("d", `M${pad} ${pad / 2} V${height - pad} H${width - pad / 2}`);
  axis.setAttribute("class", "axis");
  svg.append(axis);
  for (const s of series) {
    const points = chartPoints.filter((p) => Number.isFinite(p[s.key]));
    if (points.length === 0) continue;
    // Each series on its own scale: losses and KL differ by orders of magnitude.
    const max = Math.max(...points.map((p) => p[s.key]), 1e-9);
    const y = (v) => height - pad - (v / max) * (height - 1.5 * pad);
    const line = document.createElementNS(svg.namespaceURI, "polyline");
    line.setAttribute("points", points.map((p) => `${x(p.step).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", s.color);
    line.setAttribute("stroke-width", "2");
    line.dataset.series = s.key;
    svg.append(line);
  }
  const label = document.createElementNS(svg.namespaceURI, "text");
  label.setAttribute("x", String(width - pad));
  label.setAttribute("y", String(height - 8));
  label.setAttribute("text-anchor", "end");
  label.textContent = `step ${maxStep}`;
  svg.append(label);
  box.replaceChildren(svg);
  const last = chartPoints.at(-1);
  $("chart-legend").replaceChildren(...series.map((s) => {
    const span = document.createElement("span");
    span.className = "key";
    span.style.setProperty("--swatch", s.color);
    const value = last && Number.isFinite(last[s.key]) ? last[s.key].toFixed(3) : "–";
    span.textContent = `${s.label}: ${value}`;
    return span;
  }));
  box.setAttribute("aria-label", last
    ? `Training chart, step ${last.step}: ${series.map((s) => `${s.label} ${Number.isFinite(last[s.key]) ? last[s.key].toFixed(3) : "not yet"}`).join("; ")}`
    : "Training chart: no progress yet");
}

function onProgress(progress) {
  if (progress.update) {
    const u = progress.update;
    const point = { step: Number(u.step) };
    if (u.phase === "vae" && u.reconstructionLoss > 0) {
      point.loss = u.reconstructionLoss;
      point.kl = u.kl;
    }
    if (u.validation && u.validation.sentences > 0) point.nll = u.validation.nllPerToken;
    if (Object.keys(point).length > 1) {
      chartPoints.push(point);
      drawChart();
    }
    const epochs = u.epochs > 0 ? `, epoch ${u.epoch}/${u.epochs}` : "";
    $("run-status").textContent = `Run ${u.runId}: ${u.phase}, step ${u.step}/${u.totalSteps}${epochs}${u.message ? ` — ${u.message}` : ""}`;
  } else if (progress.final) {
    const f = progress.final;
    $("run-status").textContent = `Run ${f.runId} ${stateName(f.state)}${f.bundleVersion ? `: published ${f.bundleVersion}` : ""}${f.error ? ` — ${f.error}` : ""}`;
    refreshRuns();
    loadModels();
  }
}

function stateName(state) {
  return String(state).replace("RUN_STATE_", "").toLowerCase();
}

async function follow(path, body) {
  watching?.abort();
  const controller = new AbortController();
  watching = controller;
  chartPoints = [];
  drawChart();
  $("cancel-run").disabled = false;
  // The runs table follows the run's progress too.
  const refresher = setInterval(refreshRuns, 5000);
  try {
    await stream(path, body, controller.signal, (progress) => {
      if (progress.update && !activeRun) activeRun = progress.update.runId;
      onProgress(progress);
    });
  } catch (failure) {
    showError($("train-error"), failure);
  } finally {
    clearInterval(refresher);
    if (watching === controller) {
      watching = null;
      activeRun = null;
      $("cancel-run").disabled = true;
    }
    refreshRuns();
  }
}

$("train-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("train-error").hidden = true;
  activeRun = null;
  const request = { preset: "quick", corpus: $("corpus").value };
  if ($("run-model").value.trim()) request.model = $("run-model").value.trim();
  follow("/api/trainer/start-run", request);
  setTimeout(refreshRuns, 1500);
});

$("cancel-run").addEventListener("click", async () => {
  if (!activeRun) return;
  try {
    await call("/api/trainer/cancel-run", { runId: activeRun });
  } catch (failure) {
    showError($("train-error"), failure);
  }
  refreshRuns();
});

async function refreshRuns() {
  try {
    const { runs } = await call("/api/trainer/list-runs", { limit: 20 });
    const body = $("runs").tBodies[0];
    body.replaceChildren(...runs.map((run) => {
      const row = body.insertRow();
      const state = stateName(run.state);
      const cells = [run.runId, state, run.preset, run.corpus, run.phase, `${run.step}/${run.totalSteps}`, run.bundleVersion || "–"];
      for (const text of cells) row.insertCell().textContent = text;
      const actions = row.insertCell();
      if (state === "running" || state === "pending") {
        const watch = document.createElement("button");
        watch.type = "button";
        watch.textContent = "Watch";
        watch.setAttribute("aria-label", `Watch run ${run.runId}`);
        watch.addEventListener("click", () => {
          activeRun = run.runId;
          follow("/api/trainer/watch-run", { runId: run.runId });
        });
        actions.append(watch);
      }
      return row;
    }));
  } catch (failure) {
    showError($("train-error"), failure);
  }
}

async function refreshTraining() {
  refreshRuns();
  try {
    const { corpora } = await call("/api/trainer/list-corpora", {});
    const picker = $("corpus");
    const current = picker.value;
    picker.replaceChildren(...corpora.map((c) => new Option(`${c.name} (${c.lines} lines)`, c.name)));
    if (corpora.some((c) => c.name === current)) picker.value = current;
  } catch (failure) {
    showError($("train-error"), failure);
  }
}

drawChart();
loadModels();
