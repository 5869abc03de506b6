// anywidget entry: `export default { initialize, render }`.
// initialize runs once per model and owns the AudioEngine; render runs once per view.
import { AudioEngine } from "./engine.js";
import { renderView } from "./ui.js";

/**
 * Engines by model. anywidget hands `initialize` and each `render` different proxy objects for the
 * same model, so the key is an object all proxies return the same instance of: the model's
 * `layout` (an ipywidgets LayoutModel, one per widget); the proxy itself is the fallback.
 */
const ENGINES = new WeakMap();

/** @param {any} model */
function engineKey(model) {
  const layout = model.get("layout");
  return layout && typeof layout === "object" ? layout : model;
}

export default {
  /** @param {{model: any}} ctx */
  initialize({ model }) {
    const key = engineKey(model);
    const engine = new AudioEngine(model);
    ENGINES.set(key, engine);
    return () => {
      engine.dispose();
      if (ENGINES.get(key) === engine) ENGINES.delete(key);
    };
  },
  /** @param {{model: any, el: HTMLElement}} ctx */
  render({ model, el }) {
    const key = engineKey(model);
    let engine = ENGINES.get(key);
    if (!engine) {
      // a front-end that skipped initialize: one engine for this model all the same
      engine = new AudioEngine(model);
      ENGINES.set(key, engine);
    }
    return renderView(model, el, engine);
  },
};
