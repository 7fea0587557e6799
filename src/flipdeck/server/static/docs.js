// Renders /openapi.json as a list of operations, with no external assets.
"use strict";

function resolve(doc, schema, depth) {
  if (!schema || depth > 6) return schema;
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return resolve(doc, doc.components.schemas[name], depth + 1);
  }
  const out = Array.isArray(schema) ? [] : {};
  for (const [key, value] of Object.entries(schema)) {
    out[key] = typeof value === "object" && value !== null ? resolve(doc, value, depth + 1) : value;
  }
  return out;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}

function schemaBlock(doc, title, schema) {
  return [el("h3", {}, title), el("pre", {}, JSON.stringify(resolve(doc, schema, 0), null, 2))];
}

async function main() {
  const doc = await (await fetch("/openapi.json")).json();
  document.getElementById("title").textContent = `${doc.info.title} ${doc.info.version}`;
  document.getElementById("description").textContent = doc.info.description || "";
  const root = document.getElementById("operations");
  root.textContent = "";
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const summary = el("summary", {},
        el("span", { class: `method ${method}` }, method),
        el("span", { class: "path" }, path), " — ", op.summary || "",
        op.security ? el("span", { class: "lock" }, "🔒 bearer") : "");
      const body = el("div", { class: "body" });
      if (op.parameters) body.append(...schemaBlock(doc, "Parameters", op.parameters));
      const request = op.requestBody && op.requestBody.content["application/json"];
      if (request) body.append(...schemaBlock(doc, "Request body", request.schema));
      for (const [status, response] of Object.entries(op.responses)) {
        const content = response.content && Object.values(response.content)[0];
        if (content && status.startsWith("2")) {
          body.append(...schemaBlock(doc, `${status} ${response.description}`, content.schema));
        }
      }
      const errors = Object.keys(op.responses).filter((s) => !s.startsWith("2"));
      body.append(el("h3", {}, "Errors (application/problem+json)"),
        el("p", {}, errors.join(", ")));
      root.append(el("details", { class: "op" }, summary, body));
    }
  }
}

main().catch((error) => {
  document.getElementById("operations").textContent = `Could not load the API: ${error}`;
});
