// anywidget entry: `export default { initialize, render }`.
// initialize runs once per model and owns the AudioEngine; render runs once per view.
import { AudioEngine } from "./engine.js";
import { renderView } from "./ui.js";

/**
 * Engines by model. anywidget hands `initialize` and each `render` different proxy objects for the
 * same model, so the key is something all proxies return the same value for: the model's `layout`
 * — an ipywidgets LayoutModel (one per widget) in Jupyter, its "IPY_MODEL_<id>" reference string
 * in marimo (which does not resolve widget references); the proxy itself is the fallback.
 */
const ENGINES = new WeakMap();
const ENGINES_BY_REF = new Map();

/** @param {any} model */
function engineKey(model) {
  const layout = model.get("layout");
  return (layout && typeof layout === "object") || (typeof layout === "string" && layout) ? layout : model;
}

/** @param {any} key @returns {WeakMap<object, AudioEngine> | Map<string, AudioEngine>} */
function enginesFor(key) {
  return typeof key === "string" ? ENGINES_BY_REF : ENGINES;
}

export default {
  /** @param {{model: any}} ctx */
  initialize({ model }) {
    const key = engineKey(model);
    const engines = enginesFor(key);
    const engine = new AudioEngine(model);
    engines.set(key, engine);
    return () => {
      engine.dispose();
      if (engines.get(key) === engine) engines.delete(key);
    };
  },
  /** @param {{model: any, el: HTMLElement}} ctx */
  render({ model, el }) {
    const key = engineKey(model);
    let engine = enginesFor(key).get(key);
    if (!engine) {
      // a front-end that skipped initialize: one engine for this model all the same
      engine = new AudioEngine(model);
      enginesFor(key).set(key, engine);
    }
    return renderView(model, el, engine);
  },
};
