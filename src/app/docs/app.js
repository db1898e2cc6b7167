// The API explorer of /docs: reads /openapi.json, lists every operation by
// tag, and sends a request built from the form of one, showing its status,
// headers and body. The DOM is built with textContent only: nothing from
// the document or a response is parsed as HTML.
//
// The fragment can drive the page (for links and automated checks):
//   #try=GET%20/product&token=JWT&p.page_size=5&body={...}
// opens that operation, fills its parameters (`p.<name>`), the token and
// the body, and sends it.
"use strict";

const METHODS = ["get", "post", "put", "patch", "delete"];
let doc = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c);
  }
  return e;
}

function resolve(schema) {
  let s = schema || {};
  for (let depth = 0; s.$ref && depth < 10; depth++) {
    const name = s.$ref.replace("#/components/schemas/", "");
    s = (doc.components && doc.components.schemas && doc.components.schemas[name]) || {};
  }
  return s;
}

// A JSON body to start from: the schema's required properties, each with a
// value of its type.
function skeleton(schema) {
  const s = resolve(schema);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  switch (type) {
    case "object": {
      const out = {};
      for (const name of s.required || []) {
        out[name] = skeleton((s.properties || {})[name]);
      }
      return out;
    }
    case "array": return [];
    case "integer": return Math.max(0, s.minimum || 0);
    case "number": return 0;
    case "boolean": return false;
    case "string": return s.format === "date-time" ? new Date().toISOString() : "";
    default: return null;
  }
}

function describeSchema(s) {
  s = resolve(s);
  if (s.type === "array") {
    const items = resolve(s.items);
    const values = items.enum ? ": " + items.enum.join(", ") : "";
    return "comma-separated " + (items.type || "values") + values;
  }
  const type = Array.isArray(s.type) ? s.type.join(" or ") : s.type || "any";
  return type + (s.format ? " (" + s.format + ")" : "");
}

function operationForm(path, method, op, shared) {
  const params = [...(shared || []), ...(op.parameters || [])];
  const rows = el("tbody");
  const inputs = [];
  for (const p of params) {
    const input = el("input", { type: "text", name: p.name, placeholder: p.description || "" });
    input.dataset.in = p.in;
    let empty = null;
    if (p.allowEmptyValue) {
      empty = el("input", { type: "checkbox", title: "send it empty" });
      empty.dataset.emptyFor = p.name;
    }
    inputs.push({ param: p, input, empty });
    rows.append(el("tr", {},
      el("td", { class: "name" }, p.name + (p.required ? " *" : "")),
      el("td", { class: "where" }, p.in),
      el("td", {}, input),
      el("td", { class: "what" }, describeSchema(p.schema),
        empty ? el("label", {}, " ", empty, " send empty") : null)));
  }
  const form = el("form", {});
  if (params.length) form.append(el("table", {}, rows));
  let body = null;
  const content = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
  if (content) {
    body = el("textarea", { name: "body", spellcheck: false });
    body.value = JSON.stringify(skeleton(content.schema), null, 2);
    form.append(el("p", {}, "Body (application/json)"), body);
  }
  const result = el("div", { class: "result", hidden: true });
  const send = el("button", { type: "submit" }, "Send " + method.toUpperCase() + " request");
  form.append(send, result);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    run(path, method, op, inputs, body, result, send);
  });
  return { form, inputs, body };
}

async function run(path, method, op, inputs, body, result, button) {
  let url = path;
  const query = [];
  const headers = {};
  for (const { param, input, empty } of inputs) {
    const v = input.value;
    if (param.in === "path") {
      url = url.replace("{" + param.name + "}", encodeURIComponent(v));
    } else if (param.in === "query") {
      if (v !== "" || (empty && empty.checked)) {
        query.push(encodeURIComponent(param.name) + "=" + encodeURIComponent(v).replace(/%2C/g, ","));
      }
    } else if (param.in === "header" && v !== "") {
      headers[param.name] = v;
    }
  }
  if (query.length) url += "?" + query.join("&");
  const token = document.getElementById("token").value.trim();
  if (token && (op.security || doc.security || []).some((s) => Object.keys(s).length)) {
    headers.Authorization = "Bearer " + token;
  }
  const init = { method: method.toUpperCase(), headers, cache: "no-store" };
  if (body && body.value.trim() !== "") {
    init.body = body.value;
    headers["Content-Type"] = "application/json";
  }
  result.hidden = false;
  result.replaceChildren(el("p", {}, "Sending " + init.method + " " + url + " …"));
  button.disabled = true;
  try {
    const resp = await fetch(base() + url, init);
    const text = await resp.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { /* not JSON */ }
    const lines = [];
    resp.headers.forEach((v, k) => lines.push(k + ": " + v));
    result.dataset.status = String(resp.status);
    result.replaceChildren(
      el("p", { class: "status " + (resp.ok ? "ok" : "bad") }, init.method + " " + url + " → " + resp.status + " " + resp.statusText),
      el("pre", { class: "headers" }, lines.join("\n")),
      el("pre", { class: "body" }, shown));
  } catch (e) {
    result.dataset.status = "error";
    result.replaceChildren(el("p", { class: "status bad" }, "The request failed: " + e));
  } finally {
    button.disabled = false;
  }
}

// The document's first server when it is a path on this origin; requests
// elsewhere are not what this page (and its Content-Security-Policy) is for.
function base() {
  const url = doc.servers && doc.servers[0] && doc.servers[0].url;
  return url && url.startsWith("/") ? url.replace(/\/+$/, "") : "";
}

function render() {
  const ops = document.getElementById("ops");
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.title = doc.info.title + " — API explorer";
  document.getElementById("about").textContent = doc.info.description || "";
  const tags = (doc.tags || []).map((t) => ({ name: t.name, description: t.description, ops: [] }));
  const byName = new Map(tags.map((t) => [t.name, t]));
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const name = (op.tags && op.tags[0]) || "default";
      if (!byName.has(name)) {
        const t = { name, description: "", ops: [] };
        tags.push(t);
        byName.set(name, t);
      }
      byName.get(name).ops.push({ path, method, op, shared: item.parameters });
    }
  }
  const sections = [];
  const index = new Map();
  for (const t of tags) {
    if (!t.ops.length) continue;
    const section = el("section", { class: "tag", "data-tag": t.name },
      el("h2", {}, t.name), t.description ? el("p", {}, t.description) : null);
    for (const { path, method, op, shared } of t.ops) {
      const key = method.toUpperCase() + " " + path;
      const needsToken = (op.security || []).some((s) => Object.keys(s).length);
      const details = el("details", { class: "op", "data-op": key, id: op.operationId || key },
        el("summary", {},
          el("span", { class: "method m-" + method }, method.toUpperCase()), " ",
          el("code", {}, path), " ", op.summary || "",
          needsToken ? el("span", { class: "lock" }, " (token)") : null));
      const built = operationForm(path, method, op, shared);
      details.append(built.form);
      section.append(details);
      index.set(key, { details, ...built });
    }
    sections.push(section);
  }
  ops.replaceChildren(...sections);
  return index;
}

function fromFragment(index) {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (hash.has("token")) document.getElementById("token").value = hash.get("token");
  const key = hash.get("try");
  if (!key) return;
  const target = index.get(key.trim());
  if (!target) return;
  target.details.open = true;
  for (const { param, input, empty } of target.inputs) {
    const name = "p." + param.name;
    if (hash.has(name)) {
      input.value = hash.get(name);
      if (empty && input.value === "") empty.checked = true;
    }
  }
  if (target.body && hash.has("body")) target.body.value = hash.get("body");
  target.details.scrollIntoView();
  target.form.requestSubmit();
}

async function main() {
  const state = document.getElementById("state");
  try {
    const resp = await fetch("/openapi.json", { cache: "no-cache" });
    if (!resp.ok) throw new Error("status " + resp.status);
    doc = await resp.json();
  } catch (e) {
    state.textContent = "Could not load /openapi.json: " + e;
    return;
  }
  // The token is kept for this tab only, if the browser lets the page.
  const token = document.getElementById("token");
  try {
    token.value = sessionStorage.getItem("lightapi-token") || "";
    token.addEventListener("change", () => sessionStorage.setItem("lightapi-token", token.value.trim()));
  } catch (_) { /* no storage: the token lasts until the page is left */ }
  fromFragment(render());
}

main();
